package store

// The store's points as they were kept before they were compressed: flat
// rings of 24 bytes a point. ring_test.go holds the compressed series to
// this reference, point for point and usage for usage.

import (
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

type flatSeries struct {
	startMs, advancedMs int64
	head, count, run    int32
}

func newFlatRing(capacity int) flatRing {
	return flatRing{make([]uint64, capacity), make([]uint64, capacity), make([]uint64, capacity)}
}

type flatRing struct {
	ts  []uint64
	cpu []uint64
	mem []uint64
}

func (r flatRing) tsAt(i int32) int64 { return int64(r.ts[i]) }

// push records p as the series' newest point and reports whether it did. A
// point not newer than the newest one is a repeat of a cached reading and is
// dropped, so it cannot shorten a window to zero or count as fresh data.
func (r flatRing) push(s *flatSeries, p sample.Point, startMs, nowMs int64) bool {
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

func (r flatRing) set(i int32, p sample.Point) {
	r.ts[i] = uint64(p.TimestampMs)
	r.cpu[i] = p.CPUNanos
	r.mem[i] = p.MemoryBytes
}

func (r flatRing) prev(i int32) int32 {
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
func (r flatRing) usage(s *flatSeries, windowMs, freshMs int64) (sample.Usage, bool) {
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
func (r flatRing) history(s *flatSeries, dst []sample.Point) []sample.Point {
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
