package api

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// NodeStorage serves the cluster-scoped resource nodes (kind NodeMetrics):
// get and list, from the nodes the lister knows and the usage the reader holds
// for them.
type NodeStorage struct {
	readonly.Resource
	reader MetricsReader
	nodes  NodeLister
	clock  clock.PassiveClock
}

var _ readonly.Storage = (*NodeStorage)(nil)

// nodeMetricsResource names the resource in NotFound errors, as metrics-server does.
var nodeMetricsResource = metrics.Resource("nodemetrics")

// NewNodeStorage returns the nodes storage. clock gives each object's
// creationTimestamp (the time of the request, as metrics-server sets it).
func NewNodeStorage(reader MetricsReader, nodes NodeLister, clock clock.PassiveClock) *NodeStorage {
	return &NodeStorage{
		Resource: readonly.Resource{
			Empty:     func() runtime.Object { return &metrics.NodeMetrics{} },
			EmptyList: func() runtime.Object { return &metrics.NodeMetricsList{} },
			KindName:  "NodeMetrics",
			// No singular name, as in metrics-server's discovery document:
			// clients derive it from the kind ("nodemetrics").
		},
		reader: reader, nodes: nodes, clock: clock,
	}
}

// Get implements rest.Getter. A node the lister does not know, or one without
// data, is NotFound.
func (s *NodeStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	node, err := readonly.GetNode(s.nodes, nodeMetricsResource, name)
	if err != nil {
		return nil, err
	}
	usage, ok := s.reader.NodeUsage(name)
	if !ok {
		klog.V(4).InfoS("No metrics for node", "node", klog.KObj(node))
		return nil, apierrors.NewNotFound(nodeMetricsResource, name)
	}
	m := &metrics.NodeMetrics{}
	nodeMetrics(m, node, metav1.NewTime(s.clock.Now()), usage)
	return m, nil
}

// List implements rest.Lister: the nodes matching the label and field
// selectors that have data, sorted by name.
func (s *NodeStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	list := &metrics.NodeMetricsList{}
	now := metav1.NewTime(s.clock.Now())
	err := listNodes(s.reader, s.nodes, options,
		func(candidates int) { list.Items = make([]metrics.NodeMetrics, 0, candidates) },
		func(node *corev1.Node, usage sample.Usage) {
			list.Items = append(list.Items, metrics.NodeMetrics{})
			nodeMetrics(&list.Items[len(list.Items)-1], node, now, usage)
		})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// ConvertToTable implements rest.TableConvertor.
func (s *NodeStorage) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return nodeTable(object, tableOptions)
}
