package usage

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// cpuQuantity is nanocores as the metrics API serves them: DecimalSI,
// scale -9 ("120m" when exact, "123456789n" otherwise).
func cpuQuantity(nanoCores uint64) resource.Quantity {
	return readonly.Quantity(nanoCores, resource.Nano, resource.DecimalSI)
}

// memoryQuantity is bytes, BinarySI ("50Mi" when exact).
func memoryQuantity(bytes uint64) resource.Quantity {
	return readonly.Quantity(bytes, 0, resource.BinarySI)
}

func apiSummary(s summary) v1alpha1.Summary {
	return v1alpha1.Summary{
		Timestamp: readonly.MsTime(s.timestampMs),
		Window:    readonly.MsDuration(s.windowMs),
		Points:    int32(min(s.points, math.MaxInt32)),
		Restarts:  int32(min(s.restarts, math.MaxInt32)),
		CPU:       apiCPU(s.cpu),
		Memory:    apiMemory(s.mem),
	}
}

func apiCPU(c cpuSummary) v1alpha1.CPUStats {
	return v1alpha1.CPUStats{
		Avg: cpuQuantity(c.avg),
		P50: cpuQuantity(c.p50),
		P90: cpuQuantity(c.p90),
		P95: cpuQuantity(c.p95),
		Max: cpuQuantity(c.max),
	}
}

func apiMemory(m memSummary) v1alpha1.MemoryStats {
	return v1alpha1.MemoryStats{
		Avg: memoryQuantity(m.avg),
		P95: memoryQuantity(m.p95),
		Max: memoryQuantity(m.max),
	}
}

// apiSamples converts the window's points; CPU is the rate since the
// previous point, absent for the first and after a restart.
func apiSamples(points []sample.Point) []v1alpha1.Sample {
	out := make([]v1alpha1.Sample, len(points))
	for i, p := range points {
		out[i] = v1alpha1.Sample{Timestamp: metav1.NewMicroTime(time.UnixMilli(p.TimestampMs)), Memory: memoryQuantity(p.MemoryBytes)}
		if r, ok := rate(points, i); ok {
			q := cpuQuantity(r)
			out[i].CPU = &q
		}
	}
	return out
}

func apiRecommendation(r recommendation) v1alpha1.Recommendation {
	return v1alpha1.Recommendation{
		CPU:    *resource.NewMilliQuantity(r.cpuMilli, resource.DecimalSI),
		Memory: *resource.NewQuantity(r.memBytes, resource.BinarySI),
	}
}

// ratios compares usage to requests (nil when none).
func ratios(cpu cpuSummary, mem memSummary, requests *v1alpha1.Resources) v1alpha1.Ratios {
	var r v1alpha1.Ratios
	if requests == nil {
		return r
	}
	if q := requests.CPU; q != nil && q.Sign() > 0 {
		reqNano := nanoOf(*q)
		r.CPUP95 = percentPtr(cpu.p95, reqNano)
		r.CPUMax = percentPtr(cpu.max, reqNano)
	}
	if q := requests.Memory; q != nil && q.Sign() > 0 {
		r.MemoryMax = percentPtr(mem.max, uint64(q.Value()))
	}
	return r
}

// nanoOf is a positive CPU quantity in nanocores, rounded up; beyond
// what an int64 of nanocores holds (9 billion cores) it saturates.
func nanoOf(q resource.Quantity) uint64 {
	if q.Value() >= math.MaxInt64/1_000_000_000 {
		return math.MaxInt64
	}
	return uint64(q.ScaledValue(resource.Nano))
}

func percentPtr(part, whole uint64) *int64 {
	p, ok := percentOf(part, whole)
	if !ok {
		return nil
	}
	return &p
}
