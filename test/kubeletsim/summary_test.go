package kubeletsim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func summary(t *testing.T, f *Fleet, node string) Summary {
	t.Helper()
	r := get(t, testClient(f, nil, false), f, node, "/stats/summary", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	var s Summary
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("decode summary: %v\n%s", err, r.body)
	}
	return s
}

func TestSummary(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 2, PodsPerNode: 4, ContainersPerPod: 2, Seed: 11, AuthDisabled: true})
	s1 := summary(t, f, "sim-node-1")
	clk.Step(9*time.Second + 900*time.Millisecond)
	s2 := summary(t, f, "sim-node-1")

	// Times are whole seconds, as the kubelet's JSON carries them.
	if got, want := s1.Node.CPU.Time.Time, testEpoch.Truncate(time.Second); !got.Equal(want) {
		t.Errorf("sample time %v, want %v", got, want)
	}
	if s1.Node.NodeName != "sim-node-1" || !s1.Node.StartTime.Time.Equal(testEpoch.Add(-time.Hour).Truncate(time.Second)) {
		t.Errorf("node %q started %v", s1.Node.NodeName, s1.Node.StartTime)
	}
	nodeCPU, nodeMem := f.ExpectedNode("sim-node-1")
	if *s1.Node.CPU.UsageNanoCores != uint64(nodeCPU)*1e6 || *s1.Node.Memory.WorkingSetBytes != uint64(nodeMem) {
		t.Errorf("node usage %d nanocores, %d bytes; want %dm, %d", *s1.Node.CPU.UsageNanoCores, *s1.Node.Memory.WorkingSetBytes, nodeCPU, nodeMem)
	}
	if s1.Node.Memory.AvailableBytes == nil || *s1.Node.Memory.AvailableBytes != uint64(f.cfg.NodeMemory.Value()-nodeMem) {
		t.Errorf("node availableBytes %v", s1.Node.Memory.AvailableBytes)
	}
	// A rate taken between two summaries is exact.
	rate := func(a, b *CPUStats) uint64 {
		return (*b.UsageCoreNanoSeconds - *a.UsageCoreNanoSeconds) * 1000 / uint64(b.Time.Sub(a.Time.Time).Milliseconds())
	}
	if got := rate(s1.Node.CPU, s2.Node.CPU); got != uint64(nodeCPU)*1e6 {
		t.Errorf("node rate %d, want %d", got, nodeCPU*1e6)
	}

	if len(s1.Pods) != 4 {
		t.Fatalf("%d pods, want 4", len(s1.Pods))
	}
	uids := map[string]string{}
	for _, p := range f.Pods() {
		uids[p.Namespace+"/"+p.Name] = p.UID
	}
	for i, ps := range s1.Pods {
		ref := ps.PodRef
		if uid := uids[ref.Namespace+"/"+ref.Name]; uid == "" || uid != ref.UID {
			t.Errorf("pod %v: uid %q, want %q", ref, ref.UID, uid)
		}
		podCPU, podMem := f.ExpectedPod(ref.Namespace, ref.Name)
		if *ps.CPU.UsageNanoCores != uint64(podCPU)*1e6 || *ps.Memory.WorkingSetBytes != uint64(podMem) {
			t.Errorf("pod %v usage %d, %d; want %dm, %d", ref, *ps.CPU.UsageNanoCores, *ps.Memory.WorkingSetBytes, podCPU, podMem)
		}
		if got := rate(ps.CPU, s2.Pods[i].CPU); got != uint64(podCPU)*1e6 {
			t.Errorf("pod %v rate %d", ref, got)
		}
		if len(ps.Containers) != 2 {
			t.Fatalf("pod %v has %d containers", ref, len(ps.Containers))
		}
		for j, c := range ps.Containers {
			cpu, mem := f.ExpectedContainer(ref.Namespace, ref.Name, c.Name)
			if *c.CPU.UsageNanoCores != uint64(cpu)*1e6 || *c.Memory.WorkingSetBytes != uint64(mem) {
				t.Errorf("container %v/%s usage %d, %d; want %dm, %d", ref, c.Name, *c.CPU.UsageNanoCores, *c.Memory.WorkingSetBytes, cpu, mem)
			}
			if got := rate(c.CPU, s2.Pods[i].Containers[j].CPU); got != uint64(cpu)*1e6 {
				t.Errorf("container %v/%s rate %d", ref, c.Name, got)
			}
			if !c.StartTime.Time.Equal(testEpoch.Add(-10 * time.Minute).Truncate(time.Second)) {
				t.Errorf("container start %v", c.StartTime)
			}
			if *c.Memory.UsageBytes < *c.Memory.WorkingSetBytes {
				t.Errorf("usageBytes %d below working set %d", *c.Memory.UsageBytes, *c.Memory.WorkingSetBytes)
			}
		}
	}
}
