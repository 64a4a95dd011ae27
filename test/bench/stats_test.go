package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	f := func(stat string, want int64) {
		t.Helper()
		got, err := parseStatTicks([]byte(stat))
		if err != nil || got != want {
			t.Errorf("parseStatTicks(%q) = %d, %v; want %d", stat, got, err, want)
		}
	}
	f("4242 (ringmetrics) S 1 4242 4242 0 -1 4194560 1536 0 0 0 731 219 0 0 20 0 12 0 1000 2000000 5000 18446744073709551615", 950)
	f("7 (a) b) (c) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1", 11)
	for _, bad := range []string{"", "1 (x S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 6"} {
		if _, err := parseStatTicks([]byte(bad)); err == nil {
			t.Errorf("parseStatTicks(%q) succeeded", bad)
		}
	}
}

func TestParseStatusBytes(t *testing.T) {
	status := "Name:\tringmetrics\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
	if got, err := parseStatusBytes([]byte(status), "VmRSS"); err != nil || got != 100<<20 {
		t.Errorf("VmRSS = %d, %v", got, err)
	}
	if got, err := parseStatusBytes([]byte(status), "VmHWM"); err != nil || got != 200<<20 {
		t.Errorf("VmHWM = %d, %v", got, err)
	}
	if _, err := parseStatusBytes([]byte(status), "VmSwap"); err == nil {
		t.Error("missing key found")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 50; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	f := func(q float64, want time.Duration) {
		t.Helper()
		if got := percentile(d, q); got != want {
			t.Errorf("percentile(1..50 ms, %v) = %v, want %v", q, got, want)
		}
	}
	f(0.5, 25*time.Millisecond)
	f(0.9, 45*time.Millisecond)
	f(0.99, 50*time.Millisecond)
	f(1, 50*time.Millisecond)
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestMedian(t *testing.T) {
	f := func(vs []float64, want float64) {
		t.Helper()
		if got := median(vs); got != want {
			t.Errorf("median(%v) = %v, want %v", vs, got, want)
		}
	}
	f([]float64{3}, 3)
	f([]float64{3, 1, 2}, 2)
	f([]float64{4, 1, 3, 2}, 2.5)
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestNiceStep(t *testing.T) {
	for in, want := range map[float64]float64{0.3: 0.5, 1: 1, 1.2: 2, 37: 50, 600: 1000, 0.012: 0.02} {
		if got := niceStep(in); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestReportAndChart renders a synthetic run: medians over phases, ratios,
// a ringmetrics-only scale, and a chart over the side-by-side scales.
func TestReportAndChart(t *testing.T) {
	phase := func(srv Server, index int, rssMiB int64, cpu float64, p50 time.Duration) PhaseResult {
		p := PhaseResult{Server: srv, Index: index, Ready: Duration(time.Second), RSSBytes: rssMiB << 20, PeakRSSBytes: rssMiB << 21,
			HeapInuseBytes: rssMiB << 19, Goroutines: 100, CPUSeconds: cpu * 4, CPUSpan: Duration(60 * time.Second), CPUPerRound: cpu,
			Freshness: Freshness{P50: Duration(7 * time.Second), Max: Duration(15 * time.Second), AllMax: Duration(16 * time.Second), Samples: 100}}
		for _, e := range Endpoints {
			for _, path := range PathNames {
				for _, format := range Formats {
					p.Latency = append(p.Latency, Latency{Endpoint: e, Path: path, Format: format, Requests: 10, Concurrency: 2,
						P50: Duration(p50), P90: Duration(2 * p50), P99: Duration(3 * p50), Bytes: 1000, CPUPerRequest: 0.01})
				}
			}
		}
		return p
	}
	scale := func(nodes int, ms bool) ScaleResult {
		s := SideBySide(nodes)
		r := ScaleResult{Scale: s, Pods: nodes * 30, NamespacePods: 30, SelectorPods: 3,
			Phases: []PhaseResult{phase(Ringmetrics, 1, 50, 0.1, 10*time.Millisecond), phase(MetricsServer, 2, 200, 0.5, 40*time.Millisecond),
				phase(Ringmetrics, 3, 70, 0.3, 20*time.Millisecond), phase(MetricsServer, 4, 200, 0.5, 40*time.Millisecond)}}
		if !ms {
			r.Scale = FastRingmetrics(nodes)
			r.Phases = []PhaseResult{r.Phases[0], r.Phases[2]}
		}
		return r
	}
	full := scale(1000, false)
	full.Scale = FullHistory(1000)
	full.Phases = []PhaseResult{phase(Ringmetrics, 1, 150, 0.9, 10*time.Millisecond)}
	run := &Run{Machine: Machine{CPUs: 2, MemoryBytes: 24 << 30, Versions: map[string]string{"ringmetrics": "v0.1.0"}}, Command: "make bench",
		Scales: []ScaleResult{scale(100, true), scale(1000, true), scale(500, false), full}}
	var report bytes.Buffer
	if err := Report(&report, run, ChartFile); err != nil {
		t.Fatal(err)
	}
	got := report.String()
	for _, want := range []string{
		"| RSS, steady state (MiB) | 60.0 | 200.0 | 0.30 |", // median of 50 and 70
		"| CPU per scrape round (CPU-s) | 0.200 | 0.500 | 0.40 |",
		"| LIST PodMetrics, all namespaces | aggregator | json | 15.00 / 30.00 / 45.00 | 40.00 / 80.00 / 120.00 | 0.38 / 0.38 / 0.38 |",
		"## 500 nodes × 30 pods (15 000 pods), 1s resolution, ringmetrics alone",
		"| RSS, steady state (MiB) | 60.0 |\n",
		"## 1 000 nodes × 30 pods (30 000 pods), 2s resolution, ringmetrics alone, rings full (240 points a series)",
		// Against metrics-server's 200 MiB in the 1 000-node side-by-side scale.
		"- RSS, steady state: ringmetrics with full rings 150.0 MiB, metrics-server (1 000 nodes side by side) 200.0 MiB: **0.75×**.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if want := "nothing was added to either"; !strings.Contains(got, want) {
		t.Errorf("report without -ringmetrics-env lacks %q", want)
	}
	run.RingmetricsEnv = []string{"GOGC=100", "GOMEMLIMIT=1GiB"}
	report.Reset()
	if err := Report(&report, run, ChartFile); err != nil {
		t.Fatal(err)
	}
	if want := "ringmetrics ran with `GOGC=100 GOMEMLIMIT=1GiB` added to its environment"; !strings.Contains(report.String(), want) {
		t.Errorf("report lacks %q", want)
	}
	if want := "run with authentication disabled"; !strings.Contains(report.String(), want) {
		t.Errorf("report without -kubelet-auth lacks %q", want)
	}
	run.KubeletAuth = true
	report.Reset()
	if err := Report(&report, run, ChartFile); err != nil {
		t.Fatal(err)
	}
	if want, not := "authenticate and authorize every request", "authentication disabled"; !strings.Contains(report.String(), want) || strings.Contains(report.String(), not) {
		t.Errorf("report with -kubelet-auth should say %q and not %q", want, not)
	}

	var chart bytes.Buffer
	if err := Chart(&chart, run); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(chart.String(), "<polyline"); n != 4 {
		t.Errorf("chart has %d lines, want 4 (two servers × two panels)", n)
	}
}
