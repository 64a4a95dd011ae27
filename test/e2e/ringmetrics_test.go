package e2e

import (
	"encoding/json"
	"fmt"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
	"slices"
	"strings"
	"testing"
	"time"

	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

var kubectlVersions = []string{"1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"}

// TestRingmetricsKubectl runs every kubectl from 1.27 to 1.33 against
// ringmetrics through the aggregation layer.
func TestRingmetricsKubectl(t *testing.T) {
	use(t, env.ringmetrics)
	tailOnFailure(t, env.ringmetrics)
	for _, v := range kubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			kc := kubectlBinary(t, v)
			top := func(args ...string) string {
				t.Helper()
				out, err := kubectl(t, kc, adminKubeconfig(), append([]string{"top"}, args...)...)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			t.Run("top node", func(t *testing.T) {
				if err := checkTopNodes(top("node")); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("top pod -A", func(t *testing.T) {
				if err := checkTopPods(top("pod", "-A"), simulatedPods(nil)); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("top pod -l", func(t *testing.T) {
				out := top("pod", "-A", "-l", "app=sim-app-0")
				if err := checkTopPods(out, simulatedPods(func(p kubeletsim.PodInfo) bool { return p.Labels["app"] == "sim-app-0" })); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("top pod --containers", func(t *testing.T) {
				rows, err := parseTop(top("pod", "-n", namespaces[0], "--containers"))
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) == 0 {
					t.Fatal("no container rows")
				}
				for _, r := range rows {
					cpu, mem := env.bed.Fleet.ExpectedContainer(namespaces[0], r.Name, r.Container)
					if err := within(r, cpu, mem); err != nil {
						t.Errorf("container %s/%s: %v", r.Name, r.Container, err)
					}
				}
			})
			for _, by := range []string{"cpu", "memory"} {
				t.Run("top pod --sort-by="+by, func(t *testing.T) {
					rows, err := parseTop(top("pod", "-A", "--sort-by="+by))
					if err != nil {
						t.Fatal(err)
					}
					key := func(r topRow) int64 {
						cpu, mem := env.bed.Fleet.ExpectedPod(r.Namespace, r.Name)
						if by == "cpu" {
							return cpu
						}
						return mem
					}
					if !slices.IsSortedFunc(rows, func(a, b topRow) int { return int(key(b) - key(a)) }) {
						t.Fatalf("rows not sorted by %s, descending: %+v", by, rows)
					}
				})
			}
			t.Run("get --raw", func(t *testing.T) {
				out, err := kubectl(t, kc, adminKubeconfig(), "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes")
				if err != nil {
					t.Fatal(err)
				}
				var nl metricsv1beta1.NodeMetricsList
				if err := json.Unmarshal([]byte(out), &nl); err != nil {
					t.Fatalf("decoding NodeMetricsList: %v\n%s", err, out)
				}
				if len(nl.Items) != nodes {
					t.Fatalf("%d NodeMetrics, want %d", len(nl.Items), nodes)
				}
				out, err = kubectl(t, kc, adminKubeconfig(), "get", "--raw", "/apis/metrics.k8s.io/v1beta1/pods")
				if err != nil {
					t.Fatal(err)
				}
				var pl metricsv1beta1.PodMetricsList
				if err := json.Unmarshal([]byte(out), &pl); err != nil {
					t.Fatalf("decoding PodMetricsList: %v\n%s", err, out)
				}
				if len(pl.Items) != simulatedPods(nil) {
					t.Fatalf("%d PodMetrics, want %d", len(pl.Items), simulatedPods(nil))
				}
				for _, pm := range pl.Items {
					if pm.Window.Duration <= 0 || pm.Timestamp.IsZero() || len(pm.Containers) == 0 {
						t.Errorf("PodMetrics %s/%s lacks window, timestamp or containers: %+v", pm.Namespace, pm.Name, pm)
					}
				}
			})
			t.Run("get podmetrics table", func(t *testing.T) {
				out, err := kubectl(t, kc, adminKubeconfig(), "get", "podmetrics", "-A")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(out, "CPU") || strings.Count(out, "\n") != simulatedPods(nil)+1 {
					t.Fatalf("unexpected podmetrics table:\n%s", out)
				}
			})
		})
	}
}

// TestRingmetricsTimestamps checks that the served timestamp advances at the
// resolution: ringmetrics is scraping, not replaying its first round.
func TestRingmetricsTimestamps(t *testing.T) {
	use(t, env.ringmetrics)
	get := func() metricsv1beta1.NodeMetrics {
		t.Helper()
		out, err := kubectl(t, kubectlBinary(t, ""), adminKubeconfig(), "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/sim-node-0")
		if err != nil {
			t.Fatal(err)
		}
		var nm metricsv1beta1.NodeMetrics
		if err := json.Unmarshal([]byte(out), &nm); err != nil {
			t.Fatal(err)
		}
		return nm
	}
	first := get()
	if w := first.Window.Duration; w < ringmetricsResolution/2 || w > 3*ringmetricsResolution {
		t.Errorf("window %v, want about the resolution %v", w, ringmetricsResolution)
	}
	// The age is judged on the newest point served, read just now: the
	// first one is as old as the wait for its successor, which on a loaded
	// machine can exceed the bound by itself.
	var newest metricsv1beta1.NodeMetrics
	eventually(t, 4*ringmetricsResolution, func() error {
		if newest = get(); !newest.Timestamp.After(first.Timestamp.Time) {
			return fmt.Errorf("timestamp still %v", newest.Timestamp)
		}
		return nil
	})
	if age := time.Since(newest.Timestamp.Time); age > 3*ringmetricsResolution {
		t.Errorf("served point is %v old, want under %v", age, 3*ringmetricsResolution)
	}
}
