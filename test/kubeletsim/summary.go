package kubeletsim

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Summary API (/stats/summary) types: the subset of the kubelet's
// stats/v1alpha1 fields that resource metrics use, with the same JSON names.

// Summary is the body of /stats/summary.
type Summary struct {
	Node NodeStats  `json:"node"`
	Pods []PodStats `json:"pods"`
}

// NodeStats is the node-level part of a Summary.
type NodeStats struct {
	NodeName  string       `json:"nodeName"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// PodStats is one pod of a Summary.
type PodStats struct {
	PodRef     PodReference     `json:"podRef"`
	StartTime  metav1.Time      `json:"startTime"`
	Containers []ContainerStats `json:"containers"`
	CPU        *CPUStats        `json:"cpu,omitempty"`
	Memory     *MemoryStats     `json:"memory,omitempty"`
}

// PodReference identifies a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// ContainerStats is one container of a PodStats.
type ContainerStats struct {
	Name      string       `json:"name"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// CPUStats is a CPU reading: the instantaneous rate and the cumulative
// counter, both taken at Time.
type CPUStats struct {
	Time                 metav1.Time `json:"time"`
	UsageNanoCores       *uint64     `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64     `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats is a memory reading taken at Time.
type MemoryStats struct {
	Time            metav1.Time `json:"time"`
	AvailableBytes  *uint64     `json:"availableBytes,omitempty"`
	UsageBytes      *uint64     `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64     `json:"workingSetBytes,omitempty"`
	RSSBytes        *uint64     `json:"rssBytes,omitempty"`
	PageFaults      *uint64     `json:"pageFaults,omitempty"`
	MajorPageFaults *uint64     `json:"majorPageFaults,omitempty"`
}

// buildSummary builds n's Summary read at ms. metav1.Time serialises whole
// seconds only, as the kubelet's does, so the caller passes a whole second:
// the counters are computed at that same instant and a rate taken between two
// summaries is exact. nodeMemCapacity gives the node's availableBytes. The
// caller holds the fleet's lock for reading.
func buildSummary(n *node, ms int64, nodeMemCapacity int64) *Summary {
	t := metav1.NewTime(time.UnixMilli(ms))
	nodeCPU, nodeMem := n.usage()
	s := &Summary{
		Node: NodeStats{
			NodeName:  n.name,
			StartTime: metav1.NewTime(time.UnixMilli(n.startMs)),
			CPU:       cpuStats(t, nodeCPU, n.cpu.at(ms)),
			Memory:    memStats(t, nodeMem),
		},
		Pods: make([]PodStats, 0, len(n.visible)),
	}
	if avail := nodeMemCapacity - nodeMem; avail > 0 {
		s.Node.Memory.AvailableBytes = ptr(uint64(avail))
	}
	for _, p := range n.visible {
		podCPU, podMem := p.usage()
		ps := PodStats{
			PodRef:     PodReference{Name: p.name, Namespace: p.namespace, UID: p.uid},
			StartTime:  metav1.NewTime(time.UnixMilli(p.startMs)),
			Containers: make([]ContainerStats, len(p.containers)),
			CPU:        cpuStats(t, podCPU, p.cpu.at(ms)),
			Memory:     memStats(t, podMem),
		}
		for i, c := range p.containers {
			ps.Containers[i] = ContainerStats{
				Name:      c.name,
				StartTime: metav1.NewTime(time.UnixMilli(c.startMs)),
				CPU:       cpuStats(t, c.cpu.milli, c.cpu.at(ms)),
				Memory:    memStats(t, c.memBytes),
			}
		}
		s.Pods = append(s.Pods, ps)
	}
	return s
}

func cpuStats(t metav1.Time, milli int64, counterNs uint64) *CPUStats {
	return &CPUStats{Time: t, UsageNanoCores: ptr(uint64(milli) * 1e6), UsageCoreNanoSeconds: ptr(counterNs)}
}

// memStats reports the working set plus a page cache of a quarter of it in
// usageBytes, and three quarters of it as RSS, so that the fields differ as
// they do on a real node while the working set stays the configured value.
func memStats(t metav1.Time, ws int64) *MemoryStats {
	w := uint64(ws)
	return &MemoryStats{
		Time:            t,
		UsageBytes:      ptr(w + w/4),
		WorkingSetBytes: ptr(w),
		RSSBytes:        ptr(w / 4 * 3),
		PageFaults:      ptr(w / 4096),
		MajorPageFaults: ptr(uint64(0)),
	}
}

func ptr[T any](v T) *T { return &v }
