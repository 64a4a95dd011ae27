package vpa

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

var (
	vpaGVR        = schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalers"}
	checkpointGVR = schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalercheckpoints"}
)

// The simulated Deployment: replicas pods of two containers. app's usage
// differs per pod, so the target shows which percentile VPA took; sidecar
// uses less than its share of the pod minimum, so the target shows the
// minimum.
const (
	workload   = "web"
	replicas   = 15
	app        = "app"
	sidecar    = "sidecar"
	containers = 2
	// samplesPerPod is how many rounds the recommender must have fed from
	// every pod before its recommendation is read.
	samplesPerPod = 3
)

func appUsage(i int) (cpuMilli, memBytes int64) {
	return 100 + 30*int64(i), (128 + 32*int64(i)) << 20
}

const sidecarCPUMilli, sidecarMemBytes = 2, 16 << 20

// TestRecommendation runs the recommender against each server in turn, on
// a Deployment of its own, and requires the target VPA's rules give for
// the simulator's usage, and the same target from both.
func TestRecommendation(t *testing.T) {
	var appCPU, appMem []int64
	for i := range replicas {
		c, m := appUsage(i)
		appCPU, appMem = append(appCPU, c), append(appMem, m)
	}
	if err := checkDistinct(appCPU, cpuFirstBucketCores, 0.001); err != nil {
		t.Fatalf("app's CPU usages prove nothing: %v", err)
	}
	if err := checkDistinct(appMem, memFirstBucketBytes, 1); err != nil {
		t.Fatalf("app's memory usages prove nothing: %v", err)
	}
	got := map[string]map[string]corev1.ResourceList{}
	for _, s := range []*bed.Server{env.ringmetrics, env.metricsServer} {
		t.Run(s.Name, func(t *testing.T) { got[s.Name] = recommend(t, s) })
	}
	rm, ms := got[env.ringmetrics.Name], got[env.metricsServer.Name]
	if rm == nil || ms == nil {
		return
	}
	for _, c := range []string{app, sidecar} {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			a, b := rm[c][r], ms[c][r]
			if a.Cmp(b) != 0 {
				t.Errorf("container %s: %s target %s from ringmetrics, %s from metrics-server", c, r, a.String(), b.String())
			}
		}
	}
}

// recommend creates the Deployment in a namespace for s, serves
// metrics.k8s.io from s, runs a fresh recommender until it has fed
// samplesPerPod rounds from every pod, checks its targets against VPA's
// rules, and returns them by container.
func recommend(t *testing.T, s *bed.Server) map[string]corev1.ResourceList {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ns := "vpa-" + s.Name
	fleet := env.bed.Fleet
	pods, err := fleet.AddWorkload(ctx, kubeletsim.Workload{
		Namespace: ns, Name: workload, Replicas: replicas, OwnerDeployment: true,
		Containers: []kubeletsim.ContainerSpec{
			{Name: app, CPURequest: resource.MustParse("200m"), MemRequest: resource.MustParse("256Mi")},
			{Name: sidecar, CPURequest: resource.MustParse("10m"), MemRequest: resource.MustParse("32Mi")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The simulator's truth, container by container.
	truth := map[string][2]int64{}
	for i, pod := range pods {
		c, m := appUsage(i)
		if err := fleet.SetUsage(ns, pod, app, c, m); err != nil {
			t.Fatal(err)
		}
		if err := fleet.SetUsage(ns, pod, sidecar, sidecarCPUMilli, sidecarMemBytes); err != nil {
			t.Fatal(err)
		}
		for _, container := range []string{app, sidecar} {
			c, m := fleet.ExpectedContainer(ns, pod, container)
			truth[pod+"/"+container] = [2]int64{c, m}
		}
	}
	if err := env.bed.Use(ctx, s); err != nil {
		t.Fatalf("registering %s: %v", s.Name, err)
	}
	bed.TailOnFailure(t, s.Process)
	// The recommender must read only the new usage: a CPU rate spanning the
	// change would be a sample of neither.
	waitServes(t, s, ns, truth)

	rec := startRecommender(t, s.Name)
	vpas := env.bed.Dynamic.Resource(vpaGVR).Namespace(ns)
	vpa := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.k8s.io/v1",
		"kind":       "VerticalPodAutoscaler",
		"metadata":   map[string]any{"name": workload},
		"spec": map[string]any{
			"targetRef":    map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
			"updatePolicy": map[string]any{"updateMode": "Off"},
		},
	}}
	if _, err := vpas.Create(ctx, vpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vpas.Delete(context.Background(), workload, metav1.DeleteOptions{}) })

	start := time.Now()
	var status vpaStatus
	bed.Eventually(t, 3*time.Minute, time.Second, func() error {
		select {
		case <-rec.Exited():
			t.Fatalf("the recommender exited:\n%s", bed.Tail(rec.LogPath, 30))
		default:
		}
		for _, c := range []string{app, sidecar} {
			cp, err := env.bed.Dynamic.Resource(checkpointGVR).Namespace(ns).Get(ctx, workload+"-"+c, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("checkpoint of %s: %w", c, err)
			}
			var st checkpointStatus
			if err := decodeStatus(cp, &st); err != nil {
				return err
			}
			if st.TotalSamplesCount < samplesPerPod*replicas {
				return fmt.Errorf("checkpoint of %s: %d CPU samples, want %d (%d rounds of %d pods)", c, st.TotalSamplesCount, samplesPerPod*replicas, samplesPerPod, replicas)
			}
			if !st.LastSampleStart.After(st.FirstSampleStart.Time) {
				return fmt.Errorf("checkpoint of %s: samples from %v to %v", c, st.FirstSampleStart, st.LastSampleStart)
			}
		}
		obj, err := vpas.Get(ctx, workload, metav1.GetOptions{})
		if err != nil {
			return err
		}
		status = vpaStatus{}
		if err := decodeStatus(obj, &status); err != nil {
			return err
		}
		if status.Recommendation == nil || len(status.Recommendation.ContainerRecommendations) != containers {
			return fmt.Errorf("no recommendation for both containers yet: %+v", status)
		}
		return nil
	})
	t.Logf("%s: recommendation after %v", s.Name, time.Since(start).Round(time.Second))
	_ = rec.Stop()

	targets := map[string]corev1.ResourceList{}
	for _, r := range status.Recommendation.ContainerRecommendations {
		targets[r.ContainerName] = r.Target
	}
	var cpu, mem [containers][]int64
	for i, c := range []string{app, sidecar} {
		for _, pod := range pods {
			u := truth[pod+"/"+c]
			cpu[i], mem[i] = append(cpu[i], u[0]), append(mem[i], u[1])
		}
		checkTarget(t, s.Name, c, targets[c], cpu[i], mem[i])
	}
	return targets
}

// checkTarget compares one container's target with what VPA's rules give
// for the simulator's usage: exactly, with VPA's bucket arithmetic, and
// within the band the documented rules allow without it.
func checkTarget(t *testing.T, server, container string, target corev1.ResourceList, cpu, mem []int64) {
	t.Helper()
	gotCPU, gotMem := target.Cpu().MilliValue(), target.Memory().Value()
	wantCPU, wantMem := expectedCPU(cpu, containers), expectedMemory(mem, containers)
	cpuK, memK := kth(floats(cpu), targetPercentile), kth(floats(mem), targetPercentile)
	// A server's CPU may be 1m off the truth (metrics.k8s.io rounds up to
	// the nanocore, VPA up to the millicore); memory is exact.
	cpuLo, _ := band(cpuK-1, cpuFirstBucketCores*1000, podMinCPUMilli, containers, 1)
	_, cpuHi := band(cpuK+1, cpuFirstBucketCores*1000, podMinCPUMilli, containers, 1)
	memLo, memHi := band(memK, memFirstBucketBytes, podMinMemoryMB*1024*1024, containers, 1)
	t.Logf("%s: %s target cpu %dm (expected %dm, documented band [%.1fm, %.1fm]; 90th percentile of usage %.0fm), memory %d (expected %d, band [%.0f, %.0f]; 90th percentile %.0f)",
		server, container, gotCPU, wantCPU, cpuLo, cpuHi, cpuK, gotMem, wantMem, memLo, memHi, memK)
	if gotCPU != wantCPU || float64(gotCPU) < cpuLo || float64(gotCPU) > cpuHi {
		t.Errorf("%s: %s CPU target %dm, want %dm (band [%.1fm, %.1fm])", server, container, gotCPU, wantCPU, cpuLo, cpuHi)
	}
	if gotMem != wantMem || float64(gotMem) < memLo || float64(gotMem) > memHi {
		t.Errorf("%s: %s memory target %d, want %d (band [%.0f, %.0f])", server, container, gotMem, wantMem, memLo, memHi)
	}
}

func floats(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// waitServes waits until s serves every container of ns at the simulator's
// usage: CPU within a millicore, memory exactly.
func waitServes(t *testing.T, s *bed.Server, ns string, truth map[string][2]int64) {
	t.Helper()
	client, err := bed.AdminClient(env.bed.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	bed.Eventually(t, 90*time.Second, time.Second, func() error {
		var list metricsv1beta1.PodMetricsList
		if _, err := bed.GetJSON(client, s.URL()+"/apis/metrics.k8s.io/v1beta1/namespaces/"+ns+"/pods", &list); err != nil {
			return err
		}
		seen := 0
		for _, p := range list.Items {
			for _, c := range p.Containers {
				want, ok := truth[p.Name+"/"+c.Name]
				if !ok {
					continue
				}
				cpu, mem := c.Usage.Cpu().ScaledValue(resource.Nano), c.Usage.Memory().Value()
				if d := cpu - want[0]*1e6; d < -1e6 || d > 1e6 || mem != want[1] {
					return fmt.Errorf("%s serves %s/%s at %dn, %d bytes; the simulator uses %dm, %d", s.Name, p.Name, c.Name, cpu, mem, want[0], want[1])
				}
				seen++
			}
		}
		if seen != len(truth) {
			return fmt.Errorf("%s serves %d of the %d containers of %s", s.Name, seen, len(truth), ns)
		}
		return nil
	})
}

// startRecommender runs a fresh recommender out of cluster: its state comes
// only from what it reads from now on (checkpoint storage, no Prometheus).
func startRecommender(t *testing.T, server string) *bed.Process {
	t.Helper()
	port, err := bed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := bed.StartProcess("vpa-recommender-"+server, env.vpa.Recommender, []string{
		"--kubeconfig=" + env.kubeconfig,
		"--storage=checkpoint",
		"--recommender-interval=" + recommenderInterval.String(),
		// Its own /metrics and health check.
		"--address=127.0.0.1:" + strconv.Itoa(port),
		"--v=3",
	}, env.bed.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Stop() })
	bed.TailOnFailure(t, rec)
	return rec
}

// vpaStatus and checkpointStatus are the parts of the VPA objects' status
// the test reads (k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1).
type vpaStatus struct {
	Recommendation *struct {
		ContainerRecommendations []struct {
			ContainerName string              `json:"containerName"`
			Target        corev1.ResourceList `json:"target"`
		} `json:"containerRecommendations"`
	} `json:"recommendation"`
	Conditions []struct {
		Type, Status, Reason, Message string
	} `json:"conditions"`
}

type checkpointStatus struct {
	FirstSampleStart  metav1.Time `json:"firstSampleStart"`
	LastSampleStart   metav1.Time `json:"lastSampleStart"`
	TotalSamplesCount int         `json:"totalSamplesCount"`
}

func decodeStatus(obj *unstructured.Unstructured, into any) error {
	b, err := json.Marshal(obj.Object["status"])
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}
