package scraper

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// pathKubelet serves resource metrics on /metrics/resource, a summary on
// /stats/summary, 404 elsewhere, and counts each.
type pathKubelet struct {
	resource, summary, other atomic.Int64
	status                   atomic.Int32
}

func (k *pathKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := k.status.Load(); s != 0 {
		http.Error(w, "failing", int(s))
		return
	}
	switch r.URL.Path {
	case DefaultResourceMetricsPath:
		n := k.resource.Add(1)
		fmt.Fprintf(w, "node_cpu_usage_seconds_total %d %d\nnode_memory_working_set_bytes 1000 %d\n", n, n*1000, n*1000)
	case SummaryPath:
		n := k.summary.Add(1)
		at := time.Unix(n, 0).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, `{"node":{"nodeName":"n1","cpu":{"time":%q,"usageCoreNanoSeconds":%d},"memory":{"time":%q,"workingSetBytes":1000}},"pods":[]}`, at, n*1e9, at)
	default:
		k.other.Add(1)
		http.NotFound(w, r)
	}
}

// TestAutoFallbackFollowsTheTarget: a node sent to the summary API by a
// path that answers 404 goes back to resource metrics as soon as its target
// changes, and otherwise re-probes resource metrics every
// resourceReprobeInterval.
func TestAutoFallbackFollowsTheTarget(t *testing.T) {
	k := &pathKubelet{}
	srv := httptest.NewTLSServer(k)
	defer srv.Close()
	h := newHarness(t, srv)
	node := nodeAt("n1", srv.URL)
	node.Annotations = map[string]string{AnnotationResourceMetricsPath: "/metrics/absent"}
	h.scraper.UpsertNode(node)

	h.advance(t, 2*time.Second, func() bool { return h.store.count("n1") == 1 })
	if k.other.Load() != 1 || k.summary.Load() != 1 {
		t.Fatalf("first round: %d probes of the annotated path, %d summaries; want 1 and 1", k.other.Load(), k.summary.Load())
	}
	// Within the interval, the node stays on the summary: no probe per round.
	h.advance(t, 10*time.Second, func() bool { return h.store.count("n1") == 2 })
	if k.other.Load() != 1 {
		t.Fatalf("the annotated path was probed again within the interval: %d probes", k.other.Load())
	}
	// After the interval it is probed once more, and the node falls back again.
	for h.clock.Since(time.Unix(1_700_000_000, 0)) < resourceReprobeInterval+30*time.Second {
		writes := h.store.count("n1")
		h.advance(t, 10*time.Second, func() bool { return h.store.count("n1") == writes+1 })
	}
	if got := k.other.Load(); got != 2 {
		t.Fatalf("%d probes of the annotated path after %v, want 2", got, resourceReprobeInterval)
	}

	// Correcting the annotation is a new target: the next round is on
	// /metrics/resource, and the summary is not asked for again.
	fixed := nodeAt("n1", srv.URL)
	h.scraper.UpsertNode(fixed)
	summaries := k.summary.Load()
	writes := h.store.count("n1")
	h.advance(t, 10*time.Second, func() bool { return h.store.count("n1") == writes+1 })
	if k.resource.Load() != 1 || k.summary.Load() != summaries {
		t.Fatalf("after the fix: %d resource scrapes, %d new summaries; want 1 and 0", k.resource.Load(), k.summary.Load()-summaries)
	}
}

// TestUnchangedNodeKeepsItsTarget: status updates of an unchanged node must
// not count as a new target, or every heartbeat would re-probe.
func TestUnchangedNodeKeepsItsTarget(t *testing.T) {
	s := New(Config{Resolution: 10 * time.Second, Resolver: TargetResolver{UseNodeStatusPort: true, Port: 1}, Clock: testingclock.NewFakeClock(time.Unix(0, 0))})
	node := nodeAt("n1", "https://127.0.0.1:4443")
	s.UpsertNode(node)
	first := s.loops["n1"].target.Load()
	s.UpsertNode(node.DeepCopy())
	if s.loops["n1"].target.Load() != first {
		t.Fatal("an identical node replaced the target")
	}
	moved := nodeAt("n1", "https://127.0.0.2:4443")
	s.UpsertNode(moved)
	if s.loops["n1"].target.Load() == first {
		t.Fatal("a moved node kept its old target")
	}
}

// TestFailureListsTheLatestError: within one streak of one reason, the
// listed error follows the kubelet while the streak keeps its start.
func TestFailureListsTheLatestError(t *testing.T) {
	k := &pathKubelet{}
	srv := httptest.NewTLSServer(k)
	defer srv.Close()
	h := newHarness(t, srv)
	k.status.Store(http.StatusInternalServerError)
	h.scraper.UpsertNode(nodeAt("n1", srv.URL))
	h.advance(t, 2*time.Second, func() bool { return len(h.scraper.Failures()) == 1 })
	first := h.scraper.Failures()[0]
	if first.Reason != ReasonHTTPStatus || first.Err != "http_status: kubelet answered HTTP 500" {
		t.Fatalf("failure = %+v", first)
	}
	k.status.Store(http.StatusBadGateway)
	h.advance(t, 10*time.Second, func() bool {
		f := h.scraper.Failures()
		return len(f) == 1 && f[0].Err != first.Err
	})
	latest := h.scraper.Failures()[0]
	if latest.Err != "http_status: kubelet answered HTTP 502" || !latest.Since.Equal(first.Since) {
		t.Fatalf("latest failure = %+v, want HTTP 502 since %v", latest, first.Since)
	}
}

// TestBadTargetIsNeverRequested: a hostile annotation fails the node as
// bad_target, and no request reaches the kubelet or anywhere else.
func TestBadTargetIsNeverRequested(t *testing.T) {
	k := &pathKubelet{}
	srv := httptest.NewTLSServer(k)
	defer srv.Close()
	h := newHarness(t, srv)
	node := nodeAt("n1", srv.URL)
	node.Annotations = map[string]string{AnnotationResourceMetricsPath: "@" + srv.Listener.Addr().String() + "/x"}
	h.scraper.UpsertNode(node)
	h.advance(t, 2*time.Second, func() bool { return len(h.scraper.Failures()) == 1 })
	f := h.scraper.Failures()[0]
	if f.Reason != ReasonBadTarget {
		t.Fatalf("failure = %+v, want bad_target", f)
	}
	if n := k.resource.Load() + k.summary.Load() + k.other.Load(); n != 0 {
		t.Fatalf("%d requests sent for a bad target", n)
	}
	var se *ScrapeError
	if _, err := h.scraper.cfg.Resolver.Resolve(node); !errors.As(err, &se) {
		t.Fatalf("Resolve() error %v is not a ScrapeError", err)
	}
}
