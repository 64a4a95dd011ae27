package usage

import (
	"math"
	"testing"
)

func TestRecommend(t *testing.T) {
	with := func(p90, memMax uint64) summary {
		return summary{cpu: cpuSummary{p90: p90}, mem: memSummary{max: memMax}}
	}
	for _, tc := range []struct {
		name       string
		s          summary
		containers int
		cpuMilli   int64
		memMi      int64
	}{
		{"margin on both", with(200*milli, 400*mi), 1, 230, 460},
		{"cpu rounded up to 1m: 123456789n × 1.15 = 141.98m", with(123_456_789, 400*mi), 1, 142, 460},
		{"memory rounded up to 1Mi: (300Mi + 1) × 1.15", with(200*milli, 300*mi+1), 1, 230, 346},
		{"exact memory: 300Mi × 1.15 = 345Mi", with(200*milli, 300*mi), 1, 230, 345},
		{"floors for one container", with(10*milli, 100*mi), 1, 25, 250},
		{"floors split over two: 12.5m → 13m, 125Mi", with(0, 0), 2, 13, 125},
		{"floors split over three: 8.33m → 9m, 83.3Mi → 84Mi", with(0, 0), 3, 9, 84},
		{"zero containers counts as one", with(0, 0), 0, 25, 250},
		{"just above the floor", with(22*milli, 218*mi), 1, 26, 251}, // 25.3m, 250.7Mi
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := recommend(tc.s, tc.containers)
			if r.cpuMilli != tc.cpuMilli || r.memBytes != tc.memMi*mi {
				t.Errorf("recommend = %dm %d bytes (%.3fMi), want %dm %dMi", r.cpuMilli, r.memBytes, float64(r.memBytes)/mi, tc.cpuMilli, tc.memMi)
			}
		})
	}
	// Absurd inputs saturate instead of wrapping.
	r := recommend(with(math.MaxUint64, math.MaxUint64), 1)
	if r.cpuMilli <= 0 || r.memBytes <= 0 {
		t.Errorf("saturated recommendation went negative: %+v", r)
	}
}

func TestPercentOf(t *testing.T) {
	for _, tc := range []struct {
		part, whole uint64
		want        int64
		ok          bool
	}{
		{37, 100, 37, true},
		{1, 3, 33, true},
		{2, 3, 67, true},  // 66.67 rounds up
		{1, 200, 1, true}, // 0.5 rounds up
		{1, 201, 0, true}, // 0.497
		{250, 100, 250, true},
		{0, 100, 0, true},
		{5, 0, 0, false},
		{math.MaxUint64, 1, math.MaxInt64, true},
	} {
		got, ok := percentOf(tc.part, tc.whole)
		if got != tc.want || ok != tc.ok {
			t.Errorf("percentOf(%d, %d) = %d, %v; want %d, %v", tc.part, tc.whole, got, ok, tc.want, tc.ok)
		}
	}
}
