package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// ScaleResult is everything measured at one scale.
type ScaleResult struct {
	Scale Scale `json:"scale"`
	// Pods is the number of pods, NamespacePods the pods in the namespace
	// the namespace LIST reads, SelectorPods the pods its selector matches.
	Pods          int    `json:"pods"`
	NamespacePods int    `json:"namespacePods"`
	SelectorPods  int    `json:"selectorPods"`
	Paths         Paths  `json:"paths"`
	FleetCreate   string `json:"fleetCreate"`
	// FleetCreateSeconds is how long creating the nodes and pods took.
	FleetCreateSeconds float64       `json:"fleetCreateSeconds"`
	Phases             []PhaseResult `json:"phases"`
	Started            time.Time     `json:"started"`
	Elapsed            Duration      `json:"elapsed"`
}

// Paths are the API paths each endpoint requested.
type Paths map[Endpoint]string

// PhaseResult is one server's figures in one phase.
type PhaseResult struct {
	Server Server `json:"server"`
	// Index numbers the phases of a scale from 1, in the order they ran.
	Index int `json:"index"`
	// Ready is from process start until /readyz answered 200, Available
	// from then until the aggregator reported the APIService Available.
	Ready     Duration `json:"ready"`
	Available Duration `json:"available"`
	// RSSBytes is the median of VmRSS sampled every round of the CPU span;
	// PeakRSSBytes is VmHWM at the end of the phase, after the API load.
	RSSBytes     int64 `json:"rssBytes"`
	PeakRSSBytes int64 `json:"peakRssBytes"`
	// HeapInuseBytes is go_memstats_heap_inuse_bytes from the server's own
	// /metrics after the CPU span; Goroutines is go_goroutines.
	HeapInuseBytes int64 `json:"heapInuseBytes"`
	Goroutines     int64 `json:"goroutines"`
	// CPUSeconds is utime+stime over CPUSpan; CPUPerRound scales it to one
	// scrape round at the server's resolution.
	CPUSeconds  float64   `json:"cpuSeconds"`
	CPUSpan     Duration  `json:"cpuSpan"`
	CPUPerRound float64   `json:"cpuPerRound"`
	Freshness   Freshness `json:"freshness"`
	Latency     []Latency `json:"latency"`
	// LoadAvg is the machine's 1-minute load average at the start and end.
	LoadAvg [2]float64 `json:"loadAvg"`
	// Error says why the phase ended early; its figures are left out of the
	// medians.
	Error string `json:"error,omitempty"`
	// Profiles are the files written for this phase, if any.
	Profiles []string `json:"profiles,omitempty"`
}

// Freshness is the age of the newest point served: now minus the
// NodeMetrics timestamp, which the API carries in whole seconds (so an age
// can read up to 1s more than it is).
type Freshness struct {
	// P50 and Max are over every sampled node in every probe; AllMax is the
	// largest age over all nodes of a NodeMetrics LIST, over the probes.
	P50     Duration `json:"p50"`
	Max     Duration `json:"max"`
	AllMax  Duration `json:"allMax"`
	Samples int      `json:"samples"`
	// Missing counts sampled or listed nodes without metrics.
	Missing int `json:"missing"`
}

// Latency is one endpoint timed on one path in one format.
type Latency struct {
	Endpoint    Endpoint `json:"endpoint"`
	Path        string   `json:"path"`   // "aggregator" or "direct"
	Format      string   `json:"format"` // "json" or "protobuf"
	Requests    int      `json:"requests"`
	Concurrency int      `json:"concurrency"`
	Errors      int      `json:"errors"`
	FirstError  string   `json:"firstError,omitempty"`
	P50         Duration `json:"p50"`
	P90         Duration `json:"p90"`
	P99         Duration `json:"p99"`
	// Bytes is the size of one response.
	Bytes int64 `json:"bytes"`
	// CPUPerRequest is the server's CPU seconds during the run, less its
	// scraping CPU over the same time, per request.
	CPUPerRequest float64 `json:"cpuPerRequest"`
}

// Duration marshals as seconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// latency returns the phase's timing of e on path in format.
func (p *PhaseResult) latency(e Endpoint, path, format string) (Latency, bool) {
	i := slices.IndexFunc(p.Latency, func(l Latency) bool { return l.Endpoint == e && l.Path == path && l.Format == format })
	if i < 0 {
		return Latency{}, false
	}
	return p.Latency[i], true
}

// Run is a saved run: what the report is rendered from.
type Run struct {
	Machine Machine `json:"machine"`
	Command string  `json:"command"`
	// KubeletAuth says the simulated kubelets authenticated every request.
	KubeletAuth bool `json:"kubeletAuth,omitempty"`
	// RingmetricsEnv is what was added to ringmetrics's environment.
	RingmetricsEnv []string      `json:"ringmetricsEnv,omitempty"`
	Started        time.Time     `json:"started"`
	Elapsed        Duration      `json:"elapsed"`
	Scales         []ScaleResult `json:"scales"`
}

// Save writes r as indented JSON.
func (r *Run) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Load reads a run saved by Save.
func Load(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
