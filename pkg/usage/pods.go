package usage

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// Pod is what the usage API keeps of a running pod: the name, namespace,
// UID and labels, and each container's name, requests and limits of cpu and
// memory — TrimPod's result, about 700 bytes with two labels and two
// containers where a typed Pod trimmed to the same fields keeps 4.6 KB
// (TestTrimPodRetainedBytes).
type Pod struct {
	// ObjectMeta holds Name, Namespace, UID, ResourceVersion and Labels,
	// nothing else; it makes a Pod an object an informer's store can key.
	metav1.ObjectMeta
	// Containers are the pod's containers, then its sidecars (restartable
	// init containers), which run beside them.
	Containers []Container
}

// Container is one container's resources: cpu in millicores, memory in
// bytes, each -1 when the pod spec does not set it.
type Container struct {
	Name                                string
	CPURequestMilli, MemoryRequestBytes int64
	CPULimitMilli, MemoryLimitBytes     int64
}

// requests and limits return the container's, nil when it sets neither.
func (c *Container) requests() *v1alpha1.Resources {
	return newResources(c.CPURequestMilli, c.MemoryRequestBytes)
}

func (c *Container) limits() *v1alpha1.Resources {
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

// TrimPod is the transform of the pod informer this API reads: it turns a
// *corev1.Pod into a *Pod before the informer stores it, so the informer
// keeps a few hundred bytes per pod. Anything else (a *Pod already, a
// tombstone) passes through unchanged. The informer's store then holds
// *Pod: read it through IndexerPodLister, never through client-go's typed
// pod lister.
func TrimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            pod.Name,
			Namespace:       pod.Namespace,
			UID:             pod.UID,
			ResourceVersion: pod.ResourceVersion,
			Labels:          pod.Labels,
		},
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

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func trimContainer(c *corev1.Container) Container {
	return Container{
		Name:               c.Name,
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

// IndexerPodLister is a PodLister over the indexer of a pod informer whose
// transform is TrimPod, with client-go's default namespace index.
type IndexerPodLister struct {
	Indexer cache.Indexer
}

var _ PodLister = IndexerPodLister{}

// List implements PodLister.
func (l IndexerPodLister) List(namespace string, selector labels.Selector) ([]*Pod, error) {
	var (
		objs []any
		err  error
	)
	if namespace == metav1.NamespaceAll {
		objs = l.Indexer.List()
	} else if objs, err = l.Indexer.ByIndex(cache.NamespaceIndex, namespace); err != nil {
		return nil, err
	}
	pods := make([]*Pod, 0, len(objs))
	for _, obj := range objs {
		if p, ok := obj.(*Pod); ok && selector.Matches(labels.Set(p.Labels)) {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// Get implements PodLister.
func (l IndexerPodLister) Get(namespace, name string) (*Pod, error) {
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
