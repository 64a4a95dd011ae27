package kubeletsim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The simulated kubelet's identity, as it shows in Node.status.nodeInfo and
// pod container statuses.
const (
	kubeletVersion = "v1.37.2"
	runtimeVersion = "kubeletsim://1.0.0"
	podImage       = "registry.k8s.io/pause:3.10"
	podImageID     = "registry.k8s.io/pause@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a"
)

// CreateStats reports what Create did and how fast.
type CreateStats struct {
	Namespaces, Nodes, Pods int
	// Requests is the number of API write requests issued.
	Requests int
	// Elapsed is wall-clock time (not Config.Clock: it measures the
	// harness, not the simulation).
	Elapsed time.Duration
}

// PerMinute is the creation rate, objects per minute.
func (s CreateStats) PerMinute() (nodes, pods float64) {
	m := s.Elapsed.Minutes()
	if m <= 0 {
		return 0, 0
	}
	return float64(s.Nodes) / m, float64(s.Pods) / m
}

func (s CreateStats) String() string {
	n, p := s.PerMinute()
	return fmt.Sprintf("%d namespaces, %d nodes, %d pods, %d requests in %v (%.0f nodes/min, %.0f pods/min, %.0f requests/s)",
		s.Namespaces, s.Nodes, s.Pods, s.Requests, s.Elapsed.Round(time.Millisecond), n, p,
		float64(s.Requests)/max(s.Elapsed.Seconds(), 1e-9))
}

// Create creates, in the apiserver, the configured namespaces with a
// `default` ServiceAccount each, every node (status included) and every pod
// New built (then its status: Running and Ready). Objects that already exist
// are reused and their status rewritten, so Create may be run again. It uses
// Config.Workers concurrent requests and logs progress every 5 s through
// Config.Logf. Call Start first when Config.Port is AnyPort, so that the
// nodes publish their real ports.
func (f *Fleet) Create(ctx context.Context) (CreateStats, error) {
	if f.cfg.Client == nil {
		return CreateStats{}, errNoClient
	}
	if f.cfg.Port == AnyPort && !f.isStarted() {
		return CreateStats{}, errors.New("kubeletsim: Start before Create when Port is AnyPort")
	}
	start := time.Now()
	var st CreateStats
	for _, ns := range f.cfg.Namespaces {
		n, err := f.ensureNamespace(ctx, ns)
		st.Requests += n
		if err != nil {
			return st, err
		}
		st.Namespaces++
	}
	f.mu.RLock()
	var nodes []*node
	var pods []*pod
	for _, n := range f.nodes {
		if n != nil && !n.gone {
			nodes = append(nodes, n)
			pods = append(pods, n.pods...)
		}
	}
	f.mu.RUnlock()

	p := newPool(ctx, f.cfg.Workers, len(nodes)+len(pods), "objects", f.cfg.Logf)
	for _, n := range nodes {
		p.do(func(ctx context.Context) (int, error) { return f.createNode(ctx, n) })
	}
	for _, pd := range pods {
		p.do(func(ctx context.Context) (int, error) { return f.createPod(ctx, pd) })
	}
	reqs, err := p.wait()
	st.Requests += reqs
	st.Elapsed = time.Since(start)
	if err != nil {
		return st, err
	}
	st.Nodes, st.Pods = len(nodes), len(pods)
	f.cfg.Logf("kubeletsim: created %v", st)
	return st, nil
}

func (f *Fleet) isStarted() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.started
}

// ensureNamespace creates the namespace and its default ServiceAccount
// (no ServiceAccount controller runs in the test cluster, and pod creation
// fails without it). It returns the number of requests made.
func (f *Fleet) ensureNamespace(ctx context.Context, name string) (int, error) {
	cs := f.cfg.Client.CoreV1()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{simLabel: "true"}}}
	if _, err := cs.Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return 1, fmt.Errorf("create namespace %q: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := cs.ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return 2, fmt.Errorf("create service account %s/default: %w", name, err)
	}
	return 2, nil
}

// createNode creates the node with its status in one request (the API allows
// status on Node create) and falls back to the status subresource when the
// server dropped it or the node already existed.
func (f *Fleet) createNode(ctx context.Context, n *node) (int, error) {
	f.mu.RLock()
	obj := f.nodeObject(n)
	f.mu.RUnlock()
	nodes := f.cfg.Client.CoreV1().Nodes()
	created, err := nodes.Create(ctx, obj, metav1.CreateOptions{})
	reqs := 1
	if apierrors.IsAlreadyExists(err) {
		created, err = nodes.Get(ctx, obj.Name, metav1.GetOptions{})
		reqs++
		if created != nil {
			created.Status.Addresses = nil // force the status update below
		}
	}
	if err != nil {
		return reqs, fmt.Errorf("create node %q: %w", obj.Name, err)
	}
	if len(created.Status.Addresses) == 0 || created.Status.DaemonEndpoints.KubeletEndpoint.Port != obj.Status.DaemonEndpoints.KubeletEndpoint.Port {
		created.Status = obj.Status
		reqs++
		if _, err := nodes.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return reqs, fmt.Errorf("update status of node %q: %w", obj.Name, err)
		}
	}
	return reqs, nil
}

func (f *Fleet) nodeObject(n *node) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname":         n.name,
		"kubernetes.io/os":               "linux",
		"kubernetes.io/arch":             "amd64",
		"node-role.kubernetes.io/worker": "",
		simLabel:                         "true",
	}
	for k, v := range f.cfg.NodeLabels {
		labels[k] = v
	}
	start := metav1.NewTime(time.UnixMilli(n.startMs))
	now := metav1.NewTime(f.cfg.Clock.Now())
	res := corev1.ResourceList{
		corev1.ResourceCPU:    f.cfg.NodeCPU,
		corev1.ResourceMemory: f.cfg.NodeMemory,
		corev1.ResourcePods:   *resource.NewQuantity(int64(f.cfg.NodePods), resource.DecimalSI),
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: start}
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels},
		Status: corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			Phase:       corev1.NodeRunning,
			Conditions: []corev1.NodeCondition{
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
				cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "simulated kubelet is posting ready status"),
			},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.addr.String()},
				{Type: corev1.NodeHostName, Address: n.name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.port)}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               deterministicUID(f.cfg.Seed, "machine", n.name),
				SystemUUID:              deterministicUID(f.cfg.Seed, "system", n.name),
				BootID:                  deterministicUID(f.cfg.Seed, "boot", n.name),
				KernelVersion:           "6.1.0-kubeletsim",
				OSImage:                 "kubeletsim",
				ContainerRuntimeVersion: runtimeVersion,
				KubeletVersion:          kubeletVersion,
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

// createPod creates the pod, then sets its status (the API resets status on
// pod create) and records the UID the apiserver assigned.
func (f *Fleet) createPod(ctx context.Context, p *pod) (int, error) {
	f.mu.RLock()
	obj := f.podObject(p)
	f.mu.RUnlock()
	pods := f.cfg.Client.CoreV1().Pods(p.namespace)
	created, err := pods.Create(ctx, obj, metav1.CreateOptions{})
	reqs := 1
	if apierrors.IsAlreadyExists(err) {
		created, err = pods.Get(ctx, obj.Name, metav1.GetOptions{})
		reqs++
	}
	if err != nil {
		return reqs, fmt.Errorf("create pod %s/%s: %w", p.namespace, p.name, err)
	}
	f.mu.RLock()
	status := f.podStatus(p, created.Status.QOSClass)
	f.mu.RUnlock()
	created.Status = status
	reqs++
	updated, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return reqs, fmt.Errorf("update status of pod %s/%s: %w", p.namespace, p.name, err)
	}
	if updated.UID != "" {
		f.mu.Lock()
		p.uid = string(updated.UID)
		f.mu.Unlock()
	}
	return reqs, nil
}

func (f *Fleet) podObject(p *pod) *corev1.Pod {
	labels := make(map[string]string, len(p.labels)+1)
	for k, v := range p.labels {
		labels[k] = v
	}
	labels[simLabel] = "true"
	obj := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: p.namespace, Labels: labels},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  ptr(false),
			EnableServiceLinks:            ptr(false),
			TerminationGracePeriodSeconds: ptr(int64(0)),
			Containers:                    make([]corev1.Container, len(p.containers)),
		},
	}
	if p.node != nil {
		obj.Spec.NodeName = p.node.name
	}
	if p.owner != nil {
		obj.OwnerReferences = []metav1.OwnerReference{*p.owner}
	}
	for i, c := range p.containers {
		obj.Spec.Containers[i] = corev1.Container{
			Name:  c.name,
			Image: podImage,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    c.cpuReq,
				corev1.ResourceMemory: c.memReq,
			}},
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy:          corev1.PullIfNotPresent,
		}
	}
	return obj
}

// podStatus is a Running, Ready pod that started at its simulated start time.
// qos is the class the apiserver computed, which may not change.
func (f *Fleet) podStatus(p *pod, qos corev1.PodQOSClass) corev1.PodStatus {
	start := metav1.NewTime(time.UnixMilli(p.startMs))
	ready := metav1.NewTime(time.UnixMilli(p.startMs + 1000))
	cond := func(t corev1.PodConditionType, at metav1.Time) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: at}
	}
	st := corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			cond(corev1.PodReadyToStartContainers, start),
			cond(corev1.PodInitialized, start),
			cond(corev1.PodReady, ready),
			cond(corev1.ContainersReady, ready),
			cond(corev1.PodScheduled, start),
		},
		HostIP:            p.node.addr.String(),
		HostIPs:           []corev1.HostIP{{IP: p.node.addr.String()}},
		StartTime:         &start,
		QOSClass:          qos,
		ContainerStatuses: make([]corev1.ContainerStatus, len(p.containers)),
	}
	for i, c := range p.containers {
		st.ContainerStatuses[i] = corev1.ContainerStatus{
			Name:         c.name,
			Ready:        true,
			Started:      ptr(true),
			RestartCount: c.restarts,
			Image:        podImage,
			ImageID:      podImageID,
			ContainerID:  "kubeletsim://" + deterministicUID(f.cfg.Seed, p.namespace+"/"+p.name, c.name+"/"+strconv.Itoa(int(c.restarts))),
			State:        corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(time.UnixMilli(c.startMs))}},
		}
	}
	return st
}

// deleteOptions delete at once: no kubelet will confirm a graceful deletion.
func deleteOptions() metav1.DeleteOptions {
	return metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}
}

// uidOf converts for owner references.
func uidOf(s string) types.UID { return types.UID(s) }
