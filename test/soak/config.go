// Package soak holds ringmetrics under sustained load on the test bed, then
// under an abusive client, and judges what it saw.
//
// One bed (a real control plane, simulated kubelets, ringmetrics behind the
// aggregator) runs two phases:
//
//   - Soak, for Duration: HPA-like clients (label-selected namespaced
//     PodMetrics LISTs in protobuf over HPANamespaces namespaces every
//     HPAInterval), `kubectl top pod -A`-like full LISTs every TopInterval
//     and single PodMetrics GETs at GetRate, all through the aggregator as
//     ordinary (not system:masters) users; the ringmetrics process's RSS and
//     goroutines every SampleEvery; and the NodeMetrics timestamps of every
//     node every half resolution.
//   - Overload, for Overload.Duration: AbusiveClients concurrent full LISTs,
//     repeated, straight to ringmetrics's port, while the HPA-like client
//     keeps going through the aggregator; RSS every second.
//
// Result.Checks says which criterion held; Run returns an error only when
// the run itself could not be carried out.
package soak

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/server/options"
)

// Config is one soak run.
type Config struct {
	// Ringmetrics is the path of the binary under test; ExtraArgs are
	// appended to the bed's flags for it, and Env (NAME=value pairs, such
	// as GOGC=100) to the environment it inherits.
	Ringmetrics string
	ExtraArgs   []string
	Env         []string

	Nodes, PodsPerNode, Namespaces int
	Resolution                     time.Duration
	// History is --history; 0 keeps ringmetrics's default (1h).
	History time.Duration
	// Duration is the soak phase, from the moment the APIService is
	// Available.
	Duration time.Duration
	// SampleEvery spaces RSS and goroutine samples; the samples at or after
	// Duration-FlatWindow must stay within FlatTolerance of their mean.
	SampleEvery   time.Duration
	FlatWindow    time.Duration
	FlatTolerance float64

	HPANamespaces int
	HPAInterval   time.Duration
	// HPAWorkers is the HPA-like client's concurrency (the HPA controller's
	// default --concurrent-horizontal-pod-autoscaler-syncs is 5).
	HPAWorkers  int
	TopInterval time.Duration
	// GetRate is single PodMetrics GETs per second, spread over GetPods pods.
	GetRate float64
	GetPods int

	// LatencyLimit is the most the namespaced LIST's p99 may be (the
	// Kubernetes API SLO for namespaced LISTs).
	LatencyLimit time.Duration
	// FreshnessLimit is the oldest a node's newest point may be, in
	// resolutions.
	FreshnessLimit int

	Overload Overload

	// MemoryRequest is the chart's default memory request in bytes (see
	// ChartMemoryRequest); the overload phase's RSS must stay within it,
	// scaled to the fleet (see MemoryBudget).
	MemoryRequest int64

	// WorkDir holds the bed's files; it is removed after a run unless
	// KeepWorkDir is set.
	WorkDir     string
	KeepWorkDir bool
	FirstIP     netip.Addr
	KubeletPort int
	Logf        func(format string, args ...any)
}

// Overload is the abusive phase.
type Overload struct {
	Duration time.Duration
	// AbusiveClients LIST every pod's metrics at once, straight to
	// ringmetrics, each starting its next request as soon as one ends, or
	// RetryAfter429 after a 429 (ignoring Retry-After: 1s, as an abusive
	// client would).
	AbusiveClients int
	RetryAfter429  time.Duration
}

// Default is the full soak: 1 000 nodes × 30 pods at 15s for 10 minutes,
// then 2 minutes of overload.
func Default() Config {
	return Config{
		Nodes: 1000, PodsPerNode: 30, Namespaces: 100,
		Resolution:  15 * time.Second,
		Duration:    10 * time.Minute,
		SampleEvery: time.Minute, FlatWindow: 5 * time.Minute, FlatTolerance: 0.05,
		HPANamespaces: 50, HPAInterval: 15 * time.Second, HPAWorkers: 5,
		TopInterval: 10 * time.Second,
		GetRate:     100, GetPods: 200,
		LatencyLimit: time.Second, FreshnessLimit: 2,
		Overload: Overload{Duration: 2 * time.Minute, AbusiveClients: 200, RetryAfter429: 100 * time.Millisecond},
	}
}

// Short is the version make test runs: 50 nodes × 10 pods at 2s for 60s,
// the clients' intervals scaled by 2s/15s (GETs stay at 100/s), a history
// of 60 points as the default one has at 15s, then 20s of overload.
func Short() Config {
	c := Default()
	c.Nodes, c.PodsPerNode, c.Namespaces = 50, 10, 50
	c.Resolution = 2 * time.Second
	c.History = 60 * c.Resolution
	c.Duration, c.SampleEvery, c.FlatWindow = 60*time.Second, 10*time.Second, 30*time.Second
	c.HPAInterval = c.Resolution
	c.TopInterval = (c.Resolution * 10 / 15).Round(100 * time.Millisecond)
	c.GetPods = 100
	c.Overload.Duration = 20 * time.Second
	return c
}

// Containers is the fleet's container count (one per pod).
func (c *Config) Containers() int { return c.Nodes * c.PodsPerNode }

// history is --history as ringmetrics runs.
func (c *Config) history() time.Duration {
	if c.History > 0 {
		return c.History
	}
	return options.NewOptions().History
}

// chartSizing is what the chart's default requests were measured on
// (charts/ringmetrics/values.yaml): 100 nodes × 30 pods, one container
// each, the default hour of history at 15s: 240 points per series.
const (
	chartContainers = 3000
	chartPoints     = 240
)

// MemoryBudget is the memory request for this fleet: the chart's default
// request, which covers 3 000 containers × 240 points, raised in proportion
// to containers × points above that, as the chart's values.yaml says to
// ("memory grows with containers x history / metric-resolution: raise the
// memory request with the cluster").
func (c *Config) MemoryBudget() int64 {
	points := float64(c.history() / c.Resolution)
	factor := max(1, float64(c.Containers())*points/(chartContainers*chartPoints))
	return int64(float64(c.MemoryRequest) * factor)
}

func (c *Config) validate() error {
	var errs []error
	if c.Ringmetrics == "" {
		errs = append(errs, errors.New("no ringmetrics binary"))
	}
	if c.Nodes < 1 || c.PodsPerNode < 1 || c.Namespaces < 1 {
		errs = append(errs, fmt.Errorf("nodes %d, pods per node %d and namespaces %d must be positive", c.Nodes, c.PodsPerNode, c.Namespaces))
	}
	if c.HPANamespaces < 1 || c.HPANamespaces > c.Namespaces {
		errs = append(errs, fmt.Errorf("HPA namespaces %d must be between 1 and the %d namespaces", c.HPANamespaces, c.Namespaces))
	}
	if c.Resolution < time.Second || c.Duration <= 0 || c.SampleEvery <= 0 || c.FlatWindow <= 0 || c.FlatWindow > c.Duration {
		errs = append(errs, fmt.Errorf("resolution %v, duration %v, sample interval %v and flat window %v do not fit", c.Resolution, c.Duration, c.SampleEvery, c.FlatWindow))
	}
	if c.FlatWindow < 2*c.SampleEvery {
		errs = append(errs, fmt.Errorf("flat window %v holds fewer than 3 samples %v apart", c.FlatWindow, c.SampleEvery))
	}
	if c.HPAInterval <= 0 || c.HPAWorkers < 1 || c.TopInterval <= 0 || c.GetRate <= 0 || c.GetPods < 1 {
		errs = append(errs, errors.New("client intervals, workers, GET rate and GET pods must be positive"))
	}
	if c.LatencyLimit <= 0 || c.FreshnessLimit < 1 || c.FlatTolerance <= 0 {
		errs = append(errs, errors.New("latency limit, freshness limit and flat tolerance must be positive"))
	}
	if c.Overload.Duration <= 0 || c.Overload.AbusiveClients < 1 || c.Overload.RetryAfter429 < 0 {
		errs = append(errs, fmt.Errorf("overload %+v: duration and clients must be positive", c.Overload))
	}
	if c.MemoryRequest <= 0 {
		errs = append(errs, errors.New("no memory request (see ChartMemoryRequest)"))
	}
	return errors.Join(errs...)
}
