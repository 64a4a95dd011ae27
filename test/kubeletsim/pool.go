package kubeletsim

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery is how often a pool logs progress. It is wall-clock time: it
// paces log lines about the harness, not the simulation.
const progressEvery = 5 * time.Second

// pool runs API tasks on a fixed number of workers. The first error cancels
// the remaining tasks and is returned by wait.
type pool struct {
	ctx    context.Context
	cancel context.CancelFunc
	tasks  chan func(context.Context) (int, error)
	wg     sync.WaitGroup

	total, finished atomic.Int64
	reqs            atomic.Int64
	errOnce         sync.Once
	err             error

	stop chan struct{}
	logs sync.WaitGroup
}

// newPool starts workers; what and total label the progress lines logf
// receives.
func newPool(ctx context.Context, workers, total int, what string, logf func(string, ...any)) *pool {
	p := &pool{tasks: make(chan func(context.Context) (int, error)), stop: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.total.Store(int64(total))
	for range workers {
		p.wg.Go(func() {
			for fn := range p.tasks {
				if p.ctx.Err() != nil {
					continue
				}
				n, err := fn(p.ctx)
				p.reqs.Add(int64(n))
				p.finished.Add(1)
				if err != nil {
					p.fail(err)
				}
			}
		})
	}
	if total > 0 {
		p.logs.Go(func() {
			start := time.Now()
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					done := p.finished.Load()
					logf("kubeletsim: %s %d/%d done, %d requests (%.0f requests/s)", what, done, p.total.Load(),
						p.reqs.Load(), float64(p.reqs.Load())/time.Since(start).Seconds())
				}
			}
		})
	}
	return p
}

func (p *pool) fail(err error) {
	p.errOnce.Do(func() {
		p.err = err
		p.cancel()
	})
}

// do queues fn, or drops it once the pool has failed or ctx is done.
func (p *pool) do(fn func(context.Context) (int, error)) {
	select {
	case p.tasks <- fn:
	case <-p.ctx.Done():
	}
}

// wait runs the queued tasks to completion and returns the number of
// requests they made and the first error.
func (p *pool) wait() (int, error) {
	close(p.tasks)
	p.wg.Wait()
	close(p.stop)
	p.logs.Wait()
	err := p.err
	if err == nil {
		err = p.ctx.Err() // the caller's context ended
	}
	p.cancel()
	return int(p.reqs.Load()), err
}
