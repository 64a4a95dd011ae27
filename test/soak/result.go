package soak

import (
	"fmt"
	"math"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Result is what a run measured and how it was judged.
type Result struct {
	Config      Config        `json:"config"`
	Started     time.Time     `json:"started"`
	Elapsed     time.Duration `json:"elapsed"`
	FleetCreate string        `json:"fleetCreate"`
	Pods        int           `json:"pods"`
	// Args are ringmetrics's flags.
	Args []string `json:"args"`
	// Env is what was added to ringmetrics's environment.
	Env []string `json:"env,omitempty"`
	// Ready is from process start until /readyz answered 200.
	Ready time.Duration `json:"ready"`
	// MemoryBudget is Config.MemoryBudget().
	MemoryBudget int64 `json:"memoryBudget"`
	// Samples are taken every SampleEvery of the soak phase.
	Samples   []Sample       `json:"samples"`
	Soak      []Stats        `json:"soak"`
	Freshness Freshness      `json:"freshness"`
	Overload  OverloadResult `json:"overload"`
	// PeakRSS is VmHWM at the end of the run.
	PeakRSS int64 `json:"peakRss"`
	// Exited is set when ringmetrics exited during the run.
	Exited string  `json:"exited,omitempty"`
	Checks []Check `json:"checks"`
}

// Sample is the ringmetrics process at one moment of the soak phase.
type Sample struct {
	At         time.Duration `json:"at"`
	RSS        int64         `json:"rss"`
	Heap       int64         `json:"heap"`
	Goroutines int64         `json:"goroutines"`
}

// Freshness is what the NodeMetrics timestamps said during the soak phase.
type Freshness struct {
	Checks, Violations int
	MaxAge, Limit      time.Duration
	FirstProblem       string
}

// OverloadResult is the overload phase's figures.
type OverloadResult struct {
	HPA     Stats `json:"hpa"`
	Abusive Stats `json:"abusive"`
	// RSSBefore is VmRSS when the phase began, MaxRSS the largest sampled
	// each second during it.
	RSSBefore int64 `json:"rssBefore"`
	MaxRSS    int64 `json:"maxRss"`
}

// Check is one criterion.
type Check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	OK   bool   `json:"ok"`
}

// Failed lists the broken criteria.
func (r *Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

func (r *Result) check(name, want, got string, ok bool) {
	r.Checks = append(r.Checks, Check{Name: name, Want: want, Got: got, OK: ok})
}

// judge fills Checks.
func (r *Result) judge() {
	cfg := r.Config
	r.check("ringmetrics kept running", "no exit", or(r.Exited, "running"), r.Exited == "")
	for _, s := range r.Soak {
		r.check("soak: errors, "+string(s.Kind), "0", errorsGot(s), s.Errors == 0 && s.OK > 0)
	}
	if hpa, ok := r.stats(HPAList); ok {
		r.check("soak: namespaced LIST p99 (through the aggregator)", "< "+cfg.LatencyLimit.String(), ms(hpa.P99), hpa.OK > 0 && hpa.P99 < cfg.LatencyLimit)
	}
	r.flat("RSS", func(s Sample) float64 { return float64(s.RSS) })
	r.flat("goroutines", func(s Sample) float64 { return float64(s.Goroutines) })
	f := r.Freshness
	r.check("soak: every node's newest point younger than "+f.Limit.String(),
		fmt.Sprintf("0 violations in every NodeMetrics LIST (every %v)", cfg.Resolution/2),
		fmt.Sprintf("%d violations in %d LISTs, oldest %v%s", f.Violations, f.Checks, f.MaxAge.Round(time.Millisecond), suffix(f.FirstProblem)),
		f.Checks > 0 && f.Violations == 0)

	o := r.Overload
	r.check("overload: abusive client gets 429 from ringmetrics directly", "> 0", fmt.Sprint(o.Abusive.Statuses[429]), o.Abusive.Statuses[429] > 0)
	r.check("overload: abusive client gets nothing but 200 and 429", "0 other", errorsGot(o.Abusive), o.Abusive.Errors == 0)
	r.check("overload: HPA-like client errors", "0", errorsGot(o.HPA), o.HPA.Errors == 0 && o.HPA.OK > 0)
	r.check("overload: HPA-like namespaced LIST p99", "< "+cfg.LatencyLimit.String(), ms(o.HPA.P99), o.HPA.OK > 0 && o.HPA.P99 < cfg.LatencyLimit)
	r.check("overload: RSS within the memory request", "≤ "+mibs(r.MemoryBudget), mibs(o.MaxRSS)+" max, sampled each second", o.MaxRSS > 0 && o.MaxRSS <= r.MemoryBudget)
}

// flat checks that the samples of the last FlatWindow stay within
// FlatTolerance of their mean.
func (r *Result) flat(what string, value func(Sample) float64) {
	cfg := r.Config
	var vs []float64
	for _, s := range r.Samples {
		if s.At >= cfg.Duration-cfg.FlatWindow-time.Second {
			vs = append(vs, value(s))
		}
	}
	name := fmt.Sprintf("soak: %s flat over the last %v", what, cfg.FlatWindow)
	want := fmt.Sprintf("every sample within ±%.0f %% of their mean", cfg.FlatTolerance*100)
	if len(vs) < 3 {
		r.check(name, want, fmt.Sprintf("%d samples", len(vs)), false)
		return
	}
	var sum float64
	for _, v := range vs {
		sum += v
	}
	mean := sum / float64(len(vs))
	var dev float64
	for _, v := range vs {
		dev = max(dev, math.Abs(v-mean)/mean)
	}
	r.check(name, want, fmt.Sprintf("%d samples, largest deviation %.1f %%", len(vs), dev*100), dev <= cfg.FlatTolerance)
}

func (r *Result) stats(k Kind) (Stats, bool) {
	for _, s := range r.Soak {
		if s.Kind == k {
			return s, true
		}
	}
	return Stats{}, false
}

func errorsGot(s Stats) string {
	return fmt.Sprintf("%d of %d%s", s.Errors, s.Requests, suffix(s.FirstError))
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return " (first: " + s + ")"
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mibs(b int64) string { return fmt.Sprintf("%.1f MiB", mib(b)) }

// ChartMemoryRequest reads resources.requests.memory from the chart's
// values.yaml, so that the overload phase is held to what the chart
// actually asks for.
func ChartMemoryRequest(valuesPath string) (int64, error) {
	data, err := os.ReadFile(valuesPath)
	if err != nil {
		return 0, err
	}
	var values struct {
		Resources struct {
			Requests map[string]string `json:"requests"`
		} `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return 0, fmt.Errorf("%s: %w", valuesPath, err)
	}
	q, err := resource.ParseQuantity(values.Resources.Requests["memory"])
	if err != nil {
		return 0, fmt.Errorf("%s: resources.requests.memory: %w", valuesPath, err)
	}
	return q.Value(), nil
}
