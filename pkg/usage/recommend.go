package usage

import (
	"math"
	"math/bits"
)

// VPA's target rule, as k8s.io/autoscaler/vertical-pod-autoscaler v1.8.1
// documents its defaults in docs/flags.md: target-cpu-percentile (0.9),
// recommendation-margin-fraction (0.15), pod-recommendation-min-cpu-millicores
// (25) and pod-recommendation-min-memory-mb (250, counted as MiB by
// pkg/recommender/logic/recommender.go, which also splits the two minima
// evenly between a pod's containers). Memory takes the maximum: VPA takes
// the 90th percentile of one peak per memory-aggregation-interval (24h), and
// a history shorter than a day holds one peak.
const (
	// marginPercent is 100 × (1 + recommendation-margin-fraction).
	marginPercent  = 115
	podMinCPUMilli = 25
	podMinMemoryMi = 250

	mi        = 1 << 20
	nanoMilli = 1_000_000
)

// recommendation is a container's recommended requests.
type recommendation struct {
	cpuMilli int64
	memBytes int64
}

// recommend applies the rule to one of containers containers of a pod:
//
//	cpu    = max(p90 × 1.15, 25m / containers)      rounded up to 1m
//	memory = max(max × 1.15, 250Mi / containers)  rounded up to 1Mi
func recommend(s summary, containers int) recommendation {
	c := uint64(max(containers, 1))
	cpu := ceilDiv(mulSat(s.cpu.p90, marginPercent), 100*nanoMilli)
	cpu = max(cpu, ceilDiv(podMinCPUMilli, c))
	mem := ceilDiv(mulSat(s.mem.max, marginPercent), 100*mi)
	mem = max(mem, ceilDiv(podMinMemoryMi, c))
	return recommendation{cpuMilli: clampInt64(cpu), memBytes: clampInt64(mulSat(mem, mi))}
}

// percentOf is 100 × part / whole, rounded to the nearest integer; false
// when whole is 0.
func percentOf(part, whole uint64) (int64, bool) {
	if whole == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(part, 100)
	lo, carry := bits.Add64(lo, whole/2, 0)
	hi += carry
	if hi >= whole {
		return math.MaxInt64, true
	}
	q, _ := bits.Div64(hi, lo, whole)
	return clampInt64(q), true
}

func ceilDiv(a, b uint64) uint64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

func mulSat(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
