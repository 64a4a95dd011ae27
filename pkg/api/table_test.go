package api

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/metrics/pkg/apis/metrics"
)

func tableCells(t *testing.T, table *metav1.Table) [][]any {
	t.Helper()
	var cells [][]any
	for _, row := range table.Rows {
		cells = append(cells, row.Cells)
		if row.Object.Object == nil {
			t.Errorf("row %v has no object", row.Cells)
		}
	}
	return cells
}

func TestNodeTable(t *testing.T) {
	s := newTestNodeStorage()
	list, err := s.List(context.Background(), nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	table, err := s.ConvertToTable(context.Background(), list, nil)
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	wantColumns := []string{"Name", "cpu", "memory", "Window"}
	var columns []string
	for _, c := range table.ColumnDefinitions {
		columns = append(columns, c.Name)
	}
	if diff := cmp.Diff(wantColumns, columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	want := [][]any{
		{"node-a", "123456789n", "1234567", "15s"},
		{"node-b", "2", "2Gi", "15.005s"},
		{"node-c", "1500u", "512Mi", "30s"},
	}
	if diff := cmp.Diff(want, tableCells(t, table)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if got := table.Rows[1].Object.Object.(*metrics.NodeMetrics); got != &list.(*metrics.NodeMetricsList).Items[1] {
		t.Errorf("row 1 object = %p, want the list's item", got)
	}

	one, err := s.Get(context.Background(), "node-c", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	table, err = s.ConvertToTable(context.Background(), one, &metav1.TableOptions{NoHeaders: true})
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	if len(table.ColumnDefinitions) != 0 {
		t.Errorf("NoHeaders: got %d column definitions", len(table.ColumnDefinitions))
	}
	if diff := cmp.Diff([][]any{{"node-c", "1500u", "512Mi", "30s"}}, tableCells(t, table)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestPodTable(t *testing.T) {
	s := newTestPodStorage()
	list, err := s.List(nsContext(""), nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	table, err := s.ConvertToTable(context.Background(), list, nil)
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	if len(table.ColumnDefinitions) != 4 {
		t.Errorf("got %d column definitions, want 4", len(table.ColumnDefinitions))
	}
	// A pod's usage is its containers' sum.
	want := [][]any{
		{"db-0", "1", "1Gi", "15s"},
		{"web-1", "255m", "120Mi", "14s"},
		{"web-2", "1u", "64Mi", "15s"},
		{"dns", "3m", "30Mi", "15s"},
	}
	if diff := cmp.Diff(want, tableCells(t, table)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}

	one, err := s.Get(nsContext("default"), "web-1", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	table, err = s.ConvertToTable(context.Background(), one, &metav1.TableOptions{})
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	if diff := cmp.Diff([][]any{{"web-1", "255m", "120Mi", "14s"}}, tableCells(t, table)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// Changing one table's columns does not change the next table's.
	table.ColumnDefinitions[0].Name = "changed"
	table, _ = s.ConvertToTable(context.Background(), one, nil)
	if table.ColumnDefinitions[0].Name != "Name" {
		t.Errorf("column 0 = %q after another table's was changed", table.ColumnDefinitions[0].Name)
	}
}

func TestTableWrongType(t *testing.T) {
	for _, tc := range []struct {
		name    string
		convert func(context.Context, runtime.Object, runtime.Object) (*metav1.Table, error)
		obj     runtime.Object
	}{
		{"node storage, pod object", newTestNodeStorage().ConvertToTable, &metrics.PodMetrics{}},
		{"pod storage, node list", newTestPodStorage().ConvertToTable, &metrics.NodeMetricsList{}},
	} {
		if _, err := tc.convert(context.Background(), tc.obj, nil); !apierrors.IsInternalError(err) {
			t.Errorf("%s: error = %v, want InternalError", tc.name, err)
		}
	}
}
