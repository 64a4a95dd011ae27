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
// (every namespace when empty) that match the options' label selector, in
// the lister's order (by namespace and name), then those its field selector
// accepts, then those the reader has data for. It calls start once with the number of candidates
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
