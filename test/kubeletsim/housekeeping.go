package kubeletsim

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// maxSampleTimes is how many sample times each node remembers for
// SampleTimes.
const maxSampleTimes = 64

// housekeeping holds each node's latest sample while Fleet.SetSampleInterval
// is on. A real kubelet serves both endpoints from stats that cadvisor
// collects every housekeeping interval (10–15s), not at the request: two
// readers that scrape within one interval read the same sample, timestamps
// included, and a reader faster than the interval reads repeats. Without
// this mode every request is a fresh sample.
type housekeeping struct {
	mu       sync.Mutex
	interval int64 // ms; 0 is off
	nodes    map[*node]*nodeSample
	// firstMs is the time of the first sample that showed each pod.
	firstMs map[podKey]int64
}

// nodeSample is one node's latest sample, rendered once and never changed:
// requests share its bodies.
type nodeSample struct {
	ms         int64
	resource   []byte
	summary    []byte
	summaryErr error
	// times are the node's sample times, oldest first.
	times []int64
}

// SetSampleInterval makes every node take a sample (the values, counters
// and timestamps of both /metrics/resource and /stats/summary) at most
// every d and serve the latest one in between, as a kubelet serves
// cadvisor's cached stats. A sample is taken by the first request after the
// previous one is d old, with the workload as it is at that moment, so a
// later change of usage or a restart shows from the next sample on and
// never rewrites one already served. d = 0 goes back to a fresh sample per
// request. Either way the samples, SampleTimes and FirstSampled start
// afresh.
func (f *Fleet) SetSampleInterval(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("negative sample interval %v", d)
	}
	h := &f.housekeeping
	h.mu.Lock()
	defer h.mu.Unlock()
	h.interval = d.Milliseconds()
	h.nodes = nil
	h.firstMs = nil
	if d > 0 {
		h.nodes = map[*node]*nodeSample{}
		h.firstMs = map[podKey]int64{}
	}
	return nil
}

// SampleTimes returns the times of the node's latest samples (at most 64),
// oldest first, taken since SetSampleInterval was last called with a
// positive interval. It returns nil when the mode is off or the node is
// unknown.
func (f *Fleet) SampleTimes(node string) []time.Time {
	f.mu.RLock()
	n := f.byName[node]
	f.mu.RUnlock()
	h := &f.housekeeping
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.nodes[n]
	if s == nil {
		return nil
	}
	out := make([]time.Time, len(s.times))
	for i, ms := range s.times {
		out[i] = time.UnixMilli(ms)
	}
	return out
}

// FirstSampled returns the time of the first sample that showed the pod
// since SetSampleInterval was last called with a positive interval, and
// false when none has yet.
func (f *Fleet) FirstSampled(namespace, pod string) (time.Time, bool) {
	h := &f.housekeeping
	h.mu.Lock()
	defer h.mu.Unlock()
	ms, ok := h.firstMs[podKey{namespace, pod}]
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// ContainerStart returns the container's current start time: when its pod
// started, or its last RestartContainer.
func (f *Fleet) ContainerStart(namespace, pod, container string) (time.Time, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p, err := f.podLocked(namespace, pod)
	if err != nil {
		return time.Time{}, err
	}
	c, err := p.containerNamed(container)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(c.startMs), nil
}

// cachedSample returns the node's current sample, taking a new one when
// the last is an interval old, or false when the mode is off.
func (f *Fleet) cachedSample(n *node) (*nodeSample, bool) {
	h := &f.housekeeping
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.interval == 0 {
		return nil, false
	}
	nowMs := f.nowMs()
	s := h.nodes[n]
	if s != nil && nowMs-s.ms < h.interval {
		return s, true
	}
	next := &nodeSample{ms: nowMs}
	if s != nil {
		next.times = append(next.times, s.times[max(len(s.times)-maxSampleTimes+1, 0):]...)
	}
	next.times = append(next.times, nowMs)
	f.mu.RLock()
	next.resource = appendResource(nil, n, nowMs, f.relativeStarts.Load())
	summary := buildSummary(n, nowMs/1000*1000, f.cfg.NodeMemory.Value())
	for _, p := range n.visible {
		k := podKey{p.namespace, p.name}
		if _, seen := h.firstMs[k]; !seen {
			h.firstMs[k] = nowMs
		}
	}
	f.mu.RUnlock()
	next.summary, next.summaryErr = json.Marshal(summary)
	h.nodes[n] = next
	return next, true
}
