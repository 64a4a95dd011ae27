package store

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// benchBatch builds a node's batch as a decoder would: pods of containers,
// every container with a known start time.
func benchBatch(node string, pods, containers int) *sample.Batch {
	b := &sample.Batch{Node: node, HasNode: true}
	ns := "ns-" + node
	names := make([]string, containers)
	for c := range names {
		names[c] = fmt.Sprintf("container-%d", c)
	}
	for p := range pods {
		name := fmt.Sprintf("%s-pod-%d", node, p)
		for c := range containers {
			b.Containers = append(b.Containers, sample.Container{
				Namespace: ns, Pod: name, Name: names[c], StartTimeMs: t0 - res,
			})
		}
	}
	advance(b, t0)
	return b
}

// advance moves every reading of b to now, each container at 0.2 core and
// the node at 8 cores.
func advance(b *sample.Batch, now int64) {
	up := uint64(now - (t0 - res))
	b.NodePoint = sample.Point{TimestampMs: now, CPUNanos: up * 8e6, MemoryBytes: 16 << 30}
	for i := range b.Containers {
		b.Containers[i].Point = sample.Point{TimestampMs: now, CPUNanos: up * 2e5, MemoryBytes: 100 << 20}
	}
}

// seed fills a store with nodes × pods × containers over rounds scrapes.
func seed(tb testing.TB, batches []*sample.Batch, rounds int) *Store {
	st := mustNew(tb, Config{MaxAgeMs: maxAge})
	for r := range rounds {
		now := t0 + int64(r)*res
		for _, b := range batches {
			advance(b, now)
			st.Write(b, now)
		}
	}
	return st
}

func seedBatches(nodes, pods, containers int) []*sample.Batch {
	batches := make([]*sample.Batch, nodes)
	for n := range batches {
		batches[n] = benchBatch(fmt.Sprintf("node-%d", n), pods, containers)
	}
	return batches
}

func BenchmarkWrite(b *testing.B) {
	st := mustNew(b, Config{MaxAgeMs: maxAge})
	batch := benchBatch("n1", 30, 2)
	now := t0
	for range 2 {
		now += res
		advance(batch, now)
		st.Write(batch, now)
	}
	b.ReportAllocs()
	for b.Loop() {
		now += res
		advance(batch, now)
		st.Write(batch, now)
		if u, ok := st.NodeUsage("n1"); !ok || u.TimestampMs != now || u.CPUNanoCores != 8e9 {
			b.Fatalf("NodeUsage = %+v, %v", u, ok)
		}
	}
}

func BenchmarkWriteSmoothed(b *testing.B) {
	st := mustNew(b, Config{MaxAgeMs: maxAge, CPUWindowMs: 60 * sec})
	batch := benchBatch("n1", 30, 2)
	now := t0
	for range 2 {
		now += res
		advance(batch, now)
		st.Write(batch, now)
	}
	b.ReportAllocs()
	for b.Loop() {
		now += res
		advance(batch, now)
		st.Write(batch, now)
		if u, ok := st.NodeUsage("n1"); ok && u.CPUNanoCores != 8e9 {
			b.Fatalf("NodeUsage = %+v, %v", u, ok)
		}
	}
}

func BenchmarkPodUsage(b *testing.B) {
	batches := seedBatches(100, 30, 2)
	st := seed(b, batches, 2)
	var keys [][2]string
	for _, bt := range batches {
		for i := 0; i < len(bt.Containers); i += 2 {
			keys = append(keys, [2]string{bt.Containers[i].Namespace, bt.Containers[i].Pod})
		}
	}
	var dst []sample.ContainerUsage
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		var ok bool
		dst, ok = st.PodUsage(k[0], k[1], dst[:0])
		if !ok || len(dst) != 2 || dst[1].CPUNanoCores != 2e8 {
			b.Fatalf("PodUsage(%s/%s) = %+v, %v", k[0], k[1], dst, ok)
		}
	}
}

func BenchmarkPodUsageParallel(b *testing.B) {
	batches := seedBatches(100, 30, 2)
	st := seed(b, batches, 2)
	var keys [][2]string
	for _, bt := range batches {
		for i := 0; i < len(bt.Containers); i += 2 {
			keys = append(keys, [2]string{bt.Containers[i].Namespace, bt.Containers[i].Pod})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var dst []sample.ContainerUsage
		i := 0
		for pb.Next() {
			k := keys[i%len(keys)]
			i += 7
			var ok bool
			dst, ok = st.PodUsage(k[0], k[1], dst[:0])
			if !ok || len(dst) != 2 {
				b.Errorf("PodUsage(%s/%s) = %+v, %v", k[0], k[1], dst, ok)
				return
			}
		}
	})
}

func BenchmarkNodeUsage(b *testing.B) {
	batches := seedBatches(100, 30, 2)
	st := seed(b, batches, 2)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		node := batches[i%len(batches)].Node
		i++
		if u, ok := st.NodeUsage(node); !ok || u.CPUNanoCores != 8e9 {
			b.Fatalf("NodeUsage(%s) = %+v, %v", node, u, ok)
		}
	}
}

// BenchmarkSeed1000Nodes times three scrape rounds of 1000 nodes × 30 pods ×
// 2 containers into a new store and reports the memory the store holds.
func BenchmarkSeed1000Nodes(b *testing.B) {
	const nodes, pods, containers = 1000, 30, 2
	batches := seedBatches(nodes, pods, containers)
	b.ReportAllocs()
	for b.Loop() {
		st := seed(b, batches, 3)
		if s := st.Stats(); s.Containers != nodes*pods*containers {
			b.Fatalf("Stats() = %+v", s)
		}
	}
	b.StopTimer()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st := seed(b, batches, 3)
	runtime.GC()
	runtime.ReadMemStats(&after)
	stats := st.Stats()
	runtime.KeepAlive(st)
	series := float64(nodes + nodes*pods*containers)
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	b.ReportMetric(heap, "heap-bytes")
	b.ReportMetric(heap/series, "heap-bytes/series")
	b.ReportMetric(float64(stats.Bytes)/series, "stats-bytes/series")
}
