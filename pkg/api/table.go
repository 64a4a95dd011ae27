package api

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/metrics/pkg/apis/metrics"
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
func nodeTable(object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	var items []metrics.NodeMetrics
	table := newTable(tableOptions)
	switch obj := object.(type) {
	case *metrics.NodeMetrics:
		items = []metrics.NodeMetrics{*obj}
		table.ResourceVersion = obj.ResourceVersion
	case *metrics.NodeMetricsList:
		items = obj.Items
		table.ResourceVersion = obj.ResourceVersion
		table.Continue = obj.Continue
	default:
		return nil, apierrors.NewInternalError(fmt.Errorf("cannot convert a %T to a node metrics table", object))
	}
	table.Rows = make([]metav1.TableRow, len(items))
	for i := range items {
		m := &items[i]
		table.Rows[i] = metav1.TableRow{
			Cells:  usageCells(m.Name, m.Usage[corev1.ResourceCPU], m.Usage[corev1.ResourceMemory], m.Window),
			Object: runtime.RawExtension{Object: m},
		}
	}
	return table, nil
}

// podTable converts a PodMetrics or PodMetricsList to a table, one row per
// pod; a pod's usage is the sum over its containers.
func podTable(object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	var items []metrics.PodMetrics
	table := newTable(tableOptions)
	switch obj := object.(type) {
	case *metrics.PodMetrics:
		items = []metrics.PodMetrics{*obj}
		table.ResourceVersion = obj.ResourceVersion
	case *metrics.PodMetricsList:
		items = obj.Items
		table.ResourceVersion = obj.ResourceVersion
		table.Continue = obj.Continue
	default:
		return nil, apierrors.NewInternalError(fmt.Errorf("cannot convert a %T to a pod metrics table", object))
	}
	table.Rows = make([]metav1.TableRow, len(items))
	for i := range items {
		m := &items[i]
		var cpu, memory resource.Quantity
		for _, c := range m.Containers {
			cpu.Add(c.Usage[corev1.ResourceCPU])
			memory.Add(c.Usage[corev1.ResourceMemory])
		}
		table.Rows[i] = metav1.TableRow{
			Cells:  usageCells(m.Name, cpu, memory, m.Window),
			Object: runtime.RawExtension{Object: m},
		}
	}
	return table, nil
}

// newTable returns a table with the column definitions, unless the client
// asked for none.
func newTable(tableOptions runtime.Object) *metav1.Table {
	table := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || !opts.NoHeaders {
		// A copy: the table is the caller's to change.
		table.ColumnDefinitions = slices.Clone(metricsColumns)
	}
	return table
}

func usageCells(name string, cpu, memory resource.Quantity, window metav1.Duration) []any {
	return []any{name, cpu.String(), memory.String(), window.Duration.String()}
}
