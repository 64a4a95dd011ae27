package usage

import (
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// The tables of `kubectl get podusages` and `kubectl get nodeusages`: the
// figures a person right-sizing reads first, then (priority 1, `-o wide`)
// the rest. A pod's row shows its totals (see v1alpha1.Total). CPU cells are
// in millicores and memory cells in MiB, both rounded up, so that a column
// reads in one unit; the objects hold the exact values, and `--sort-by`
// sorts on them (for example --sort-by=.total.cpu.p95).
var (
	podColumns = []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: "Name of the pod"},
		{Name: "CPU(P95)", Type: "string", Description: "95th percentile of the CPU rates, summed over the containers"},
		{Name: "CPU(MAX)", Type: "string", Description: "Largest CPU rate, summed over the containers"},
		{Name: "CPU REQ", Type: "string", Description: "CPU request of the pod's containers"},
		{Name: "MEM(MAX)", Type: "string", Description: "Largest working set, summed over the containers"},
		{Name: "MEM REQ", Type: "string", Description: "Memory request of the pod's containers"},
		{Name: "Recommended", Type: "string", Description: "Recommended CPU/memory requests (VPA's rule), summed over the containers"},
		{Name: "Window", Type: "string", Format: "duration", Description: "Span the figures cover"},
		{Name: "Containers", Type: "integer", Priority: 1, Description: "Containers with usage in the window"},
		{Name: "Restarts", Type: "integer", Priority: 1, Description: "Restarts seen in the window"},
		{Name: "CPU(AVG)", Type: "string", Priority: 1, Description: "Average CPU"},
		{Name: "CPU(P50)", Type: "string", Priority: 1, Description: "Median CPU rate"},
		{Name: "CPU(P90)", Type: "string", Priority: 1, Description: "90th percentile of the CPU rates"},
		{Name: "MEM(AVG)", Type: "string", Priority: 1, Description: "Average working set"},
		{Name: "MEM(P95)", Type: "string", Priority: 1, Description: "95th percentile of the working set"},
		{Name: "CPU LIM", Type: "string", Priority: 1, Description: "CPU limit of the pod's containers"},
		{Name: "MEM LIM", Type: "string", Priority: 1, Description: "Memory limit of the pod's containers"},
		{Name: "CPU(P95)/REQ", Type: "string", Priority: 1, Description: "CPU p95 over the CPU request"},
		{Name: "MEM(MAX)/REQ", Type: "string", Priority: 1, Description: "Memory max over the memory request"},
	}
	nodeColumns = []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: "Name of the node"},
		{Name: "CPU(P95)", Type: "string", Description: "95th percentile of the CPU rates"},
		{Name: "CPU(MAX)", Type: "string", Description: "Largest CPU rate"},
		{Name: "MEM(MAX)", Type: "string", Description: "Largest working set"},
		{Name: "Window", Type: "string", Format: "duration", Description: "Span the figures cover"},
		{Name: "Points", Type: "integer", Priority: 1, Description: "Points in the window"},
		{Name: "Restarts", Type: "integer", Priority: 1, Description: "Restarts seen in the window"},
		{Name: "CPU(AVG)", Type: "string", Priority: 1, Description: "Average CPU"},
		{Name: "CPU(P50)", Type: "string", Priority: 1, Description: "Median CPU rate"},
		{Name: "CPU(P90)", Type: "string", Priority: 1, Description: "90th percentile of the CPU rates"},
		{Name: "MEM(AVG)", Type: "string", Priority: 1, Description: "Average working set"},
		{Name: "MEM(P95)", Type: "string", Priority: 1, Description: "95th percentile of the working set"},
	}
)

// none is what kubectl prints for an absent value.
const none = "<none>"

func podTable(object, tableOptions runtime.Object) (*metav1.Table, error) {
	return readonly.Table(object, tableOptions, podColumns, "pod usage",
		func(l *v1alpha1.PodUsageList) []v1alpha1.PodUsage { return l.Items },
		func(p *v1alpha1.PodUsage) []any {
			t := &p.Total
			restarts := int64(0)
			for _, c := range p.Containers {
				restarts += int64(c.Usage.Restarts)
			}
			return []any{
				p.Name,
				cpuCell(t.CPU.P95), cpuCell(t.CPU.Max), cpuOf(t.Requests),
				memoryCell(t.Memory.Max), memoryOf(t.Requests),
				recommendedCell(t.Recommendation), windowCell(p.Window),
				int64(len(p.Containers)), restarts,
				cpuCell(t.CPU.Avg), cpuCell(t.CPU.P50), cpuCell(t.CPU.P90),
				memoryCell(t.Memory.Avg), memoryCell(t.Memory.P95),
				cpuOf(t.Limits), memoryOf(t.Limits),
				percentCell(t.Ratios.CPUP95), percentCell(t.Ratios.MemoryMax),
			}
		})
}

func nodeTable(object, tableOptions runtime.Object) (*metav1.Table, error) {
	return readonly.Table(object, tableOptions, nodeColumns, "node usage",
		func(l *v1alpha1.NodeUsageList) []v1alpha1.NodeUsage { return l.Items },
		func(n *v1alpha1.NodeUsage) []any {
			u := &n.Usage
			return []any{
				n.Name, cpuCell(u.CPU.P95), cpuCell(u.CPU.Max), memoryCell(u.Memory.Max), windowCell(u.Window),
				int64(u.Points), int64(u.Restarts),
				cpuCell(u.CPU.Avg), cpuCell(u.CPU.P50), cpuCell(u.CPU.P90),
				memoryCell(u.Memory.Avg), memoryCell(u.Memory.P95),
			}
		})
}

// cpuCell is a CPU quantity as the tables print it: millicores, rounded
// up ("121m").
func cpuCell(q resource.Quantity) string { return strconv.FormatInt(q.MilliValue(), 10) + "m" }

// memoryCell is a memory quantity as the tables print it: MiB, rounded up
// ("51Mi").
func memoryCell(q resource.Quantity) string {
	return strconv.FormatInt((q.Value()+mi-1)/mi, 10) + "Mi"
}

// recommendedCell prints a recommendation as cpu/memory ("138m/288Mi").
func recommendedCell(r v1alpha1.Recommendation) string {
	return cpuCell(r.CPU) + "/" + memoryCell(r.Memory)
}

// windowCell prints a window to the second ("14m58s").
func windowCell(d metav1.Duration) string { return d.Duration.Round(time.Second).String() }

// cpuOf and memoryOf print a request or limit, <none> when not set.
func cpuOf(r *v1alpha1.Resources) string {
	if r == nil || r.CPU == nil {
		return none
	}
	return cpuCell(*r.CPU)
}

func memoryOf(r *v1alpha1.Resources) string {
	if r == nil || r.Memory == nil {
		return none
	}
	return memoryCell(*r.Memory)
}

func percentCell(p *int64) string {
	if p == nil {
		return none
	}
	return strconv.FormatInt(*p, 10) + "%"
}
