package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// Formats and the request paths, in report order.
var (
	Formats   = []string{"json", "protobuf"}
	PathNames = []string{"aggregator", "direct"}
)

func mediaType(format string) string {
	if format == "protobuf" {
		return bed.MediaProtobuf
	}
	return bed.MediaJSON
}

// fetch GETs url, reads the whole body and checks the status and that the
// answer is in the format asked for. It returns the body size.
func fetch(ctx context.Context, client *http.Client, url, accept string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, accept) {
		return n, fmt.Errorf("GET %s: Content-Type %q, asked for %q", url, ct, accept)
	}
	return n, nil
}

// getJSON GETs url as JSON into v.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", bed.MediaJSON)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// load times n GETs of url at the given concurrency, after one untimed
// warm-up request. pid's CPU is read around the timed requests; scrapeCPU
// (CPU seconds per second while idle) is subtracted to leave the requests'
// own cost.
func load(ctx context.Context, client *http.Client, url, format string, n, concurrency, pid int, scrapeCPU float64) Latency {
	accept := mediaType(format)
	l := Latency{Requests: n, Concurrency: concurrency, Format: format}
	size, err := fetch(ctx, client, url, accept)
	l.Bytes = size
	if err != nil {
		l.FirstError = "warm-up: " + err.Error()
	}
	var (
		next    atomic.Int64
		mu      sync.Mutex
		samples = make([]time.Duration, 0, n)
		wg      sync.WaitGroup
	)
	cpu0, _ := cpuSeconds(pid)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t := time.Now()
				_, err := fetch(ctx, client, url, accept)
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					l.Errors++
					if l.FirstError == "" {
						l.FirstError = err.Error()
					}
				} else {
					samples = append(samples, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := cpuSeconds(pid)
	slices.Sort(samples)
	l.P50, l.P90, l.P99 = Duration(percentile(samples, 0.50)), Duration(percentile(samples, 0.90)), Duration(percentile(samples, 0.99))
	l.CPUPerRequest = (cpu1 - cpu0 - scrapeCPU*elapsed.Seconds()) / float64(n)
	return l
}

// probeFreshness GETs the NodeMetrics of every node in sample directly,
// probes times spaced by interval, and LISTs all NodeMetrics once per probe.
func probeFreshness(ctx context.Context, client *http.Client, base string, sample []string, nodes, probes int, interval time.Duration) (Freshness, error) {
	var f Freshness
	var ages []float64
	var maxAge, allMax time.Duration
	for p := range probes {
		if p > 0 {
			if err := sleep(ctx, interval); err != nil {
				return f, err
			}
		}
		for _, node := range sample {
			var nm metricsv1beta1.NodeMetrics
			if err := getJSON(ctx, client, base+bed.GroupVersionPath+"/nodes/"+node, &nm); err != nil {
				f.Missing++
				continue
			}
			age := time.Since(nm.Timestamp.Time)
			ages = append(ages, age.Seconds())
			maxAge = max(maxAge, age)
		}
		var list metricsv1beta1.NodeMetricsList
		if err := getJSON(ctx, client, base+bed.GroupVersionPath+"/nodes", &list); err != nil {
			return f, fmt.Errorf("listing NodeMetrics: %w", err)
		}
		now := time.Now()
		for _, nm := range list.Items {
			allMax = max(allMax, now.Sub(nm.Timestamp.Time))
		}
		f.Missing += nodes - len(list.Items)
	}
	f.Samples = len(ages)
	if f.Samples == 0 {
		return f, fmt.Errorf("no sampled node had metrics (%d missing)", f.Missing)
	}
	f.P50 = Duration(median(ages) * float64(time.Second))
	f.Max, f.AllMax = Duration(maxAge), Duration(allMax)
	return f, nil
}

// serverMetrics reads the Go heap in use and goroutine count from a
// server's own /metrics.
func serverMetrics(ctx context.Context, client *http.Client, base string) (heap, goroutines int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s/metrics: %s", base, resp.Status)
	}
	text := string(body)
	h, err := bed.ParseMetric(text, "go_memstats_heap_inuse_bytes", "")
	if err != nil {
		return 0, 0, err
	}
	g, err := bed.ParseMetric(text, "go_goroutines", "")
	if err != nil {
		return 0, 0, err
	}
	return int64(h), int64(g), nil
}

// profiles saves, from a server's /debug/pprof: a CPU profile while it only
// scrapes, a CPU profile under LIST-all load (listURL, two clients in a
// loop), and a heap profile. Next to each goes `go tool pprof -top` when the
// go command is at hand.
func profiles(ctx context.Context, client *http.Client, base, listURL, dir, prefix string, seconds int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	secs := strconv.Itoa(seconds)
	var files []string
	save := func(name, url string) error {
		path := filepath.Join(dir, prefix+"-"+name+".pprof")
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
		}
		out, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, resp.Body); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		files = append(files, path)
		if top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=30", path).Output(); err == nil {
			txt := strings.TrimSuffix(path, ".pprof") + ".top.txt"
			if os.WriteFile(txt, top, 0o644) == nil {
				files = append(files, txt)
			}
		}
		return nil
	}
	if err := save("cpu-scrape", base+"/debug/pprof/profile?seconds="+secs); err != nil {
		return files, err
	}
	loadCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				_, _ = fetch(loadCtx, client, listURL, bed.MediaJSON)
			}
		})
	}
	err := save("cpu-list", base+"/debug/pprof/profile?seconds="+secs)
	stop()
	wg.Wait()
	if err != nil {
		return files, err
	}
	return files, save("heap", base+"/debug/pprof/heap?gc=1")
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
