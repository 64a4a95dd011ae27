package vpa

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// The recommender's rules, as the pinned VPA (v1.8.1) documents them; paths
// are inside its module, k8s.io/autoscaler/vertical-pod-autoscaler.
const (
	// docs/flags.md, target-cpu-percentile and target-memory-percentile:
	// the usage percentile the target is based on, default 0.9.
	targetPercentile = 0.9
	// docs/flags.md, recommendation-margin-fraction: "Fraction of usage
	// added as the safety margin to the recommended request", default 0.15.
	marginFraction = 0.15
	// docs/flags.md, pod-recommendation-min-cpu-millicores (25) and
	// pod-recommendation-min-memory-mb (250): the minimum recommendation for
	// a pod. pkg/recommender/logic/recommender.go (GetRecommendedPodResources)
	// splits it evenly between the pod's containers and counts the MB as
	// 1024*1024 bytes.
	podMinCPUMilli = 25
	podMinMemoryMB = 250
	// pkg/recommender/model/aggregations_config.go: CPU histograms' first
	// bucket is 0.01 core wide, memory histograms' 10 MB (1e7 bytes), and
	// each bucket is 5% wider than the one before
	// (DefaultHistogramBucketSizeGrowth).
	cpuFirstBucketCores = 0.01
	memFirstBucketBytes = 1e7
	bucketGrowth        = 1.05
)

// bucketStart is where bucket b of an exponential histogram starts,
// pkg/recommender/util/histogram_options.go (NewExponentialHistogramOptions):
// "Bucket with index n has size equal to firstBucketSize * ratio^n", so
// bucket n ≥ 1 starts at firstBucketSize * (ratio^n - 1) / (ratio - 1).
func bucketStart(b int, first float64) float64 {
	return first * (math.Pow(bucketGrowth, float64(b)) - 1) / (bucketGrowth - 1)
}

// bucketOf is the bucket holding v, the same file's FindBucket:
// floor(log(v/firstBucketSize*(ratio-1)+1) / log(ratio)), 0 below the first
// bucket's end.
func bucketOf(v, first float64) int {
	if v < first {
		return 0
	}
	return int(math.Log(v*(bucketGrowth-1)/first+1) / math.Log(bucketGrowth))
}

// percentileOf is what the recommender's histogram answers for a percentile
// of usages that every pod reports with the same weight: the histogram walks
// its buckets until their weight reaches percentile × the total, and
// "Return[s] the end of the bucket" (pkg/recommender/util/histogram.go,
// Percentile), so the answer is the end of the bucket holding the k-th
// smallest usage, k = ⌈percentile × pods⌉.
func percentileOf(usages []float64, percentile, first float64) float64 {
	return bucketStart(bucketOf(kth(usages, percentile), first)+1, first)
}

// kth is the ⌈percentile × len⌉-th smallest of usages.
func kth(usages []float64, percentile float64) float64 {
	sorted := slices.Sorted(slices.Values(usages))
	k := int(math.Ceil(percentile * float64(len(sorted))))
	return sorted[k-1]
}

// target is the recommendation for one of containers containers from the
// percentile p (cores or bytes) and the pod minimum (millicores or bytes),
// with VPA's integer amounts: pkg/recommender/logic/estimator.go adds the
// margin to the percentile (cpuMarginEstimator) and takes the larger of that
// and the container's share of the minimum (cpuMinResourceEstimator);
// pkg/recommender/model/types.go truncates each float to an integer amount
// of millicores or bytes (resourceAmountFromFloat).
func target(p, scale float64, podMin int64, containers int) int64 {
	base := int64(p * scale)
	withMargin := base + int64(float64(base)*marginFraction)
	minimum := int64(float64(podMin) * (1 / float64(containers)))
	return max(withMargin, minimum)
}

// expectedCPU is the CPU target, in millicores, for a container whose pods
// use usages (millicores) in a pod of containers containers.
func expectedCPU(usages []int64, containers int) int64 {
	cores := make([]float64, len(usages))
	for i, u := range usages {
		cores[i] = float64(u) / 1000
	}
	return target(percentileOf(cores, targetPercentile, cpuFirstBucketCores), 1000, podMinCPUMilli, containers)
}

// expectedMemory is the memory target, in bytes, for a container whose pods
// use usages (bytes); the recommender aggregates one peak per pod per
// memory-aggregation-interval (24h), so each pod weighs the same.
func expectedMemory(usages []int64, containers int) int64 {
	bytes := make([]float64, len(usages))
	for i, u := range usages {
		bytes[i] = float64(u)
	}
	return target(percentileOf(bytes, targetPercentile, memFirstBucketBytes), 1, podMinMemoryMB*1024*1024, containers)
}

// band is the range the documented rules allow without VPA's bucket
// arithmetic: the bucket holding v starts at s ≤ v and ends at
// ratio·s + first (the next bucket's start), so the percentile p lies in
// (v, ratio·v + first], and the target in [v·(1+margin), (ratio·v +
// first)·(1+margin)], raised to the container's share of the pod minimum.
// slack widens it for the integer truncations and the usage's own rounding.
func band(v, first, podMin float64, containers int, slack float64) (lo, hi float64) {
	share := podMin / float64(containers)
	lo = max(v*(1+marginFraction), share) - slack
	hi = max((bucketGrowth*v+first)*(1+marginFraction), share) + slack
	return lo, hi
}

// checkDistinct fails unless the k-th smallest usage, and the usages one
// unit either side of it (a server rounds CPU up to the millicore), share a
// bucket that neither neighbour in the order is in: then the target proves
// the 90th percentile, not the 85th or the largest, and both servers must
// give the same one.
func checkDistinct(usages []int64, first, unit float64) error {
	vals := make([]float64, len(usages))
	for i, u := range usages {
		vals[i] = float64(u) * unit
	}
	slices.Sort(vals)
	k := int(math.Ceil(targetPercentile * float64(len(vals))))
	if k < 2 || k >= len(vals) {
		return fmt.Errorf("%d pods: the %d-th smallest has no neighbour on both sides", len(vals), k)
	}
	v := vals[k-1]
	b := bucketOf(v, first)
	if bucketOf(v-unit, first) != b || bucketOf(v+unit, first) != b {
		return fmt.Errorf("usage %v is within one unit of a bucket boundary", v)
	}
	if bucketOf(vals[k-2], first) == b || bucketOf(vals[k], first) == b {
		return fmt.Errorf("usage %v shares bucket %d with a neighbour (%v, %v)", v, b, vals[k-2], vals[k])
	}
	return nil
}

func TestBuckets(t *testing.T) {
	f := func(v, first float64, wantBucket int, wantEnd float64) {
		t.Helper()
		if got := bucketOf(v, first); got != wantBucket {
			t.Errorf("bucketOf(%v, %v) = %d, want %d", v, first, got, wantBucket)
		}
		if got := bucketStart(bucketOf(v, first)+1, first); math.Abs(got-wantEnd) > 1e-9*wantEnd {
			t.Errorf("end of the bucket holding %v = %v, want %v", v, got, wantEnd)
		}
	}
	f(0.005, 0.01, 0, 0.01)
	f(0.01, 0.01, 1, 0.0205)    // 0.01 + 0.01·1.05
	f(0.021, 0.01, 2, 0.031525) // 0.0205 + 0.01·1.05²
	f(0.49, 0.01, 25, 0.01*(math.Pow(1.05, 26)-1)/0.05)
	f(16<<20, 1e7, 1, 2.05e7)
}

func TestExpected(t *testing.T) {
	// 90% of 15 pods is 13.5: the 14th smallest usage decides.
	var usages []int64
	for i := range 15 {
		usages = append(usages, 100+30*int64(i))
	}
	// 490m sits in [477.3m, 511.1m): 511m plus 15% (76m).
	if got := expectedCPU(usages, 2); got != 587 {
		t.Errorf("expectedCPU = %d, want 587", got)
	}
	// Usage under the minimum: the container's half of 25m, truncated.
	if got := expectedCPU([]int64{2, 2, 2}, 2); got != 12 {
		t.Errorf("expectedCPU of 2m = %d, want 12", got)
	}
	if got := expectedMemory([]int64{16 << 20}, 2); got != 250*1024*1024/2 {
		t.Errorf("expectedMemory of 16Mi = %d, want half of 250Mi", got)
	}
	if err := checkDistinct(usages, cpuFirstBucketCores, 0.001); err != nil {
		t.Error(err)
	}
	if err := checkDistinct([]int64{100, 110, 120}, cpuFirstBucketCores, 0.001); err == nil {
		t.Error("checkDistinct accepted three pods")
	}
	lo, hi := band(0.49, cpuFirstBucketCores, 0.025, 2, 0)
	if got := float64(expectedCPU(usages, 2)) / 1000; got < lo || got > hi {
		t.Errorf("expected %v outside the documented band [%v, %v]", got, lo, hi)
	}
}
