package api

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// now is the fake clock's time in every test: the objects' creationTimestamp.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fakeClock() *clocktesting.FakePassiveClock { return clocktesting.NewFakePassiveClock(now) }

type podKey struct{ namespace, name string }

// fakeReader is a MetricsReader over maps.
type fakeReader struct {
	nodes map[string]sample.Usage
	pods  map[podKey][]sample.ContainerUsage
}

func (r *fakeReader) NodeUsage(node string) (sample.Usage, bool) {
	u, ok := r.nodes[node]
	return u, ok
}

func (r *fakeReader) PodUsage(namespace, pod string, dst []sample.ContainerUsage) ([]sample.ContainerUsage, bool) {
	c, ok := r.pods[podKey{namespace, pod}]
	if !ok {
		return dst, false
	}
	return append(dst, c...), true
}

// fakeNodeLister is a NodeLister over a slice.
type fakeNodeLister struct {
	nodes []*corev1.Node
	err   error
}

func (l *fakeNodeLister) List(selector labels.Selector) ([]*corev1.Node, error) {
	if l.err != nil {
		return nil, l.err
	}
	var out []*corev1.Node
	for _, n := range l.nodes {
		if selector.Matches(labels.Set(n.Labels)) {
			out = append(out, n)
		}
	}
	// The informer's order is arbitrary: make sure nothing relies on it.
	slices.Reverse(out)
	return out, nil
}

func (l *fakeNodeLister) Get(name string) (*corev1.Node, error) {
	if l.err != nil {
		return nil, l.err
	}
	for _, n := range l.nodes {
		if n.Name == name {
			return n, nil
		}
	}
	return nil, apierrors.NewNotFound(corev1.Resource("nodes"), name)
}

// fakePodLister is a PodLister over a slice.
type fakePodLister struct {
	pods []*pods.Pod
	err  error
}

func (l *fakePodLister) List(namespace string, selector labels.Selector) ([]*pods.Pod, error) {
	if l.err != nil {
		return nil, l.err
	}
	out := make([]*pods.Pod, 0, len(l.pods))
	for _, p := range l.pods {
		if (namespace == "" || p.Namespace == namespace) && selector.Matches(&p.Labels) {
			out = append(out, p)
		}
	}
	// The order pods.Lister promises, whatever the order l.pods is in.
	return pods.Sort(out), nil
}

func (l *fakePodLister) Get(namespace, name string) (*pods.Pod, error) {
	if l.err != nil {
		return nil, l.err
	}
	for _, p := range l.pods {
		if p.Namespace == namespace && p.Name == name {
			return p, nil
		}
	}
	return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
}

func node(name string, lbls map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}
}

func pod(namespace, name string, lbls map[string]string) *pods.Pod {
	return &pods.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Labels: pods.SortedLabels(lbls)}
}

// ms is a time in the test's minute as milliseconds since the epoch.
func ms(sec, msec int) int64 {
	return now.Add(-time.Minute).Add(time.Duration(sec)*time.Second + time.Duration(msec)*time.Millisecond).UnixMilli()
}

func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}
