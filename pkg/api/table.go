package api

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/ringmetrics/ringmetrics/pkg/readonly"
)

// The columns of `kubectl get nodemetrics` and `kubectl get podmetrics`,
// named as metrics-server names them (kubectl prints them upper-cased).
// Cells hold quantities as the API serves them ("1234567n", "1024Ki") and
// the window as a Go duration ("15s").
var metricsColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the resource"},
	{Name: "cpu", Type: "string", Format: "quantity"},
	{Name: "memory", Type: "string", Format: "quantity"},
	{Name: "Window", Type: "string", Format: "duration"},
}

// nodeTable converts a NodeMetrics or NodeMetricsList to a table, one row per
// node.
func nodeTable(object, tableOptions runtime.Object) (*metav1.Table, error) {
	return readonly.Table(object, tableOptions, metricsColumns, "node metrics",
		func(l *metrics.NodeMetricsList) []metrics.NodeMetrics { return l.Items },
		func(m *metrics.NodeMetrics) []any {
			return usageCells(m.Name, m.Usage[corev1.ResourceCPU], m.Usage[corev1.ResourceMemory], m.Window)
		})
}

// podTable converts a PodMetrics or PodMetricsList to a table, one row per
// pod; a pod's usage is the sum over its containers.
func podTable(object, tableOptions runtime.Object) (*metav1.Table, error) {
	return readonly.Table(object, tableOptions, metricsColumns, "pod metrics",
		func(l *metrics.PodMetricsList) []metrics.PodMetrics { return l.Items },
		func(m *metrics.PodMetrics) []any {
			var cpu, memory resource.Quantity
			for _, c := range m.Containers {
				cpu.Add(c.Usage[corev1.ResourceCPU])
				memory.Add(c.Usage[corev1.ResourceMemory])
			}
			return usageCells(m.Name, cpu, memory, m.Window)
		})
}

func usageCells(name string, cpu, memory resource.Quantity, window metav1.Duration) []any {
	return []any{name, cpu.String(), memory.String(), window.Duration.String()}
}
