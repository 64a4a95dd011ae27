package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

const (
	// requestTimeout bounds one request; a full LIST of 30 000 pods through
	// the aggregator on two busy cores takes seconds.
	requestTimeout = 60 * time.Second
)

// answer is one request's outcome: the status and the body, read whole.
type answer struct {
	status int
	body   []byte
	took   time.Duration
}

// do GETs url asking for accept, reads the whole body and times it.
func do(ctx context.Context, client *http.Client, url, accept string) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Accept", accept)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: body, took: time.Since(start)}
	if err != nil {
		return a, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, accept) {
			return a, fmt.Errorf("GET %s: Content-Type %q, asked for %q", url, ct, accept)
		}
	}
	return a, nil
}

// record files a request that must answer 200 with a body check may
// accept (nil accepts any body).
func record(rec *recorder, a answer, err error, url string, check func([]byte) error) {
	switch {
	case err != nil:
		rec.fail(a.status, err)
	case a.status != http.StatusOK:
		rec.fail(a.status, fmt.Errorf("GET %s: %d: %.200s", url, a.status, a.body))
	case check != nil:
		if err := check(a.body); err != nil {
			rec.fail(a.status, fmt.Errorf("GET %s: %w", url, err))
			return
		}
		rec.ok(a.took)
	default:
		rec.ok(a.took)
	}
}

// every runs f now and then every interval until ctx ends; a round that
// runs late starts the next one at once.
func every(ctx context.Context, interval time.Duration, f func()) {
	next := time.Now()
	for ctx.Err() == nil {
		f()
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		} else {
			next = time.Now()
		}
	}
}

// hpaClient LISTs each of urls (a namespace and an app label each) in
// protobuf every interval, workers at a time, as the HPA controller does.
func hpaClient(ctx context.Context, client *http.Client, urls []string, interval time.Duration, workers int, rec *recorder) {
	every(ctx, interval, func() {
		next := make(chan string)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for url := range next {
					a, err := do(ctx, client, url, bed.MediaProtobuf)
					if ctx.Err() != nil {
						return
					}
					record(rec, a, err, url, func(body []byte) error {
						if len(body) == 0 {
							return fmt.Errorf("empty body")
						}
						return nil
					})
				}
			})
		}
		for _, url := range urls {
			select {
			case next <- url:
			case <-ctx.Done():
			}
		}
		close(next)
		wg.Wait()
	})
}

// topClient LISTs every pod's metrics in JSON every interval, as `kubectl
// top pod -A` does, and checks every pod is in the answer.
func topClient(ctx context.Context, client *http.Client, url string, interval time.Duration, pods int, rec *recorder) {
	every(ctx, interval, func() {
		a, err := do(ctx, client, url, bed.MediaJSON)
		if ctx.Err() != nil {
			return
		}
		record(rec, a, err, url, func(body []byte) error {
			var list struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(body, &list); err != nil {
				return err
			}
			if len(list.Items) != pods {
				return fmt.Errorf("%d PodMetrics listed, want %d", len(list.Items), pods)
			}
			return nil
		})
	})
}

// getClient GETs the PodMetrics of urls in turn at rate per second, open
// loop: a request is started when it is due whether or not the earlier ones
// have been answered, up to maxInFlight; one that cannot start is an error.
func getClient(ctx context.Context, client *http.Client, urls []string, rate float64, rec *recorder) {
	const maxInFlight = 200
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	sent := 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := int(time.Since(start).Seconds() * rate)
		for ; sent < due; sent++ {
			url := urls[sent%len(urls)]
			select {
			case slots <- struct{}{}:
			default:
				rec.fail(0, fmt.Errorf("GET rate not sustained: %d requests in flight", maxInFlight))
				continue
			}
			wg.Go(func() {
				defer func() { <-slots }()
				a, err := do(ctx, client, url, bed.MediaJSON)
				if ctx.Err() != nil {
					return
				}
				record(rec, a, err, url, nil)
			})
		}
	}
}

// abusiveClient LISTs every pod's metrics in JSON over and over until ctx
// ends, pausing retry after a 429.
func abusiveClient(ctx context.Context, client *http.Client, url string, retry time.Duration, rec *recorder) {
	for ctx.Err() == nil {
		a, err := do(ctx, client, url, bed.MediaJSON)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil && a.status == http.StatusTooManyRequests:
			rec.status(a.status)
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		default:
			record(rec, a, err, url, nil)
		}
	}
}

// freshness is what the NodeMetrics timestamps said over a phase.
type freshness struct {
	mu sync.Mutex
	// Checks counts NodeMetrics LISTs, Violations those where a node was
	// missing or its newest point older than the limit.
	Checks, Violations int
	// MaxAge is the oldest newest point seen (the API carries whole
	// seconds, so an age may read up to 1s more than it is).
	MaxAge       time.Duration
	FirstProblem string
}

// watchFreshness LISTs NodeMetrics every interval and checks every one of
// nodes is there with a point younger than limit.
func watchFreshness(ctx context.Context, client *http.Client, url string, interval, limit time.Duration, nodes int, rec *recorder, f *freshness) {
	every(ctx, interval, func() {
		a, err := do(ctx, client, url, bed.MediaJSON)
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		var list metricsv1beta1.NodeMetricsList
		record(rec, a, err, url, func(body []byte) error { return json.Unmarshal(body, &list) })
		if err != nil || a.status != http.StatusOK {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.Checks++
		var problem string
		var worst time.Duration
		for _, nm := range list.Items {
			worst = max(worst, now.Sub(nm.Timestamp.Time))
		}
		f.MaxAge = max(f.MaxAge, worst)
		switch {
		case len(list.Items) != nodes:
			problem = fmt.Sprintf("%s: %d of %d nodes listed", now.Format(time.TimeOnly), len(list.Items), nodes)
		case worst > limit:
			problem = fmt.Sprintf("%s: a node's newest point is %v old, limit %v", now.Format(time.TimeOnly), worst.Round(time.Millisecond), limit)
		}
		if problem != "" {
			f.Violations++
			if f.FirstProblem == "" {
				f.FirstProblem = problem
			}
		}
	})
}
