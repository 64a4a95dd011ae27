package usage

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

const (
	sec   = int64(1000)
	milli = uint64(1_000_000) // nanocores per millicore
	core  = uint64(1_000_000_000)
)

// pts builds points from (seconds, CPU seconds ×10⁻³ i.e. CPU milliseconds, MiB) triples.
func pts(triples ...[3]uint64) []sample.Point {
	out := make([]sample.Point, len(triples))
	for i, t := range triples {
		out[i] = sample.Point{TimestampMs: int64(t[0]) * sec, CPUNanos: t[1] * 1_000_000, MemoryBytes: t[2] * mi}
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	seq := func(n int) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = uint64(i + 1)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		values []uint64
		p      int
		want   uint64
	}{
		// rank = ⌈p·n/100⌉, 1-based, of the sorted values.
		{"one value p50", []uint64{7}, 50, 7},
		{"one value p95", []uint64{7}, 95, 7},
		{"1..4 p50: rank 2", seq(4), 50, 2},
		{"1..4 p90: rank ⌈3.6⌉=4", seq(4), 90, 4},
		{"1..4 p95: rank ⌈3.8⌉=4", seq(4), 95, 4},
		{"10,20,30 p50: rank ⌈1.5⌉=2", []uint64{10, 20, 30}, 50, 20},
		{"10,20,30 p90: rank ⌈2.7⌉=3", []uint64{10, 20, 30}, 90, 30},
		{"1..20 p50: rank 10", seq(20), 50, 10},
		{"1..20 p90: rank 18", seq(20), 90, 18},
		{"1..20 p95: rank 19", seq(20), 95, 19},
		{"1..21 p95: rank ⌈19.95⌉=20", seq(21), 95, 20},
		{"1..100 p95: rank 95", seq(100), 95, 95},
		{"1..101 p95: rank ⌈95.95⌉=96", seq(101), 95, 96},
		{"1..100 p100", seq(100), 100, 100},
		{"1..100 p1", seq(100), 1, 1},
		{"repeated", []uint64{5, 5, 5, 9}, 50, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.values, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %d) = %d, want %d", tc.values, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points []sample.Point
		want   summary
		ok     bool
	}{
		{
			// Rates 100m, 200m, 50m, 400m; sorted 50, 100, 200, 400.
			// Average: 7.5 CPU seconds over 40 s = 187.5m.
			name:   "four rates",
			points: pts([3]uint64{0, 0, 10}, [3]uint64{10, 1000, 20}, [3]uint64{20, 3000, 30}, [3]uint64{30, 3500, 40}, [3]uint64{40, 7500, 50}),
			want: summary{timestampMs: 40 * sec, windowMs: 40 * sec, points: 5, rates: 4,
				cpu: cpuSummary{avg: 187_500_000, p50: 100 * milli, p90: 400 * milli, p95: 400 * milli, max: 400 * milli},
				mem: memSummary{avg: 30 * mi, p95: 50 * mi, max: 50 * mi}},
			ok: true,
		},
		{
			// The counter goes from 11 s down to 0.5 s: a restart, no rate
			// for that pair; 100m before it, 200m after.
			name:   "restart gives no rate",
			points: pts([3]uint64{0, 10_000, 100}, [3]uint64{10, 11_000, 100}, [3]uint64{20, 500, 10}, [3]uint64{30, 2_500, 20}),
			want: summary{timestampMs: 30 * sec, windowMs: 30 * sec, points: 4, restarts: 1, rates: 2,
				cpu: cpuSummary{avg: 150 * milli, p50: 100 * milli, p90: 200 * milli, p95: 200 * milli, max: 200 * milli},
				mem: memSummary{avg: 57*mi + mi/2, p95: 100 * mi, max: 100 * mi}}, // 230/4 MiB
			ok: true,
		},
		{
			// Uneven spacing: the average weighs by time, the percentiles
			// count rates. 1 s at 1 core, then 9 s at 0.
			name:   "uneven spacing",
			points: pts([3]uint64{0, 0, 1}, [3]uint64{1, 1000, 1}, [3]uint64{10, 1000, 1}),
			want: summary{timestampMs: 10 * sec, windowMs: 10 * sec, points: 3, rates: 2,
				cpu: cpuSummary{avg: 100 * milli, p50: 0, p90: core, p95: core, max: core},
				mem: memSummary{avg: mi, p95: mi, max: mi}},
			ok: true,
		},
		{name: "one point", points: pts([3]uint64{0, 0, 1})},
		{name: "none"},
		{name: "only a restart", points: pts([3]uint64{0, 5000, 1}, [3]uint64{10, 10, 1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := summarize(tc.points, &scratch{})
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(summary{}, cpuSummary{}, memSummary{})); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSummarizeNeverNegativeOrSpiked restarts a steady 250m container at
// every possible pair of a window: no rate may fall below 0 or rise above
// what it used.
func TestSummarizeNeverNegativeOrSpiked(t *testing.T) {
	const n = 12
	for restartAt := 1; restartAt < n; restartAt++ {
		points := make([]sample.Point, n)
		var cpu uint64 = 1_000 * core // a long-running container
		for i := range points {
			if i == restartAt {
				cpu = 3 * core / 4 // 3 s of the 15 s since the restart at 250m
			}
			points[i] = sample.Point{TimestampMs: int64(i) * 15 * sec, CPUNanos: cpu, MemoryBytes: mi}
			cpu += 15 * core / 4 // 250m over 15 s
		}
		s, ok := summarize(points, &scratch{})
		if !ok || s.restarts != 1 || s.rates != n-2 {
			t.Fatalf("restart at %d: ok %v, %d restarts, %d rates", restartAt, ok, s.restarts, s.rates)
		}
		for name, v := range map[string]uint64{"avg": s.cpu.avg, "p50": s.cpu.p50, "p90": s.cpu.p90, "p95": s.cpu.p95, "max": s.cpu.max} {
			if v != 250*milli {
				t.Errorf("restart at %d: %s = %dn, want 250m", restartAt, name, v)
			}
		}
		for i := range points {
			r, ok := rate(points, i)
			if ok != (i != 0 && i != restartAt) {
				t.Errorf("restart at %d: point %d has a rate: %v", restartAt, i, ok)
			}
			if ok && r != 250*milli {
				t.Errorf("restart at %d: point %d rate %dn, want 250m", restartAt, i, r)
			}
		}
	}
}

func TestInWindow(t *testing.T) {
	points := pts([3]uint64{0, 0, 0}, [3]uint64{10, 0, 0}, [3]uint64{20, 0, 0}, [3]uint64{30, 0, 0}, [3]uint64{40, 0, 0}, [3]uint64{50, 0, 0}, [3]uint64{60, 0, 0})
	times := func(ps []sample.Point) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.TimestampMs/sec)
		}
		return out
	}
	for _, tc := range []struct {
		windowMs int64
		want     []int64
	}{
		{0, []int64{0, 10, 20, 30, 40, 50, 60}},
		{-1, []int64{0, 10, 20, 30, 40, 50, 60}},
		{30 * sec, []int64{30, 40, 50, 60}}, // the point exactly 30 s older is in
		{30*sec - 1, []int64{40, 50, 60}},
		{25 * sec, []int64{40, 50, 60}},
		{1, []int64{60}},
		{60 * sec, []int64{0, 10, 20, 30, 40, 50, 60}},
		{time1h, []int64{0, 10, 20, 30, 40, 50, 60}},
	} {
		if got := times(inWindow(points, tc.windowMs)); !slices.Equal(got, tc.want) {
			t.Errorf("window %dms: %v, want %v", tc.windowMs, got, tc.want)
		}
	}
	if got := inWindow(nil, sec); len(got) != 0 {
		t.Errorf("empty: %v", got)
	}
}

const time1h = 3600 * sec

var testTime = time.UnixMilli(1_772_366_400_000)

func TestNanoCoresSaturates(t *testing.T) {
	if got := nanoCores(math.MaxUint64, 1); got != math.MaxUint64 {
		t.Errorf("nanoCores(max, 1) = %d", got)
	}
	if got := nanoCores(5, 0); got != 0 {
		t.Errorf("nanoCores(5, 0) = %d", got)
	}
	if got := nanoCores(15*core/4, 15*uint64(sec)); got != 250*milli {
		t.Errorf("nanoCores(3.75 s, 15 s) = %d, want 250m", got)
	}
}

func BenchmarkSummarize(b *testing.B) {
	// An hour at 15 s: 240 points.
	points := make([]sample.Point, 240)
	for i := range points {
		points[i] = sample.Point{TimestampMs: int64(i) * 15 * sec, CPUNanos: uint64(i*i) * milli, MemoryBytes: uint64(i%17) * mi}
	}
	var s scratch
	b.ReportAllocs()
	for b.Loop() {
		sum, ok := summarize(points, &s)
		if !ok || sum.points != 240 {
			b.Fatal("bad summary")
		}
	}
}
