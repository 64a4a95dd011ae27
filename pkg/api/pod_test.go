package api

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

func cu(name string, ts int64, windowMs int64, cpu, mem uint64) sample.ContainerUsage {
	return sample.ContainerUsage{Name: name, Usage: sample.Usage{TimestampMs: ts, WindowMs: windowMs, CPUNanoCores: cpu, MemoryBytes: mem}}
}

func newTestPodStorage() *PodStorage {
	reader := &fakeReader{pods: map[podKey][]sample.ContainerUsage{
		{"default", "web-1"}: {
			cu("app", ms(15, 0), 15_000, 250_000_000, 100<<20),
			cu("proxy", ms(14, 500), 14_000, 5_000_000, 20<<20),
		},
		{"default", "web-2"}:   {cu("app", ms(15, 0), 15_000, 1_000, 64<<20)},
		{"default", "db-0"}:    {cu("postgres", ms(13, 0), 15_000, 1_000_000_000, 1<<30)},
		{"kube-system", "dns"}: {cu("coredns", ms(12, 0), 15_000, 3_000_000, 30<<20)},
		{"other", "empty"}:     {},
		{"default", "deleted"}: {cu("app", ms(12, 0), 15_000, 1, 1)},
	}}
	pods := &fakePodLister{pods: []*pods.Pod{
		pod("default", "web-2", map[string]string{"app": "web"}),
		pod("kube-system", "dns", map[string]string{"app": "dns"}),
		pod("default", "web-1", map[string]string{"app": "web", "track": "canary"}),
		pod("default", "db-0", map[string]string{"app": "db"}),
		pod("default", "pending", map[string]string{"app": "web"}), // no data yet
		pod("other", "empty", nil),                                 // reader says ok, but no containers
	}}
	return NewPodStorage(reader, pods, fakeClock())
}

func nsContext(namespace string) context.Context {
	return genericapirequest.WithNamespace(context.Background(), namespace)
}

func TestPodGet(t *testing.T) {
	s := newTestPodStorage()
	obj, err := s.Get(nsContext("default"), "web-1", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	// Containers in the reader's (name) order; the pod's timestamp and window
	// are its oldest container's, as metrics-server reports them.
	want := `{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1",` +
		`"metadata":{"name":"web-1","namespace":"default","creationTimestamp":"2026-03-01T12:00:00Z","labels":{"app":"web","track":"canary"}},` +
		`"timestamp":"2026-03-01T11:59:14Z","window":"14s","containers":[` +
		`{"name":"app","usage":{"cpu":"250m","memory":"100Mi"}},` +
		`{"name":"proxy","usage":{"cpu":"5m","memory":"20Mi"}}]}`
	if got := encodeJSON(t, obj); got != want {
		t.Errorf("Get(default/web-1) =\n%s\nwant\n%s", got, want)
	}
}

func TestPodGetNotFound(t *testing.T) {
	s := newTestPodStorage()
	for _, tc := range []struct{ namespace, name string }{
		{"default", "pending"},   // no data
		{"default", "unknown"},   // unknown pod
		{"kube-system", "web-1"}, // wrong namespace
		{"default", "deleted"},   // data but gone from the informer
		{"other", "empty"},       // no containers
	} {
		_, err := s.Get(nsContext(tc.namespace), tc.name, nil)
		if !apierrors.IsNotFound(err) {
			t.Errorf("Get(%s/%s) error = %v, want NotFound", tc.namespace, tc.name, err)
			continue
		}
		details := err.(apierrors.APIStatus).Status().Details
		if details.Group != "metrics.k8s.io" || details.Kind != "podmetrics" || details.Name != tc.name {
			t.Errorf("Get(%s/%s) NotFound details = %+v, want podmetrics.metrics.k8s.io %q", tc.namespace, tc.name, details, tc.name)
		}
	}
}

func TestPodListerError(t *testing.T) {
	boom := errors.New("boom")
	s := NewPodStorage(&fakeReader{}, &fakePodLister{err: boom}, fakeClock())
	if _, err := s.List(nsContext(""), nil); !errors.Is(err, boom) {
		t.Errorf("List error = %v, want %v", err, boom)
	}
	if _, err := s.Get(nsContext("default"), "x", nil); !errors.Is(err, boom) {
		t.Errorf("Get error = %v, want %v", err, boom)
	}
}

func TestPodList(t *testing.T) {
	f := func(namespace, label, field string, want ...string) {
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
		obj, err := newTestPodStorage().List(nsContext(namespace), opts)
		if err != nil {
			t.Fatalf("List(%q, %q, %q): %v", namespace, label, field, err)
		}
		var got []string
		for _, m := range obj.(*metrics.PodMetricsList).Items {
			got = append(got, m.Namespace+"/"+m.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List(%q, %q, %q) (-want +got):\n%s", namespace, label, field, diff)
		}
	}
	f("", "", "", "default/db-0", "default/web-1", "default/web-2", "kube-system/dns")
	f("default", "", "", "default/db-0", "default/web-1", "default/web-2")
	f("kube-system", "", "", "kube-system/dns")
	f("nothing", "", "")
	f("default", "app=web", "", "default/web-1", "default/web-2")
	f("", "app in (web,dns)", "", "default/web-1", "default/web-2", "kube-system/dns")
	f("", "track", "", "default/web-1")
	f("", "!track,app=web", "", "default/web-2")
	f("", "", "metadata.namespace=kube-system", "kube-system/dns")
	f("", "", "metadata.namespace!=kube-system", "default/db-0", "default/web-1", "default/web-2")
	f("", "", "metadata.name=web-2", "default/web-2")
	f("default", "app=web", "metadata.name!=web-2", "default/web-1")
	f("", "", "metadata.name=dns,metadata.namespace=default")
	f("", "", "metadata.name=pending")
}

func TestPodListObjects(t *testing.T) {
	obj, err := newTestPodStorage().List(nsContext(""), &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"app": "db"})})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[` +
		`{"metadata":{"name":"db-0","namespace":"default","creationTimestamp":"2026-03-01T12:00:00Z","labels":{"app":"db"}},` +
		`"timestamp":"2026-03-01T11:59:13Z","window":"15s","containers":[{"name":"postgres","usage":{"cpu":"1","memory":"1Gi"}}]}]}`
	if got := encodeJSON(t, obj); got != want {
		t.Errorf("List =\n%s\nwant\n%s", got, want)
	}

	// Objects built in one LIST share container blocks: appending to one
	// pod's containers must not overwrite the next pod's.
	obj, err = newTestPodStorage().List(nsContext("default"), nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	items := obj.(*metrics.PodMetricsList).Items
	_ = append(items[0].Containers, metrics.ContainerMetrics{Name: "intruder"})
	if items[1].Containers[0].Name != "app" {
		t.Errorf("append to one pod's containers changed the next pod's: %q", items[1].Containers[0].Name)
	}
}

func TestPodListEmpty(t *testing.T) {
	obj, err := newTestPodStorage().List(nsContext("nothing"), nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}`
	if got := encodeJSON(t, obj); got != want {
		t.Errorf("List =\n%s\nwant\n%s", got, want)
	}
}

func TestPodListBadFieldSelector(t *testing.T) {
	for _, field := range []string{"spec.nodeName=node-a", "status.phase!=Running", "metadata.namespace=default,metadata.uid=x"} {
		sel, err := fields.ParseSelector(field)
		if err != nil {
			t.Fatalf("fields.ParseSelector(%q): %v", field, err)
		}
		_, err = newTestPodStorage().List(nsContext(""), &metainternalversion.ListOptions{FieldSelector: sel})
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "field label not supported") {
			t.Errorf("List(%q) error = %v, want BadRequest: field label not supported", field, err)
		}
	}
}

func TestPodStorageDescribesItself(t *testing.T) {
	s := newTestPodStorage()
	if !s.NamespaceScoped() || s.Kind() != "PodMetrics" || s.GetSingularName() != "" {
		t.Errorf("NamespaceScoped, Kind, GetSingularName = %v, %q, %q", s.NamespaceScoped(), s.Kind(), s.GetSingularName())
	}
	if _, ok := s.New().(*metrics.PodMetrics); !ok {
		t.Errorf("New() = %T", s.New())
	}
	if _, ok := s.NewList().(*metrics.PodMetricsList); !ok {
		t.Errorf("NewList() = %T", s.NewList())
	}
	s.Destroy()
}
