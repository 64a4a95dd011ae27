package kubeletsim

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestCreate(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	f, clk := newTestFleet(t, Config{Nodes: 3, PodsPerNode: 4, ContainersPerPod: 2, Seed: 1, Client: cs,
		Namespaces: []string{"a", "b"}, NodeLabels: map[string]string{"pool": "sim"}, AuthDisabled: true})
	st, err := f.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Namespaces != 2 || st.Nodes != 3 || st.Pods != 12 || st.Requests != 2*2+3+2*12 {
		t.Errorf("stats %+v", st)
	}

	for _, ns := range []string{"a", "b"} {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Errorf("service account %s/default: %v", ns, err)
		}
	}

	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 3 {
		t.Fatalf("%d nodes, %v", len(nodes.Items), err)
	}
	for _, n := range nodes.Items {
		info, _ := f.Node(n.Name)
		for k, v := range map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "pool": "sim"} {
			if n.Labels[k] != v {
				t.Errorf("node %s label %s=%q, want %q", n.Name, k, n.Labels[k], v)
			}
		}
		wantAddrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: info.Addr.String()}, {Type: corev1.NodeHostName, Address: n.Name}}
		if diff := cmp.Diff(wantAddrs, n.Status.Addresses); diff != "" {
			t.Errorf("node %s addresses (-want +got):\n%s", n.Name, diff)
		}
		if p := n.Status.DaemonEndpoints.KubeletEndpoint.Port; p == 0 || int(p) != info.Port {
			t.Errorf("node %s kubelet port %d, want %d", n.Name, p, info.Port)
		}
		if c := n.Status.Capacity[corev1.ResourceCPU]; c.Cmp(resource.MustParse("32")) != 0 {
			t.Errorf("node %s cpu capacity %v", n.Name, c.String())
		}
		if _, ok := n.Status.Allocatable[corev1.ResourcePods]; !ok {
			t.Errorf("node %s has no allocatable pods", n.Name)
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}
		if !ready {
			t.Errorf("node %s not Ready", n.Name)
		}
	}

	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 12 {
		t.Fatalf("%d pods, %v", len(pods.Items), err)
	}
	wantStart := clk.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Labels["app"] == "" || p.Labels[simLabel] != "true" {
			t.Errorf("pod %s: node %q, labels %v", p.Name, p.Spec.NodeName, p.Labels)
		}
		if len(p.Spec.Containers) != 2 {
			t.Fatalf("pod %s has %d containers", p.Name, len(p.Spec.Containers))
		}
		for _, c := range p.Spec.Containers {
			if r := c.Resources.Requests[corev1.ResourceCPU]; r.Cmp(resource.MustParse("100m")) != 0 {
				t.Errorf("pod %s container %s cpu request %v", p.Name, c.Name, r.String())
			}
		}
		st := p.Status
		if st.Phase != corev1.PodRunning || st.StartTime == nil || !st.StartTime.Time.Truncate(time.Second).Equal(wantStart) {
			t.Errorf("pod %s: phase %s, start %v", p.Name, st.Phase, st.StartTime)
		}
		conds := map[corev1.PodConditionType]corev1.ConditionStatus{}
		for _, c := range st.Conditions {
			conds[c.Type] = c.Status
		}
		for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
			if conds[ct] != corev1.ConditionTrue {
				t.Errorf("pod %s condition %s = %q", p.Name, ct, conds[ct])
			}
		}
		if len(st.ContainerStatuses) != 2 || !st.ContainerStatuses[0].Ready || st.ContainerStatuses[0].State.Running == nil {
			t.Errorf("pod %s container statuses %+v", p.Name, st.ContainerStatuses)
		}
	}

	// Create again: everything exists, statuses are rewritten, no error.
	if _, err := f.Create(ctx); err != nil {
		t.Errorf("second Create: %v", err)
	}
}

func TestWorkloads(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	f, clk := newTestFleet(t, Config{Nodes: 3, PodsPerNode: 1, Seed: 1, Client: cs, AuthDisabled: true})
	if _, err := f.Create(ctx); err != nil {
		t.Fatal(err)
	}
	w := Workload{
		Namespace: "hpa", Name: "web", Replicas: 4, OwnerDeployment: true,
		Containers: []ContainerSpec{{Name: "web", CPURequest: resource.MustParse("100m"), MemRequest: resource.MustParse("64Mi"), CPUMilli: 80, MemBytes: 50 << 20}},
	}
	names, err := f.AddWorkload(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"web-0", "web-1", "web-2", "web-3"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if _, err := f.AddWorkload(ctx, w); err == nil {
		t.Error("second AddWorkload of the same workload accepted")
	}
	dep, err := cs.AppsV1().Deployments("hpa").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 4 || dep.Spec.Selector.MatchLabels["app"] != "web" || dep.Status.ReadyReplicas != 4 {
		t.Errorf("deployment spec replicas %d, selector %v, ready %d", *dep.Spec.Replicas, dep.Spec.Selector.MatchLabels, dep.Status.ReadyReplicas)
	}
	perNode := map[string]int{}
	for _, name := range names {
		p, err := cs.CoreV1().Pods("hpa").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		perNode[p.Spec.NodeName]++
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "Deployment" || p.Labels["app"] != "web" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: owners %v, labels %v, phase %s", name, p.OwnerReferences, p.Labels, p.Status.Phase)
		}
		if cpu, mem := f.ExpectedPod("hpa", name); cpu != 80 || mem != 50<<20 {
			t.Errorf("pod %s expected %d, %d", name, cpu, mem)
		}
	}
	if len(perNode) != 3 {
		t.Errorf("pods not spread: %v", perNode)
	}
	// The kubelet serves the new pods at exactly their usage.
	node := f.podsByName("hpa", "web-0").node.name
	d1 := scrape(t, f, node)
	clk.Step(10 * time.Second)
	d2 := scrape(t, f, node)
	key := containerKey("container_cpu_usage_seconds_total", "hpa", "web-0", "web")
	if got := (nanos(d2.samples[key].value) - nanos(d1.samples[key].value)) / 10; got != 80e6 {
		t.Errorf("web-0 rate %d nanocores, want 80e6", got)
	}

	if n, err := f.SetUsageForSelector("hpa", "app=web", 150, -1); err != nil || n != 4 {
		t.Errorf("SetUsageForSelector: %d, %v", n, err)
	}

	// Scale up then down.
	if err := f.ScaleWorkload(ctx, "hpa", "web", 6); err != nil {
		t.Fatal(err)
	}
	if cpu, _ := f.ExpectedPod("hpa", "web-5"); cpu != 80 {
		t.Errorf("new pod web-5 cpu %d, want the workload's 80", cpu)
	}
	if err := f.ScaleWorkload(ctx, "hpa", "web", 2); err != nil {
		t.Fatal(err)
	}
	list, _ := cs.CoreV1().Pods("hpa").List(ctx, metav1.ListOptions{})
	var got []string
	for _, p := range list.Items {
		got = append(got, p.Name)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"web-0", "web-1"}, got); diff != "" {
		t.Errorf("pods after scale-down (-want +got):\n%s", diff)
	}
	if dep, _ := cs.AppsV1().Deployments("hpa").Get(ctx, "web", metav1.GetOptions{}); dep.Status.Replicas != 2 {
		t.Errorf("deployment status replicas %d, want 2", dep.Status.Replicas)
	}
	if cpu, _ := f.ExpectedPod("hpa", "web-3"); cpu != 0 {
		t.Error("deleted pod still simulated")
	}

	// DeletePod and DeleteNode remove both sides.
	if err := f.DeletePod(ctx, "hpa", "web-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.DeletePod(ctx, "hpa", "web-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeletePod: %v", err)
	}
	victim := f.podsByName("hpa", "web-0").node.name
	info, _ := f.Node(victim)
	if err := f.DeleteNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{}); err == nil {
		t.Error("node object survived DeleteNode")
	}
	if _, err := cs.CoreV1().Pods("hpa").Get(ctx, "web-0", metav1.GetOptions{}); err == nil {
		t.Error("pod object survived DeleteNode")
	}
	if _, ok := f.Node(victim); ok || len(f.Nodes()) != 2 {
		t.Error("node still simulated")
	}
	c := testClient(f, nil, false)
	if _, err := c.Get("https://" + info.Endpoint() + "/healthz"); err == nil {
		t.Error("deleted node still answers")
	}
}

// podsByName is a test helper reaching into the model.
func (f *Fleet) podsByName(ns, name string) *pod {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.pods[podKey{ns, name}]
}

// TestCreateRate measures Create's own ceiling: the clientset answers every
// write at once without storing anything (the field-managed fake tracker
// costs about 4 ms per write and would measure itself). The rate against a
// real apiserver is an end-to-end measurement.
func TestCreateRate(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	cs := fake.NewClientset()
	var uids atomic.Int64
	cs.PrependReactor("*", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		var obj runtime.Object
		switch a := action.(type) {
		case k8stesting.CreateAction:
			obj = a.GetObject().DeepCopyObject()
		case k8stesting.UpdateAction:
			obj = a.GetObject().DeepCopyObject()
		default:
			return false, nil, nil
		}
		if m, err := meta.Accessor(obj); err == nil && m.GetUID() == "" {
			m.SetUID(types.UID(strconv.FormatInt(uids.Add(1), 10)))
		}
		return true, obj, nil
	})
	f, err := New(Config{Nodes: 1000, PodsPerNode: 30, Seed: 1, Client: cs, AuthDisabled: true, Port: DefaultPort})
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("echoing clientset: %v", st)
	if p := f.Pods()[0]; len(p.UID) == 36 { // still the deterministic UUID
		t.Errorf("pod UID %q not taken from the API", p.UID)
	}
}
