// Package bounds checks that a hostile kubelet cannot grow ringmetrics'
// memory past what the decoder limits state. It drives the real decoder and
// store, as one node's scrape loop does, with bodies far beyond the
// scraper's default response cap (16 MiB), so that the limits, not the
// response cap, are what is shown to hold.
package bounds

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
	"github.com/ringmetrics/ringmetrics/pkg/server"
	"github.com/ringmetrics/ringmetrics/pkg/server/options"
	"github.com/ringmetrics/ringmetrics/pkg/store"
)

const (
	t0     = int64(1_750_000_000_000)
	res    = int64(15_000)
	maxAge = 2*res + 5_000
)

// body is one hostile response. Every name holds a round marker, a digit
// rewritten in place between rounds, so that each round churns every name
// without building the body again.
type body struct {
	buf     []byte
	markers []int
}

func (b *body) setRound(round int) {
	for _, at := range b.markers {
		b.buf[at] = byte('0' + round)
	}
}

func (b *body) bytes() int64 { return int64(cap(b.buf) + 8*cap(b.markers)) }

// writer builds a body, recording where the markers are.
type writer struct{ b body }

func (w *writer) s(s string) { w.b.buf = append(w.b.buf, s...) }

// name writes prefix, a round marker and n.
func (w *writer) name(prefix string, n int) {
	w.s(prefix)
	w.b.markers = append(w.b.markers, len(w.b.buf))
	w.b.buf = append(w.b.buf, '0', '-')
	w.b.buf = strconv.AppendInt(w.b.buf, int64(n), 10)
}

// workload is pods of perPod containers each; bigPod, when set, starts
// every pod name.
type workload struct {
	pods, perPod int
	bigPod       string
}

func (wl workload) podName(w *writer, p int) {
	if wl.bigPod != "" {
		w.s(wl.bigPod)
	}
	w.name("p", p)
}

// text writes wl as /metrics/resource, series sorted by container name
// first, as the kubelet writes them.
func (wl workload) text() *body {
	w := &writer{}
	w.b.buf = make([]byte, 0, wl.pods*wl.perPod*(200+2*len(wl.bigPod)))
	for _, metric := range []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes"} {
		for c := range wl.perPod {
			for p := range wl.pods {
				w.s(metric + `{container="`)
				w.name("c", c)
				w.s(`",namespace="ns",pod="`)
				wl.podName(w, p)
				w.s(`"} 1 5` + "\n")
			}
		}
	}
	w.s("node_cpu_usage_seconds_total 1 5\nnode_memory_working_set_bytes 1 5\n")
	return &w.b
}

// summary writes wl as /stats/summary.
func (wl workload) summary() *body {
	w := &writer{}
	w.b.buf = make([]byte, 0, wl.pods*(100+len(wl.bigPod))+wl.pods*wl.perPod*150)
	const reading = `"cpu":{"time":"2025-06-15T16:00:00Z","usageCoreNanoSeconds":1},"memory":{"workingSetBytes":1}`
	w.s(`{"node":{` + reading + `},"pods":[`)
	for p := range wl.pods {
		if p > 0 {
			w.s(",")
		}
		w.s(`{"podRef":{"namespace":"ns","name":"`)
		wl.podName(w, p)
		w.s(`"},"containers":[`)
		for c := range wl.perPod {
			if c > 0 {
				w.s(",")
			}
			w.s(`{"name":"`)
			w.name("c", c)
			w.s(`",` + reading + `}`)
		}
		w.s("]}")
	}
	w.s("]}")
	return &w.b
}

// heapBound is the most the decoder and the store may hold for one node
// under limits, with rings of capacity points:
//   - per container, its points and series at their worst, whatever the
//     kubelet sends (store.MaxSeriesBytes: 35.6 bytes a point at 60 points,
//     where the flat rings took 24), and about 1 KiB of bookkeeping:
//     snapshot usages (two snapshots) and pod slots, the decoder's entry,
//     index and batch, the intern table's entries;
//   - per container, three names of at most MaxNameLength bytes, twice: a
//     churning kubelet's previous names stay in the intern table until the
//     decoder compacts it;
//   - 1 MiB for the decoder's and store's scratch, the maps' spare room and
//     the store's arena rounding up to 1 KiB blocks.
func heapBound(l decode.Limits, capacity int) int64 {
	perContainer := store.MaxSeriesBytes(capacity) + 1024 + 2*3*int64(l.MaxNameLength)
	return int64(l.MaxContainers)*perContainer + 1<<20
}

// TestHostileKubeletHeapBounded feeds one node's decoder and the store a
// kubelet claiming a million containers, a hundred thousand pods, and
// megabyte names, three rounds each with every name new, and checks after
// each scrape that the heap the decoder and store hold stays under
// heapBound, that the excess is counted, and that a quiet neighbour node is
// still served.
func TestHostileKubeletHeapBounded(t *testing.T) {
	limits := decode.DefaultLimits()
	defaults := options.NewOptions()
	capacity := server.Capacity(defaults.History, defaults.MetricResolution)
	bound := heapBound(limits, capacity)
	t.Logf("limits %+v: bound %.1f MiB", limits, float64(bound)/(1<<20))

	mib := strings.Repeat("x", 1<<20)
	cases := []struct {
		name string
		wl   workload
		// reason is the skip the excess must be counted under.
		reason sample.SkipReason
	}{
		{"1 000 000 containers", workload{pods: 1000, perPod: 1000}, sample.SkipTooMany},
		// Both caps reached exactly, with long names: the most the store
		// and the intern table can be made to hold.
		{"5 001 pods of 2", workload{pods: 5001, perPod: 2, bigPod: strings.Repeat("x", 240)}, sample.SkipTooManyPods},
		{"100 000 pods", workload{pods: 100_000, perPod: 1}, sample.SkipTooManyPods},
		{"1 MiB pod names", workload{pods: 40, perPod: 2, bigPod: mib}, sample.SkipNameTooLong},
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapAlloc)

	for _, format := range []string{"text", "summary"} {
		st, err := store.New(store.Config{Capacity: capacity, MaxAgeMs: maxAge})
		if err != nil {
			t.Fatal(err)
		}
		var dec interface {
			Decode(body []byte, b *sample.Batch) error
		} = &decode.ResourceDecoder{Limits: limits}
		if format == "summary" {
			dec = &decode.SummaryDecoder{Limits: limits}
		}
		var batch sample.Batch
		quiet := quietBatch()
		now := t0
		for _, tc := range cases {
			var b *body
			if format == "text" {
				b = tc.wl.text()
			} else {
				b = tc.wl.summary()
			}
			for round := range 3 {
				b.setRound(round)
				now += res
				batch.Node = "hostile"
				if err = dec.Decode(b.buf, &batch); err != nil {
					t.Fatalf("%s, %s, round %d: %v", format, tc.name, round, err)
				}
				st.Write(&batch, now)
				for i := range quiet.Containers {
					quiet.Containers[i].TimestampMs = now
					quiet.Containers[i].CPUNanos = uint64(now-t0) * 1e5
				}
				quiet.NodePoint = quiet.Containers[0].Point
				st.Write(quiet, now)

				if batch.Skipped[tc.reason] == 0 || len(batch.Containers) > limits.MaxContainers {
					t.Fatalf("%s, %s, round %d: kept %d containers, skipped %v", format, tc.name, round, len(batch.Containers), batch.Skipped)
				}
				if u, ok := st.PodUsage("quiet", "web", nil); round > 0 && (!ok || len(u) != 2 || u[0].CPUNanoCores != 1e8) {
					t.Fatalf("%s, %s, round %d: the quiet node's pod: %+v (served %v)", format, tc.name, round, u, ok)
				}

				runtime.GC()
				runtime.ReadMemStats(&ms)
				held := int64(ms.HeapAlloc) - base - b.bytes()
				t.Logf("%-7s %-22s round %d: body %6.1f MiB, kept %5d containers, skipped %v, held %5.1f MiB (heap in use %5.1f MiB)",
					format, tc.name, round, float64(len(b.buf))/(1<<20), len(batch.Containers), batch.Skipped,
					float64(held)/(1<<20), float64(ms.HeapInuse)/(1<<20))
				if held > bound {
					t.Errorf("%s, %s, round %d: decoder and store hold %.1f MiB, over the bound of %.1f MiB",
						format, tc.name, round, float64(held)/(1<<20), float64(bound)/(1<<20))
				}
				runtime.KeepAlive(b)
			}
		}
		runtime.KeepAlive(dec)
		runtime.KeepAlive(st)
	}
}

// quietBatch is an honest neighbour node: one pod of two containers.
func quietBatch() *sample.Batch {
	b := &sample.Batch{Node: "quiet", HasNode: true}
	for _, name := range []string{"app", "sidecar"} {
		b.Containers = append(b.Containers, sample.Container{
			Namespace: "quiet", Pod: "web", Name: name, StartTimeMs: t0 - res,
			Point: sample.Point{TimestampMs: t0, MemoryBytes: 1 << 20},
		})
	}
	return b
}
