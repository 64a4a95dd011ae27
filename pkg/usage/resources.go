package usage

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// requestsOf and limitsOf return the container's, nil when it sets neither.
func requestsOf(c *pods.Container) *v1alpha1.Resources {
	return newResources(c.CPURequestMilli, c.MemoryRequestBytes)
}

func limitsOf(c *pods.Container) *v1alpha1.Resources {
	return newResources(c.CPULimitMilli, c.MemoryLimitBytes)
}

// resourcesBlock holds Resources and the quantities it points to in one
// allocation: a LIST of every pod builds one per container.
type resourcesBlock struct {
	r        v1alpha1.Resources
	cpu, mem resource.Quantity
}

// newResources returns cpu (millicores) and memory (bytes), each absent when
// negative; nil when both are.
func newResources(cpuMilli, memBytes int64) *v1alpha1.Resources {
	if cpuMilli < 0 && memBytes < 0 {
		return nil
	}
	b := &resourcesBlock{}
	if cpuMilli >= 0 {
		b.cpu = *resource.NewMilliQuantity(cpuMilli, resource.DecimalSI)
		b.r.CPU = &b.cpu
	}
	if memBytes >= 0 {
		b.mem = *resource.NewQuantity(memBytes, resource.BinarySI)
		b.r.Memory = &b.mem
	}
	return &b.r
}
