package api

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// MetricsReader is the store, seen from the API. Implementations must be safe
// for concurrent use: the API calls them from many requests at once.
type MetricsReader interface {
	// NodeUsage returns the node's usage; false when the node has no
	// servable data.
	NodeUsage(node string) (sample.Usage, bool)
	// PodUsage appends the pod's containers' usage to dst (sorted by
	// container name); false when the pod has no servable data.
	PodUsage(namespace, pod string, dst []sample.ContainerUsage) ([]sample.ContainerUsage, bool)
}

// NodeLister lists the cluster's nodes. k8s.io/client-go/listers/core/v1's
// NodeLister satisfies it. The objects are shared with the informer's cache:
// the API only reads them.
type NodeLister interface {
	// List returns the nodes whose labels match selector, in any order, in a
	// slice the caller may reorder.
	List(selector labels.Selector) ([]*corev1.Node, error)
	// Get returns the named node, or an error for which
	// k8s.io/apimachinery/pkg/api/errors.IsNotFound is true.
	Get(name string) (*corev1.Node, error)
}

// PodLister lists the cluster's pods as metadata (pods come from a
// metadata-only informer). MetadataPodLister and GenericPodLister adapt
// client-go's listers to it. The objects are shared with the informer's
// cache: the API only reads them.
type PodLister interface {
	// List returns the pods in namespace (all namespaces when namespace is
	// empty) whose labels match selector, in any order, in a slice the caller
	// may reorder.
	List(namespace string, selector labels.Selector) ([]*metav1.PartialObjectMetadata, error)
	// Get returns one pod, or an error for which
	// k8s.io/apimachinery/pkg/api/errors.IsNotFound is true.
	Get(namespace, name string) (*metav1.PartialObjectMetadata, error)
}

// MetadataPodLister is a PodLister over client-go's typed metadata lister,
// for example metadatalister.New(informer.Informer().GetIndexer(),
// corev1.SchemeGroupVersion.WithResource("pods")). It is the cheaper of the
// two adapters: the lister already returns typed objects.
type MetadataPodLister struct {
	Lister metadatalister.Lister
}

var _ PodLister = MetadataPodLister{}

// List implements PodLister.
func (l MetadataPodLister) List(namespace string, selector labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	if namespace == metav1.NamespaceAll {
		return l.Lister.List(selector)
	}
	return l.Lister.Namespace(namespace).List(selector)
}

// Get implements PodLister.
func (l MetadataPodLister) Get(namespace, name string) (*metav1.PartialObjectMetadata, error) {
	return l.Lister.Namespace(namespace).Get(name)
}

// GenericPodLister is a PodLister over a cache.GenericLister whose objects
// are *metav1.PartialObjectMetadata, such as the Lister() of an informer from
// k8s.io/client-go/metadata/metadatainformer.
type GenericPodLister struct {
	Lister cache.GenericLister
}

var _ PodLister = GenericPodLister{}

// List implements PodLister.
func (l GenericPodLister) List(namespace string, selector labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	var (
		objs []runtime.Object
		err  error
	)
	if namespace == metav1.NamespaceAll {
		objs, err = l.Lister.List(selector)
	} else {
		objs, err = l.Lister.ByNamespace(namespace).List(selector)
	}
	if err != nil {
		return nil, err
	}
	pods := make([]*metav1.PartialObjectMetadata, len(objs))
	for i, obj := range objs {
		pod, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return nil, fmt.Errorf("pod lister holds a %T, want *v1.PartialObjectMetadata", obj)
		}
		pods[i] = pod
	}
	return pods, nil
}

// Get implements PodLister.
func (l GenericPodLister) Get(namespace, name string) (*metav1.PartialObjectMetadata, error) {
	obj, err := l.Lister.ByNamespace(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return nil, fmt.Errorf("pod lister holds a %T, want *v1.PartialObjectMetadata", obj)
	}
	return pod, nil
}
