package kubeletsim

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
)

// ExpectedContainer is the container's configured usage: the CPU rate in
// millicores a reader computes between any two scrapes taken since the last
// change, and the working set in bytes. It returns zeros for an unknown
// container.
func (f *Fleet) ExpectedContainer(namespace, pod, container string) (cpuMilli, memBytes int64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p := f.pods[podKey{namespace, pod}]
	if p == nil {
		return 0, 0
	}
	for _, c := range p.containers {
		if c.name == container {
			return c.cpu.milli, c.memBytes
		}
	}
	return 0, 0
}

// ExpectedPod is the sum over the pod's containers, which is also what the
// pod-level series report. It returns zeros for an unknown pod.
func (f *Fleet) ExpectedPod(namespace, pod string) (cpuMilli, memBytes int64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if p := f.pods[podKey{namespace, pod}]; p != nil {
		return p.usage()
	}
	return 0, 0
}

// ExpectedNode is the sum over every pod on the node, hidden pods included
// (a pod missing from the kubelet's output still burns CPU), plus the
// configured system overhead. It returns zeros for an unknown node.
func (f *Fleet) ExpectedNode(node string) (cpuMilli, memBytes int64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if n := f.byName[node]; n != nil {
		return n.usage()
	}
	return 0, 0
}

// SetUsage changes one container's usage from now on. A negative value
// leaves that resource unchanged. Counters stay continuous: only readings
// taken after the change see the new rate.
func (f *Fleet) SetUsage(namespace, pod, container string, cpuMilli, memBytes int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.podLocked(namespace, pod)
	if err != nil {
		return err
	}
	c, err := p.containerNamed(container)
	if err != nil {
		return err
	}
	ms := f.nowMs()
	setContainer(c, ms, cpuMilli, memBytes)
	p.refresh(ms)
	return nil
}

// SetPodUsage sets the pod's total usage from now on, split evenly over its
// containers (the first takes the remainder). A negative value leaves that
// resource unchanged.
func (f *Fleet) SetPodUsage(namespace, pod string, cpuMilli, memBytes int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.podLocked(namespace, pod)
	if err != nil {
		return err
	}
	p.setUsage(f.nowMs(), cpuMilli, memBytes)
	return nil
}

// SetUsageForSelector sets, as SetPodUsage does, the usage of every pod in
// namespace ("" for all namespaces) whose labels match selector (label
// selector syntax, for example "app=web"). It returns how many pods matched.
func (f *Fleet) SetUsageForSelector(namespace, selector string, cpuMilli, memBytes int64) (int, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return 0, fmt.Errorf("parse selector %q: %w", selector, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ms := f.nowMs()
	matched := 0
	for _, p := range f.pods {
		if (namespace == "" || p.namespace == namespace) && sel.Matches(labels.Set(p.labels)) {
			p.setUsage(ms, cpuMilli, memBytes)
			matched++
		}
	}
	return matched, nil
}

// RestartContainer simulates a restart: the container's CPU counter starts
// again from 0 and its start time becomes now. The pod and node counters,
// which belong to longer-lived cgroups, carry on.
func (f *Fleet) RestartContainer(namespace, pod, container string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.podLocked(namespace, pod)
	if err != nil {
		return err
	}
	c, err := p.containerNamed(container)
	if err != nil {
		return err
	}
	ms := f.nowMs()
	c.cpu = counter{t0Ms: ms, milli: c.cpu.milli}
	c.startMs = ms
	c.restarts++
	return nil
}

// HidePod removes the pod from its kubelet's output while it stays in the
// API and keeps counting towards its node's usage.
func (f *Fleet) HidePod(namespace, pod string) error { return f.setHidden(namespace, pod, true) }

// ShowPod undoes HidePod.
func (f *Fleet) ShowPod(namespace, pod string) error { return f.setHidden(namespace, pod, false) }

func (f *Fleet) setHidden(namespace, pod string, hidden bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.podLocked(namespace, pod)
	if err != nil {
		return err
	}
	p.hidden = hidden
	p.node.rebuild(f.nowMs())
	return nil
}

// SetFault makes the node misbehave as f describes, from the next request
// on; Fault{} restores normal service. Requests already waiting (Slow, Hang)
// keep their old behaviour.
func (f *Fleet) SetFault(node string, fault Fault) error {
	if err := fault.validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.byName[node]
	if n == nil {
		return fmt.Errorf("node %q: %w", node, ErrNotFound)
	}
	n.fault = fault
	return nil
}

func (f *Fleet) podLocked(namespace, name string) (*pod, error) {
	p := f.pods[podKey{namespace, name}]
	if p == nil {
		return nil, fmt.Errorf("pod %s/%s: %w", namespace, name, ErrNotFound)
	}
	return p, nil
}

func (p *pod) containerNamed(name string) (*container, error) {
	for _, c := range p.containers {
		if c.name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("container %q in pod %s/%s: %w", name, p.namespace, p.name, ErrNotFound)
}

func setContainer(c *container, ms, cpuMilli, memBytes int64) {
	if cpuMilli >= 0 {
		c.cpu.setRate(ms, cpuMilli)
	}
	if memBytes >= 0 {
		c.memBytes = memBytes
	}
}

func (p *pod) setUsage(ms, cpuMilli, memBytes int64) {
	k := int64(len(p.containers))
	for i, c := range p.containers {
		cpu, mem := cpuMilli, memBytes
		if cpu >= 0 {
			cpu = cpuMilli / k
			if i == 0 {
				cpu += cpuMilli % k
			}
		}
		if mem >= 0 {
			mem = memBytes / k
			if i == 0 {
				mem += memBytes % k
			}
		}
		setContainer(c, ms, cpu, mem)
	}
	p.refresh(ms)
}

// refresh rebases the pod's and its node's counters after a container's
// rate changed at ms.
func (p *pod) refresh(ms int64) {
	cpu, _ := p.usage()
	p.cpu.setRate(ms, cpu)
	p.node.rebuild(ms)
}

// Served reports how many /metrics/resource and /stats/summary bodies the
// node has served since the fleet started.
func (f *Fleet) Served(node string) (resource, summary int64, err error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, ok := f.byName[node]
	if !ok {
		return 0, 0, fmt.Errorf("no node %q", node)
	}
	return n.servedResource.Load(), n.servedSummary.Load(), nil
}

// SetRelativeStartTimes makes /metrics/resource report each container's
// start time as seconds since it started (true) or as a Unix time (false,
// the kubelet's way).
func (f *Fleet) SetRelativeStartTimes(relative bool) { f.relativeStarts.Store(relative) }
