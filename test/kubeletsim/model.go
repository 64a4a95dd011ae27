package kubeletsim

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// counter is a cumulative CPU counter that grows linearly: at millisecond
// timestamp ms it reads baseNs + milli×(ms−t0Ms)×1000 nanoseconds (1
// millicore is 1 000 ns of CPU per ms), so the rate between any two readings
// is exactly milli millicores. It extends backwards from t0Ms too (down to
// zero), because /stats/summary reads it at the whole second before now. A
// change of rate rebases it at the time of the change, which keeps it
// continuous.
type counter struct {
	baseNs uint64
	t0Ms   int64
	milli  int64
}

func (c *counter) at(ms int64) uint64 {
	if ms >= c.t0Ms {
		return c.baseNs + uint64(c.milli)*uint64(ms-c.t0Ms)*1000
	}
	back := uint64(c.milli) * uint64(c.t0Ms-ms) * 1000
	if back > c.baseNs {
		return 0
	}
	return c.baseNs - back
}

func (c *counter) setRate(ms, milli int64) {
	c.baseNs = c.at(ms)
	c.t0Ms = ms
	c.milli = milli
}

// startedCounter is the counter of something that has run at milli since
// startMs, read at nowMs.
func startedCounter(startMs, nowMs, milli int64) counter {
	c := counter{t0Ms: startMs, milli: milli}
	c.setRate(nowMs, milli)
	return c
}

type container struct {
	pod      *pod
	name     string
	cpu      counter
	memBytes int64
	startMs  int64
	restarts int32
	cpuReq   resource.Quantity
	memReq   resource.Quantity
	// series is the rendered label set: container="…",namespace="…",pod="…".
	series string
}

type pod struct {
	namespace, name string
	uid             string
	// labels may be shared between pods: never modify it in place.
	labels     map[string]string
	workload   *workload // nil for the pods New creates
	index      int       // position within its workload
	owner      *metav1.OwnerReference
	node       *node
	containers []*container
	cpu        counter
	startMs    int64
	hidden     bool
	// series is the rendered label set: namespace="…",pod="…".
	series string
}

func (p *pod) usage() (cpuMilli, memBytes int64) {
	for _, c := range p.containers {
		cpuMilli += c.cpu.milli
		memBytes += c.memBytes
	}
	return cpuMilli, memBytes
}

type node struct {
	index   int
	name    string
	addr    netip.Addr
	port    int
	startMs int64
	cpu     counter
	// sysMilli and sysMem are the usage beyond the pods'.
	sysMilli, sysMem int64
	// pods holds every pod on the node, hidden or not, in creation order.
	pods []*pod
	// visible (sorted by namespace, name) and series (sorted by container,
	// namespace, pod, the order of a kubelet's label sets) are what the
	// endpoints render; rebuild refreshes them after every change.
	visible []*pod
	series  []*container
	fault   Fault
	ln      net.Listener
	gone    bool
	// served counts the bodies each endpoint returned, so tests can tell
	// which endpoint a scraper is on.
	servedResource, servedSummary atomic.Int64
}

// rebuild refreshes the sorted views and rebases the node's counter at ms.
func (n *node) rebuild(ms int64) {
	n.visible = n.visible[:0]
	n.series = n.series[:0]
	var cpu int64
	for _, p := range n.pods {
		c, _ := p.usage()
		cpu += c
		if p.hidden {
			continue
		}
		n.visible = append(n.visible, p)
		n.series = append(n.series, p.containers...)
	}
	slices.SortFunc(n.visible, func(a, b *pod) int {
		return cmp.Or(strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name))
	})
	slices.SortFunc(n.series, func(a, b *container) int {
		return cmp.Or(strings.Compare(a.name, b.name),
			strings.Compare(a.pod.namespace, b.pod.namespace), strings.Compare(a.pod.name, b.pod.name))
	})
	n.cpu.setRate(ms, cpu+n.sysMilli)
}

func (n *node) usage() (cpuMilli, memBytes int64) {
	cpuMilli, memBytes = n.sysMilli, n.sysMem
	for _, p := range n.pods {
		c, m := p.usage()
		cpuMilli += c
		memBytes += m
	}
	return cpuMilli, memBytes
}

type podKey struct{ namespace, name string }

func (k podKey) String() string { return k.namespace + "/" + k.name }

// ContainerSpec describes one container of a pod: its requests, which go to
// the API object, and its simulated usage.
type ContainerSpec struct {
	Name       string
	CPURequest resource.Quantity
	MemRequest resource.Quantity
	// CPUMilli is the CPU usage in millicores, MemBytes the working set.
	CPUMilli int64
	MemBytes int64
}

// newPod builds a pod on n that started at startMs, with counters read at
// nowMs. The caller adds it to the fleet and to the node.
func newPod(n *node, namespace, name string, labels map[string]string, specs []ContainerSpec, startMs, nowMs int64, seed uint64) *pod {
	p := &pod{
		namespace: namespace,
		name:      name,
		uid:       deterministicUID(seed, namespace, name),
		labels:    labels,
		node:      n,
		startMs:   startMs,
		series:    `namespace="` + escapeLabel(namespace) + `",pod="` + escapeLabel(name) + `"`,
	}
	p.containers = make([]*container, len(specs))
	var podMilli int64
	for i, s := range specs {
		p.containers[i] = &container{
			pod:      p,
			name:     s.Name,
			cpu:      startedCounter(startMs, nowMs, s.CPUMilli),
			memBytes: s.MemBytes,
			startMs:  startMs,
			cpuReq:   s.CPURequest,
			memReq:   s.MemRequest,
			series:   `container="` + escapeLabel(s.Name) + `",` + p.series,
		}
		podMilli += s.CPUMilli
	}
	p.cpu = startedCounter(startMs, nowMs, podMilli)
	return p
}

// deterministicUID makes a UUID-shaped identifier from the seed and the pod's
// name, used until the apiserver assigns the real one.
func deterministicUID(seed uint64, namespace, name string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%s/%s", seed, namespace, name))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// escapeLabel escapes a Prometheus label value. Kubernetes names never need
// it; it is here so that a surprising name cannot break the format.
func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(s)
}
