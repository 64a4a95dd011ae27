package usage

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// Resource names: `kubectl get podusages` (or podusage), nodeusages.
const (
	podResource  = "podusages"
	nodeResource = "nodeusages"
)

var (
	podUsageResource  = v1alpha1.Resource(podResource)
	nodeUsageResource = v1alpha1.Resource(nodeResource)
)

// nodeUsages and podUsages are what the storages serve.
var (
	nodeUsages = readonly.Resource{
		Empty:        func() runtime.Object { return &v1alpha1.NodeUsage{} },
		EmptyList:    func() runtime.Object { return &v1alpha1.NodeUsageList{} },
		KindName:     "NodeUsage",
		SingularName: "nodeusage",
	}
	podUsages = readonly.Resource{
		Empty:        func() runtime.Object { return &v1alpha1.PodUsage{} },
		EmptyList:    func() runtime.Object { return &v1alpha1.PodUsageList{} },
		KindName:     "PodUsage",
		SingularName: "podusage",
		Namespaced:   true,
	}
)

// NodeStorage serves nodeusages (kind NodeUsage, cluster-scoped): get and
// list, from the nodes the lister knows and the history the reader holds.
type NodeStorage struct {
	readonly.Resource
	reader HistoryReader
	nodes  NodeLister
	clock  clock.PassiveClock
}

var _ readonly.Storage = (*NodeStorage)(nil)

// Get implements rest.Getter. A node the lister does not know, or one
// without a CPU rate in the window, is NotFound.
func (s *NodeStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	node, err := readonly.GetNode(s.nodes, nodeUsageResource, name)
	if err != nil {
		return nil, err
	}
	b := s.builder(ctx)
	out := &v1alpha1.NodeUsage{}
	if !b.node(node, out) {
		klog.V(4).InfoS("No usage history for node", "node", klog.KObj(node))
		return nil, apierrors.NewNotFound(nodeUsageResource, name)
	}
	return out, nil
}

// List implements rest.Lister: the nodes matching the selectors that have
// usage in the window, sorted by name.
func (s *NodeStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	sel, err := newSelection(options)
	if err != nil {
		return nil, err
	}
	nodes, err := s.nodes.List(sel.labels)
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	selected := nodes[:0]
	for _, n := range nodes {
		if n != nil && sel.matches("", n.Name) {
			selected = append(selected, n)
		}
	}
	sortNodes(selected)
	b := s.builder(ctx)
	list := &v1alpha1.NodeUsageList{Items: make([]v1alpha1.NodeUsage, 0, len(selected))}
	for _, n := range selected {
		list.Items = append(list.Items, v1alpha1.NodeUsage{})
		if !b.node(n, &list.Items[len(list.Items)-1]) {
			list.Items = list.Items[:len(list.Items)-1]
		}
	}
	return list, nil
}

// ConvertToTable implements rest.TableConvertor.
func (s *NodeStorage) ConvertToTable(_ context.Context, object, tableOptions runtime.Object) (*metav1.Table, error) {
	return nodeTable(object, tableOptions)
}

func (s *NodeStorage) builder(ctx context.Context) *builder {
	return &builder{reader: s.reader, query: queryFrom(ctx), now: metav1.NewTime(s.clock.Now())}
}

// PodStorage serves podusages (kind PodUsage, namespaced): get and list,
// from the running pods the lister knows and the history the reader holds
// for their containers.
type PodStorage struct {
	readonly.Resource
	reader HistoryReader
	pods   pods.Lister
	clock  clock.PassiveClock
	synced func() bool
}

var _ readonly.Storage = (*PodStorage)(nil)

// Get implements rest.Getter. A pod the lister does not know (not running,
// or gone), or one whose containers have no CPU rate in the window, is
// NotFound.
func (s *PodStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if err := starting(s.synced); err != nil {
		return nil, err
	}
	namespace := genericapirequest.NamespaceValue(ctx)
	pod, err := readonly.GetPod(s.pods, podUsageResource, namespace, name)
	if err != nil {
		return nil, err
	}
	b := s.builder(ctx)
	out := &v1alpha1.PodUsage{}
	if !b.pod(pod, out) {
		klog.V(4).InfoS("No usage history for pod", "pod", klog.KObj(pod))
		return nil, apierrors.NewNotFound(podUsageResource, name)
	}
	return out, nil
}

// List implements rest.Lister: the pods of the request's namespace (every
// namespace for a cluster-wide request) matching the selectors that have
// usage in the window, sorted by namespace and name.
func (s *PodStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	if err := starting(s.synced); err != nil {
		return nil, err
	}
	sel, err := newSelection(options)
	if err != nil {
		return nil, err
	}
	all, err := s.pods.List(genericapirequest.NamespaceValue(ctx), sel.labels)
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	selected := all[:0]
	for _, p := range all {
		if p != nil && sel.matches(p.Namespace, p.Name) {
			selected = append(selected, p)
		}
	}
	// The lister's order is the one served.
	b := s.builder(ctx)
	list := &v1alpha1.PodUsageList{Items: make([]v1alpha1.PodUsage, 0, len(selected))}
	for _, p := range selected {
		list.Items = append(list.Items, v1alpha1.PodUsage{})
		if !b.pod(p, &list.Items[len(list.Items)-1]) {
			list.Items = list.Items[:len(list.Items)-1]
		}
	}
	return list, nil
}

// ConvertToTable implements rest.TableConvertor.
func (s *PodStorage) ConvertToTable(_ context.Context, object, tableOptions runtime.Object) (*metav1.Table, error) {
	return podTable(object, tableOptions)
}

func (s *PodStorage) builder(ctx context.Context) *builder {
	return &builder{reader: s.reader, query: queryFrom(ctx), now: metav1.NewTime(s.clock.Now())}
}

// starting is 503 Service Unavailable until the pod informer has synced:
// a list then would miss pods without saying so.
func starting(synced func() bool) error {
	if synced == nil || synced() {
		return nil
	}
	return apierrors.NewServiceUnavailable(v1alpha1.GroupName + " is starting: the pod informer has not synced yet")
}
