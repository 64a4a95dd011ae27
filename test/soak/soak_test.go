package soak

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/bench"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// TestShortSoak runs the soak and overload phases at 50 nodes × 10 pods and
// 2s for 60s + 20s, and holds ringmetrics to every criterion of the full
// run (see Short for how they scale).
func TestShortSoak(t *testing.T) {
	dir := t.TempDir()
	binary, err := bed.RingmetricsBinary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.RaiseOpenFiles(); err != nil {
		t.Fatal(err)
	}
	cfg := Short()
	cfg.Ringmetrics = binary
	if cfg.MemoryRequest, err = ChartMemoryRequest(filepath.Join("..", "..", "charts", "ringmetrics", "values.yaml")); err != nil {
		t.Fatal(err)
	}
	cfg.WorkDir = filepath.Join(dir, "work")
	cfg.KeepWorkDir = true // t.TempDir removes it
	cfg.FirstIP = netip.MustParseAddr("127.62.0.1")
	cfg.KubeletPort = kubeletsim.AnyPort
	cfg.Logf = t.Logf
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	if err := Report(&report, res, "go test ./test/soak", bench.DescribeMachine()); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", report.String())
	for _, c := range res.Failed() {
		t.Errorf("%s: want %s, got %s", c.Name, c.Want, c.Got)
	}
	if t.Failed() {
		log := filepath.Join(cfg.WorkDir, "logs", "ringmetrics.log")
		t.Logf("--- last lines of %s ---\n%s", log, bed.Tail(log, 30))
	}
	if want := int(cfg.Duration / cfg.SampleEvery); len(res.Samples) != want {
		t.Errorf("%d process samples, want %d", len(res.Samples), want)
	}
}

func TestMemoryBudget(t *testing.T) {
	f := func(nodes, pods int, resolution, history time.Duration, want int64) {
		t.Helper()
		c := Default()
		c.Nodes, c.PodsPerNode, c.Resolution, c.History, c.MemoryRequest = nodes, pods, resolution, history, 160<<20
		if got := c.MemoryBudget(); got != want {
			t.Errorf("%d × %d at %v, history %v: budget %d MiB, want %d MiB", nodes, pods, resolution, history, got>>20, want>>20)
		}
	}
	f(100, 30, 15*time.Second, 0, 160<<20)
	f(50, 10, 2*time.Second, 2*time.Minute, 160<<20)
	f(1000, 30, 15*time.Second, 0, 1600<<20)
	f(100, 30, 5*time.Second, 0, 480<<20)
}

func TestFlat(t *testing.T) {
	f := func(ok bool, values ...int64) {
		t.Helper()
		r := &Result{Config: Default()}
		for i, v := range values {
			r.Samples = append(r.Samples, Sample{At: time.Duration(i+1) * time.Minute, RSS: v})
		}
		r.flat("RSS", func(s Sample) float64 { return float64(s.RSS) })
		if got := r.Checks[0].OK; got != ok {
			t.Errorf("%v: flat = %v, want %v (%s)", values, got, ok, r.Checks[0].Got)
		}
	}
	// Warm-up growth in the first five minutes does not count.
	f(true, 10, 50, 90, 100, 100, 100, 101, 99, 102, 100)
	f(true, 100, 100, 100, 100, 100, 104, 100, 96, 100, 100)
	f(false, 100, 100, 100, 100, 100, 100, 104, 108, 112, 116)
	f(false, 100, 100, 100, 100, 100, 100, 100, 100, 100, 120)
	f(false, 100, 100) // too few samples
}

func TestChartMemoryRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte("image: x\nresources:\n  requests:\n    cpu: 50m\n    memory: 160Mi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ChartMemoryRequest(path); err != nil || got != 160<<20 {
		t.Errorf("ChartMemoryRequest = %d, %v; want %d", got, err, 160<<20)
	}
	if err := os.WriteFile(path, []byte("resources: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ChartMemoryRequest(path); err == nil {
		t.Error("ChartMemoryRequest without a memory request: no error")
	}
	real, err := ChartMemoryRequest(filepath.Join("..", "..", "charts", "ringmetrics", "values.yaml"))
	if err != nil || real <= 0 {
		t.Errorf("the chart's own values.yaml: %d, %v", real, err)
	}
}
