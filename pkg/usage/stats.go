package usage

import (
	"math"
	"math/bits"
	"slices"
	"sort"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// summary is one series summarised over a window, in the store's units
// (nanocores, bytes, milliseconds). The rules are stated in the API's
// documentation (package v1alpha1) and tested in stats_test.go.
type summary struct {
	timestampMs, windowMs int64
	points, restarts      int
	// rates is the number of CPU rates: pairs of consecutive points within
	// one run.
	rates int
	cpu   cpuSummary
	mem   memSummary
}

type cpuSummary struct{ avg, p50, p90, p95, max uint64 }

type memSummary struct{ avg, p95, max uint64 }

// inWindow returns the newest points of points (oldest first, timestamps
// increasing) that are at most windowMs older than the newest one; all of
// them when windowMs is not positive.
func inWindow(points []sample.Point, windowMs int64) []sample.Point {
	if windowMs <= 0 || len(points) == 0 {
		return points
	}
	newest := points[len(points)-1].TimestampMs
	i := sort.Search(len(points), func(i int) bool { return newest-points[i].TimestampMs <= windowMs })
	return points[i:]
}

// scratch holds the buffers summarize sorts in, reused across the series of
// one request.
type scratch struct {
	cpu, mem []uint64
}

// summarize summarises points (oldest first, timestamps increasing, as the
// store returns them) and reports whether they hold at least one CPU rate:
// a series without one is not served. A pair of points over which the
// counter went down is a restart and gives no rate. A restart whose new
// counter already passed the old one is not seen as one, but cannot spike
// either: the growth it shows is less than the new run consumed.
func summarize(points []sample.Point, s *scratch) (summary, bool) {
	n := len(points)
	if n < 2 {
		return summary{}, false
	}
	out := summary{
		timestampMs: points[n-1].TimestampMs,
		windowMs:    points[n-1].TimestampMs - points[0].TimestampMs,
		points:      n,
	}
	s.cpu, s.mem = s.cpu[:0], s.mem[:0]
	var cpuNs, spanMs uint64
	var memSum uint64
	for i, p := range points {
		s.mem = append(s.mem, p.MemoryBytes)
		memSum += p.MemoryBytes
		if i == 0 {
			continue
		}
		prev := points[i-1]
		if p.CPUNanos < prev.CPUNanos {
			out.restarts++
			continue
		}
		dt := p.TimestampMs - prev.TimestampMs
		if dt <= 0 {
			// The store never returns such a pair; a rate over no time
			// would be infinite.
			continue
		}
		delta := p.CPUNanos - prev.CPUNanos
		s.cpu = append(s.cpu, nanoCores(delta, uint64(dt)))
		cpuNs = saturatingAdd(cpuNs, delta)
		spanMs += uint64(dt)
	}
	out.rates = len(s.cpu)
	if out.rates == 0 {
		return summary{}, false
	}
	slices.Sort(s.cpu)
	slices.Sort(s.mem)
	out.cpu = cpuSummary{
		avg: nanoCores(cpuNs, spanMs),
		p50: percentile(s.cpu, 50),
		p90: percentile(s.cpu, 90),
		p95: percentile(s.cpu, 95),
		max: s.cpu[len(s.cpu)-1],
	}
	out.mem = memSummary{
		avg: (memSum + uint64(n)/2) / uint64(n),
		p95: percentile(s.mem, 95),
		max: s.mem[n-1],
	}
	return out, true
}

// percentile is the nearest-rank p-th percentile of sorted (ascending, not
// empty): the ⌈p·n/100⌉-th smallest value, no interpolation.
func percentile(sorted []uint64, p int) uint64 {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// rate is the rate of one pair of points, or false for the first point of
// a window and after a restart: what Sample.CPU serves.
func rate(points []sample.Point, i int) (uint64, bool) {
	if i == 0 || points[i].CPUNanos < points[i-1].CPUNanos {
		return 0, false
	}
	dt := points[i].TimestampMs - points[i-1].TimestampMs
	if dt <= 0 {
		return 0, false
	}
	return nanoCores(points[i].CPUNanos-points[i-1].CPUNanos, uint64(dt)), true
}

// nanoCores is deltaNs nanoseconds of CPU over ms milliseconds, in
// nanocores (deltaNs·1000/ms), in 128-bit arithmetic; an impossible result
// saturates.
func nanoCores(deltaNs, ms uint64) uint64 {
	if ms == 0 {
		return 0
	}
	hi, lo := bits.Mul64(deltaNs, 1000)
	if hi >= ms {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, ms)
	return q
}

func saturatingAdd(a, b uint64) uint64 {
	if s, carry := bits.Add64(a, b, 0); carry == 0 {
		return s
	}
	return math.MaxUint64
}
