package kubeletsim

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestScale runs 5 000 nodes × 30 pods in this process, scrapes every node
// once over HTTPS and reports the cost. It takes about 10 s, 600 MiB and
// 15 000 file descriptors (the client's connections included), so it runs
// only when KUBELETSIM_SCALE=1.
func TestScale(t *testing.T) {
	if os.Getenv("KUBELETSIM_SCALE") != "1" {
		t.Skip("set KUBELETSIM_SCALE=1 to run the 5 000-node test")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 16384 {
		t.Skipf("open file limit %d is below the 16 384 this test needs", lim.Cur)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	start := time.Now()
	f, _ := newTestFleet(t, Config{Nodes: 5000, PodsPerNode: 30, Seed: 1, AuthDisabled: true, FirstIP: testFirstIP,
		Logf: func(string, ...any) {}})
	built := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("5000 nodes × 30 pods built and listening in %v: heap %d MiB, %d goroutines",
		built.Round(time.Millisecond), (after.HeapAlloc-before.HeapAlloc)>>20, runtime.NumGoroutine()-g0)

	c := testClient(f, nil, false)
	nodes := f.Nodes()
	var wg sync.WaitGroup
	var failed, bytes atomic.Int64
	sem := make(chan struct{}, 64)
	start = time.Now()
	for _, n := range nodes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := tryGet(context.Background(), c, f, n.Name, "/metrics/resource", nil)
			if err != nil || r.status != 200 {
				failed.Add(1)
				return
			}
			bytes.Add(int64(len(r.body)))
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of %d scrapes failed", failed.Load(), len(nodes))
	}
	runtime.ReadMemStats(&after)
	t.Logf("scraped %d nodes (first contact: TLS handshake + certificate each) in %v, %d MiB of bodies; heap now %d MiB, %d goroutines",
		len(nodes), time.Since(start).Round(time.Millisecond), bytes.Load()>>20, (after.HeapAlloc-before.HeapAlloc)>>20, runtime.NumGoroutine()-g0)

	// A second round reuses the kept-alive connections.
	start = time.Now()
	for _, n := range nodes[:1000] {
		if r, err := tryGet(context.Background(), c, f, n.Name, "/metrics/resource", nil); err != nil || r.status != 200 {
			t.Fatalf("second scrape of %s: %v", n.Name, err)
		}
	}
	t.Logf("second round, sequential, kept-alive: %v per scrape", (time.Since(start) / 1000).Round(time.Microsecond))

	// Without the client's connections, what is left is the fleet's.
	c.CloseIdleConnections()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine()-g0 > 5000 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // server goroutines notice the closed connections
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("after the client hung up: heap %d MiB, %d goroutines", (after.HeapAlloc-before.HeapAlloc)>>20, runtime.NumGoroutine()-g0)
}
