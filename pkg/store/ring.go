package store

import (
	"math"
	"math/bits"
	"slices"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// series is one node's or container's points and the bookkeeping around
// them. The newest point is kept whole; the older ones are records in the
// shard's arena (see codec.go), at most capacity points in all.
type series struct {
	// name is the container name; empty for a node series or a free slot.
	name string
	// startMs is the start time of the current run, 0 when unknown. It is
	// only trusted for a rate when it lies between the point before the
	// restart and the run's first point.
	startMs int64
	// advancedMs is the caller's clock when the series last gained a point.
	// Staleness is judged on the store's own clock rather than the kubelet's
	// timestamps so that a skewed node clock cannot hide or expire a node.
	advancedMs int64
	// last is the newest point; dts and dcpu are the interval and the CPU
	// increment since the point before it (modulo 2^64), so that the usage
	// over the last two points needs no decoding.
	last      sample.Point
	dts, dcpu uint64
	chain     chain
	// count is the number of points held, at most the capacity.
	count uint16
	// run is the number of newest points since the last restart: only they
	// may be used for a rate, since the counter restarted before them.
	run uint16
	// oldRecs counts the records in the oldest chunk, dead how many of the
	// oldest records lead to points no longer held: when all of a chunk's
	// are, it is freed.
	oldRecs, dead uint16
	// seen is the shard's write generation in which the container last
	// appeared in a batch.
	seen uint32
}

// push records p as the series' newest point and reports whether it did. A
// point not newer than the newest one is a repeat of a cached reading and is
// dropped, so it cannot shorten a window to zero or count as fresh data.
func (s *series) push(a *arena, capacity int, p sample.Point, startMs, nowMs int64) bool {
	if s.count == 0 {
		s.run = 1
		s.startMs = startMs
		s.add(a, capacity, p)
		s.advancedMs = nowMs
		return true
	}
	prevTs := s.last.TimestampMs
	if p.TimestampMs <= prevTs {
		return false
	}
	// A counter that went down is a restart whatever the start time says. A
	// start time is believed only when it moved into the span between the
	// previous point and this one, where a new run must have begun: kubelets
	// that report it relative to now, jitter it by a second, or skew it into
	// the future would otherwise make every scrape a restart and every other
	// LIST miss the pod.
	restarted := p.CPUNanos < s.last.CPUNanos ||
		(startMs != 0 && s.startMs != 0 && startMs != s.startMs && prevTs < startMs && startMs <= p.TimestampMs)
	switch {
	case restarted:
		s.run = 1
		// A start time that does not fall after the last point before the
		// restart cannot be the new run's start; using it would stretch the
		// window over time the new counter did not count and understate the
		// rate, or, if it came from a skewed clock, overstate it.
		if startMs > prevTs {
			s.startMs = startMs
		} else {
			s.startMs = 0
		}
	default:
		if s.startMs == 0 {
			s.startMs = startMs
		}
		s.run = min(s.run+1, uint16(capacity))
	}
	s.add(a, capacity, p)
	s.advancedMs = nowMs
	return true
}

// add stores p as the newest point, forgetting the oldest when capacity
// points are held. Any p will do: the ordering rules are push's.
func (s *series) add(a *arena, capacity int, p sample.Point) {
	switch {
	case s.count == 0:
		s.count = 1
		s.last = p
		return
	case int(s.count) == capacity:
		// The oldest record held leads to the oldest point, now forgotten.
		s.dead++
		s.freeDead(a)
	default:
		s.count++
	}
	s.append(a, p)
	// A chunk just closed may hold dead records only.
	s.freeDead(a)
}

// freeDead frees the oldest chunk while none of its records leads to a
// point still held, but never the newest.
func (s *series) freeDead(a *arena) {
	for s.dead >= s.oldRecs && s.chain.oldest != s.chain.newest {
		s.dead -= s.oldRecs
		a.dropOldest(&s.chain)
		w := a.chunk(s.chain.oldest)
		c := cursor{w, uint(s.chain.pos)}
		if s.chain.oldest != s.chain.newest {
			c.pos = end(w)
		}
		s.oldRecs = uint16(c.records())
	}
}

// append writes the record that leads from p back to the newest point and
// makes p the newest.
func (s *series) append(a *arena, p sample.Point) {
	rec := encode(s.last, p, s.dts, s.dcpu, s.chain.newest == 0)
	n := rec.n
	if s.chain.newest == 0 || uint(s.chain.pos)+n >= chunkBits {
		if s.chain.newest != 0 {
			// The terminator marks where the chunk's records end.
			put(a.chunk(s.chain.newest), uint(s.chain.pos), 1, 1)
		}
		a.add(&s.chain)
		if s.chain.oldest == s.chain.newest {
			s.oldRecs = 0
		}
	}
	s.chain.pos = uint16(rec.write(a.chunk(s.chain.newest), uint(s.chain.pos)))
	if s.chain.oldest == s.chain.newest {
		s.oldRecs++
	}
	s.dts = uint64(p.TimestampMs - s.last.TimestampMs)
	s.dcpu = p.CPUNanos - s.last.CPUNanos
	s.last = p
}

// drop frees the series' chunks and clears it.
func (s *series) drop(a *arena) {
	a.drop(&s.chain)
	*s = series{}
}

// reader walks a series' points back from the newest.
type reader struct {
	a         *arena
	p         sample.Point
	dts, dcpu uint64
	cur       cursor
	// chunk is the chunk being read; newer the one after it.
	chunk, newer uint32
}

// reader starts at the newest point of a series of at least two.
func (s *series) reader(a *arena) reader {
	return reader{
		a: a, p: s.last, dts: s.dts, dcpu: s.dcpu,
		cur:   cursor{a.chunk(s.chain.newest), uint(s.chain.pos)},
		chunk: s.chain.newest,
	}
}

// back moves to the point before. The caller knows there is one.
func (r *reader) back() {
	if r.cur.pos == 0 {
		r.chunk, r.newer = r.a.older(r.chunk, r.newer), r.chunk
		r.cur.w = r.a.chunk(r.chunk)
		r.cur.pos = end(r.cur.w)
	}
	zt, zc, m := r.cur.ts(), r.cur.cpu(), r.cur.mem()
	r.p.TimestampMs -= int64(r.dts)
	r.p.CPUNanos -= r.dcpu
	r.p.MemoryBytes -= m
	r.dts = roundSecond(r.dts) + uint64(unzig(zt))
	r.dcpu += uint64(unzig(zc))
}

// usage computes what the API serves for the series. With windowMs 0 the
// rate spans the last two points, as metrics-server does; a longer window
// reaches back to the oldest point of the current run that is at most
// windowMs older than the newest, but never spans less than two points. A
// run of one point is served only when its start time is known and at most
// freshMs before the point, by taking the counter to have been zero at the
// start: a fresh container then has a usage from its first scrape instead of
// a resolution later. A container that has run for days, first seen after
// ringmetrics itself restarted, waits for its second point instead: its
// lifetime average is not its current usage, and an HPA would act on it.
func (s *series) usage(a *arena, windowMs, freshMs int64) (sample.Usage, bool) {
	if s.count == 0 {
		return sample.Usage{}, false
	}
	u := sample.Usage{TimestampMs: s.last.TimestampMs, MemoryBytes: s.last.MemoryBytes}
	var fromTs int64
	var fromCPU uint64
	switch {
	case s.run >= 2:
		fromTs, fromCPU = s.last.TimestampMs-int64(s.dts), s.last.CPUNanos-s.dcpu
		if windowMs > 0 && s.run > 2 {
			r := s.reader(a)
			r.back()
			for k := uint16(2); k < s.run; k++ {
				r.back()
				if u.TimestampMs-r.p.TimestampMs > windowMs {
					break
				}
				fromTs, fromCPU = r.p.TimestampMs, r.p.CPUNanos
			}
		}
	case s.startMs > 0 && s.startMs < u.TimestampMs && u.TimestampMs-s.startMs <= freshMs:
		fromTs = s.startMs
	default:
		return sample.Usage{}, false
	}
	u.WindowMs = u.TimestampMs - fromTs
	// Within a run the counter never goes down: push starts a new run when
	// it does.
	u.CPUNanoCores = nanoCores(s.last.CPUNanos-fromCPU, u.WindowMs)
	return u, true
}

// history appends the series' points to dst, oldest first.
func (s *series) history(a *arena, dst []sample.Point) []sample.Point {
	n := int(s.count)
	if n == 0 {
		return dst
	}
	dst = slices.Grow(dst, n)
	dst = dst[:len(dst)+n]
	out := dst[len(dst)-n:]
	out[n-1] = s.last
	if n > 1 {
		r := s.reader(a)
		for i := n - 2; i >= 0; i-- {
			r.back()
			out[i] = r.p
		}
	}
	return dst
}

// nanoCores converts CPU nanoseconds consumed over windowMs milliseconds to
// nanocores (deltaNs·1000/windowMs) in 128-bit arithmetic, because a
// start-time window can span a long-running container's whole life and the
// product would overflow 64 bits. An impossible result saturates.
func nanoCores(deltaNs uint64, windowMs int64) uint64 {
	if windowMs <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(deltaNs, 1000)
	if hi >= uint64(windowMs) {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, uint64(windowMs))
	return q
}
