package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// TestTinyRun runs the whole harness at 5 nodes × 3 pods, one short phase
// per server, so that it cannot rot: every figure must come out present and
// positive, and the report and chart must be written. Timings are not
// judged.
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and both servers")
	}
	dir := t.TempDir()
	binary, err := bed.RingmetricsBinary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RaiseOpenFiles(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	results, err := Measure(t.Context(), Config{
		Ringmetrics: binary,
		Scales:      []Scale{Tiny()},
		WorkDir:     filepath.Join(dir, "work"),
		KeepWorkDir: true, // t.TempDir removes it; kept until then for the failure report
		ProfileDir:  filepath.Join(dir, "profiles"),
		// Its own addresses and free ports: another make test may be
		// running on this machine.
		FirstIP:     netip.MustParseAddr("127.61.0.1"),
		KubeletPort: kubeletsim.AnyPort,
		Logf:        t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"ringmetrics-phase1.log", "metrics-server-phase2.log"} {
				path := filepath.Join(dir, "work", "tiny", "logs", name)
				t.Logf("--- last lines of %s ---\n%s", name, bed.Tail(path, 20))
			}
		}
	})
	if len(results) != 1 {
		t.Fatalf("%d scale results, want 1", len(results))
	}
	r := results[0]
	if len(r.Phases) != 2 || r.Phases[0].Server != Ringmetrics || r.Phases[1].Server != MetricsServer {
		t.Fatalf("phases %+v, want ringmetrics then metrics-server", r.Phases)
	}
	if r.NamespacePods < 1 || r.SelectorPods < 1 || r.FleetCreateSeconds <= 0 {
		t.Errorf("namespace pods %d, selector pods %d, fleet created in %vs", r.NamespacePods, r.SelectorPods, r.FleetCreateSeconds)
	}
	for _, p := range r.Phases {
		checkPhase(t, &p, len(Endpoints)*len(PathNames)*len(Formats))
	}
	rm := &r.Phases[0]
	if len(rm.Profiles) == 0 {
		t.Errorf("no ringmetrics profiles written")
	}
	for _, f := range rm.Profiles {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("profile %s: %v", f, err)
		}
	}

	out := filepath.Join(dir, "out")
	run := &Run{Machine: DescribeMachine(), Command: "go test ./test/bench", Started: started, Elapsed: Duration(time.Since(started)), Scales: results}
	run.Machine.Versions = Versions(binary)
	if err := Write(out, run); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(out, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, string(report))
	checkChart(t, filepath.Join(out, ChartFile), 2*len(Servers))
	if again, err := Load(filepath.Join(out, JSONFile)); err != nil || len(again.Scales) != 1 || len(again.Scales[0].Phases) != 2 {
		t.Errorf("results.json does not load back: %v", err)
	}
}

func checkPhase(t *testing.T, p *PhaseResult, timings int) {
	t.Helper()
	if p.Error != "" {
		t.Errorf("phase %d (%s) failed: %s", p.Index, p.Server, p.Error)
		return
	}
	positive := map[string]float64{
		"time to Ready":        p.Ready.Seconds(),
		"time to Available":    p.Available.Seconds(),
		"RSS":                  float64(p.RSSBytes),
		"peak RSS":             float64(p.PeakRSSBytes),
		"heap in use":          float64(p.HeapInuseBytes),
		"goroutines":           float64(p.Goroutines),
		"CPU seconds":          p.CPUSeconds,
		"CPU per round":        p.CPUPerRound,
		"freshness p50":        p.Freshness.P50.Seconds(),
		"freshness max":        p.Freshness.Max.Seconds(),
		"freshness all-nodes":  p.Freshness.AllMax.Seconds(),
		"freshness samples":    float64(p.Freshness.Samples),
		"load average (start)": p.LoadAvg[0] + 1e-9, // an idle machine may read 0.00
	}
	for name, v := range positive {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s %s = %v, want a positive number", p.Server, name, v)
		}
	}
	if p.Freshness.Missing != 0 {
		t.Errorf("%s: %d nodes without metrics", p.Server, p.Freshness.Missing)
	}
	if len(p.Latency) != timings {
		t.Errorf("%s: %d latency timings, want %d", p.Server, len(p.Latency), timings)
	}
	for _, e := range Endpoints {
		for _, path := range PathNames {
			for _, format := range Formats {
				l, ok := p.latency(e, path, format)
				switch {
				case !ok:
					t.Errorf("%s: no timing of %s %s %s", p.Server, e, path, format)
				case l.Errors > 0 || l.FirstError != "":
					t.Errorf("%s %s %s %s: %d errors, first: %s", p.Server, e, path, format, l.Errors, l.FirstError)
				case !(l.P50 > 0 && l.P90 >= l.P50 && l.P99 >= l.P90 && l.Bytes > 0):
					t.Errorf("%s %s %s %s: p50 %v p90 %v p99 %v, %d bytes", p.Server, e, path, format, l.P50, l.P90, l.P99, l.Bytes)
				}
			}
		}
	}
}

func checkReport(t *testing.T, report string) {
	t.Helper()
	for _, want := range []string{"## Machine and versions", "## Method", "ringmetrics / metrics-server", "go test ./test/bench", ChartFile} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	_, scale, ok := strings.Cut(report, "## 5 nodes")
	if !ok {
		t.Fatalf("report has no section for the tiny scale:\n%s", report)
	}
	for _, f := range figures {
		if !strings.Contains(scale, "| "+f.label) {
			t.Errorf("report lacks the figure %q", f.label)
		}
	}
	for _, e := range Endpoints {
		if strings.Count(scale, "| "+endpointLabels[e]+" |") != len(PathNames)*len(Formats) {
			t.Errorf("report lacks rows for %q", endpointLabels[e])
		}
	}
	if strings.Contains(scale, "—") {
		t.Errorf("report has missing figures (—):\n%s", scale)
	}
}

func checkChart(t *testing.T, path string, points int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	circles := 0
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "circle" {
			circles++
		}
	}
	// Two legend markers besides the data points.
	if circles != points+len(Servers) {
		t.Errorf("chart has %d circles, want %d data points and %d legend markers", circles, points, len(Servers))
	}
}
