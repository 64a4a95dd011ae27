// Package e2e drives the real binaries on a real control plane: kube-apiserver
// with etcd, kube-controller-manager's HPA controller, kubectl 1.27–1.33,
// metrics-server as the reference, and ringmetrics as built by make.
package e2e

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

const (
	nodes       = 3
	podsPerNode = 10
	// ringmetricsResolution is short so that usage changes reach the HPA in
	// seconds; metrics-server cannot go below 10s.
	ringmetricsResolution = 2 * time.Second
)

var namespaces = []string{"team-a", "team-b"}

// env is the bed every test in this package shares: starting a control
// plane per test would cost more than the tests themselves.
var env struct {
	bed           *bed.Bed
	metricsServer *bed.Server
	ringmetrics   *bed.Server
	binary        string

	mu      sync.Mutex
	current *bed.Server
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ringmetrics-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	code := 1
	defer func() {
		if code == 0 {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "e2e: failed; logs kept in %s\n", filepath.Join(dir, "cluster", "logs"))
		}
	}()
	if err := setup(dir); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: setting up the end-to-end bed: %v\n", err)
		return 1
	}
	defer env.bed.Stop()
	defer env.ringmetrics.Stop()
	defer env.metricsServer.Stop()
	code = m.Run()
	return code
}

func setup(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	binary, err := bed.RingmetricsBinary(dir)
	if err != nil {
		return err
	}
	env.binary = binary
	start := time.Now()
	b, err := bed.Start(ctx, bed.Options{
		Cluster: cluster.Options{
			Dir: filepath.Join(dir, "cluster"), ControllerManager: true, HPASyncPeriod: 2 * time.Second,
			// A hardened apiserver: anonymous requests are refused outright.
			ExtraAPIServerArgs: []string{"--anonymous-auth=false"},
			// view, edit and admin get their rules (metrics.k8s.io among
			// them) from the aggregation controller; TestRBACThroughAPIServer.
			ExtraControllerManagerArgs: []string{
				"--controllers=horizontal-pod-autoscaler-controller,clusterrole-aggregation-controller",
			},
		},
		Fleet: kubeletsim.Config{
			Nodes: nodes, PodsPerNode: podsPerNode, Seed: 1, Namespaces: namespaces,
		},
		Logf: log.Printf,
	})
	if err != nil {
		return err
	}
	env.bed = b
	log.Printf("e2e: bed up in %v (%s)", time.Since(start).Round(time.Millisecond), b.CreateStats)
	if env.metricsServer, err = b.StartMetricsServer(ctx); err != nil {
		b.Stop()
		return err
	}
	if env.ringmetrics, err = b.StartRingmetrics(ctx, binary, ringmetricsResolution, "--v=2"); err != nil {
		env.metricsServer.Stop()
		b.Stop()
		return err
	}
	return nil
}

// use registers s behind v1beta1.metrics.k8s.io unless it already is.
func use(t *testing.T, s *bed.Server) {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.current == s {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := env.bed.Use(ctx, s); err != nil {
		t.Fatalf("registering %s: %v\n--- %s ---\n%s", s.Name, err, s.LogPath, bed.Tail(s.LogPath, 20))
	}
	env.current = s
}

// adminKubeconfig is the bed's cluster-admin kubeconfig.
func adminKubeconfig() string { return env.bed.Cluster.AdminKubeconfig }

// eventually is bed.Eventually at this suite's interval: many conditions
// here run kubectl.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	bed.Eventually(t, timeout, 500*time.Millisecond, f)
}

// tailOnFailure prints a server's log tail when the test fails.
func tailOnFailure(t *testing.T, s *bed.Server) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of %s ---\n%s", s.LogPath, bed.Tail(s.LogPath, 30))
		}
	})
}
