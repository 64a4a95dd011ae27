package scraper

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// fakeStore records what the scraper writes.
type fakeStore struct {
	mu      sync.Mutex
	writes  map[string][]sample.Batch
	deleted []string
}

func (f *fakeStore) Write(b *sample.Batch, _ int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *b
	c.Containers = append([]sample.Container(nil), b.Containers...)
	f.writes[b.Node] = append(f.writes[b.Node], c)
}

func (f *fakeStore) DeleteNode(node string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, node)
}

func (f *fakeStore) count(node string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.writes[node])
}

// kubelet serves a minimal resource metrics body whose CPU counter grows by
// one second per request, or fails when told to.
type kubelet struct {
	requests atomic.Int64
	fail     atomic.Bool
}

func (k *kubelet) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := k.requests.Add(1)
	if k.fail.Load() {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "node_cpu_usage_seconds_total %d %d\nnode_memory_working_set_bytes 1000 %d\n", n, n*1000, n*1000)
	fmt.Fprintf(w, "container_cpu_usage_seconds_total{container=\"c\",namespace=\"ns\",pod=\"p\"} %d %d\n", n, n*1000)
	fmt.Fprintf(w, "container_memory_working_set_bytes{container=\"c\",namespace=\"ns\",pod=\"p\"} 10 %d\n", n*1000)
}

func nodeAt(name, rawURL string) *corev1.Node {
	u, _ := url.Parse(rawURL)
	port, _ := strconv.Atoi(u.Port())
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: u.Hostname()}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	return n
}

type harness struct {
	servable atomic.Bool
	clock    *testingclock.FakeClock
	store    *fakeStore
	scraper  *Scraper
	cancel   context.CancelFunc
	done     chan struct{}
}

func newHarness(t *testing.T, srv *httptest.Server) *harness {
	t.Helper()
	return newHarnessWith(t, srv, nil)
}

// newHarnessWith is newHarness with the scraper's config adjusted by tweak.
func newHarnessWith(t *testing.T, srv *httptest.Server, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{clock: testingclock.NewFakeClock(time.Unix(1_700_000_000, 0)), store: &fakeStore{writes: map[string][]sample.Batch{}}}
	cfg := Config{
		Resolution: 10 * time.Second,
		Timeout:    2 * time.Second,
		Resolver:   TargetResolver{AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, UseNodeStatusPort: true, Port: 1},
		Client:     NewKubeletClient(srv.Client().Transport, 1<<20),
		Store:      h.store,
		Clock:      h.clock,
		HasSynced:  func() bool { return true },
		Servable:   func(string) bool { return h.servable.Load() },
		Metrics:    NewMetrics(func() float64 { return 0 }),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h.scraper = New(cfg)
	h.servable.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { defer close(h.done); h.scraper.Run(ctx) }()
	t.Cleanup(func() { h.cancel(); <-h.done })
	for {
		h.scraper.mu.Lock()
		running := h.scraper.runCtx != nil
		h.scraper.mu.Unlock()
		if running {
			return h
		}
		time.Sleep(time.Millisecond)
	}
}

// advance steps the fake clock once every loop is waiting on it, then waits
// until cond holds, so tests never sleep for a fixed time.
func (h *harness) advance(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !h.clock.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("no scrape loop is waiting on the clock")
		}
		time.Sleep(time.Millisecond)
	}
	h.clock.Step(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after advancing the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestScraperWritesEachRound(t *testing.T) {
	k := &kubelet{}
	srv := httptest.NewTLSServer(k)
	defer srv.Close()
	h := newHarness(t, srv)

	h.scraper.UpsertNode(nodeAt("n1", srv.URL))
	h.servable.Store(false)
	if err := h.scraper.CheckReady(); err == nil || !strings.Contains(err.Error(), "n1") {
		t.Fatalf("CheckReady() = %v, want it to name the unscraped node", err)
	}
	// The first scrape comes within the start-up spread, well before a full resolution.
	h.advance(t, 2*time.Second, func() bool { return h.store.count("n1") == 1 })
	// One point is no rate: not ready until the store can serve the node.
	if err := h.scraper.CheckReady(); err == nil {
		t.Fatal("ready after one scrape although the node is not servable")
	}
	h.servable.Store(true)
	if err := h.scraper.CheckReady(); err != nil {
		t.Fatalf("CheckReady() once the node is servable = %v", err)
	}
	h.advance(t, 20*time.Second, func() bool { return h.store.count("n1") == 2 })

	h.store.mu.Lock()
	got := h.store.writes["n1"][1]
	h.store.mu.Unlock()
	if !got.HasNode || got.Node != "n1" || len(got.Containers) != 1 || got.Containers[0].Pod != "p" {
		t.Fatalf("second batch = %+v, want node n1 with container ns/p/c", got)
	}
}

func TestScraperFailingNodeKeepsDataAndRecovers(t *testing.T) {
	k := &kubelet{}
	srv := httptest.NewTLSServer(k)
	defer srv.Close()
	h := newHarness(t, srv)
	h.scraper.UpsertNode(nodeAt("n1", srv.URL))
	h.advance(t, 2*time.Second, func() bool { return h.store.count("n1") == 1 })

	k.fail.Store(true)
	before := k.requests.Load()
	h.advance(t, 20*time.Second, func() bool { return len(h.scraper.Failures()) == 1 })
	if k.requests.Load() == before {
		t.Fatal("the failing node was not scraped")
	}
	if n := h.store.count("n1"); n != 1 {
		t.Fatalf("a failed scrape wrote to the store: %d writes", n)
	}
	f := h.scraper.Failures()[0]
	if f.Node != "n1" || f.Reason != ReasonHTTPStatus {
		t.Fatalf("failure = %+v, want n1 http_status", f)
	}

	k.fail.Store(false)
	// The loop writes the batch, then records the recovery: wait for both,
	// or a test that reads the failures between the two fails spuriously.
	h.advance(t, 20*time.Second, func() bool { return h.store.count("n1") == 2 && len(h.scraper.Failures()) == 0 })
	if n := h.store.count("n1"); n != 2 {
		t.Fatalf("%d writes after recovery, want 2", n)
	}
}

func TestScraperDeleteNodeStopsLoop(t *testing.T) {
	k := &kubelet{}
	srv := httptest.NewTLSServer(k)
	defer srv.Close()
	h := newHarness(t, srv)
	h.scraper.UpsertNode(nodeAt("n1", srv.URL))
	h.advance(t, 2*time.Second, func() bool { return h.store.count("n1") == 1 })

	h.scraper.DeleteNode("n1")
	if h.scraper.NodeCount() != 0 {
		t.Fatalf("NodeCount() = %d after delete", h.scraper.NodeCount())
	}
	h.store.mu.Lock()
	deleted := append([]string(nil), h.store.deleted...)
	h.store.mu.Unlock()
	if len(deleted) != 1 || deleted[0] != "n1" {
		t.Fatalf("store deletions = %v, want [n1]", deleted)
	}
	if h.clock.HasWaiters() {
		t.Fatal("a loop still waits on the clock after its node was deleted")
	}
}

func TestScraperNodeWithoutAddressFailsReadiness(t *testing.T) {
	srv := httptest.NewTLSServer(&kubelet{})
	defer srv.Close()
	h := newHarness(t, srv)
	h.scraper.UpsertNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "lost"}})
	h.advance(t, 2*time.Second, func() bool { return len(h.scraper.Failures()) == 1 })
	if f := h.scraper.Failures()[0]; f.Reason != ReasonNoAddress {
		t.Fatalf("failure = %+v, want no_address", f)
	}
	// A failed first attempt counts for that node, but a server none of whose
	// nodes is servable is not ready: it would serve empty lists.
	h.servable.Store(false)
	if err := h.scraper.CheckReady(); err == nil || !strings.Contains(err.Error(), "none of 1 nodes") {
		t.Fatalf("CheckReady() = %v, want not ready with no servable node", err)
	}
	h.servable.Store(true)
	if err := h.scraper.CheckReady(); err != nil {
		t.Fatalf("CheckReady() = %v", err)
	}
}

func TestOffsetsSpreadAcrossResolution(t *testing.T) {
	s := New(Config{Resolution: 15 * time.Second, Clock: testingclock.NewFakeClock(time.Unix(0, 0))})
	buckets := make([]int, 15)
	for i := range 3000 {
		buckets[s.offset(fmt.Sprintf("node-%d", i))/time.Second]++
	}
	for i, n := range buckets {
		// 200 per second on average; a hash this poor would bunch scrapes.
		if n < 120 || n > 280 {
			t.Errorf("second %d holds %d of 3000 node offsets", i, n)
		}
	}
}
