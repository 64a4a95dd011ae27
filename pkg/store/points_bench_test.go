package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// profile is how a simulated series moves between scrapes: what makes its
// points more or less compressible.
type profile struct {
	name string
	// jitterMs is how far each timestamp lands off the scrape grid, either
	// way, uniformly.
	jitterMs int64
	// cores is the mean CPU rate; noise the relative spread of each
	// interval's rate around it, uniformly.
	cores, noise float64
	// wobblePages is how many 4 KiB pages the working set moves by between
	// scrapes, either way, uniformly; 0 keeps it steady.
	wobblePages int64
	// worst draws every number at random: the most a point can cost.
	worst bool
}

var (
	busy = profile{name: "busy", jitterMs: 200, cores: 1.5, noise: 0.2, wobblePages: 256}
	idle = profile{name: "idle", jitterMs: 200, cores: 0.002, noise: 0.5}
	// exact is the simulator's and the benchmarks' series: on the grid, at
	// a constant rate, with a steady working set.
	exact = profile{name: "exact", cores: 0.2}
	worst = profile{name: "worst", worst: true}
)

// walk generates one series' points under a profile.
type walk struct {
	p    profile
	r    *rand.Rand
	grid int64
	pt   sample.Point
}

func newWalk(p profile, seed uint64) *walk {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	return &walk{
		p:    p,
		r:    r,
		grid: t0,
		pt:   sample.Point{TimestampMs: t0, CPUNanos: uint64(r.Int64N(1e13)), MemoryBytes: uint64(50+r.Int64N(500)) << 20},
	}
}

// next returns the series' point one resolution after the last.
func (w *walk) next() sample.Point {
	if w.p.worst {
		// Timestamps must still rise for the store to keep a point, and a
		// series lasts longer than 2^64/2^40 points only at a cost of
		// fewer bits a timestamp.
		w.pt.TimestampMs += 1 + w.r.Int64N(1<<40)
		w.pt.CPUNanos = w.r.Uint64()
		w.pt.MemoryBytes = w.r.Uint64()
		return w.pt
	}
	w.grid += res
	ts := w.grid
	if w.p.jitterMs > 0 {
		ts += w.r.Int64N(2*w.p.jitterMs+1) - w.p.jitterMs
	}
	if ts <= w.pt.TimestampMs {
		ts = w.pt.TimestampMs + 1
	}
	dt := ts - w.pt.TimestampMs
	w.pt.TimestampMs = ts
	w.pt.CPUNanos += uint64(float64(dt) * 1e6 * w.p.cores * (1 + w.p.noise*(2*w.r.Float64()-1)))
	if w.p.wobblePages > 0 {
		step := (w.r.Int64N(2*w.p.wobblePages+1) - w.p.wobblePages) << 12
		if int64(w.pt.MemoryBytes)+step > 1<<20 {
			w.pt.MemoryBytes = uint64(int64(w.pt.MemoryBytes) + step)
		}
	}
	return w.pt
}

// fleet is nodes of pods of one or two containers, alternately, each
// container a busy or an idle series: the store's input at scale.
type fleet struct {
	batches []*sample.Batch
	nodes   []*walk
	ctrs    [][]*walk
}

func newFleet(nodes, pods int) *fleet {
	f := &fleet{}
	seed := uint64(1)
	for n := range nodes {
		node := fmt.Sprintf("node-%d", n)
		b := &sample.Batch{Node: node, HasNode: true}
		var ws []*walk
		for p := range pods {
			name := fmt.Sprintf("%s-pod-%d", node, p)
			for c := range 1 + p%2 {
				prof := idle
				if (p+c)%2 == 0 {
					prof = busy
				}
				seed++
				ws = append(ws, newWalk(prof, seed))
				b.Containers = append(b.Containers, sample.Container{
					Namespace: "ns-" + node, Pod: name, Name: fmt.Sprintf("container-%d", c), StartTimeMs: t0 - res,
				})
			}
		}
		seed++
		f.nodes = append(f.nodes, newWalk(busy, seed))
		f.ctrs = append(f.ctrs, ws)
		f.batches = append(f.batches, b)
	}
	return f
}

// round writes one scrape of every node.
func (f *fleet) round(st *Store, now int64) {
	for n, b := range f.batches {
		b.NodePoint = f.nodes[n].next()
		for i := range b.Containers {
			b.Containers[i].Point = f.ctrs[n][i].next()
		}
		st.Write(b, now)
	}
}

// BenchmarkStoreBytesAtScale reports Stats().Bytes for 1 000 nodes × 30
// pods of one or two containers (45 000 containers), half of them busy and
// half idle, with full rings of 60 and 240 points: the store's share of
// RSS. It times Stats.
func BenchmarkStoreBytesAtScale(b *testing.B) {
	for _, capacity := range []int{60, 240} {
		b.Run(fmt.Sprintf("points=%d", capacity), func(b *testing.B) {
			f := newFleet(1000, 30)
			st := mustNew(b, Config{Capacity: capacity, MaxAgeMs: maxAge})
			now := t0
			for range capacity + 10 {
				now += res
				f.round(st, now)
			}
			var s Stats
			for b.Loop() {
				if s = st.Stats(); s.Containers != 45000 {
					b.Fatalf("Stats() = %+v", s)
				}
			}
			series := int64(s.Nodes + s.Containers)
			b.ReportMetric(float64(s.Bytes)/(1<<20), "MiB")
			b.ReportMetric(float64(s.Bytes)/float64(series), "bytes/series")
			b.ReportMetric(float64(s.Bytes)/float64(s.Points), "bytes/point")
		})
	}
}

// replay is a node's scrapes generated ahead, as each series' changes, so
// that a benchmark can write any number of them, timing the store only.
type replay struct {
	f      *fleet
	deltas [][]sample.Point // per round, the node's change then each container's
	mem    [][]uint64
	r      int
}

func newReplay(f *fleet, rounds int) *replay {
	rp := &replay{f: f}
	b := f.batches[0]
	prev := make([]sample.Point, 1+len(b.Containers))
	prev[0] = b.NodePoint
	for i := range b.Containers {
		prev[1+i] = b.Containers[i].Point
	}
	for range rounds {
		d := make([]sample.Point, len(prev))
		m := make([]uint64, len(prev))
		for i := range prev {
			w := f.nodes[0]
			if i > 0 {
				w = f.ctrs[0][i-1]
			}
			p := w.next()
			d[i] = sample.Point{TimestampMs: p.TimestampMs - prev[i].TimestampMs, CPUNanos: p.CPUNanos - prev[i].CPUNanos}
			m[i] = p.MemoryBytes
			prev[i] = p
		}
		rp.deltas = append(rp.deltas, d)
		rp.mem = append(rp.mem, m)
	}
	return rp
}

// write writes the next scrape.
func (rp *replay) write(st *Store, now int64) {
	b := rp.f.batches[0]
	d, m := rp.deltas[rp.r], rp.mem[rp.r]
	rp.r = (rp.r + 1) % len(rp.deltas)
	b.NodePoint.TimestampMs += d[0].TimestampMs
	b.NodePoint.CPUNanos += d[0].CPUNanos
	b.NodePoint.MemoryBytes = m[0]
	for i := range b.Containers {
		c := &b.Containers[i]
		c.TimestampMs += d[1+i].TimestampMs
		c.CPUNanos += d[1+i].CPUNanos
		c.MemoryBytes = m[1+i]
	}
	st.Write(b, now)
}

func benchmarkWriteRealistic(b *testing.B, windowMs, minWindowMs int64) {
	f := newFleet(1, 30)
	st := mustNew(b, Config{MaxAgeMs: maxAge, CPUWindowMs: windowMs})
	now := t0
	for range testCapacity + 10 {
		now += res
		f.round(st, now)
	}
	rp := newReplay(f, 256)
	node := f.batches[0].Node
	b.ReportAllocs()
	for b.Loop() {
		now += res
		rp.write(st, now)
		if u, ok := st.NodeUsage(node); !ok || u.WindowMs < minWindowMs {
			b.Fatalf("NodeUsage = %+v, %v", u, ok)
		}
	}
}

// BenchmarkWriteRealistic writes one node of 30 pods of one or two busy or
// idle containers, with jittered timestamps, into full rings.
func BenchmarkWriteRealistic(b *testing.B) { benchmarkWriteRealistic(b, 0, 14*sec) }

// BenchmarkWriteRealisticSmoothed is BenchmarkWriteRealistic with a 60 s
// CPU window, so that every usage reaches three or four points back.
func BenchmarkWriteRealisticSmoothed(b *testing.B) { benchmarkWriteRealistic(b, 60*sec, 44*sec) }

// BenchmarkContainerHistory reads a full ring of a busy container.
func BenchmarkContainerHistory(b *testing.B) {
	for _, capacity := range []int{60, 240} {
		b.Run(fmt.Sprintf("points=%d", capacity), func(b *testing.B) {
			f := newFleet(1, 30)
			st := mustNew(b, Config{Capacity: capacity, MaxAgeMs: maxAge})
			now := t0
			for range capacity + 10 {
				now += res
				f.round(st, now)
			}
			c := f.batches[0].Containers[0]
			var dst []sample.Point
			b.ReportAllocs()
			for b.Loop() {
				var ok bool
				dst, ok = st.ContainerHistory(c.Namespace, c.Pod, c.Name, dst[:0])
				if !ok || len(dst) != capacity || dst[capacity-1] != c.Point {
					b.Fatalf("ContainerHistory: %d points, ok %v", len(dst), ok)
				}
			}
		})
	}
}
