package usage

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// HistoryReader is the store, seen from the usage API. Implementations must
// be safe for concurrent use.
type HistoryReader interface {
	// NodeHistory appends the node's points to dst, oldest first, with
	// increasing timestamps; false when the node is unknown.
	NodeHistory(node string, dst []sample.Point) ([]sample.Point, bool)
	// ContainerHistory appends the container's points to dst, oldest
	// first, with increasing timestamps; false when it is unknown.
	ContainerHistory(namespace, pod, container string, dst []sample.Point) ([]sample.Point, bool)
}

// NodeLister lists the cluster's nodes; client-go's core/v1 NodeLister
// satisfies it. The objects are shared with an informer's cache: the API
// only reads them.
type NodeLister interface {
	List(selector labels.Selector) ([]*corev1.Node, error)
	Get(name string) (*corev1.Node, error)
}
