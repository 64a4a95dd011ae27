package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	serviceClusterIPs    = "10.0.0.0/24"
	kubernetesServiceIP  = "10.0.0.1"

	// etcd's backend quota: 150 000 pods and their nodes take a few GiB.
	etcdQuotaBytes = 8 << 30

	// Raised from 400/200 so that creating thousands of nodes and pods from
	// many goroutines is not throttled by the apiserver.
	maxRequestsInflight         = 3000
	maxMutatingRequestsInflight = 1000

	hpaServiceAccount = "horizontal-pod-autoscaler"
)

// writePKI creates the CAs, the apiserver's certificates, the service
// account key pair and the admin credentials.
func (c *Cluster) writePKI() error {
	pki := filepath.Join(c.Dir, "pki")
	var err error
	if c.ca, err = newAuthority("ringmetrics-cluster-ca"); err != nil {
		return err
	}
	if c.frontProxyCA, err = newAuthority("ringmetrics-front-proxy-ca"); err != nil {
		return err
	}
	caKey, err := ecKeyPEM(c.ca.key)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		c.CAFile():                   c.ca.certPEM,
		filepath.Join(pki, "ca.key"): caKey,
		c.FrontProxyCAFile():         c.frontProxyCA.certPEM,
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	if _, _, err := c.ca.issueFiles(pki, "apiserver", leaf{
		commonName: "kube-apiserver",
		dnsNames: []string{
			"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local",
		},
		ips:    []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP(kubernetesServiceIP)},
		server: true,
	}); err != nil {
		return err
	}
	if _, _, err := c.frontProxyCA.issueFiles(pki, "front-proxy-client", leaf{commonName: "front-proxy-client"}); err != nil {
		return err
	}
	// The apiserver's identity towards kubelets, for its node proxy (and so
	// for metrics servers scraping through it), as kubeadm issues it.
	if _, _, err := c.ca.issueFiles(pki, "apiserver-kubelet-client", leaf{commonName: "kube-apiserver-kubelet-client", organization: []string{"system:masters"}}); err != nil {
		return err
	}
	if _, _, err := serviceAccountKeys(pki); err != nil {
		return err
	}
	if c.adminCert, c.adminKey, err = c.ca.issue(leaf{commonName: "ringmetrics-admin", organization: []string{"system:masters"}}); err != nil {
		return err
	}
	return nil
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	data := filepath.Join(c.Dir, "etcd")
	configure := func(ports []int) error {
		client := "http://" + hostPort(ports[0])
		peer := "http://" + hostPort(ports[1])
		c.EtcdURL = client
		c.etcd.args = []string{
			"--name=ringmetrics",
			"--data-dir=" + data,
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=ringmetrics=" + peer,
			"--initial-cluster-state=new",
			// A test cluster's data is worthless after a crash; skipping
			// fsync makes bulk writes several times faster.
			"--unsafe-no-fsync",
			"--quota-backend-bytes=" + strconv.FormatInt(etcdQuotaBytes, 10),
		}
		// A failed attempt may have initialised the data dir with the old
		// peer URL; start clean.
		if err := os.RemoveAll(data); err != nil {
			return err
		}
		return os.MkdirAll(data, 0o700)
	}
	ready := func(ctx context.Context) error {
		body, err := httpGet(ctx, http.DefaultClient, c.EtcdURL+"/health")
		if err != nil {
			return err
		}
		if !bytes.Contains(body, []byte(`"health":"true"`)) {
			return fmt.Errorf("/health: %s", bytes.TrimSpace(body))
		}
		return nil
	}
	return c.launch(ctx, c.etcd, 2, configure, ready)
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	pki := filepath.Join(c.Dir, "pki")
	f := func(name string) string { return filepath.Join(pki, name) }
	configure := func(ports []int) error {
		c.URL = "https://" + hostPort(ports[0])
		args := []string{
			"--etcd-servers=" + c.EtcdURL,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--advertise-address=127.0.0.1",
			// The lease reconciler rejects a loopback advertise address.
			"--endpoint-reconciler-type=none",
			"--cert-dir=" + f("apiserver-generated"),
			"--tls-cert-file=" + f("apiserver.crt"),
			"--tls-private-key-file=" + f("apiserver.key"),
			"--client-ca-file=" + c.CAFile(),
			"--service-account-issuer=" + serviceAccountIssuer,
			"--service-account-key-file=" + f("service-account.pub"),
			"--service-account-signing-key-file=" + f("service-account.key"),
			"--service-cluster-ip-range=" + serviceClusterIPs,
			"--authorization-mode=RBAC",
			// The aggregation layer. Aggregator routing stays off: it dials
			// endpoints, and the API refuses loopback endpoints. Aggregated
			// servers register an ExternalName Service to localhost instead.
			"--requestheader-client-ca-file=" + c.FrontProxyCAFile(),
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-username-headers=X-Remote-User",
			"--proxy-client-cert-file=" + f("front-proxy-client.crt"),
			"--proxy-client-key-file=" + f("front-proxy-client.key"),
			// The node proxy: simulated kubelets listen on their InternalIP,
			// with serving certificates from the cluster CA.
			"--kubelet-client-certificate=" + f("apiserver-kubelet-client.crt"),
			"--kubelet-client-key=" + f("apiserver-kubelet-client.key"),
			"--kubelet-certificate-authority=" + c.CAFile(),
			"--kubelet-preferred-address-types=InternalIP,Hostname",
			"--max-requests-inflight=" + strconv.Itoa(maxRequestsInflight),
			"--max-mutating-requests-inflight=" + strconv.Itoa(maxMutatingRequestsInflight),
			// Without it, open watches (the controller manager's) hold a
			// graceful shutdown for the full 60s request timeout, so a
			// restart ended in SIGKILL; with it SIGTERM takes about 1s.
			"--shutdown-watch-termination-grace-period=2s",
		}
		c.apiserver.args = append(args, c.opts.ExtraAPIServerArgs...)
		return nil
	}
	if err := c.launch(ctx, c.apiserver, 1, configure, c.apiserverReady); err != nil {
		return err
	}
	c.AdminKubeconfig = filepath.Join(c.Dir, "kubeconfig", "admin.kubeconfig")
	return writeKubeconfig(c.AdminKubeconfig, c.URL, c.ca.certPEM, "admin", c.adminCert, c.adminKey)
}

// apiserverReady reports whether /readyz answers ok to the admin user.
func (c *Cluster) apiserverReady(ctx context.Context) error {
	client, err := c.adminHTTPClient()
	if err != nil {
		return err
	}
	body, err := httpGet(ctx, client, c.URL+"/readyz")
	if err != nil {
		return err
	}
	if string(bytes.TrimSpace(body)) != "ok" {
		return fmt.Errorf("/readyz: %s", bytes.TrimSpace(body))
	}
	return nil
}

// adminHTTPClient is a plain HTTP client with the admin certificate, for
// health probes. A new one per probe keeps no connection to an apiserver
// that has been restarted.
func (c *Cluster) adminHTTPClient() (*http.Client, error) {
	cert, err := tls.X509KeyPair(c.adminCert, c.adminKey)
	if err != nil {
		return nil, fmt.Errorf("loading admin certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.ca.cert)
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}},
		DisableKeepAlives: true,
	}}, nil
}

// setup does what the missing controllers would: with no service-account
// controller, pods cannot be created until a default ServiceAccount exists.
func (c *Cluster) setup(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("building admin client: %w", err)
	}
	c.client = cs
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem} {
		if err := poll(ctx, func() error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return err
		}); err != nil {
			return c.apiserver.failure(fmt.Errorf("namespace %q did not appear: %w", ns, err))
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return c.apiserver.failure(fmt.Errorf("creating ServiceAccount %s/default: %w", ns, err))
		}
	}
	return nil
}

func (c *Cluster) startControllerManager(ctx context.Context) error {
	pki := filepath.Join(c.Dir, "pki")
	kubeconfig := filepath.Join(c.Dir, "kubeconfig", "kube-controller-manager.kubeconfig")
	// The bootstrap RBAC policy grants this user what the controller manager
	// needs to start; with --use-service-account-credentials each controller
	// then runs as its own ServiceAccount with its own bootstrap role.
	certPEM, keyPEM, err := c.ca.issue(leaf{commonName: "system:kube-controller-manager"})
	if err != nil {
		return err
	}
	if err := writeKubeconfig(kubeconfig, c.URL, c.ca.certPEM, "kube-controller-manager", certPEM, keyPEM); err != nil {
		return err
	}
	certFile, keyFile, err := c.ca.issueFiles(pki, "kube-controller-manager", leaf{
		commonName: "kube-controller-manager",
		dnsNames:   []string{"localhost"},
		ips:        []net.IP{net.IPv4(127, 0, 0, 1)},
		server:     true,
	})
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.ca.cert)
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}

	var healthz string
	configure := func(ports []int) error {
		healthz = "https://" + hostPort(ports[0]) + "/healthz"
		args := []string{
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--controllers=horizontal-pod-autoscaler-controller",
			"--use-service-account-credentials=true",
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--tls-cert-file=" + certFile,
			"--tls-private-key-file=" + keyFile,
			"--horizontal-pod-autoscaler-sync-period=" + c.opts.HPASyncPeriod.String(),
		}
		c.kcm.args = append(args, c.opts.ExtraControllerManagerArgs...)
		return nil
	}
	ready := func(ctx context.Context) error {
		body, err := httpGet(ctx, probe, healthz)
		if err != nil {
			return err
		}
		if string(bytes.TrimSpace(body)) != "ok" {
			return fmt.Errorf("/healthz: %s", bytes.TrimSpace(body))
		}
		// The controller manager creates the HPA controller's
		// ServiceAccount when it starts that controller: its existence
		// shows the controller is running, not just the process.
		_, err = c.client.CoreV1().ServiceAccounts(metav1.NamespaceSystem).Get(ctx, hpaServiceAccount, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("waiting for ServiceAccount kube-system/%s: %w", hpaServiceAccount, err)
		}
		return nil
	}
	return c.launch(ctx, c.kcm, 1, configure, ready)
}

// RestartAPIServer stops kube-apiserver (SIGTERM, then SIGKILL after 5s)
// and starts it again with the same flags on the same port, returning when
// /readyz answers ok. Its log continues in the same file.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return fmt.Errorf("cluster is stopped")
	}
	t := time.Now()
	if err := c.apiserver.stop(stopGrace); err != nil {
		return err
	}
	stopped := time.Since(t)
	if err := c.apiserver.start(true); err != nil {
		return c.apiserver.failure(err)
	}
	if err := c.waitReady(ctx, c.apiserver, c.apiserverReady); err != nil {
		return c.apiserver.failure(fmt.Errorf("after restart: %w", err))
	}
	c.opts.Logf("cluster: kube-apiserver restarted in %v (stopped in %v; pid %d)",
		time.Since(t).Round(time.Millisecond), stopped.Round(time.Millisecond), c.apiserver.pid())
	return nil
}

func httpGet(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// poll calls f every 100ms until it returns nil or ctx ends.
func poll(ctx context.Context, f func() error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}
