package install

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// kubeletLoad counts, for each node, the requests its simulated kubelet
// serves in two resolutions. Each replica scrapes a node at its own fixed
// phase, once a resolution, so the count is exact when the window starts at
// a node's first request after a quiet spell (so it cannot cut a burst of
// the replicas' requests in two) and ends a tenth of a resolution short of
// two resolutions later (so scheduling jitter cannot bring in a third
// round). It polls the counters every 10ms and returns the counts and how
// long it watched.
func kubeletLoad(t *testing.T, b *bed.Bed, resolution time.Duration) (map[string]int64, time.Duration) {
	t.Helper()
	quiet, window := resolution/5, 2*resolution-resolution/10
	begin := time.Now()
	last := kubeletRequests(t, b)
	lastChange := map[string]time.Time{}
	first := map[string]time.Time{} // the window's start, once armed
	served := map[string]int64{}
	for node := range last {
		lastChange[node] = begin
	}
	for {
		time.Sleep(10 * time.Millisecond)
		now := time.Now()
		if now.Sub(begin) > 4*resolution {
			t.Fatalf("kubelet requests not counted over two resolutions of every node within %v (windows from %v: %v)", 4*resolution, first, served)
		}
		current := kubeletRequests(t, b)
		done := 0
		for node, n := range current {
			d := n - last[node]
			f, armed := first[node]
			switch {
			case armed && now.Sub(f) < window:
				served[node] += d
			case armed:
				done++
			case d > 0 && now.Sub(lastChange[node]) >= quiet:
				first[node] = now
				served[node] = d
			}
			if d > 0 {
				lastChange[node] = now
			}
		}
		last = current
		if done == len(current) {
			return served, now.Sub(begin)
		}
	}
}

// kubeletRequests is how many metric requests each simulated kubelet has
// served, by node.
func kubeletRequests(t *testing.T, b *bed.Bed) map[string]int64 {
	t.Helper()
	served := map[string]int64{}
	for _, n := range b.Fleet.Nodes() {
		resource, summary, err := b.Fleet.Served(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		served[n.Name] = resource + summary
	}
	return served
}

// total sums a count by node.
func total(byNode map[string]int64) (sum int64) {
	for n := range maps.Values(byNode) {
		sum += n
	}
	return sum
}

// scrapes is how many kubelet scrapes the server has made, by its own count.
func scrapes(t *testing.T, admin *http.Client, s *bed.Server) float64 {
	t.Helper()
	var total float64
	for _, result := range []string{"success", "error"} {
		v, err := bed.MetricValue(admin, s.URL(), "ringmetrics_scraper_duration_seconds_count", `result="`+result+`"`)
		if err != nil {
			t.Fatal(err)
		}
		total += v
	}
	return total
}
