package store

import (
	"math"
	"math/bits"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// ring is one series' points: three parallel views of the same length (the
// store's capacity) into a shard's flat array, indexed modulo that length.
// Keeping the numbers in one pointer-free array is what makes a series cost
// bytes, not kilobytes, keeps the garbage collector from scanning them, and
// spares a size-class round-up per array. ts holds the int64 millisecond
// timestamps' bits.
type ring struct {
	ts  []uint64
	cpu []uint64
	mem []uint64
}

func (r ring) tsAt(i int32) int64 { return int64(r.ts[i]) }

// series is the bookkeeping for one ring. The points themselves live in the
// shard's arrays at the series' slot.
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
	// head is the ring index of the newest point.
	head int32
	// count is the number of points held, at most the capacity.
	count int32
	// run is the number of newest points since the last restart: only they
	// may be used for a rate, since the counter restarted before them.
	run int32
	// seen is the shard's write generation in which the container last
	// appeared in a batch.
	seen uint32
}

// push records p as the series' newest point and reports whether it did. A
// point not newer than the newest one is a repeat of a cached reading and is
// dropped, so it cannot shorten a window to zero or count as fresh data.
func (r ring) push(s *series, p sample.Point, startMs, nowMs int64) bool {
	n := int32(len(r.ts))
	if s.count == 0 {
		s.head, s.count, s.run = 0, 1, 1
		s.startMs = startMs
		r.set(0, p)
		s.advancedMs = nowMs
		return true
	}
	h := s.head
	prevTs := r.tsAt(h)
	if p.TimestampMs <= prevTs {
		return false
	}
	// A counter that went down is a restart whatever the start time says. A
	// start time is believed only when it moved into the span between the
	// previous point and this one, where a new run must have begun: kubelets
	// that report it relative to now, jitter it by a second, or skew it into
	// the future would otherwise make every scrape a restart and every other
	// LIST miss the pod.
	restarted := p.CPUNanos < r.cpu[h] ||
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
		s.run = min(s.run+1, n)
	}
	if h++; h == n {
		h = 0
	}
	s.head = h
	s.count = min(s.count+1, n)
	r.set(h, p)
	s.advancedMs = nowMs
	return true
}

func (r ring) set(i int32, p sample.Point) {
	r.ts[i] = uint64(p.TimestampMs)
	r.cpu[i] = p.CPUNanos
	r.mem[i] = p.MemoryBytes
}

func (r ring) prev(i int32) int32 {
	if i == 0 {
		return int32(len(r.ts)) - 1
	}
	return i - 1
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
func (r ring) usage(s *series, windowMs, freshMs int64) (sample.Usage, bool) {
	if s.count == 0 {
		return sample.Usage{}, false
	}
	h := s.head
	u := sample.Usage{TimestampMs: r.tsAt(h), MemoryBytes: r.mem[h]}
	var fromTs int64
	var fromCPU uint64
	switch {
	case s.run >= 2:
		j := r.prev(h)
		if windowMs > 0 {
			for k := int32(2); k < s.run; k++ {
				i := r.prev(j)
				if u.TimestampMs-r.tsAt(i) > windowMs {
					break
				}
				j = i
			}
		}
		fromTs, fromCPU = r.tsAt(j), r.cpu[j]
	case s.startMs > 0 && s.startMs < u.TimestampMs && u.TimestampMs-s.startMs <= freshMs:
		fromTs = s.startMs
	default:
		return sample.Usage{}, false
	}
	u.WindowMs = u.TimestampMs - fromTs
	// Within a run the counter never goes down: push starts a new run when
	// it does.
	u.CPUNanoCores = nanoCores(r.cpu[h]-fromCPU, u.WindowMs)
	return u, true
}

// history appends the series' points to dst, oldest first.
func (r ring) history(s *series, dst []sample.Point) []sample.Point {
	i := s.head - s.count + 1
	if i < 0 {
		i += int32(len(r.ts))
	}
	for range s.count {
		dst = append(dst, sample.Point{TimestampMs: r.tsAt(i), CPUNanos: r.cpu[i], MemoryBytes: r.mem[i]})
		if i++; i == int32(len(r.ts)) {
			i = 0
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
