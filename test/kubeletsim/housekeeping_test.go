package kubeletsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSampleInterval(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 2, PodsPerNode: 2, Seed: 11, AuthDisabled: true})
	c := testClient(f, nil, false)
	const node = "sim-node-0"
	var p PodInfo
	for _, pi := range f.Pods() {
		if pi.Node == node {
			p = pi
			break
		}
	}
	ctr := p.Containers[0]
	cpuKey := containerKey("container_cpu_usage_seconds_total", p.Namespace, p.Name, ctr)
	memKey := containerKey("container_memory_working_set_bytes", p.Namespace, p.Name, ctr)
	body := func(path string) []byte {
		t.Helper()
		r := get(t, c, f, node, path, nil)
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", path, r.status, r.body)
		}
		return r.body
	}
	const interval = 15 * time.Second
	if err := f.SetSampleInterval(interval); err != nil {
		t.Fatal(err)
	}
	oldCPU, _ := f.ExpectedContainer(p.Namespace, p.Name, ctr)

	s1 := clk.Now()
	first, firstSummary := body("/metrics/resource"), body("/stats/summary")
	d1 := parseProm(t, first)
	if got := d1.samples[cpuKey].ts; got != s1.UnixMilli() {
		t.Fatalf("first sample at %d, want the request's time %d", got, s1.UnixMilli())
	}

	// Within the interval, a change of usage does not rewrite the sample.
	clk.Step(5 * time.Second)
	change := clk.Now()
	if err := f.SetUsage(p.Namespace, p.Name, ctr, oldCPU+300, 64<<20); err != nil {
		t.Fatal(err)
	}
	clk.Step(interval - 5*time.Second - time.Millisecond)
	if got := body("/metrics/resource"); !bytes.Equal(got, first) {
		t.Errorf("a request within the interval got a different body:\n%s\nwant\n%s", got, first)
	}
	if got := body("/stats/summary"); !bytes.Equal(got, firstSummary) {
		t.Error("a summary request within the interval got a different body")
	}

	// An interval after the first sample, the next request takes a new one,
	// whose counter grew at the old rate up to the change and at the new
	// one after it.
	clk.Step(time.Millisecond)
	s2 := clk.Now()
	d2 := parseProm(t, body("/metrics/resource"))
	if got := d2.samples[cpuKey].ts; got != s2.UnixMilli() {
		t.Fatalf("second sample at %d, want %d", got, s2.UnixMilli())
	}
	grew := nanos(d2.samples[cpuKey].value) - nanos(d1.samples[cpuKey].value)
	want := oldCPU*change.Sub(s1).Milliseconds()*1000 + (oldCPU+300)*s2.Sub(change).Milliseconds()*1000
	if grew != want {
		t.Errorf("counter grew %dns between the samples, want %dns", grew, want)
	}
	if got := d2.samples[memKey].value; got != 64<<20 {
		t.Errorf("memory %v in the second sample, want %d", got, 64<<20)
	}
	var sum Summary
	if err := json.Unmarshal(body("/stats/summary"), &sum); err != nil {
		t.Fatal(err)
	}
	if got, want := sum.Node.CPU.Time.Time, s2.Truncate(time.Second); !got.Equal(want) {
		t.Errorf("summary of the second sample read at %v, want %v", got, want)
	}

	if got, want := f.SampleTimes(node), []time.Time{time.UnixMilli(s1.UnixMilli()), time.UnixMilli(s2.UnixMilli())}; !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("SampleTimes = %v, want %v", got, want)
	}
	if got := f.SampleTimes("sim-node-1"); got != nil {
		t.Errorf("SampleTimes of a node never scraped = %v, want none", got)
	}

	// Off again: every request is a sample of its own.
	if err := f.SetSampleInterval(0); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Second)
	if got := parseProm(t, body("/metrics/resource")).samples[cpuKey].ts; got != clk.Now().UnixMilli() {
		t.Errorf("with the mode off, sample at %d, want the request's time %d", got, clk.Now().UnixMilli())
	}
	if got := f.SampleTimes(node); got != nil {
		t.Errorf("with the mode off, SampleTimes = %v, want none", got)
	}
	if err := f.SetSampleInterval(-time.Second); err == nil {
		t.Error("a negative interval was accepted")
	}
}

func TestSampleTimesBounded(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 1, Seed: 3, AuthDisabled: true})
	c := testClient(f, nil, false)
	if err := f.SetSampleInterval(time.Second); err != nil {
		t.Fatal(err)
	}
	for range maxSampleTimes + 5 {
		get(t, c, f, "sim-node-0", "/metrics/resource", nil)
		clk.Step(time.Second)
	}
	times := f.SampleTimes("sim-node-0")
	if len(times) != maxSampleTimes {
		t.Fatalf("%d sample times kept, want %d", len(times), maxSampleTimes)
	}
	if want := time.UnixMilli(clk.Now().Add(-time.Second).UnixMilli()); !times[len(times)-1].Equal(want) {
		t.Errorf("newest sample time %v, want %v", times[len(times)-1], want)
	}
}

func TestFirstSampled(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 2, Seed: 5, AuthDisabled: true})
	c := testClient(f, nil, false)
	pods := f.Pods()
	shown, hidden := pods[0], pods[1]
	if err := f.HidePod(hidden.Namespace, hidden.Name); err != nil {
		t.Fatal(err)
	}
	if err := f.SetSampleInterval(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.FirstSampled(shown.Namespace, shown.Name); ok {
		t.Error("a pod is first sampled before any request")
	}
	s1 := clk.Now()
	get(t, c, f, "sim-node-0", "/metrics/resource", nil)
	// Shown between two samples, the pod is first sampled in the next one.
	clk.Step(4 * time.Second)
	if err := f.ShowPod(hidden.Namespace, hidden.Name); err != nil {
		t.Fatal(err)
	}
	get(t, c, f, "sim-node-0", "/metrics/resource", nil)
	clk.Step(6 * time.Second)
	s2 := clk.Now()
	get(t, c, f, "sim-node-0", "/metrics/resource", nil)

	for _, tt := range []struct {
		pod  PodInfo
		want time.Time
	}{{shown, s1}, {hidden, s2}} {
		got, ok := f.FirstSampled(tt.pod.Namespace, tt.pod.Name)
		if !ok || !got.Equal(time.UnixMilli(tt.want.UnixMilli())) {
			t.Errorf("FirstSampled(%s) = %v, %v; want %v", tt.pod.Name, got, ok, tt.want)
		}
	}
	if _, ok := f.FirstSampled(shown.Namespace, "no-such-pod"); ok {
		t.Error("an unknown pod was sampled")
	}
}

func TestContainerStart(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 1, Seed: 5, AuthDisabled: true, PodStartAge: time.Minute})
	p := f.Pods()[0]
	got, err := f.ContainerStart(p.Namespace, p.Name, p.Containers[0])
	if want := testEpoch.Add(-time.Minute); err != nil || !got.Equal(time.UnixMilli(want.UnixMilli())) {
		t.Errorf("ContainerStart = %v, %v; want %v", got, err, want)
	}
	clk.Step(3 * time.Second)
	if err := f.RestartContainer(p.Namespace, p.Name, p.Containers[0]); err != nil {
		t.Fatal(err)
	}
	got, err = f.ContainerStart(p.Namespace, p.Name, p.Containers[0])
	if want := clk.Now(); err != nil || !got.Equal(time.UnixMilli(want.UnixMilli())) {
		t.Errorf("after a restart, ContainerStart = %v, %v; want %v", got, err, want)
	}
	if _, err := f.ContainerStart(p.Namespace, p.Name, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown container: err %v, want ErrNotFound", err)
	}
}
