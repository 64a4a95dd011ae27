package usage

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
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

// NodeStorage serves nodeusages (kind NodeUsage, cluster-scoped): get and
// list, from the nodes the lister knows and the history the reader holds.
type NodeStorage struct {
	reader HistoryReader
	nodes  NodeLister
	clock  clock.PassiveClock
}

var (
	_ rest.Storage              = (*NodeStorage)(nil)
	_ rest.Getter               = (*NodeStorage)(nil)
	_ rest.Lister               = (*NodeStorage)(nil)
	_ rest.Scoper               = (*NodeStorage)(nil)
	_ rest.KindProvider         = (*NodeStorage)(nil)
	_ rest.SingularNameProvider = (*NodeStorage)(nil)
	_ rest.TableConvertor       = (*NodeStorage)(nil)
)

// New implements rest.Storage.
func (s *NodeStorage) New() runtime.Object { return &v1alpha1.NodeUsage{} }

// Destroy implements rest.Storage.
func (s *NodeStorage) Destroy() {}

// NewList implements rest.Lister.
func (s *NodeStorage) NewList() runtime.Object { return &v1alpha1.NodeUsageList{} }

// Kind implements rest.KindProvider.
func (s *NodeStorage) Kind() string { return "NodeUsage" }

// NamespaceScoped implements rest.Scoper.
func (s *NodeStorage) NamespaceScoped() bool { return false }

// GetSingularName implements rest.SingularNameProvider.
func (s *NodeStorage) GetSingularName() string { return "nodeusage" }

// Get implements rest.Getter. A node the lister does not know, or one
// without a CPU rate in the window, is NotFound.
func (s *NodeStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	node, err := s.nodes.Get(name)
	if apierrors.IsNotFound(err) || (err == nil && node == nil) {
		return nil, apierrors.NewNotFound(nodeUsageResource, name)
	}
	if err != nil {
		return nil, fmt.Errorf("getting node %q: %w", name, err)
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
	reader HistoryReader
	pods   pods.Lister
	clock  clock.PassiveClock
	synced func() bool
}

var (
	_ rest.Storage              = (*PodStorage)(nil)
	_ rest.Getter               = (*PodStorage)(nil)
	_ rest.Lister               = (*PodStorage)(nil)
	_ rest.Scoper               = (*PodStorage)(nil)
	_ rest.KindProvider         = (*PodStorage)(nil)
	_ rest.SingularNameProvider = (*PodStorage)(nil)
	_ rest.TableConvertor       = (*PodStorage)(nil)
)

// New implements rest.Storage.
func (s *PodStorage) New() runtime.Object { return &v1alpha1.PodUsage{} }

// Destroy implements rest.Storage.
func (s *PodStorage) Destroy() {}

// NewList implements rest.Lister.
func (s *PodStorage) NewList() runtime.Object { return &v1alpha1.PodUsageList{} }

// Kind implements rest.KindProvider.
func (s *PodStorage) Kind() string { return "PodUsage" }

// NamespaceScoped implements rest.Scoper.
func (s *PodStorage) NamespaceScoped() bool { return true }

// GetSingularName implements rest.SingularNameProvider.
func (s *PodStorage) GetSingularName() string { return "podusage" }

// Get implements rest.Getter. A pod the lister does not know (not running,
// or gone), or one whose containers have no CPU rate in the window, is
// NotFound.
func (s *PodStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if err := starting(s.synced); err != nil {
		return nil, err
	}
	namespace := genericapirequest.NamespaceValue(ctx)
	pod, err := s.pods.Get(namespace, name)
	if apierrors.IsNotFound(err) || (err == nil && pod == nil) {
		return nil, apierrors.NewNotFound(podUsageResource, name)
	}
	if err != nil {
		return nil, fmt.Errorf("getting pod %s/%s: %w", namespace, name, err)
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
	sortPods(selected)
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
