package api

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// usageList converts a usage to the ResourceList metrics-server serves: cpu
// in nanocores (DecimalSI, scale -9) and memory in bytes (BinarySI).
func usageList(u sample.Usage) corev1.ResourceList {
	list := make(corev1.ResourceList, 2)
	list[corev1.ResourceCPU] = cpuQuantity(u)
	list[corev1.ResourceMemory] = memoryQuantity(u)
	return list
}

// cpuQuantity is the usage's cpu as served: nanocores, DecimalSI.
func cpuQuantity(u sample.Usage) resource.Quantity {
	return readonly.Quantity(u.CPUNanoCores, resource.Nano, resource.DecimalSI)
}

// memoryQuantity is the usage's memory as served: bytes, BinarySI.
func memoryQuantity(u sample.Usage) resource.Quantity {
	return readonly.Quantity(u.MemoryBytes, 0, resource.BinarySI)
}

// containerArena hands out container slices carved from large shared blocks,
// so that a LIST of n pods allocates a few blocks instead of n slices. Each
// slice is capped (three-index) so that an append to it cannot overwrite its
// neighbour.
type containerArena struct {
	block []metrics.ContainerMetrics
	// blockSize is the capacity of the next block.
	blockSize int
}

func (a *containerArena) alloc(n int) []metrics.ContainerMetrics {
	if cap(a.block)-len(a.block) < n {
		a.block = make([]metrics.ContainerMetrics, 0, max(n, a.blockSize))
	}
	start := len(a.block)
	a.block = a.block[:start+n]
	return a.block[start : start+n : start+n]
}

// podMetrics fills m with the pod's metrics from its containers' usage, which
// must not be empty. The pod's timestamp and window are those of its
// container with the oldest timestamp, as metrics-server reports them: the
// pod's usage is then known to be no older than its timestamp says.
func podMetrics(m *metrics.PodMetrics, pod *pods.Pod, now metav1.Time, usage []sample.ContainerUsage, arena *containerArena) {
	containers := arena.alloc(len(usage))
	for i := range usage {
		containers[i] = metrics.ContainerMetrics{Name: usage[i].Name, Usage: usageList(usage[i].Usage)}
	}
	oldest := oldestContainer(usage)
	*m = metrics.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			Labels:            pod.Labels.Map(),
			CreationTimestamp: now,
		},
		Timestamp:  readonly.MsTime(usage[oldest].TimestampMs),
		Window:     readonly.MsDuration(usage[oldest].WindowMs),
		Containers: containers,
	}
}

// oldestContainer returns the index of the first container with the oldest
// timestamp: the one whose timestamp and window a pod's metrics report.
func oldestContainer(usage []sample.ContainerUsage) int {
	oldest := 0
	for i := range usage {
		if usage[i].TimestampMs < usage[oldest].TimestampMs {
			oldest = i
		}
	}
	return oldest
}

// nodeMetrics fills m with the node's metrics.
func nodeMetrics(m *metrics.NodeMetrics, node *corev1.Node, now metav1.Time, usage sample.Usage) {
	*m = metrics.NodeMetrics{
		ObjectMeta: metav1.ObjectMeta{
			Name:              node.Name,
			Labels:            node.Labels,
			CreationTimestamp: now,
		},
		Timestamp: readonly.MsTime(usage.TimestampMs),
		Window:    readonly.MsDuration(usage.WindowMs),
		Usage:     usageList(usage),
	}
}
