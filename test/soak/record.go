package soak

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bench"
)

// Kind names one kind of request the harness times.
type Kind string

const (
	HPAList     Kind = "hpa-namespaced-list"
	TopList     Kind = "top-list-all"
	GetPod      Kind = "get-pod"
	NodeList    Kind = "freshness-node-list"
	AbusiveList Kind = "abusive-list-all"
)

// recorder gathers one kind's outcomes; it is safe for concurrent use.
type recorder struct {
	mu         sync.Mutex
	durations  []time.Duration
	statuses   map[int]int
	errors     int
	firstError string
}

func newRecorder() *recorder { return &recorder{statuses: map[int]int{}} }

// ok records a request that was answered as expected.
func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.durations = append(r.durations, d)
	r.statuses[http.StatusOK]++
	r.mu.Unlock()
}

// fail records a failed request: status is 0 when no answer came.
func (r *recorder) fail(status int, err error) {
	r.mu.Lock()
	r.errors++
	r.statuses[status]++
	if r.firstError == "" {
		r.firstError = err.Error()
	}
	r.mu.Unlock()
}

// status records an answer that is neither a success nor an error of the
// client (the abusive client's 429s).
func (r *recorder) status(code int) {
	r.mu.Lock()
	r.statuses[code]++
	r.mu.Unlock()
}

// Stats is one kind's figures.
type Stats struct {
	Kind Kind `json:"kind"`
	// Requests counts every answered or failed request; OK those answered
	// 200 with what was asked for.
	Requests   int         `json:"requests"`
	OK         int         `json:"ok"`
	Errors     int         `json:"errors"`
	FirstError string      `json:"firstError,omitempty"`
	Statuses   map[int]int `json:"statuses"`
	// Percentiles of the OK requests, nearest rank.
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
	// Rate is requests per second over the phase.
	Rate float64 `json:"rate"`
}

func (r *recorder) stats(kind Kind, over time.Duration) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := slices.Clone(r.durations)
	slices.Sort(d)
	s := Stats{Kind: kind, OK: len(d), Errors: r.errors, FirstError: r.firstError, Statuses: map[int]int{}}
	for code, n := range r.statuses {
		s.Statuses[code] = n
		s.Requests += n
	}
	if len(d) > 0 {
		s.P50, s.P99, s.Max = bench.Percentile(d, 0.50), bench.Percentile(d, 0.99), d[len(d)-1]
	}
	if over > 0 {
		s.Rate = float64(s.Requests) / over.Seconds()
	}
	return s
}
