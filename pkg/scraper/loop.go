package scraper

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// maxPooledBuffer is the largest body buffer put back in the pool; a rare
// large response should not pin its memory.
const maxPooledBuffer = 1 << 20

// bodies holds response buffers shared by all loops. Scrapes are staggered,
// so only a few run at once: a buffer per node (5 000 × ~64 KiB) would hold
// hundreds of megabytes for nothing.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type target struct {
	Target
	err error
}

func (t *target) same(o *target) bool {
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	return t.Target == o.Target && errText(t.err) == errText(o.err)
}

type failure struct {
	Reason Reason
	Err    string
	Since  time.Time
}

// nodeLoop is one node's scrape loop. The fields after "owned by run" are
// touched only by the loop's goroutine.
type nodeLoop struct {
	name     string
	offset   time.Duration
	target   atomic.Pointer[target]
	attempts atomic.Int32
	failure  atomic.Pointer[failure]
	cancel   context.CancelFunc
	done     chan struct{}

	// owned by run
	resourceDecoder decode.ResourceDecoder
	summaryDecoder  decode.SummaryDecoder
	batch           sample.Batch
	state           Reason
	started         bool
	// summary is set once an auto-mode node turned out to lack resource
	// metrics. It holds only for the target it was learnt on (summaryFor)
	// and for resourceReprobeInterval, so a past mistake, such as a bad
	// annotation since corrected, never pins a node to the summary API.
	summary    bool
	summaryFor *target
	summaryAt  time.Time
}

// resourceReprobeInterval is how long an auto-mode node stays on the summary
// API before /metrics/resource is tried again: one extra request per node
// every few minutes, against a kubelet upgraded or reconfigured in place.
const resourceReprobeInterval = 5 * time.Minute

func newNodeLoop(name string, offset time.Duration) *nodeLoop {
	return &nodeLoop{name: name, offset: offset, done: make(chan struct{})}
}

func (l *nodeLoop) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

func (l *nodeLoop) run(ctx context.Context, s *Scraper) {
	delay := l.offset % s.startupSpread()
	for {
		timer := s.cfg.Clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		}
		start := s.cfg.Clock.Now()
		err := l.scrape(ctx, s)
		if ctx.Err() != nil {
			// Cancelled mid-scrape: the node left or the server is stopping;
			// neither is the node's fault.
			return
		}
		s.cfg.Metrics.observe(s.cfg.Clock.Since(start).Seconds(), err)
		l.attempts.Add(1)
		l.record(err, start)
		delay = s.untilNextPhase(l.offset)
	}
}

var errNoNodeUsage = errors.New("response held no node usage")

func (l *nodeLoop) scrape(ctx context.Context, s *Scraper) error {
	t := l.target.Load()
	if t.err != nil {
		return t.err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	body := bodies.Get().(*bytes.Buffer)
	defer func() {
		if body.Cap() <= maxPooledBuffer {
			bodies.Put(body)
		}
	}()
	now := s.cfg.Clock.Now()
	if l.summary && (l.summaryFor != t || now.Sub(l.summaryAt) >= resourceReprobeInterval) {
		l.summary = false
	}
	summary := s.cfg.Endpoint == EndpointSummary || l.summary
	err := l.fetch(ctx, s, t.Target, summary, body)
	if err != nil && s.cfg.Endpoint == EndpointAuto && !summary && lacksResourceMetrics(err) {
		if fallbackErr := l.fetch(ctx, s, t.Target, true, body); fallbackErr != nil {
			return err
		}
		if l.summaryFor != t {
			klog.InfoS("Kubelet serves no resource metrics; scraping its summary API instead", "node", klog.KRef("", l.name), "cause", err)
		}
		l.summary, l.summaryFor, l.summaryAt = true, t, now
	} else if err != nil {
		return err
	}
	s.cfg.Metrics.countSkips(&l.batch)
	l.batch.Node = l.name
	s.cfg.Store.Write(&l.batch, s.cfg.Clock.Now().UnixMilli())
	return nil
}

// fetch reads one endpoint into l.batch, using body as scratch. The decoder
// interns every string, so nothing in the batch points into body.
func (l *nodeLoop) fetch(ctx context.Context, s *Scraper, t Target, summary bool, body *bytes.Buffer) error {
	if err := s.cfg.Client.Get(ctx, t.URL(summary), body); err != nil {
		return err
	}
	// The decoder not used lets go of its tables, so that a node whose
	// kubelet switches endpoints holds one decoder's worth, not two.
	var err error
	if summary {
		l.resourceDecoder.Reset()
		err = l.summaryDecoder.Decode(body.Bytes(), &l.batch)
	} else {
		l.summaryDecoder.Reset()
		// Old kubelets write no timestamps; the response time is the best
		// stand-in. The decoder uses it only when no CPU series of the body
		// has a timestamp, never mixing the two clocks within a body.
		l.resourceDecoder.FallbackTimestampMs = s.cfg.Clock.Now().UnixMilli()
		err = l.resourceDecoder.Decode(body.Bytes(), &l.batch)
	}
	if err != nil {
		return &ScrapeError{Reason: ReasonDecode, Err: err}
	}
	// A body without the node's own usage is not a kubelet's answer; storing
	// it would drop every container the node held.
	if !l.batch.HasNode {
		return &ScrapeError{Reason: ReasonDecode, Err: errNoNodeUsage}
	}
	return nil
}

// lacksResourceMetrics tells a kubelet without /metrics/resource (older
// versions, some runtimes) from one that is merely failing.
func lacksResourceMetrics(err error) bool {
	switch reasonOf(err) {
	case ReasonNotFound, ReasonDecode:
		return true
	}
	return false
}

// record logs a node's state only when it changes, so a node that fails every
// scrape for an hour costs one log line, not 240.
func (l *nodeLoop) record(err error, at time.Time) {
	var reason Reason
	if err != nil {
		reason = reasonOf(err)
	}
	switch {
	case err != nil && reason != l.state:
		klog.ErrorS(err, "Failed to scrape kubelet", "node", klog.KRef("", l.name), "reason", reason)
		l.failure.Store(&failure{Reason: reason, Err: shortError(reason, err), Since: at})
	case err != nil:
		klog.V(4).InfoS("Kubelet scrape still failing", "node", klog.KRef("", l.name), "reason", reason, "err", err)
		// The streak keeps its start, but an operator reads the latest error.
		l.failure.Store(&failure{Reason: reason, Err: shortError(reason, err), Since: l.failure.Load().Since})
	case l.state != "":
		klog.InfoS("Kubelet scrape recovered", "node", klog.KRef("", l.name), "previousReason", l.state)
		l.failure.Store(nil)
	case !l.started:
		klog.V(2).InfoS("First kubelet scrape succeeded", "node", klog.KRef("", l.name), "containers", len(l.batch.Containers))
	}
	l.started = l.started || err == nil
	l.state = reason
}

// shortError is the failure an operator reads on the diagnostics page. A
// decode error quotes the kubelet's bytes, which belong in the logs only.
func shortError(reason Reason, err error) string {
	if reason != ReasonDecode {
		return err.Error()
	}
	for _, known := range []error{decode.ErrNotText, decode.ErrNotJSON, errNoNodeUsage} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return "response could not be decoded"
}
