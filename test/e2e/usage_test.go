package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

const (
	usageAPI       = "/apis/usage.ringmetrics.dev/v1alpha1"
	usageNamespace = "usage-e2e"
	usageWorkload  = "steps"

	// The stepped container: low, a spike, medium, then a restart at
	// medium. Each phase spans several of ringmetrics' 2 s resolutions, so
	// that the spike holds at least three whole pairs of points.
	lowMilli, spikeMilli, mediumMilli = 100, 900, 400
	lowMem, spikeMem, mediumMem       = 100 << 20, 400 << 20, 200 << 20
	phase                             = 12 * time.Second
	// The sidecar runs steady beside it.
	sideMilli, sideMem = 20, 50 << 20
	// narrow is the ?window= that keeps only points after the restart.
	narrow = 8 * time.Second
)

// TestUsageHistory steps a simulated container's usage (low, a spike,
// medium, a restart) and reads usage.ringmetrics.dev through the real
// aggregator and kubectl 1.27–1.33: the p95, max and recommendation the
// steps imply, computed here from what the test told the simulator at the
// server's own timestamps; no rate of the restart; ?window= keeping exactly
// the newest points; the table agreeing with the JSON; a deleted pod gone.
func TestUsageHistory(t *testing.T) {
	use(t, env.ringmetrics)
	tailOnFailure(t, env.ringmetrics)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	fleet := env.bed.Fleet
	names, err := fleet.AddWorkload(ctx, kubeletsim.Workload{
		Namespace: usageNamespace, Name: usageWorkload, Replicas: 1,
		Containers: []kubeletsim.ContainerSpec{
			{Name: "app", CPURequest: resource.MustParse("250m"), MemRequest: resource.MustParse("256Mi"), CPUMilli: lowMilli, MemBytes: lowMem},
			{Name: "side", CPURequest: resource.MustParse("50m"), MemRequest: resource.MustParse("64Mi"), CPUMilli: sideMilli, MemBytes: sideMem},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pod := names[0]
	t.Cleanup(func() { _ = fleet.DeletePod(context.Background(), usageNamespace, pod) })
	admin, base := apiserverClient(t, "e2e-admin", "", "system:masters")
	podURL := base + usageAPI + "/namespaces/" + usageNamespace + "/podusages/" + pod

	app := usageSchedule{cpuMilli: lowMilli, memBytes: lowMem}
	side := usageSchedule{cpuMilli: sideMilli, memBytes: sideMem}
	change := func(cpuMilli, memBytes int64, restart bool, do func() error) {
		t.Helper()
		from := time.Now().UnixMilli()
		if err := do(); err != nil {
			t.Fatal(err)
		}
		app.changes = append(app.changes, usageChange{fromMs: from, toMs: time.Now().UnixMilli(), cpuMilli: cpuMilli, memBytes: memBytes, restart: restart})
	}
	// Low until the server holds a few points of the new pod.
	eventually(t, 60*time.Second, func() error {
		var p usagePod
		code, err := bed.GetJSON(admin, podURL, &p)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET podusage %s: %d %v", pod, code, err)
		}
		if c := p.container("app"); c == nil || c.Usage.Points < 6 {
			return fmt.Errorf("podusage %s: %+v, want 6 points of app", pod, p.Containers)
		}
		return nil
	})
	start := time.Now()
	change(spikeMilli, spikeMem, false, func() error { return fleet.SetUsage(usageNamespace, pod, "app", spikeMilli, spikeMem) })
	time.Sleep(phase)
	change(mediumMilli, mediumMem, false, func() error { return fleet.SetUsage(usageNamespace, pod, "app", mediumMilli, mediumMem) })
	time.Sleep(phase)
	change(mediumMilli, mediumMem, true, func() error { return fleet.RestartContainer(usageNamespace, pod, "app") })
	time.Sleep(phase)
	t.Logf("stepped %s/%s app: %dm, %dm, %dm and a restart over %v", usageNamespace, pod, lowMilli, spikeMilli, mediumMilli, time.Since(start).Round(time.Second))

	var full usagePod
	t.Run("steps", func(t *testing.T) {
		full = getUsage(t, admin, podURL+"?samples=true")
		checkContainer(t, full, "app", app, 2)
		checkContainer(t, full, "side", side, 2)
		c := full.container("app")
		if t.Failed() || c == nil {
			return
		}
		// What the steps imply, beyond the computed bounds: the spike is the
		// max and the 95th and 90th percentiles (it spans more pairs than
		// the top 5 % and 10 % of the rates), the restart gives no rate
		// and nothing above the spike.
		for name, q := range map[string]resource.Quantity{"max": c.Usage.CPU.Max, "p95": c.Usage.CPU.P95, "p90": c.Usage.CPU.P90} {
			if q.Cmp(*resource.NewMilliQuantity(spikeMilli, resource.DecimalSI)) != 0 {
				t.Errorf("app cpu %s = %s, want the spike, %dm", name, q.String(), spikeMilli)
			}
		}
		if c.Usage.Memory.Max.Value() != spikeMem || c.Usage.Restarts != 1 {
			t.Errorf("app memory max %s, restarts %d; want %dMi and 1", c.Usage.Memory.Max.String(), c.Usage.Restarts, spikeMem>>20)
		}
		for _, s := range c.Samples {
			if s.CPU != nil && (s.CPU.Sign() < 0 || s.CPU.MilliValue() > spikeMilli) {
				t.Errorf("app sample at %v: cpu %s outside [0, %dm]", s.Timestamp, s.CPU.String(), spikeMilli)
			}
		}
		wantRec := map[string]string{"cpu": "1035m", "memory": "460Mi"} // 900m and 400Mi × 1.15
		for r, want := range wantRec {
			if got := c.Recommendation[r]; got.Cmp(resource.MustParse(want)) != 0 {
				t.Errorf("app recommended %s = %s, want %s", r, got.String(), want)
			}
		}
		if got := c.Ratios; got.CPUP95 == nil || *got.CPUP95 != 360 || got.MemoryMax == nil || *got.MemoryMax != 156 {
			t.Errorf("app ratios %+v, want cpuP95 360 (900m / 250m), memoryMax 156 (400Mi / 256Mi)", got)
		}
		checkTotals(t, full)
	})

	t.Run("window", func(t *testing.T) {
		var fullNow, narrowed usagePod
		// Two requests: the server may take a point between them, then ask
		// again.
		eventually(t, 20*time.Second, func() error {
			fullNow = getUsage(t, admin, podURL+"?samples=true")
			narrowed = getUsage(t, admin, podURL+"?samples=true&window="+narrow.String())
			if !fullNow.Timestamp.Equal(narrowed.Timestamp) {
				return fmt.Errorf("a point arrived between the two requests")
			}
			return nil
		})
		for _, name := range []string{"app", "side"} {
			all, got := fullNow.container(name).Samples, narrowed.container(name).Samples
			newest := all[len(all)-1].Timestamp
			var want []time.Time
			for _, s := range all {
				if newest.Sub(s.Timestamp) <= narrow {
					want = append(want, s.Timestamp)
				}
			}
			var gotTimes []time.Time
			for _, s := range got {
				gotTimes = append(gotTimes, s.Timestamp)
			}
			if !slices.EqualFunc(want, gotTimes, time.Time.Equal) || narrowed.container(name).Usage.Points != len(want) {
				t.Errorf("%s window=%v: points %v (%d), want exactly those of the full history %v after %v", name, narrow, gotTimes, narrowed.container(name).Usage.Points, want, newest.Add(-narrow))
			}
		}
		checkContainer(t, narrowed, "app", app, 2)
		c := narrowed.container("app")
		if c.Usage.Restarts != 0 || c.Usage.CPU.Max.MilliValue() != mediumMilli || c.Usage.Memory.Max.Value() != mediumMem {
			t.Errorf("app over the last %v: restarts %d, cpu max %s, memory max %s; want 0, %dm, %dMi", narrow, c.Usage.Restarts, c.Usage.CPU.Max.String(), c.Usage.Memory.Max.String(), mediumMilli, mediumMem>>20)
		}
		if got := c.Recommendation["cpu"]; got.MilliValue() != 460 { // 400m × 1.15
			t.Errorf("app recommended cpu over the last %v: %s, want 460m", narrow, got.String())
		}
	})

	t.Run("table agrees with JSON", func(t *testing.T) {
		checkTableAgrees(t, admin, base+usageAPI+"/namespaces/"+usageNamespace+"/podusages?includeObject=Object")
	})

	t.Run("kubectl", func(t *testing.T) {
		for _, v := range kubectlVersions {
			t.Run(v, func(t *testing.T) { checkKubectlUsage(t, kubectlBinary(t, v), pod) })
		}
	})

	t.Run("plot recipe", func(t *testing.T) { checkPlotRecipe(t, admin, podURL, pod) })

	t.Run("deleted pod leaves", func(t *testing.T) {
		if err := fleet.DeletePod(ctx, usageNamespace, pod); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error {
			code, err := bed.GetJSON(admin, podURL, nil)
			if err != nil || code != http.StatusNotFound {
				return fmt.Errorf("GET deleted podusage: %d %v", code, err)
			}
			var list usagePodList
			if code, err := bed.GetJSON(admin, base+usageAPI+"/podusages", &list); err != nil || code != http.StatusOK {
				return fmt.Errorf("LIST podusages: %d %v", code, err)
			}
			for _, it := range list.Items {
				if it.Metadata.Namespace == usageNamespace && it.Metadata.Name == pod {
					return fmt.Errorf("LIST still has the deleted pod")
				}
			}
			return nil
		})
	})
}

// getUsage GETs one PodUsage.
func getUsage(t *testing.T, c *http.Client, url string) usagePod {
	t.Helper()
	var p usagePod
	code, err := bed.GetJSON(c, url, &p)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, code, err)
	}
	return p
}

// checkContainer checks a container's samples and summary against what the
// schedule implies at the server's own timestamps, and its recommendation
// against the documented rule.
func checkContainer(t *testing.T, p usagePod, name string, s usageSchedule, containers int64) {
	t.Helper()
	c := p.container(name)
	if c == nil {
		t.Fatalf("%s has no container %s", p.Metadata.Name, name)
	}
	if len(c.Samples) != c.Usage.Points {
		t.Fatalf("%s: %d samples, %d points", name, len(c.Samples), c.Usage.Points)
	}
	times := make([]int64, len(c.Samples))
	for i, sm := range c.Samples {
		times[i] = sm.Timestamp.UnixMilli()
	}
	e := s.expect(times)
	for i, sm := range c.Samples {
		if !e.memory[i].has(sm.Memory.Value()) {
			t.Errorf("%s sample %d (%v): memory %d, the schedule says %v", name, i, sm.Timestamp, sm.Memory.Value(), e.memory[i])
		}
		if i == 0 {
			if sm.CPU != nil {
				t.Errorf("%s: the first sample has a rate %s", name, sm.CPU.String())
			}
			continue
		}
		r := e.rates[i-1]
		switch {
		case r.lo < 0 && sm.CPU != nil:
			t.Errorf("%s sample %d (%v): rate %s across a restart", name, i, sm.Timestamp, sm.CPU.String())
		case r.lo >= 0 && (sm.CPU == nil || !r.has(sm.CPU.ScaledValue(resource.Nano))):
			t.Errorf("%s sample %d (%v): rate %v, the schedule says %v nanocores", name, i, sm.Timestamp, sm.CPU, r)
		}
	}
	u := c.Usage
	for _, f := range []struct {
		name string
		got  int64
		want bound
	}{
		{"cpu avg", u.CPU.Avg.ScaledValue(resource.Nano), e.cpuAvg},
		{"cpu p50", u.CPU.P50.ScaledValue(resource.Nano), e.cpuP50},
		{"cpu p90", u.CPU.P90.ScaledValue(resource.Nano), e.cpuP90},
		{"cpu p95", u.CPU.P95.ScaledValue(resource.Nano), e.cpuP95},
		{"cpu max", u.CPU.Max.ScaledValue(resource.Nano), e.cpuMax},
		{"memory avg", u.Memory.Avg.Value(), e.memAvg},
		{"memory p95", u.Memory.P95.Value(), e.memP95},
		{"memory max", u.Memory.Max.Value(), e.memMax},
		{"restarts", int64(u.Restarts), bound{int64(e.restarts), int64(e.restarts)}},
		{"window ms", mustDuration(t, u.Window).Milliseconds(), bound{times[len(times)-1] - times[0], times[len(times)-1] - times[0]}},
	} {
		if !f.want.has(f.got) {
			t.Errorf("%s %s = %d, the schedule implies %v", name, f.name, f.got, f.want)
		}
	}
	recCPU, recMem := c.Recommendation["cpu"], c.Recommendation["memory"]
	if want := (bound{recommendedCPU(e.cpuP90.lo, containers), recommendedCPU(e.cpuP90.hi, containers)}); !want.has(recCPU.MilliValue()) {
		t.Errorf("%s recommended cpu %s, the rule gives %vm", name, recCPU.String(), want)
	}
	if want := (bound{recommendedMemory(e.memMax.lo, containers), recommendedMemory(e.memMax.hi, containers)}); !want.has(recMem.Value()) {
		t.Errorf("%s recommended memory %s, the rule gives %v bytes", name, recMem.String(), want)
	}
}

// checkTotals checks the pod's totals are the sums of its containers'.
func checkTotals(t *testing.T, p usagePod) {
	t.Helper()
	var p95, maxCPU, memMax, recCPU, recMem, reqCPU, reqMem resource.Quantity
	for _, c := range p.Containers {
		p95.Add(c.Usage.CPU.P95)
		maxCPU.Add(c.Usage.CPU.Max)
		memMax.Add(c.Usage.Memory.Max)
		recCPU.Add(c.Recommendation["cpu"])
		recMem.Add(c.Recommendation["memory"])
		reqCPU.Add(c.Requests["cpu"])
		reqMem.Add(c.Requests["memory"])
	}
	for _, f := range []struct {
		name      string
		got, want resource.Quantity
	}{
		{"cpu p95", p.Total.CPU.P95, p95}, {"cpu max", p.Total.CPU.Max, maxCPU}, {"memory max", p.Total.Memory.Max, memMax},
		{"recommended cpu", p.Total.Recommendation["cpu"], recCPU}, {"recommended memory", p.Total.Recommendation["memory"], recMem},
		{"requested cpu", p.Total.Requests["cpu"], reqCPU}, {"requested memory", p.Total.Requests["memory"], reqMem},
	} {
		if f.got.Cmp(f.want) != 0 {
			t.Errorf("total %s = %s, the containers sum to %s", f.name, f.got.String(), f.want.String())
		}
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("window %q: %v", s, err)
	}
	return d
}
