package api

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The selection behind a LIST lives here, once: the REST storages build typed
// objects from it and FastList writes bytes from it, so that both serve the
// same objects in the same order and only the output differs.

// listPods runs the selection of a pods LIST: the lister's pods of namespace
// (every namespace when empty) that match the options' label selector, then
// those its field selector accepts, sorted by namespace and name, then those
// the reader has data for. It calls start once with the number of candidates
// (a bound on the calls to each), then each for every pod served, with its
// containers' usage, which is valid only until each returns. A field
// selector on an unsupported field is a BadRequest; a lister failure is an
// error that wraps the lister's.
func listPods(reader MetricsReader, lister pods.Lister, namespace string, options *metainternalversion.ListOptions,
	start func(candidates int), each func(pod *pods.Pod, usage []sample.ContainerUsage)) error {
	filter, err := newFieldFilter(options, true)
	if err != nil {
		return err
	}
	pods, err := lister.List(namespace, labelSelector(options))
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	// Field selectors only name metadata.name and metadata.namespace, both
	// known before the usage is read: filter first, read only what is served.
	selected := pods[:0]
	for _, pod := range pods {
		if pod != nil && filter.matches(pod.Namespace, pod.Name) {
			selected = append(selected, pod)
		}
	}
	selected = sortPods(selected)

	start(len(selected))
	var usage []sample.ContainerUsage
	served, skipped := 0, 0
	for _, pod := range selected {
		var ok bool
		usage, ok = reader.PodUsage(pod.Namespace, pod.Name, usage[:0])
		if !ok || len(usage) == 0 {
			skipped++
			klog.V(4).InfoS("No metrics for pod", "pod", klog.KObj(pod))
			continue
		}
		served++
		each(pod, usage)
	}
	if skipped > 0 {
		klog.V(2).InfoS("Listed pods without metrics", "namespace", namespace, "skipped", skipped, "served", served)
	}
	return nil
}

// listNodes runs the selection of a nodes LIST, as listPods does for pods:
// the nodes matching the options' selectors, sorted by name, that the reader
// has data for.
func listNodes(reader MetricsReader, lister NodeLister, options *metainternalversion.ListOptions,
	start func(candidates int), each func(node *corev1.Node, usage sample.Usage)) error {
	filter, err := newFieldFilter(options, false)
	if err != nil {
		return err
	}
	nodes, err := lister.List(labelSelector(options))
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	selected := nodes[:0]
	for _, node := range nodes {
		if node != nil && filter.matches("", node.Name) {
			selected = append(selected, node)
		}
	}
	slices.SortFunc(selected, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })

	start(len(selected))
	served, skipped := 0, 0
	for _, node := range selected {
		usage, ok := reader.NodeUsage(node.Name)
		if !ok {
			skipped++
			klog.V(4).InfoS("No metrics for node", "node", klog.KObj(node))
			continue
		}
		served++
		each(node, usage)
	}
	if skipped > 0 {
		klog.V(2).InfoS("Listed nodes without metrics", "skipped", skipped, "served", served)
	}
	return nil
}

// groupedSortMin is the size from which sortPods groups by namespace first.
const groupedSortMin = 2048

// sortPods sorts pods by namespace and name and returns them, in list or in
// a new slice. Sorting 150 000 pods in the informer's random order compares
// scattered strings millions of times; grouping them by namespace first
// (counting, then placing each pod in its namespace's range) leaves only
// the few thousand namespaces and each namespace's few dozen pods to sort,
// a third of the time for the same order.
func sortPods(list []*pods.Pod) []*pods.Pod {
	byName := func(a, b *pods.Pod) int { return strings.Compare(a.Name, b.Name) }
	if len(list) < groupedSortMin {
		slices.SortFunc(list, func(a, b *pods.Pod) int {
			if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
				return c
			}
			return byName(a, b)
		})
		return list
	}
	type group struct {
		namespace string
		start     int
	}
	index := make(map[string]int)
	var groups []group
	groupOf := make([]int32, len(list))
	for i, pod := range list {
		g, ok := index[pod.Namespace]
		if !ok {
			g = len(groups)
			index[pod.Namespace] = g
			groups = append(groups, group{namespace: pod.Namespace})
		}
		groups[g].start++ // a count, until the offsets below
		groupOf[i] = int32(g)
	}
	if len(groups) == 1 {
		slices.SortFunc(list, byName)
		return list
	}
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(groups[a].namespace, groups[b].namespace) })
	offset := 0
	for _, g := range order {
		n := groups[g].start
		groups[g].start = offset
		offset += n
	}
	sorted := make([]*pods.Pod, len(list))
	next := make([]int, len(groups))
	for i, pod := range list {
		g := groupOf[i]
		sorted[groups[g].start+next[g]] = pod
		next[g]++
	}
	for i, g := range order {
		end := len(sorted)
		if i+1 < len(order) {
			end = groups[order[i+1]].start
		}
		slices.SortFunc(sorted[groups[g].start:end], byName)
	}
	return sorted
}
