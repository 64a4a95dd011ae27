package api

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

func newTestNodeStorage() *NodeStorage {
	reader := &fakeReader{nodes: map[string]sample.Usage{
		"node-a": {TimestampMs: ms(15, 0), WindowMs: 15_000, CPUNanoCores: 123_456_789, MemoryBytes: 1_234_567},
		"node-b": {TimestampMs: ms(16, 250), WindowMs: 15_005, CPUNanoCores: 2_000_000_000, MemoryBytes: 2 << 30},
		"node-c": {TimestampMs: ms(14, 0), WindowMs: 30_000, CPUNanoCores: 1_500_000, MemoryBytes: 512 << 20},
		"gone":   {TimestampMs: ms(14, 0), WindowMs: 15_000, CPUNanoCores: 1, MemoryBytes: 1},
	}}
	nodes := &fakeNodeLister{nodes: []*corev1.Node{
		node("node-b", map[string]string{"role": "worker", "zone": "a"}),
		node("node-a", map[string]string{"role": "worker", "zone": "b"}),
		node("node-c", map[string]string{"role": "control-plane"}),
		node("node-d", map[string]string{"role": "worker"}), // no data yet
	}}
	return NewNodeStorage(reader, nodes, fakeClock())
}

// encodeJSON encodes obj as the API serves it: v1beta1 JSON.
func encodeJSON(t testing.TB, obj runtime.Object) string {
	t.Helper()
	out, err := runtime.Encode(Codecs.LegacyCodec(v1beta1.SchemeGroupVersion), obj)
	if err != nil {
		t.Fatalf("encoding %T: %v", obj, err)
	}
	return strings.TrimSpace(string(out))
}

func TestNodeGet(t *testing.T) {
	s := newTestNodeStorage()
	obj, err := s.Get(context.Background(), "node-a", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	// The bytes metrics-server serves for the same data.
	want := `{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1",` +
		`"metadata":{"name":"node-a","creationTimestamp":"2026-03-01T12:00:00Z","labels":{"role":"worker","zone":"b"}},` +
		`"timestamp":"2026-03-01T11:59:15Z","window":"15s","usage":{"cpu":"123456789n","memory":"1234567"}}`
	if got := encodeJSON(t, obj); got != want {
		t.Errorf("Get(node-a) =\n%s\nwant\n%s", got, want)
	}

	obj, err = s.Get(context.Background(), "node-b", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want = `{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1",` +
		`"metadata":{"name":"node-b","creationTimestamp":"2026-03-01T12:00:00Z","labels":{"role":"worker","zone":"a"}},` +
		`"timestamp":"2026-03-01T11:59:16Z","window":"15.005s","usage":{"cpu":"2","memory":"2Gi"}}`
	if got := encodeJSON(t, obj); got != want {
		t.Errorf("Get(node-b) =\n%s\nwant\n%s", got, want)
	}
}

func TestNodeGetNotFound(t *testing.T) {
	s := newTestNodeStorage()
	for _, name := range []string{"node-d", "unknown", "gone"} {
		_, err := s.Get(context.Background(), name, nil)
		if !apierrors.IsNotFound(err) {
			t.Errorf("Get(%q) error = %v, want NotFound", name, err)
			continue
		}
		details := err.(apierrors.APIStatus).Status().Details
		if details.Group != "metrics.k8s.io" || details.Kind != "nodemetrics" || details.Name != name {
			t.Errorf("Get(%q) NotFound details = %+v, want nodemetrics.metrics.k8s.io %q", name, details, name)
		}
	}
}

func TestNodeListerError(t *testing.T) {
	boom := errors.New("boom")
	s := NewNodeStorage(&fakeReader{}, &fakeNodeLister{err: boom}, fakeClock())
	if _, err := s.List(context.Background(), nil); !errors.Is(err, boom) {
		t.Errorf("List error = %v, want %v", err, boom)
	}
	if _, err := s.Get(context.Background(), "x", nil); !errors.Is(err, boom) {
		t.Errorf("Get error = %v, want %v", err, boom)
	}
}

func TestNodeList(t *testing.T) {
	f := func(label, field string, want ...string) {
		t.Helper()
		opts := &metainternalversion.ListOptions{}
		if label != "" {
			sel, err := labels.Parse(label)
			if err != nil {
				t.Fatalf("labels.Parse(%q): %v", label, err)
			}
			opts.LabelSelector = sel
		}
		if field != "" {
			sel, err := fields.ParseSelector(field)
			if err != nil {
				t.Fatalf("fields.ParseSelector(%q): %v", field, err)
			}
			opts.FieldSelector = sel
		}
		obj, err := newTestNodeStorage().List(context.Background(), opts)
		if err != nil {
			t.Fatalf("List(%q, %q): %v", label, field, err)
		}
		var got []string
		for _, m := range obj.(*metrics.NodeMetricsList).Items {
			got = append(got, m.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List(%q, %q) names (-want +got):\n%s", label, field, diff)
		}
	}
	f("", "", "node-a", "node-b", "node-c")
	f("role=worker", "", "node-a", "node-b")
	f("role!=worker", "", "node-c")
	f("zone", "", "node-a", "node-b")
	f("role=none", "")
	f("", "metadata.name=node-b", "node-b")
	f("", "metadata.name!=node-b", "node-a", "node-c")
	f("role=worker", "metadata.name=node-c")
	f("", "metadata.name=node-d")
	// Nodes have no namespace: a selector on it compares with "".
	f("", "metadata.namespace=", "node-a", "node-b", "node-c")
	f("", "metadata.namespace=default")
	// No options at all.
	obj, err := newTestNodeStorage().List(context.Background(), nil)
	if err != nil || len(obj.(*metrics.NodeMetricsList).Items) != 3 {
		t.Errorf("List(nil) = %v, %v; want 3 items", obj, err)
	}
}

func TestNodeListObjects(t *testing.T) {
	obj, err := newTestNodeStorage().List(context.Background(), &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"role": "control-plane"})})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := `{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[` +
		`{"metadata":{"name":"node-c","creationTimestamp":"2026-03-01T12:00:00Z","labels":{"role":"control-plane"}},` +
		`"timestamp":"2026-03-01T11:59:14Z","window":"30s","usage":{"cpu":"1500u","memory":"512Mi"}}]}`
	if got := encodeJSON(t, obj); got != want {
		t.Errorf("List =\n%s\nwant\n%s", got, want)
	}
}

func TestNodeListBadFieldSelector(t *testing.T) {
	for _, field := range []string{"spec.unschedulable=true", "metadata.name=a,status.phase=Running", "metadata.labels=x"} {
		sel, err := fields.ParseSelector(field)
		if err != nil {
			t.Fatalf("fields.ParseSelector(%q): %v", field, err)
		}
		_, err = newTestNodeStorage().List(context.Background(), &metainternalversion.ListOptions{FieldSelector: sel})
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "field label not supported") {
			t.Errorf("List(%q) error = %v, want BadRequest: field label not supported", field, err)
		}
	}
}

func TestNodeStorageDescribesItself(t *testing.T) {
	s := newTestNodeStorage()
	if s.NamespaceScoped() || s.Kind() != "NodeMetrics" || s.GetSingularName() != "" {
		t.Errorf("NamespaceScoped, Kind, GetSingularName = %v, %q, %q", s.NamespaceScoped(), s.Kind(), s.GetSingularName())
	}
	if _, ok := s.New().(*metrics.NodeMetrics); !ok {
		t.Errorf("New() = %T", s.New())
	}
	if _, ok := s.NewList().(*metrics.NodeMetricsList); !ok {
		t.Errorf("NewList() = %T", s.NewList())
	}
	s.Destroy()
}
