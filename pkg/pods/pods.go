// Package pods is the one pod informer's view of a pod: what both APIs read
// of it and nothing more. metrics.k8s.io serves a pod's name, namespace and
// labels; usage.ringmetrics.dev adds each container's requests and limits.
// One typed informer whose transform is Trim feeds both, so 150 000 pods
// are decoded and held once.
package pods

import (
	"slices"
	"strings"
	"unique"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// Pod is what the server keeps of a running pod: the name, namespace, UID,
// resource version and labels, and each container's name, requests and
// limits of cpu and memory — Trim's result, a few hundred bytes where the
// decoded Pod is several kilobytes (TestTrimRetainedBytes).
type Pod struct {
	// ObjectMeta holds Name, Namespace, UID and ResourceVersion, nothing
	// else; it makes a Pod an object an informer's store can key. Its
	// Labels map is always nil: Labels below holds them.
	metav1.ObjectMeta
	// Labels are the pod's labels sorted by key. A slice of two labels
	// takes 64 bytes where a map of two takes about 300, and the encoders
	// write labels in key order, so a LIST neither iterates nor sorts a map
	// per pod. A *Labels is a labels.Labels, so selectors match it
	// directly (the pointer, because a slice in an interface is allocated).
	Labels Labels
	// Containers are the pod's containers, then its sidecars (restartable
	// init containers), which run beside them.
	Containers []Container
}

// Label is one label of a pod.
type Label struct {
	Key, Value string
}

// Labels is a set of labels sorted by key, without duplicates. Pods have a
// handful, so a linear scan finds one as fast as a map would.
type Labels []Label

var _ labels.Labels = Labels(nil)

// Has implements labels.Labels.
func (l Labels) Has(key string) bool {
	_, ok := l.Lookup(key)
	return ok
}

// Get implements labels.Labels.
func (l Labels) Get(key string) string {
	v, _ := l.Lookup(key)
	return v
}

// Lookup implements labels.Labels.
func (l Labels) Lookup(key string) (string, bool) {
	for i := range l {
		if l[i].Key == key {
			return l[i].Value, true
		}
	}
	return "", false
}

// Map returns the labels as a new map, for the typed objects the REST
// storages build; nil when there are none, as the API serves none.
func (l Labels) Map() map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l))
	for _, kv := range l {
		m[kv.Key] = kv.Value
	}
	return m
}

// SortedLabels returns m's labels sorted by key, with interned strings.
func SortedLabels(m map[string]string) Labels {
	if len(m) == 0 {
		return nil
	}
	out := make(Labels, 0, len(m))
	for k, v := range m {
		out = append(out, Label{intern(k), intern(v)})
	}
	slices.SortFunc(out, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Container is one container's resources: cpu in millicores, memory in
// bytes, each -1 when the pod spec does not set it.
type Container struct {
	Name                                string
	CPURequestMilli, MemoryRequestBytes int64
	CPULimitMilli, MemoryLimitBytes     int64
}

// Trim is the transform of the pod informer: it turns a *corev1.Pod into a
// *Pod before the informer stores it. Anything else (a *Pod already, a
// tombstone) passes through unchanged. The informer's store then holds *Pod:
// read it through IndexerLister, never through client-go's typed pod lister.
//
// Namespaces, label keys and values and container names repeat across the
// pods of a workload; they are interned (unique.Make, so a string no pod
// holds any more is freed) and the decoded copies become garbage.
func Trim(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            pod.Name,
			Namespace:       intern(pod.Namespace),
			UID:             pod.UID,
			ResourceVersion: pod.ResourceVersion,
		},
		Labels: SortedLabels(pod.Labels),
	}
	n := len(pod.Spec.Containers)
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			n++
		}
	}
	out.Containers = make([]Container, 0, n)
	for i := range pod.Spec.Containers {
		out.Containers = append(out.Containers, trimContainer(&pod.Spec.Containers[i]))
	}
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			out.Containers = append(out.Containers, trimContainer(&pod.Spec.InitContainers[i]))
		}
	}
	return out, nil
}

func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func trimContainer(c *corev1.Container) Container {
	return Container{
		Name:               intern(c.Name),
		CPURequestMilli:    milliOf(c.Resources.Requests, corev1.ResourceCPU),
		MemoryRequestBytes: valueOf(c.Resources.Requests, corev1.ResourceMemory),
		CPULimitMilli:      milliOf(c.Resources.Limits, corev1.ResourceCPU),
		MemoryLimitBytes:   valueOf(c.Resources.Limits, corev1.ResourceMemory),
	}
}

func milliOf(list corev1.ResourceList, name corev1.ResourceName) int64 {
	if q, ok := list[name]; ok && q.Sign() >= 0 {
		return q.MilliValue()
	}
	return -1
}

func valueOf(list corev1.ResourceList, name corev1.ResourceName) int64 {
	if q, ok := list[name]; ok && q.Sign() >= 0 {
		return q.Value()
	}
	return -1
}

// Lister lists running pods as Trim keeps them; Cache and IndexerLister are
// two. The objects are shared with the informer's cache: callers only read
// them.
type Lister interface {
	// List returns the pods in namespace (every namespace when empty) whose
	// labels match selector, sorted by namespace and name (the order both
	// APIs serve), in a slice the caller owns.
	List(namespace string, selector labels.Selector) ([]*Pod, error)
	// Get returns one pod, or an error for which
	// k8s.io/apimachinery/pkg/api/errors.IsNotFound is true.
	Get(namespace, name string) (*Pod, error)
}

// IndexerLister is a Lister over the indexer of a pod informer whose
// transform is Trim, with client-go's default namespace index. It sorts on
// every List; Cache keeps the order between changes.
type IndexerLister struct {
	Indexer cache.Indexer
}

var _ Lister = IndexerLister{}

// List implements Lister.
func (l IndexerLister) List(namespace string, selector labels.Selector) ([]*Pod, error) {
	var (
		objs []any
		err  error
	)
	if namespace == metav1.NamespaceAll {
		objs = l.Indexer.List()
	} else if objs, err = l.Indexer.ByIndex(cache.NamespaceIndex, namespace); err != nil {
		return nil, err
	}
	everything := selector.Empty()
	pods := make([]*Pod, 0, len(objs))
	for _, obj := range objs {
		if p, ok := obj.(*Pod); ok && (everything || selector.Matches(&p.Labels)) {
			pods = append(pods, p)
		}
	}
	return Sort(pods), nil
}

// Get implements Lister.
func (l IndexerLister) Get(namespace, name string) (*Pod, error) {
	obj, exists, err := l.Indexer.GetByKey(namespace + "/" + name)
	if err != nil {
		return nil, err
	}
	p, ok := obj.(*Pod)
	if !exists || !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
	}
	return p, nil
}
