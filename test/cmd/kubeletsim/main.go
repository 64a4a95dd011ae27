// Command kubeletsim runs a fleet of simulated kubelets until interrupted,
// after creating their Node and Pod objects in the cluster:
//
//	go run ./test/cmd/kubeletsim -kubeconfig K -ca-cert F -ca-key F -nodes 3 -pods-per-node 10 -seed 1
//
// It prints the expected usage of every node, pod and container at start.
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

func main() {
	klog.InitFlags(nil)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kubeletsim:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		kubeconfig    = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster to create nodes and pods in")
		caCert        = flag.String("ca-cert", "", "PEM CA certificate signing the kubelets' serving certificates (default: a throwaway CA)")
		caKey         = flag.String("ca-key", "", "PEM private key of -ca-cert")
		clientCA      = flag.String("client-ca", "", "PEM bundle verifying client certificates (default: -ca-cert)")
		nodes         = flag.Int("nodes", 3, "number of simulated nodes")
		podsPerNode   = flag.Int("pods-per-node", 10, "pods on each node")
		containers    = flag.Int("containers-per-pod", 1, "containers in each pod")
		seed          = flag.Uint64("seed", 1, "seed of the simulated usage")
		port          = flag.Int("port", kubeletsim.DefaultPort, "port every node listens on")
		firstIP       = flag.String("first-ip", kubeletsim.DefaultFirstIP.String(), "address of node 0; node i gets the i-th address after it")
		namespaces    = flag.String("namespaces", "kubeletsim", "comma-separated namespaces the pods are spread over")
		nodePrefix    = flag.String("node-prefix", "sim-node-", "node name prefix")
		workers       = flag.Int("workers", 32, "concurrent API requests while creating objects")
		qps           = flag.Float64("qps", 500, "client QPS")
		burst         = flag.Int("burst", 1000, "client burst")
		authDisabled  = flag.Bool("auth-disabled", false, "serve without authentication or authorisation")
		disableHTTP2  = flag.Bool("disable-http2", false, "serve HTTP/1.1 only")
		skipCreate    = flag.Bool("skip-create", false, "do not create API objects, only serve")
		cleanup       = flag.Bool("cleanup", false, "delete the nodes and pods at exit")
		printExpected = flag.Bool("print-expected", true, "print the expected usage table at start")
	)
	flag.Parse()

	cfg := kubeletsim.Config{
		Nodes:            *nodes,
		PodsPerNode:      *podsPerNode,
		ContainersPerPod: *containers,
		Seed:             *seed,
		Port:             *port,
		NodePrefix:       *nodePrefix,
		Namespaces:       strings.Split(*namespaces, ","),
		Workers:          *workers,
		AuthDisabled:     *authDisabled,
		DisableHTTP2:     *disableHTTP2,
		Logf:             func(format string, args ...any) { klog.InfoDepth(1, fmt.Sprintf(format, args...)) },
	}
	var err error
	if cfg.FirstIP, err = netip.ParseAddr(*firstIP); err != nil {
		return fmt.Errorf("-first-ip: %w", err)
	}
	if *caCert != "" || *caKey != "" {
		if cfg.CA, cfg.CAKey, err = loadCA(*caCert, *caKey); err != nil {
			return err
		}
	}
	if *clientCA != "" {
		if cfg.ClientCAs, err = loadPool(*clientCA); err != nil {
			return err
		}
	}
	if *kubeconfig != "" {
		rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
		if err != nil {
			return fmt.Errorf("load kubeconfig: %w", err)
		}
		rc.QPS, rc.Burst = float32(*qps), *burst
		// Protobuf costs the apiserver less than JSON: about 10 % more
		// objects per second on a 2-core machine.
		rc.ContentType = "application/vnd.kubernetes.protobuf"
		rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		if cfg.Client, err = kubernetes.NewForConfig(rc); err != nil {
			return err
		}
	} else if !*skipCreate || !*authDisabled {
		return errors.New("-kubeconfig is required unless both -skip-create and -auth-disabled are set")
	}

	fleet, err := kubeletsim.New(cfg)
	if err != nil {
		return err
	}
	if err := fleet.Start(); err != nil {
		return err
	}
	defer fleet.Close()
	if *printExpected {
		if err := fleet.WriteExpected(os.Stdout); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !*skipCreate {
		st, err := fleet.Create(ctx)
		if err != nil {
			return fmt.Errorf("create objects: %w", err)
		}
		n, p := st.PerMinute()
		klog.InfoS("Created objects", "nodes", st.Nodes, "pods", st.Pods, "requests", st.Requests,
			"elapsed", st.Elapsed.Round(time.Millisecond), "nodesPerMinute", int(n), "podsPerMinute", int(p))
	}
	klog.InfoS("Serving until interrupted", "nodes", len(fleet.Nodes()))
	<-ctx.Done()
	stop()

	if *cleanup && cfg.Client != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		for _, n := range fleet.Nodes() {
			if err := fleet.DeleteNode(cctx, n.Name); err != nil {
				return fmt.Errorf("cleanup: %w", err)
			}
		}
		klog.InfoS("Deleted nodes and pods")
	}
	return nil
}

// loadCA reads a PEM certificate and its PEM private key (PKCS#8, SEC 1 or
// PKCS#1).
func loadCA(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	if certFile == "" || keyFile == "" {
		return nil, nil, errors.New("-ca-cert and -ca-key go together")
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%q holds no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %q: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	if block, _ = pem.Decode(keyPEM); block == nil {
		return nil, nil, fmt.Errorf("%q holds no PEM key", keyFile)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		err = fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("parse %q: %w", keyFile, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%q: key of type %T cannot sign", keyFile, key)
	}
	return cert, signer, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%q holds no PEM certificate", file)
	}
	return pool, nil
}
