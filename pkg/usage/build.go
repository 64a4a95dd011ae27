package usage

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// builder turns histories into API objects, reusing its buffers across the
// series of one request; a builder serves one request at a time.
type builder struct {
	reader HistoryReader
	query  query
	now    metav1.Time

	points  []sample.Point
	scratch scratch
	// summaries are the summaries of the pod being built, one per served
	// container.
	summaries []summary
}

// series reads and summarises one history; read is the store's read. The
// points are valid until the next call.
func (b *builder) series(read func(dst []sample.Point) ([]sample.Point, bool)) (summary, []sample.Point, bool) {
	points, ok := read(b.points[:0])
	b.points = points
	if !ok {
		return summary{}, nil, false
	}
	points = inWindow(points, b.query.window.Milliseconds())
	s, ok := summarize(points, &b.scratch)
	return s, points, ok
}

// node fills out with the node's usage and reports whether it has any.
func (b *builder) node(node *corev1.Node, out *v1alpha1.NodeUsage) bool {
	s, points, ok := b.series(func(dst []sample.Point) ([]sample.Point, bool) {
		return b.reader.NodeHistory(node.Name, dst)
	})
	if !ok {
		return false
	}
	*out = v1alpha1.NodeUsage{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, Labels: node.Labels, CreationTimestamp: b.now},
		Usage:      apiSummary(s),
	}
	if b.query.samples {
		out.Samples = apiSamples(points)
	}
	return true
}

// pod fills out with the usage of the pod's containers that have any, in
// the order of the pod's spec (sidecars last), and reports whether one has.
func (b *builder) pod(pod *pods.Pod, out *v1alpha1.PodUsage) bool {
	b.summaries = b.summaries[:0]
	var containers []v1alpha1.ContainerUsage
	for i := range pod.Containers {
		c := &pod.Containers[i]
		s, points, ok := b.series(func(dst []sample.Point) ([]sample.Point, bool) {
			return b.reader.ContainerHistory(pod.Namespace, pod.Name, c.Name, dst)
		})
		if !ok {
			continue
		}
		if containers == nil {
			containers = make([]v1alpha1.ContainerUsage, 0, len(pod.Containers)-i)
		}
		requests := requestsOf(c)
		cu := v1alpha1.ContainerUsage{
			Name:     c.Name,
			Usage:    apiSummary(s),
			Requests: requests,
			Limits:   limitsOf(c),
			Ratios:   ratios(s.cpu, s.mem, requests),
		}
		if b.query.samples {
			cu.Samples = apiSamples(points)
		}
		containers = append(containers, cu)
		b.summaries = append(b.summaries, s)
	}
	if len(containers) == 0 {
		return false
	}
	*out = v1alpha1.PodUsage{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels.Map(), CreationTimestamp: b.now},
		Containers: containers,
	}
	b.total(out)
	return true
}

// total fills in the recommendations, which depend on how many containers
// are served, and the pod's timestamp, window and totals.
func (b *builder) total(out *v1alpha1.PodUsage) {
	var t summary
	var rec recommendation
	t.windowMs = b.summaries[0].windowMs
	for i, s := range b.summaries {
		r := recommend(s, len(b.summaries))
		out.Containers[i].Recommendation = apiRecommendation(r)
		rec.cpuMilli += r.cpuMilli
		rec.memBytes += r.memBytes
		t.timestampMs = max(t.timestampMs, s.timestampMs)
		t.windowMs = min(t.windowMs, s.windowMs)
		t.cpu = cpuSummary{
			avg: saturatingAdd(t.cpu.avg, s.cpu.avg),
			p50: saturatingAdd(t.cpu.p50, s.cpu.p50),
			p90: saturatingAdd(t.cpu.p90, s.cpu.p90),
			p95: saturatingAdd(t.cpu.p95, s.cpu.p95),
			max: saturatingAdd(t.cpu.max, s.cpu.max),
		}
		t.mem = memSummary{
			avg: saturatingAdd(t.mem.avg, s.mem.avg),
			p95: saturatingAdd(t.mem.p95, s.mem.p95),
			max: saturatingAdd(t.mem.max, s.mem.max),
		}
	}
	out.Timestamp = readonly.MsTime(t.timestampMs)
	out.Window = readonly.MsDuration(t.windowMs)
	requests := sumIfAll(out.Containers, func(c *v1alpha1.ContainerUsage) *v1alpha1.Resources { return c.Requests })
	out.Total = v1alpha1.Total{
		CPU:            apiCPU(t.cpu),
		Memory:         apiMemory(t.mem),
		Requests:       requests,
		Limits:         sumIfAll(out.Containers, func(c *v1alpha1.ContainerUsage) *v1alpha1.Resources { return c.Limits }),
		Recommendation: apiRecommendation(rec),
		Ratios:         ratios(t.cpu, t.mem, requests),
	}
}

// sumIfAll sums the cpu and memory of each container's resources, each only
// when every container sets it; nil when neither.
func sumIfAll(containers []v1alpha1.ContainerUsage, of func(*v1alpha1.ContainerUsage) *v1alpha1.Resources) *v1alpha1.Resources {
	var cpu, mem resource.Quantity
	hasCPU, hasMem := true, true
	for i := range containers {
		r := of(&containers[i])
		if r == nil {
			return nil
		}
		if hasCPU = hasCPU && r.CPU != nil; hasCPU {
			cpu.Add(*r.CPU)
		}
		if hasMem = hasMem && r.Memory != nil; hasMem {
			mem.Add(*r.Memory)
		}
	}
	if !hasCPU && !hasMem {
		return nil
	}
	b := &resourcesBlock{cpu: cpu, mem: mem}
	if hasCPU {
		b.r.CPU = &b.cpu
	}
	if hasMem {
		b.r.Memory = &b.mem
	}
	return &b.r
}

// The fields a field selector may name, as for any kind that registers no
// field label conversions of its own.
const (
	fieldName      = "metadata.name"
	fieldNamespace = "metadata.namespace"
)

// selection is a LIST's label and field selectors.
type selection struct {
	labels labels.Selector
	fields fields.Selector
}

// newSelection reads the request's selectors. A field selector on a field
// other than metadata.name and metadata.namespace is a BadRequest with
// kube-apiserver's message (the generic apiserver rejects those before
// calling a storage; the check keeps the storages right on their own).
func newSelection(options *metainternalversion.ListOptions) (selection, error) {
	sel := selection{labels: labels.Everything()}
	if options == nil {
		return sel, nil
	}
	if options.LabelSelector != nil {
		sel.labels = options.LabelSelector
	}
	if f := options.FieldSelector; f != nil && !f.Empty() {
		for _, r := range f.Requirements() {
			if r.Field != fieldName && r.Field != fieldNamespace {
				return selection{}, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
			}
		}
		sel.fields = f
	}
	return sel, nil
}

// matches reports whether the field selector selects the object. A
// cluster-scoped object's metadata.namespace is the empty string.
func (s selection) matches(namespace, name string) bool {
	if s.fields == nil {
		return true
	}
	return s.fields.Matches(fields.Set{fieldName: name, fieldNamespace: namespace})
}

func sortNodes(nodes []*corev1.Node) {
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
}
