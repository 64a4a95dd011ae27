package decode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// ref names one container of a test workload.
type ref struct{ ns, pod, name string }

// limitsText writes refs as /metrics/resource: every CPU series in the
// order given, then every memory series.
func limitsText(refs []ref) string {
	var sb strings.Builder
	for _, r := range refs {
		fmt.Fprintf(&sb, "container_cpu_usage_seconds_total{container=\"%s\",namespace=\"%s\",pod=\"%s\"} 1 5\n", r.name, r.ns, r.pod)
	}
	for _, r := range refs {
		fmt.Fprintf(&sb, "container_memory_working_set_bytes{container=\"%s\",namespace=\"%s\",pod=\"%s\"} 2 5\n", r.name, r.ns, r.pod)
	}
	return sb.String()
}

// limitsSummary writes refs as /stats/summary, one pod object per run of
// refs of the same pod.
func limitsSummary(refs []ref) string {
	var pods []string
	for i := 0; i < len(refs); {
		j := i
		var ctrs []string
		for ; j < len(refs) && refs[j].ns == refs[i].ns && refs[j].pod == refs[i].pod; j++ {
			ctrs = append(ctrs, sCtr(`"name":"`+refs[j].name+`"`, sumCPUM, sumMemM))
		}
		pods = append(pods, `{"podRef":{"name":"`+refs[i].pod+`","namespace":"`+refs[i].ns+`"},"containers":[`+strings.Join(ctrs, ",")+"]}")
		i = j
	}
	return sDoc("", pods...)
}

func TestLimits(t *testing.T) {
	limits := Limits{MaxContainers: 4, MaxPods: 3, MaxNameLength: 63}
	long := strings.Repeat("x", 63)
	mib := strings.Repeat("x", 1<<20)
	// The text decoder counts a refused container once per series (two
	// here) and a container dropped with its pod once; the summary decoder
	// counts every container once.
	for _, tc := range []struct {
		name string
		refs []ref
		// keep indexes refs.
		keep          []int
		text, summary []skipCount
	}{{
		name: "under every cap",
		refs: []ref{{"n", "p1", "a"}, {"n", "p1", "b"}, {"n", "p2", "a"}, {"m", "p2", "a"}},
		keep: []int{0, 1, 2, 3},
	}, {
		name:    "one pod too many",
		refs:    []ref{{"n", "p1", "a"}, {"n", "p2", "a"}, {"n", "p3", "a"}, {"n", "p4", "a"}},
		keep:    []int{0, 1, 2},
		text:    skips(tooManyPods, 2),
		summary: skips(tooManyPods, 1),
	}, {
		name:    "a kept pod's containers still count past the pod cap",
		refs:    []ref{{"n", "p1", "a"}, {"n", "p2", "a"}, {"n", "p3", "a"}, {"n", "p4", "a"}, {"n", "p1", "b"}},
		keep:    []int{0, 1, 2, 4},
		text:    skips(tooManyPods, 2),
		summary: skips(tooManyPods, 1),
	}, {
		name: "the container cap falls inside a pod: the pod goes whole",
		refs: []ref{{"n", "p1", "a"}, {"n", "p1", "b"}, {"n", "p2", "a"}, {"n", "p2", "b"}, {"n", "p2", "c"}},
		keep: []int{0, 1},
		// p2/c refused (2 series, or 1 container), p2/a and p2/b dropped.
		text:    skips(tooMany, 2+2),
		summary: skips(tooMany, 1+2),
	}, {
		name:    "containers past the cap in new pods",
		refs:    []ref{{"n", "p1", "a"}, {"n", "p1", "b"}, {"n", "p1", "c"}, {"n", "p1", "d"}, {"n", "p2", "a"}},
		keep:    []int{0, 1, 2, 3},
		text:    skips(tooMany, 2),
		summary: skips(tooMany, 1),
	}, {
		name: "names at the cap",
		refs: []ref{{long, long, long}},
		keep: []int{0},
	}, {
		name:    "namespace over the cap",
		refs:    []ref{{long + "x", "p", "c"}, {"n", "p", "c"}},
		keep:    []int{1},
		text:    skips(tooLong, 2),
		summary: skips(tooLong, 1),
	}, {
		name:    "pod over the cap",
		refs:    []ref{{"n", long + "x", "c"}, {"n", "p", "c"}},
		keep:    []int{1},
		text:    skips(tooLong, 2),
		summary: skips(tooLong, 1),
	}, {
		name:    "container over the cap",
		refs:    []ref{{"n", "p", long + "x"}, {"n", "p", "c"}},
		keep:    []int{1},
		text:    skips(tooLong, 2),
		summary: skips(tooLong, 1),
	}, {
		name:    "a one-mebibyte pod name",
		refs:    []ref{{"n", mib, "c"}, {"n", "p", "c"}},
		keep:    []int{1},
		text:    skips(tooLong, 2),
		summary: skips(tooLong, 1),
	}, {
		name:    "a one-mebibyte escaped container name",
		refs:    []ref{{"n", "p", strings.Repeat(`\\`, 1<<19)}, {"n", "p", "c"}},
		keep:    []int{1},
		text:    skips(tooLong, 2),
		summary: skips(tooLong, 1),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var kept []sample.Container
			for _, i := range tc.keep {
				r := tc.refs[i]
				kept = append(kept, ctr(r.ns, r.pod, r.name, 5, 1e9, 2, 0))
			}
			text := &ResourceDecoder{Limits: limits}
			checkDecode(t, text, limitsText(tc.refs), want{containers: kept, skip: tc.text})
			checkInterned(t, &text.t, len(kept))

			for i := range kept {
				kept[i].TimestampMs = summaryTS
			}
			summary := &SummaryDecoder{Limits: limits}
			checkWith(t, "SummaryDecoder.Decode", summary.Decode, ErrNotJSON, limitsSummary(tc.refs), want{containers: kept, skip: tc.summary})
			checkInterned(t, &summary.t, len(kept))
			if cap(summary.t.scratch) > 4<<10 {
				t.Errorf("scratch grew to %d bytes", cap(summary.t.scratch))
			}
		})
	}
}

// checkInterned checks that the intern table holds nothing over the name
// cap and no more than the names of the containers kept, plus those of
// containers dropped with their pods.
func checkInterned(t *testing.T, tb *table, kept int) {
	t.Helper()
	for s := range tb.intern {
		if len(s) > tb.limits.MaxNameLength {
			t.Errorf("intern table holds a %d-byte name", len(s))
		}
	}
	if n := len(tb.intern); n > 3*max(kept, tb.limits.MaxContainers) {
		t.Errorf("intern table holds %d names for %d containers", n, kept)
	}
}

// TestLimitsBoundTablesUnderChurn feeds a decoder responses far over its
// caps whose every name is new, as a hostile kubelet could, and checks
// that what the decoder keeps between scrapes stays within the bounds the
// limits imply.
func TestLimitsBoundTablesUnderChurn(t *testing.T) {
	limits := Limits{MaxContainers: 500, MaxPods: 200, MaxNameLength: 100}
	for _, format := range []string{"text", "summary"} {
		t.Run(format, func(t *testing.T) {
			text, summary := &ResourceDecoder{Limits: limits}, &SummaryDecoder{Limits: limits}
			var b sample.Batch
			for round := range 12 {
				// 1 000 pods of 3 containers, every name new and at the
				// cap; in the kubelet's order for each format: the text
				// by container name first, the summary by pod.
				var refs []ref
				for i := range 3000 {
					p, c := i/3, i%3
					if format == "text" {
						p, c = i%1000, i/1000
					}
					pod := fmt.Sprintf("r%d-p%d-", round, p)
					pod += strings.Repeat("x", limits.MaxNameLength-len(pod))
					refs = append(refs, ref{fmt.Sprintf("ns-%d-%d", round, p%7), pod, fmt.Sprintf("c%d-%d", round, c)})
				}
				var err error
				tb := &text.t
				if format == "text" {
					err = text.Decode([]byte(limitsText(refs)), &b)
				} else {
					err = summary.Decode([]byte(limitsSummary(refs)), &b)
					tb = &summary.t
				}
				if err != nil {
					t.Fatal(err)
				}
				pods := map[string]bool{}
				for _, c := range b.Containers {
					pods[c.Namespace+"/"+c.Pod] = true
				}
				if len(b.Containers) > limits.MaxContainers || len(pods) > limits.MaxPods || len(b.Containers) == 0 {
					t.Fatalf("round %d: kept %d containers in %d pods", round, len(b.Containers), len(pods))
				}
				if b.Skipped[sample.SkipTooManyPods]+b.Skipped[sample.SkipTooMany] < 2500 {
					t.Fatalf("round %d: too few counted over the caps: %v", round, b.Skipped)
				}
				// compact keeps the tables within a small multiple of what
				// the response kept, whatever the churn.
				n := limits.MaxContainers
				if len(tb.intern) > 6*n+internSlack || len(tb.index) > n || cap(tb.entries) > 4*n+tableSlack ||
					len(tb.pods) > limits.MaxPods || cap(summary.pending) > 4*n+tableSlack || cap(tb.scratch) > 64<<10 {
					t.Fatalf("round %d: intern %d, index %d, entries %d, pods %d, pending %d, scratch %d",
						round, len(tb.intern), len(tb.index), cap(tb.entries), len(tb.pods), cap(summary.pending), cap(tb.scratch))
				}
			}
		})
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	if got := (Limits{MaxPods: 7, MaxNameLength: -1}).WithDefaults(); got != (Limits{DefaultMaxContainers, 7, DefaultMaxNameLength}) {
		t.Errorf("WithDefaults() = %+v", got)
	}
	if got := (Limits{}).WithDefaults(); got != DefaultLimits() {
		t.Errorf("WithDefaults() = %+v, want DefaultLimits() %+v", got, DefaultLimits())
	}
}
