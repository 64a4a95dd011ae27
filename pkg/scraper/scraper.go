// Package scraper polls every node's kubelet on its own loop and writes the
// decoded samples to the store.
package scraper

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// Writer is the store, seen from the scraper.
type Writer interface {
	// Write records one scrape of one node. It must not retain b.
	Write(b *sample.Batch, nowMs int64)
	// DeleteNode forgets a node that left the cluster.
	DeleteNode(node string)
}

// Config is what a Scraper needs. Every field is required unless noted.
type Config struct {
	Resolution time.Duration
	// Timeout bounds one scrape, body included.
	Timeout time.Duration
	// Endpoint chooses the kubelet endpoint; empty means EndpointAuto.
	Endpoint Endpoint
	Resolver TargetResolver
	Client   *KubeletClient
	Store    Writer
	// Clock drives the loops; tests pass a fake one.
	Clock clock.Clock
	// HasSynced reports whether the node informer has listed every node, so
	// readiness cannot latch on an empty node set.
	HasSynced func() bool
	// Servable reports whether the store serves a node's usage. A node's
	// first point alone is not servable (a rate needs two), so readiness
	// waits for it. Nil counts every attempted node as servable.
	Servable func(node string) bool
	// Metrics may be nil.
	Metrics *Metrics
	// Limits bound what one node's response may make the decoder and the
	// store keep; zero fields take decode's defaults.
	Limits decode.Limits
}

// readyAttempts is how many scrapes of a node readiness waits for at most: a
// kubelet that keeps serving one frozen reading must not hold the whole
// server unready.
const readyAttempts = 3

// Scraper owns one scrape loop per node.
type Scraper struct {
	cfg   Config
	epoch time.Time

	mu    sync.Mutex
	loops map[string]*nodeLoop
	// runCtx is set by Run; loops for nodes seen before Run start then.
	runCtx context.Context
	wg     sync.WaitGroup

	ready atomic.Bool
}

// New returns a Scraper; nothing runs until Run.
func New(cfg Config) *Scraper {
	if cfg.Endpoint == "" {
		cfg.Endpoint = EndpointAuto
	}
	return &Scraper{cfg: cfg, epoch: cfg.Clock.Now(), loops: map[string]*nodeLoop{}}
}

// Run starts the loops of every known node, and of nodes added later, and
// blocks until ctx ends and every loop has stopped.
func (s *Scraper) Run(ctx context.Context) {
	s.mu.Lock()
	s.runCtx = ctx
	for _, l := range s.loops {
		s.startLocked(l)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.wg.Wait()
}

// EventHandler keeps the loops in step with a node informer.
func (s *Scraper) EventHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.upsert(obj) },
		UpdateFunc: func(_, obj any) { s.upsert(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if node, ok := obj.(*corev1.Node); ok {
				s.DeleteNode(node.Name)
			}
		},
	}
}

func (s *Scraper) upsert(obj any) {
	if node, ok := obj.(*corev1.Node); ok {
		s.UpsertNode(node)
	}
}

// UpsertNode starts a loop for a new node or points an existing loop at the
// node's current address.
func (s *Scraper) UpsertNode(node *corev1.Node) {
	resolved, err := s.cfg.Resolver.Resolve(node)
	t := &target{Target: resolved, err: err}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.loops[node.Name]; ok {
		// Status updates arrive every few seconds; only a real change of
		// target is a new target, which is what resets the auto fallback.
		if !l.target.Load().same(t) {
			l.target.Store(t)
		}
		return
	}
	l := newNodeLoop(node.Name, s.offset(node.Name))
	l.resourceDecoder.Limits, l.summaryDecoder.Limits = s.cfg.Limits, s.cfg.Limits
	l.target.Store(t)
	s.loops[node.Name] = l
	if s.runCtx != nil {
		s.startLocked(l)
	}
}

// DeleteNode stops a node's loop and drops its data.
func (s *Scraper) DeleteNode(name string) {
	s.mu.Lock()
	l, ok := s.loops[name]
	delete(s.loops, name)
	s.mu.Unlock()
	if !ok {
		return
	}
	l.stop()
	s.cfg.Store.DeleteNode(name)
	klog.V(2).InfoS("Stopped scraping deleted node", "node", klog.KRef("", name))
}

func (s *Scraper) startLocked(l *nodeLoop) {
	ctx, cancel := context.WithCancel(s.runCtx)
	l.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(l.done)
		l.run(ctx, s)
	}()
}

// NodeCount reports how many nodes have a loop.
func (s *Scraper) NodeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.loops)
}

// offset spreads the nodes' scrapes evenly over the resolution, the same
// way on every replica and after every restart.
func (s *Scraper) offset(name string) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(s.cfg.Resolution))
}

// startupSpread bounds how long the first round takes: readiness waits for
// it, so it is short, yet spread so thousands of nodes do not all connect in
// the same instant.
func (s *Scraper) startupSpread() time.Duration {
	return min(s.cfg.Resolution, 2*time.Second)
}

// untilNextPhase returns how long to wait for the node's next slot. A slot
// closer than a quarter of the resolution is skipped so that two points
// never sit so close that the CPU rate between them is noise.
func (s *Scraper) untilNextPhase(offset time.Duration) time.Duration {
	res := s.cfg.Resolution
	phase := s.cfg.Clock.Since(s.epoch) % res
	d := (offset - phase + res) % res
	if d < res/4 {
		d += res
	}
	return d
}

// CheckReady passes once the node informer has synced and every known node
// has either failed its latest scrape, or has servable usage, or has been
// tried readyAttempts times, and at least one node is servable. So an HPA
// reading a freshly started replica never sees a half-filled store. It latches: nodes added later do not make a
// serving replica unready.
func (s *Scraper) CheckReady() error {
	if s.ready.Load() {
		return nil
	}
	if s.cfg.HasSynced != nil && !s.cfg.HasSynced() {
		return errors.New("node informer has not synced")
	}
	s.mu.Lock()
	if s.runCtx == nil {
		s.mu.Unlock()
		return errors.New("scraper has not started")
	}
	var pending []string
	servable := 0
	for name, l := range s.loops {
		if !s.settled(name, l) {
			pending = append(pending, name)
		}
		if s.cfg.Servable == nil || s.cfg.Servable(name) {
			servable++
		}
	}
	total := len(s.loops)
	s.mu.Unlock()
	if len(pending) > 0 {
		sort.Strings(pending)
		if len(pending) > 5 {
			pending = append(pending[:5], "…")
		}
		return fmt.Errorf("%d of %d nodes have no usable data yet: %s", len(pending), total, strings.Join(pending, ", "))
	}
	// Every node failing (RBAC missing, wrong CA) is not a ready server: it
	// would answer every client with an empty list.
	if total > 0 && servable == 0 {
		return fmt.Errorf("none of %d nodes has servable usage; see /debug/scrapes for why", total)
	}
	s.ready.Store(true)
	return nil
}

func (s *Scraper) settled(name string, l *nodeLoop) bool {
	attempts := l.attempts.Load()
	switch {
	case attempts == 0:
		return false
	case l.failure.Load() != nil, attempts >= readyAttempts:
		return true
	}
	return s.cfg.Servable == nil || s.cfg.Servable(name)
}

// NodeFailure is a node whose latest scrape failed.
type NodeFailure struct {
	Node   string
	Reason Reason
	Err    string
	Since  time.Time
}

// Failures lists the nodes whose latest scrape failed, sorted by name.
func (s *Scraper) Failures() []NodeFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []NodeFailure
	for name, l := range s.loops {
		if f := l.failure.Load(); f != nil {
			out = append(out, NodeFailure{Node: name, Reason: f.Reason, Err: f.Err, Since: f.Since})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}
