package scraper

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// maxRetainedBuffer is the largest body buffer a loop keeps between scrapes;
// a rare large response should not pin its memory for the node's lifetime.
const maxRetainedBuffer = 1 << 20

type target struct {
	url string
	err error
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
	decoder *decode.Decoder
	batch   sample.Batch
	body    bytes.Buffer
	state   Reason
	started bool
}

func newNodeLoop(name string, offset time.Duration) *nodeLoop {
	return &nodeLoop{name: name, offset: offset, done: make(chan struct{}), decoder: decode.NewDecoder()}
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
		return &ScrapeError{Reason: ReasonNoAddress, Err: t.err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err := s.cfg.Client.Get(ctx, t.url, &l.body)
	defer l.trimBuffer()
	if err != nil {
		return err
	}
	if err := l.decoder.DecodeResource(l.body.Bytes(), &l.batch); err != nil {
		return &ScrapeError{Reason: ReasonDecode, Err: err}
	}
	s.cfg.Metrics.countSkips(&l.batch)
	// A body without the node's own usage is not a kubelet's answer; storing
	// it would drop every container the node held.
	if !l.batch.HasNode {
		return &ScrapeError{Reason: ReasonDecode, Err: errNoNodeUsage}
	}
	l.batch.Node = l.name
	s.cfg.Store.Write(&l.batch, s.cfg.Clock.Now().UnixMilli())
	return nil
}

func (l *nodeLoop) trimBuffer() {
	if l.body.Cap() > maxRetainedBuffer {
		l.body = bytes.Buffer{}
	}
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
		l.failure.Store(&failure{Reason: reason, Err: err.Error(), Since: at})
	case err != nil:
		klog.V(4).InfoS("Kubelet scrape still failing", "node", klog.KRef("", l.name), "reason", reason, "err", err)
	case l.state != "":
		klog.InfoS("Kubelet scrape recovered", "node", klog.KRef("", l.name), "previousReason", l.state)
		l.failure.Store(nil)
	case !l.started:
		klog.V(2).InfoS("First kubelet scrape succeeded", "node", klog.KRef("", l.name), "containers", len(l.batch.Containers))
	}
	l.started = l.started || err == nil
	l.state = reason
}
