// Package e2e drives the real binaries on a real control plane: kube-apiserver
// with etcd, kube-controller-manager's HPA controller, kubectl 1.27–1.33,
// metrics-server as the reference, and ringmetrics as built by make.
package e2e

import (
	"context"
	"os"
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
	os.Exit(bed.Main(m, "e2e", bed.Options{
		Cluster: cluster.Options{
			ControllerManager: true, HPASyncPeriod: 2 * time.Second,
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
	}, setup))
}

// setup starts metrics-server and ringmetrics on the shared bed.
func setup(ctx context.Context, s *bed.Shared) (err error) {
	env.bed, env.binary = s.Bed, s.Binary
	if env.metricsServer, err = s.Bed.StartMetricsServer(ctx); err != nil {
		return err
	}
	s.Defer(func() { _ = env.metricsServer.Stop() })
	if env.ringmetrics, err = s.Bed.StartRingmetrics(ctx, s.Binary, ringmetricsResolution, "--v=2"); err != nil {
		return err
	}
	s.Defer(func() { _ = env.ringmetrics.Stop() })
	return nil
}

// use registers s behind the metrics.k8s.io APIServices it serves unless it
// already is.
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
