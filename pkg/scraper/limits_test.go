package scraper

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
)

// TestLimitsReachDecoders checks that every node's decoder gets the
// configured limits, so the flags bound what each node can make us keep.
func TestLimitsReachDecoders(t *testing.T) {
	limits := decode.Limits{MaxContainers: 7, MaxPods: 3, MaxNameLength: 99}
	s := New(Config{Resolution: time.Second, Clock: testingclock.NewFakeClock(time.Unix(0, 0)), Limits: limits})
	for _, name := range []string{"n1", "n2"} {
		s.UpsertNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	for _, name := range []string{"n1", "n2"} {
		l := s.loops[name]
		if l == nil {
			t.Fatalf("no loop for %s", name)
		}
		if l.resourceDecoder.Limits != limits || l.summaryDecoder.Limits != limits {
			t.Errorf("%s: decoder limits %+v and %+v, want %+v", name, l.resourceDecoder.Limits, l.summaryDecoder.Limits, limits)
		}
	}
}

// TestHostileNodeCounted scrapes a kubelet that claims more pods than the
// limit and a name past the name cap, through the real client, loop and
// decoder: the batch written holds what the limits allow and every skip is
// in ringmetrics_scraper_samples_skipped_total.
func TestHostileNodeCounted(t *testing.T) {
	long := strings.Repeat("x", 64)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "node_cpu_usage_seconds_total 1 1000\nnode_memory_working_set_bytes 1000 1000\n")
		for _, metric := range []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes"} {
			for p := range 7 {
				fmt.Fprintf(w, "%s{container=\"c\",namespace=\"ns\",pod=\"p%d\"} 1 1000\n", metric, p)
			}
			fmt.Fprintf(w, "%s{container=\"c\",namespace=\"ns\",pod=\"%s\"} 1 1000\n", metric, long)
		}
	}))
	defer srv.Close()

	h := newHarnessWith(t, srv, func(c *Config) { c.Limits = decode.Limits{MaxPods: 3, MaxNameLength: 63} })
	metrics := h.scraper.cfg.Metrics
	h.scraper.UpsertNode(nodeAt("hostile", srv.URL))
	h.advance(t, 2*time.Second, func() bool { return h.store.count("hostile") == 1 })

	h.store.mu.Lock()
	got := h.store.writes["hostile"][0]
	h.store.mu.Unlock()
	if !got.HasNode || len(got.Containers) != 3 {
		t.Fatalf("batch = %+v, want the node and 3 containers", got)
	}
	for reason, want := range map[string]float64{"too_many_pods": 4 * 2, "name_too_long": 2, "too_many_series": 0} {
		if n := testutil.ToFloat64(metrics.skipped.WithLabelValues(reason)); n != want {
			t.Errorf("samples_skipped_total{reason=%q} = %v, want %v", reason, n, want)
		}
	}
}
