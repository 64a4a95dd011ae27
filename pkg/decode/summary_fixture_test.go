package decode

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// The types below write Summary API bodies for tests and benchmarks. They
// carry the members a kubelet writes beside the ones the decoder reads
// (file systems, networks, volumes, swap, process counts, system
// containers), in the kubelet's member order, so that benchmarks pay for
// skipping them as a real scrape does.

type sumCPU struct {
	Time                 string `json:"time"`
	UsageNanoCores       uint64 `json:"usageNanoCores"`
	UsageCoreNanoSeconds uint64 `json:"usageCoreNanoSeconds"`
}

type sumMemory struct {
	Time            string `json:"time"`
	AvailableBytes  uint64 `json:"availableBytes,omitempty"`
	UsageBytes      uint64 `json:"usageBytes"`
	WorkingSetBytes uint64 `json:"workingSetBytes"`
	RSSBytes        uint64 `json:"rssBytes"`
	PageFaults      uint64 `json:"pageFaults"`
	MajorPageFaults uint64 `json:"majorPageFaults"`
}

type sumFS struct {
	Time           string `json:"time"`
	AvailableBytes uint64 `json:"availableBytes"`
	CapacityBytes  uint64 `json:"capacityBytes"`
	UsedBytes      uint64 `json:"usedBytes"`
	InodesFree     uint64 `json:"inodesFree"`
	Inodes         uint64 `json:"inodes"`
	InodesUsed     uint64 `json:"inodesUsed"`
	Name           string `json:"name,omitempty"`
}

type sumInterface struct {
	Name     string `json:"name"`
	RxBytes  uint64 `json:"rxBytes"`
	RxErrors uint64 `json:"rxErrors"`
	TxBytes  uint64 `json:"txBytes"`
	TxErrors uint64 `json:"txErrors"`
}

type sumNetwork struct {
	Time string `json:"time"`
	sumInterface
	Interfaces []sumInterface `json:"interfaces"`
}

type sumSwap struct {
	Time               string `json:"time"`
	SwapAvailableBytes uint64 `json:"swapAvailableBytes"`
	SwapUsageBytes     uint64 `json:"swapUsageBytes"`
}

type sumContainer struct {
	Name      string     `json:"name"`
	StartTime string     `json:"startTime"`
	CPU       *sumCPU    `json:"cpu,omitempty"`
	Memory    *sumMemory `json:"memory,omitempty"`
	Rootfs    *sumFS     `json:"rootfs,omitempty"`
	Logs      *sumFS     `json:"logs,omitempty"`
	Swap      *sumSwap   `json:"swap,omitempty"`
}

type sumPodRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

type sumPod struct {
	PodRef           sumPodRef      `json:"podRef"`
	StartTime        string         `json:"startTime"`
	Containers       []sumContainer `json:"containers"`
	CPU              *sumCPU        `json:"cpu,omitempty"`
	Memory           *sumMemory     `json:"memory,omitempty"`
	Network          *sumNetwork    `json:"network,omitempty"`
	Volume           []sumFS        `json:"volume,omitempty"`
	EphemeralStorage *sumFS         `json:"ephemeral-storage,omitempty"`
	ProcessStats     struct {
		ProcessCount uint64 `json:"process_count"`
	} `json:"process_stats"`
	Swap *sumSwap `json:"swap,omitempty"`
}

type sumNode struct {
	NodeName         string         `json:"nodeName"`
	SystemContainers []sumContainer `json:"systemContainers"`
	StartTime        string         `json:"startTime"`
	CPU              *sumCPU        `json:"cpu,omitempty"`
	Memory           *sumMemory     `json:"memory,omitempty"`
	Network          *sumNetwork    `json:"network,omitempty"`
	Fs               *sumFS         `json:"fs,omitempty"`
	Runtime          struct {
		ImageFs *sumFS `json:"imageFs"`
	} `json:"runtime"`
	Swap *sumSwap `json:"swap,omitempty"`
}

type sumDoc struct {
	Node sumNode  `json:"node"`
	Pods []sumPod `json:"pods"`
}

// summaryTS is the time of every reading summaryBody writes, a whole second
// as the kubelet writes it.
const summaryTS = 1732530000000

func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

func sumFSAt(ts string) *sumFS {
	return &sumFS{Time: ts, AvailableBytes: 61361922048, CapacityBytes: 210303107072, UsedBytes: 57344,
		InodesFree: 10892976, Inodes: 13107200, InodesUsed: 6}
}

// sumContainerAt is a container with every member a kubelet on Linux writes.
func sumContainerAt(name string, startMs, ts int64, cpuNs, memBytes uint64) sumContainer {
	t := rfc3339(ts)
	return sumContainer{
		Name:      name,
		StartTime: rfc3339(startMs),
		CPU:       &sumCPU{Time: t, UsageNanoCores: 12345678, UsageCoreNanoSeconds: cpuNs},
		Memory: &sumMemory{Time: t, UsageBytes: memBytes + memBytes/4, WorkingSetBytes: memBytes,
			RSSBytes: memBytes / 4 * 3, PageFaults: memBytes / 4096},
		Rootfs: sumFSAt(t),
		Logs:   sumFSAt(t),
		Swap:   &sumSwap{Time: t, SwapAvailableBytes: 1 << 30},
	}
}

// summaryBody writes a /stats/summary response, pretty-printed as the
// kubelet does, for pods pods of containers containers each: the workload of
// kubeletBody, every reading at summaryTS.
func summaryBody(tb testing.TB, pods, containers int) []byte {
	t := rfc3339(summaryTS)
	nic := sumInterface{Name: "eth0", RxBytes: 123456789, TxBytes: 98765432}
	doc := sumDoc{Node: sumNode{
		NodeName: "node-1",
		SystemContainers: []sumContainer{
			sumContainerAt("kubelet", summaryTS-86400e3, summaryTS, 98765432100, 104857600),
			sumContainerAt("runtime", summaryTS-86400e3, summaryTS, 45678912300, 209715200),
			sumContainerAt("pods", summaryTS-86400e3, summaryTS, 1234567890123, 4294967296),
		},
		StartTime: rfc3339(summaryTS - 86400e3),
		CPU:       &sumCPU{Time: t, UsageNanoCores: 1234567890, UsageCoreNanoSeconds: 98765432100000},
		Memory: &sumMemory{Time: t, AvailableBytes: 8 << 30, UsageBytes: 9 << 30, WorkingSetBytes: 7516192768,
			RSSBytes: 5 << 30, PageFaults: 123456},
		Network: &sumNetwork{Time: t, sumInterface: nic, Interfaces: []sumInterface{nic}},
		Fs:      sumFSAt(t),
	}}
	doc.Node.Runtime.ImageFs = sumFSAt(t)
	i := 0
	for p := range pods {
		pod := sumPod{
			PodRef: sumPodRef{
				Name:      fmt.Sprintf("deployment-%d-7d9f8c6b5-%05x", p, p*7919),
				Namespace: []string{"default", "kube-system", "monitoring", "shop-frontend"}[p%4],
				UID:       fmt.Sprintf("%08x-1f2e-4d3c-8b4a-%012x", p, p*104729),
			},
			StartTime:        rfc3339(summaryTS - 3600e3),
			CPU:              &sumCPU{Time: t, UsageNanoCores: 2345678, UsageCoreNanoSeconds: 23456789012},
			Memory:           &sumMemory{Time: t, UsageBytes: 30 << 20, WorkingSetBytes: 25 << 20},
			Network:          &sumNetwork{Time: t, sumInterface: nic, Interfaces: []sumInterface{nic}},
			Volume:           []sumFS{*sumFSAt(t), *sumFSAt(t)},
			EphemeralStorage: sumFSAt(t),
			Swap:             &sumSwap{Time: t, SwapAvailableBytes: 1 << 30},
		}
		pod.Volume[0].Name, pod.Volume[1].Name = "kube-api-access-"+strconv.Itoa(p), "config"
		pod.ProcessStats.ProcessCount = 4
		for c := range containers {
			name := []string{"app", "istio-proxy", "log-shipper"}[c%3] + strconv.Itoa(c/3)
			pod.Containers = append(pod.Containers, sumContainerAt(name, summaryTS-3600e3+int64(i)*1000, summaryTS,
				1234567890123+uint64(i)*17300000000, 12345678+uint64(i)*4096))
			i++
		}
		doc.Pods = append(doc.Pods, pod)
	}
	body, err := json.MarshalIndent(&doc, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(body, '\n')
}
