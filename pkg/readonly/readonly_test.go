package readonly

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/metrics/pkg/apis/metrics"
)

func TestQuantity(t *testing.T) {
	f := func(v uint64, scale resource.Scale, format resource.Format, want string) {
		t.Helper()
		q := Quantity(v, scale, format)
		if got := q.String(); got != want {
			t.Errorf("Quantity(%d, %d, %s) = %s, want %s", v, scale, format, got, want)
		}
	}
	f(0, resource.Nano, resource.DecimalSI, "0")
	f(1, resource.Nano, resource.DecimalSI, "1n")
	f(123_456_789, resource.Nano, resource.DecimalSI, "123456789n")
	f(250_000_000, resource.Nano, resource.DecimalSI, "250m")
	f(64_000_000_000, resource.Nano, resource.DecimalSI, "64")
	f(0, 0, resource.BinarySI, "0")
	// apimachinery falls back to decimal suffixes when they are exact.
	f(1000, 0, resource.BinarySI, "1k")
	f(1001, 0, resource.BinarySI, "1001")
	f(1024, 0, resource.BinarySI, "1Ki")
	f(3<<30, 0, resource.BinarySI, "3Gi")
	f(math.MaxInt64, 0, resource.BinarySI, "9223372036854775807")
	// Past int64, digits are dropped until the value fits.
	f(math.MaxUint64, resource.Nano, resource.DecimalSI, "18446744073709551610n")
	f(math.MaxInt64+10, 0, resource.BinarySI, "9223372036854775810")
}

func TestMsTime(t *testing.T) {
	if got, want := MsTime(1_772_366_400_123).UTC().Format("2006-01-02T15:04:05.000Z"), "2026-03-01T12:00:00.123Z"; got != want {
		t.Errorf("MsTime = %s, want %s", got, want)
	}
	if got, want := MsDuration(15_005).Duration.String(), "15.005s"; got != want {
		t.Errorf("MsDuration = %s, want %s", got, want)
	}
}

func TestTable(t *testing.T) {
	columns := []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name"}}
	node := func(name string) metrics.NodeMetrics {
		return metrics.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "7"}}
	}
	tests := []struct {
		name         string
		object       runtime.Object
		tableOptions runtime.Object
		wantRows     [][]any
		wantColumns  int
		wantRV       string
		wantContinue string
		wantErr      string
	}{{
		name:        "one object",
		object:      &metrics.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "3"}},
		wantRows:    [][]any{{"a"}},
		wantColumns: 1,
		wantRV:      "3",
	}, {
		name: "list",
		object: &metrics.NodeMetricsList{
			ListMeta: metav1.ListMeta{ResourceVersion: "9", Continue: "next"},
			Items:    []metrics.NodeMetrics{node("a"), node("b")},
		},
		tableOptions: &metav1.TableOptions{},
		wantRows:     [][]any{{"a"}, {"b"}},
		wantColumns:  1,
		wantRV:       "9",
		wantContinue: "next",
	}, {
		name:         "empty list without headers",
		object:       &metrics.NodeMetricsList{},
		tableOptions: &metav1.TableOptions{NoHeaders: true},
		wantRows:     [][]any{},
	}, {
		name:    "wrong type",
		object:  &metrics.PodMetrics{},
		wantErr: "Internal error occurred: cannot convert a *metrics.PodMetrics to a node metrics table",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := Table(tt.object, tt.tableOptions, columns, "node metrics",
				func(l *metrics.NodeMetricsList) []metrics.NodeMetrics { return l.Items },
				func(m *metrics.NodeMetrics) []any { return []any{m.Name} })
			if tt.wantErr != "" {
				if !apierrors.IsInternalError(err) || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want an internal error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Table: %v", err)
			}
			rows := [][]any{}
			for i, row := range table.Rows {
				rows = append(rows, row.Cells)
				if got, ok := row.Object.Object.(*metrics.NodeMetrics); !ok || got.Name != row.Cells[0] {
					t.Errorf("row %d object = %#v, want the item", i, row.Object.Object)
				}
			}
			if diff := cmp.Diff(tt.wantRows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if len(table.ColumnDefinitions) != tt.wantColumns {
				t.Errorf("columns = %v, want %d", table.ColumnDefinitions, tt.wantColumns)
			}
			if table.ResourceVersion != tt.wantRV || table.Continue != tt.wantContinue {
				t.Errorf("resourceVersion, continue = %q, %q; want %q, %q", table.ResourceVersion, table.Continue, tt.wantRV, tt.wantContinue)
			}
		})
	}
	// The columns are the table's to change.
	table, err := Table(&metrics.NodeMetricsList{}, nil, columns, "node metrics",
		func(l *metrics.NodeMetricsList) []metrics.NodeMetrics { return l.Items },
		func(m *metrics.NodeMetrics) []any { return nil })
	if err != nil {
		t.Fatal(err)
	}
	table.ColumnDefinitions[0].Name = "changed"
	if columns[0].Name != "Name" {
		t.Errorf("Table shares its columns with the caller's")
	}
}

type node struct{ name string }

type lister struct {
	node *node
	err  error
}

func (l lister) Get(string) (*node, error) { return l.node, l.err }

// podLister answers as its lister does, for any namespace.
type podLister struct{ lister }

func (l podLister) Get(_, name string) (*node, error) { return l.lister.Get(name) }

func TestGet(t *testing.T) {
	resource := schema.GroupResource{Group: "g", Resource: "things"}
	listerNotFound := apierrors.NewNotFound(schema.GroupResource{Resource: "nodes"}, "a")
	boom := apierrors.NewServiceUnavailable("boom")
	tests := []struct {
		name        string
		lister      lister
		wantPodErr  string
		wantNodeErr string
		notFound    bool
	}{
		{name: "found", lister: lister{node: &node{name: "a"}}},
		{name: "lister's NotFound", lister: lister{err: listerNotFound}, notFound: true},
		{name: "nil without an error", lister: lister{}, notFound: true},
		{name: "other error", lister: lister{err: boom}, wantNodeErr: `getting node "a": boom`, wantPodErr: "getting pod ns/a: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, nodeErr := GetNode(tt.lister, resource, "a")
			p, podErr := GetPod(podLister{tt.lister}, resource, "ns", "a")
			for _, got := range []struct {
				what string
				obj  *node
				err  error
				want string
			}{{"GetNode", n, nodeErr, tt.wantNodeErr}, {"GetPod", p, podErr, tt.wantPodErr}} {
				switch {
				case tt.notFound:
					if status, ok := got.err.(apierrors.APIStatus); !ok || !apierrors.IsNotFound(got.err) || status.Status().Details.Group != "g" || status.Status().Details.Kind != "things" {
						t.Errorf("%s: err = %v, want NotFound for g/things", got.what, got.err)
					}
				case got.want != "":
					if got.err == nil || got.err.Error() != got.want {
						t.Errorf("%s: err = %v, want %q", got.what, got.err, got.want)
					}
					if apierrors.IsNotFound(got.err) || !apierrors.IsServiceUnavailable(got.err) {
						t.Errorf("%s: err = %v, want the lister's error wrapped", got.what, got.err)
					}
				case got.err != nil || got.obj != tt.lister.node:
					t.Errorf("%s = %v, %v; want the lister's node", got.what, got.obj, got.err)
				}
			}
		})
	}
}
