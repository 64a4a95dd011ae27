package api

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// PodStorage serves the namespaced resource pods (kind PodMetrics): get and
// list, from the pods the lister knows and the usage the reader holds for
// their containers.
type PodStorage struct {
	readonly.Resource
	reader MetricsReader
	pods   pods.Lister
	clock  clock.PassiveClock
}

var _ readonly.Storage = (*PodStorage)(nil)

// podMetricsResource names the resource in NotFound errors, as metrics-server does.
var podMetricsResource = metrics.Resource("podmetrics")

// NewPodStorage returns the pods storage. clock gives each object's
// creationTimestamp (the time of the request, as metrics-server sets it).
func NewPodStorage(reader MetricsReader, pods pods.Lister, clock clock.PassiveClock) *PodStorage {
	return &PodStorage{
		Resource: readonly.Resource{
			Empty:      func() runtime.Object { return &metrics.PodMetrics{} },
			EmptyList:  func() runtime.Object { return &metrics.PodMetricsList{} },
			KindName:   "PodMetrics",
			Namespaced: true,
			// No singular name, as in metrics-server's discovery document:
			// clients derive it from the kind ("podmetrics").
		},
		reader: reader, pods: pods, clock: clock,
	}
}

// Get implements rest.Getter. A pod the lister does not know, or one without
// data, is NotFound.
func (s *PodStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	namespace := genericapirequest.NamespaceValue(ctx)
	pod, err := readonly.GetPod(s.pods, podMetricsResource, namespace, name)
	if err != nil {
		return nil, err
	}
	usage, ok := s.reader.PodUsage(namespace, name, nil)
	if !ok || len(usage) == 0 {
		klog.V(4).InfoS("No metrics for pod", "pod", klog.KRef(namespace, name))
		return nil, apierrors.NewNotFound(podMetricsResource, name)
	}
	m := &metrics.PodMetrics{}
	podMetrics(m, pod, metav1.NewTime(s.clock.Now()), usage, &containerArena{})
	return m, nil
}

// List implements rest.Lister: the pods of the request's namespace (all
// namespaces for a cluster-wide request) matching the label and field
// selectors that have data, sorted by namespace and name.
func (s *PodStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	list := &metrics.PodMetricsList{}
	now := metav1.NewTime(s.clock.Now())
	var arena containerArena
	err := listPods(s.reader, s.pods, genericapirequest.NamespaceValue(ctx), options,
		func(candidates int) {
			list.Items = make([]metrics.PodMetrics, 0, candidates)
			// Most pods have one or two containers: one block for all of them.
			arena.blockSize = 2 * candidates
		},
		func(pod *pods.Pod, usage []sample.ContainerUsage) {
			list.Items = append(list.Items, metrics.PodMetrics{})
			podMetrics(&list.Items[len(list.Items)-1], pod, now, usage, &arena)
		})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// ConvertToTable implements rest.TableConvertor.
func (s *PodStorage) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return podTable(object, tableOptions)
}
