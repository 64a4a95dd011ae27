package kubeletsim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var wantFamilies = []string{
	"container_cpu_usage_seconds_total",
	"container_memory_working_set_bytes",
	"container_start_time_seconds",
	"node_cpu_usage_seconds_total",
	"node_memory_working_set_bytes",
	"pod_cpu_usage_seconds_total",
	"pod_memory_working_set_bytes",
	"resource_scrape_error",
}

func scrape(t *testing.T, f *Fleet, node string) promDoc {
	t.Helper()
	r := get(t, testClient(f, nil, false), f, node, "/metrics/resource", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	return parseProm(t, r.body)
}

func TestResourceMetricsFormat(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 2, PodsPerNode: 3, ContainersPerPod: 2, Seed: 7, AuthDisabled: true,
		Namespaces: []string{"ns-a", "ns-b"}})
	d := scrape(t, f, "sim-node-1")
	if diff := cmp.Diff(wantFamilies, d.families); diff != "" {
		t.Errorf("families (-want +got):\n%s", diff)
	}
	wantTypes := map[string]string{}
	for _, fam := range wantFamilies {
		wantTypes[fam] = "gauge"
	}
	for _, fam := range []string{"container_cpu_usage_seconds_total", "node_cpu_usage_seconds_total", "pod_cpu_usage_seconds_total"} {
		wantTypes[fam] = "counter"
	}
	if diff := cmp.Diff(wantTypes, d.types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}

	nowMs := clk.Now().UnixMilli()
	for _, key := range d.order {
		s := d.samples[key]
		if key == "resource_scrape_error" {
			if s.value != 0 || s.hasTS {
				t.Errorf("resource_scrape_error = %+v, want 0 without timestamp", s)
			}
			continue
		}
		if !s.hasTS || s.ts != nowMs {
			t.Errorf("%s: timestamp %d (present %v), want %d", key, s.ts, s.hasTS, nowMs)
		}
	}

	var pods, containers int
	for _, p := range f.Pods() {
		if p.Node != "sim-node-1" {
			continue
		}
		pods++
		_, podMem := f.ExpectedPod(p.Namespace, p.Name)
		if got := d.samples[podSeriesKey("pod_memory_working_set_bytes", p.Namespace, p.Name)].value; got != float64(podMem) {
			t.Errorf("pod %s memory %v, want %d", p.Name, got, podMem)
		}
		for _, c := range p.Containers {
			containers++
			_, mem := f.ExpectedContainer(p.Namespace, p.Name, c)
			if got := d.samples[containerKey("container_memory_working_set_bytes", p.Namespace, p.Name, c)].value; got != float64(mem) {
				t.Errorf("%s/%s memory %v, want %d", p.Name, c, got, mem)
			}
			start := d.samples[containerKey("container_start_time_seconds", p.Namespace, p.Name, c)].value
			if want := float64(testEpoch.Add(-10*time.Minute).UnixMilli()) / 1e3; start != want {
				t.Errorf("%s/%s start %v, want %v", p.Name, c, start, want)
			}
		}
	}
	if pods != 3 || containers != 6 {
		t.Fatalf("node has %d pods, %d containers; want 3, 6", pods, containers)
	}
	if got := len(d.order); got != 3*containers+2*pods+3 {
		t.Errorf("%d samples, want %d", got, 3*containers+2*pods+3)
	}
	_, nodeMem := f.ExpectedNode("sim-node-1")
	if got := d.samples["node_memory_working_set_bytes"].value; got != float64(nodeMem) {
		t.Errorf("node memory %v, want %d", got, nodeMem)
	}

	// Series are in label order: container, then namespace, then pod.
	var cpuKeys []string
	for _, k := range d.order {
		if strings.HasPrefix(k, "container_cpu_usage_seconds_total{") {
			cpuKeys = append(cpuKeys, k)
		}
	}
	if !slices.IsSorted(cpuKeys) || !strings.HasPrefix(cpuKeys[0], `container_cpu_usage_seconds_total{container="app",namespace="ns-`) {
		t.Errorf("container series not sorted by container, namespace, pod: %q", cpuKeys)
	}
}

// TestRateIsExact scrapes at two fake times and checks that every counter
// moved by exactly the configured usage.
func TestRateIsExact(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 30, Seed: 42, AuthDisabled: true})
	d1 := scrape(t, f, "sim-node-0")
	clk.Step(10*time.Second + 3*time.Millisecond + 700*time.Microsecond) // sub-ms part is dropped
	d2 := scrape(t, f, "sim-node-0")

	check := func(key string, wantMilli int64) {
		t.Helper()
		s1, s2 := d1.samples[key], d2.samples[key]
		dms := s2.ts - s1.ts
		if dms != 10003 {
			t.Fatalf("%s: %d ms between scrapes, want 10003", key, dms)
		}
		dns := nanos(s2.value) - nanos(s1.value)
		// nanocores = ns of CPU per s of wall time.
		if got, want := dns*1000/dms, wantMilli*1e6; got != want || dns*1000%dms != 0 {
			t.Errorf("%s: rate %d nanocores (remainder %d), want %d", key, got, dns*1000%dms, want)
		}
	}
	for _, p := range f.Pods() {
		for _, c := range p.Containers {
			cpu, _ := f.ExpectedContainer(p.Namespace, p.Name, c)
			check(containerKey("container_cpu_usage_seconds_total", p.Namespace, p.Name, c), cpu)
		}
		cpu, _ := f.ExpectedPod(p.Namespace, p.Name)
		check(podSeriesKey("pod_cpu_usage_seconds_total", p.Namespace, p.Name), cpu)
	}
	cpu, _ := f.ExpectedNode("sim-node-0")
	check("node_cpu_usage_seconds_total", cpu)
}

func TestSetUsage(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 2, PodsPerNode: 2, ContainersPerPod: 2, Seed: 3, AuthDisabled: true})
	p := f.Pods()[0]
	nodeCPU, nodeMem := f.ExpectedNode(p.Node)
	oldCPU, oldMem := f.ExpectedContainer(p.Namespace, p.Name, "app")

	clk.Step(time.Second)
	if err := f.SetUsage(p.Namespace, p.Name, "app", 1234, 999<<20); err != nil {
		t.Fatal(err)
	}
	if cpu, mem := f.ExpectedContainer(p.Namespace, p.Name, "app"); cpu != 1234 || mem != 999<<20 {
		t.Errorf("ExpectedContainer = %d, %d", cpu, mem)
	}
	if cpu, mem := f.ExpectedNode(p.Node); cpu != nodeCPU-oldCPU+1234 || mem != nodeMem-oldMem+999<<20 {
		t.Errorf("ExpectedNode = %d, %d; want %d, %d", cpu, mem, nodeCPU-oldCPU+1234, nodeMem-oldMem+999<<20)
	}
	d1 := scrape(t, f, p.Node)
	clk.Step(15 * time.Second)
	d2 := scrape(t, f, p.Node)
	rate := func(key string) int64 {
		return (nanos(d2.samples[key].value) - nanos(d1.samples[key].value)) * 1000 / (d2.samples[key].ts - d1.samples[key].ts)
	}
	if got := rate(containerKey("container_cpu_usage_seconds_total", p.Namespace, p.Name, "app")); got != 1234e6 {
		t.Errorf("container rate %d nanocores, want 1234e6", got)
	}
	wantNode, _ := f.ExpectedNode(p.Node)
	if got := rate("node_cpu_usage_seconds_total"); got != wantNode*1e6 {
		t.Errorf("node rate %d, want %d", got, wantNode*1e6)
	}

	// A negative value keeps that resource.
	if err := f.SetUsage(p.Namespace, p.Name, "app", -1, 5<<20); err != nil {
		t.Fatal(err)
	}
	if cpu, mem := f.ExpectedContainer(p.Namespace, p.Name, "app"); cpu != 1234 || mem != 5<<20 {
		t.Errorf("after partial SetUsage: %d, %d", cpu, mem)
	}

	// SetPodUsage splits the total, the first container taking the rest.
	if err := f.SetPodUsage(p.Namespace, p.Name, 301, 3<<20+1); err != nil {
		t.Fatal(err)
	}
	if cpu, mem := f.ExpectedContainer(p.Namespace, p.Name, "app"); cpu != 151 || mem != (3<<20+1)/2+1 {
		t.Errorf("first container after SetPodUsage: %d, %d", cpu, mem)
	}
	if cpu, mem := f.ExpectedPod(p.Namespace, p.Name); cpu != 301 || mem != 3<<20+1 {
		t.Errorf("ExpectedPod after SetPodUsage: %d, %d", cpu, mem)
	}

	n, err := f.SetUsageForSelector("", "app=sim-app-1", 40, 1<<20)
	if err != nil || n != 2 {
		t.Fatalf("SetUsageForSelector matched %d, %v; want 2", n, err)
	}
	for _, q := range f.Pods() {
		cpu, _ := f.ExpectedPod(q.Namespace, q.Name)
		if (q.Labels["app"] == "sim-app-1") != (cpu == 40) {
			t.Errorf("pod %s (app=%s) cpu %d after selector update", q.Name, q.Labels["app"], cpu)
		}
	}
	if _, err := f.SetUsageForSelector("", "app in (", 1, 1); err == nil {
		t.Error("bad selector accepted")
	}
	if err := f.SetUsage(p.Namespace, p.Name, "nope", 1, 1); err == nil {
		t.Error("unknown container accepted")
	}
	if err := f.SetUsage("nope", p.Name, "app", 1, 1); err == nil {
		t.Error("unknown pod accepted")
	}
}

func TestRestartContainer(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 1, Seed: 5, AuthDisabled: true})
	p := f.Pods()[0]
	ckey := containerKey("container_cpu_usage_seconds_total", p.Namespace, p.Name, "app")
	skey := containerKey("container_start_time_seconds", p.Namespace, p.Name, "app")
	pkey := podSeriesKey("pod_cpu_usage_seconds_total", p.Namespace, p.Name)
	d1 := scrape(t, f, p.Node)
	clk.Step(time.Second)
	if err := f.RestartContainer(p.Namespace, p.Name, "app"); err != nil {
		t.Fatal(err)
	}
	restartMs := clk.Now().UnixMilli()
	clk.Step(2 * time.Second)
	d2 := scrape(t, f, p.Node)
	cpu, _ := f.ExpectedContainer(p.Namespace, p.Name, "app")
	if got, want := nanos(d2.samples[ckey].value), cpu*2000*1000; got != want {
		t.Errorf("counter after restart %d ns, want %d (2 s at %dm)", got, want, cpu)
	}
	if got := nanos(d2.samples[ckey].value); got >= nanos(d1.samples[ckey].value) {
		t.Errorf("counter did not go down: %d then %d", nanos(d1.samples[ckey].value), got)
	}
	if got, want := d2.samples[skey].value, float64(restartMs)/1e3; got != want {
		t.Errorf("start time %v, want %v", got, want)
	}
	if got, want := nanos(d2.samples[pkey].value)-nanos(d1.samples[pkey].value), cpu*3000*1000; got != want {
		t.Errorf("pod counter moved %d ns over the restart, want %d", got, want)
	}
}

func TestHidePod(t *testing.T) {
	f, _ := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 2, Seed: 5, AuthDisabled: true})
	p := f.Pods()[0]
	nodeCPU, nodeMem := f.ExpectedNode(p.Node)
	if err := f.HidePod(p.Namespace, p.Name); err != nil {
		t.Fatal(err)
	}
	d := scrape(t, f, p.Node)
	for k := range d.samples {
		if strings.Contains(k, `pod="`+p.Name+`"`) {
			t.Errorf("hidden pod still served: %s", k)
		}
	}
	if len(d.samples) != 3+2+3 {
		t.Errorf("%d samples, want 8 (one pod left)", len(d.samples))
	}
	if cpu, mem := f.ExpectedNode(p.Node); cpu != nodeCPU || mem != nodeMem {
		t.Errorf("hiding changed the node's usage")
	}
	if got := d.samples["node_memory_working_set_bytes"].value; got != float64(nodeMem) {
		t.Errorf("node memory %v, want %d", got, nodeMem)
	}
	s := summary(t, f, p.Node)
	if len(s.Pods) != 1 || s.Pods[0].PodRef.Name == p.Name {
		t.Errorf("summary pods %+v, want only the other pod", s.Pods)
	}
	if err := f.ShowPod(p.Namespace, p.Name); err != nil {
		t.Fatal(err)
	}
	if d := scrape(t, f, p.Node); len(d.samples) != 3*2+2*2+3 {
		t.Errorf("after ShowPod: %d samples, want 13", len(d.samples))
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	usage := func(seed uint64) []int64 {
		f, err := New(Config{Nodes: 3, PodsPerNode: 4, Seed: seed, Port: 1, AuthDisabled: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, p := range f.Pods() {
			cpu, mem := f.ExpectedPod(p.Namespace, p.Name)
			if cpu < 5 || cpu > 500 || mem < 32<<20 || mem > 512<<20 || mem%4096 != 0 {
				t.Errorf("pod %s usage %d, %d outside the default ranges", p.Name, cpu, mem)
			}
			out = append(out, cpu, mem)
		}
		return out
	}
	if diff := cmp.Diff(usage(1), usage(1)); diff != "" {
		t.Errorf("same seed, different usage:\n%s", diff)
	}
	if cmp.Equal(usage(1), usage(2)) {
		t.Error("different seeds, same usage")
	}
}

func TestHTTP2AndHealthz(t *testing.T) {
	f, _ := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 1, AuthDisabled: true})
	r := get(t, testClient(f, nil, true), f, "sim-node-0", "/healthz", nil)
	if r.status != 200 || string(r.body) != "ok" || r.proto != "HTTP/2.0" {
		t.Errorf("healthz over h2: %d %q %s", r.status, r.body, r.proto)
	}
	if r := get(t, testClient(f, nil, false), f, "sim-node-0", "/nope", nil); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}
}
