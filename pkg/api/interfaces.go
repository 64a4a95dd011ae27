package api

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

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
