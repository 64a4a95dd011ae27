package usage

import (
	"context"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// benchHistory serves every container the same history of n points, 15 s
// apart, as a store at the default resolution holds them.
type benchHistory []sample.Point

func (h benchHistory) NodeHistory(string, []sample.Point) ([]sample.Point, bool) { return nil, false }
func (h benchHistory) ContainerHistory(_, _, _ string, dst []sample.Point) ([]sample.Point, bool) {
	return append(dst, h...), true
}

func newBenchHistory(n int) benchHistory {
	h := make(benchHistory, n)
	for i := range h {
		h[i] = sample.Point{TimestampMs: int64(i) * 15_000, CPUNanos: uint64(i*i) * 1_000_000, MemoryBytes: uint64(100+i%13) << 20}
	}
	return h
}

type benchPods []*pods.Pod

func (p benchPods) List(string, labels.Selector) ([]*pods.Pod, error) {
	return append([]*pods.Pod(nil), p...), nil
}
func (p benchPods) Get(_, name string) (*pods.Pod, error) {
	return nil, apierrors.NewNotFound(podUsageResource, name)
}

// BenchmarkListPods is a LIST of every pod's usage at 1 000 nodes × 30
// pods of one container, with 60 points (15 min at 15 s) and 240 (1 h),
// building the objects the apiserver then encodes.
func BenchmarkListPods(b *testing.B) {
	for _, points := range []int{60, 240} {
		b.Run(fmt.Sprintf("30000pods-%dpoints", points), func(b *testing.B) {
			list := make(benchPods, 30_000)
			for i := range list {
				list[i] = &pods.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", i%100), Name: fmt.Sprintf("pod-%d", i)},
					Containers: []pods.Container{{Name: "app", CPURequestMilli: 100, MemoryRequestBytes: 128 << 20, CPULimitMilli: -1, MemoryLimitBytes: -1}}}
			}
			pods.Sort(list)
			s := &PodStorage{reader: newBenchHistory(points), pods: list, clock: clocktesting.NewFakePassiveClock(testTime)}
			b.ReportAllocs()
			for b.Loop() {
				obj, err := s.List(context.Background(), nil)
				if err != nil || len(obj.(*v1alpha1.PodUsageList).Items) != len(list) {
					b.Fatalf("list: %v", err)
				}
			}
		})
	}
}
