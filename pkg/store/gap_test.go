package store

import (
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// TestPodGap drives one pod into each state PodUsage refuses to serve and
// checks that PodGap names it, and that it agrees with PodUsage.
func TestPodGap(t *testing.T) {
	noStart := func(b *sample.Batch) {
		for i := range b.Containers {
			b.Containers[i].StartTimeMs = 0
		}
	}
	tests := []struct {
		name  string
		write func(st *Store)
		want  Gap
	}{
		{"never reported", func(*Store) {}, GapNotReported},
		{"served from its first point", func(st *Store) {
			scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.write(st)
		}, GapNone},
		{"one point, no start time", func(st *Store) {
			b := scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.batch()
			noStart(b)
			st.Write(b, t0)
		}, GapNoRate},
		{"second point after a counter reset", func(st *Store) {
			scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.write(st)
			b := scrape{node: "n1", off: res, pods: []testPod{pod("ns", "p", "c")}}.batch()
			noStart(b)
			b.Containers[0].CPUNanos = 1
			st.Write(b, t0+res)
		}, GapNoRate},
		{"frozen container", func(st *Store) {
			scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.write(st)
			frozen := scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.batch()
			frozen.NodePoint.TimestampMs = t0 + 3*res
			st.Write(frozen, t0+3*res)
		}, GapStale},
		{"deleted", func(st *Store) {
			scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.write(st)
			st.DeletePod("ns", "p")
		}, GapNotReported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustNew(t, Config{MaxAgeMs: maxAge})
			tt.write(st)
			if got := st.PodGap("ns", "p"); got != tt.want {
				t.Errorf("PodGap = %v, want %v", got, tt.want)
			}
			if _, served := st.PodUsage("ns", "p", nil); served != (tt.want == GapNone) {
				t.Errorf("PodUsage served = %v while PodGap = %v", served, tt.want)
			}
		})
	}
}

func TestGapStringsDistinct(t *testing.T) {
	seen := map[string]Gap{}
	for g := GapNone; g < NumGaps; g++ {
		s := g.String()
		if s == "unknown" {
			t.Errorf("Gap %d has no name", g)
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("Gaps %d and %d share the name %q", prev, g, s)
		}
		seen[s] = g
	}
}
