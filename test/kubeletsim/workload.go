package kubeletsim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Workload is a set of identical, labelled pods spread over the nodes, as a
// Deployment would place them, for HPA tests.
type Workload struct {
	Namespace, Name string
	Replicas        int
	// Labels are the pods' labels (and the Deployment's selector). Default
	// {"app": Name}.
	Labels map[string]string
	// Containers must not be empty; their names must be unique.
	Containers []ContainerSpec
	// OwnerDeployment also creates an apps/v1 Deployment with this selector,
	// template and replica count, owning the pods. Nothing reconciles it:
	// use ScaleWorkload to follow its spec.replicas. Its status is kept in
	// step with the pods the fleet runs.
	OwnerDeployment bool
	// StartAge is how long ago the pods started. Default Config.PodStartAge.
	StartAge time.Duration
	// Nodes restricts placement to these nodes. Default: every live node,
	// round-robin across calls.
	Nodes []string
}

type workload struct {
	spec   Workload
	labels map[string]string
	owner  *metav1.OwnerReference
	next   int
}

// AddWorkload creates the workload's pods (named <Name>-<i>) on the nodes,
// in the API and in the simulation, and returns their names. A pod appears
// in its kubelet's output once its API object is Running.
func (f *Fleet) AddWorkload(ctx context.Context, w Workload) ([]string, error) {
	if err := w.validate(); err != nil {
		return nil, err
	}
	if f.cfg.Client == nil {
		return nil, errNoClient
	}
	if w.Labels == nil {
		w.Labels = map[string]string{"app": w.Name}
	}
	if w.StartAge == 0 {
		w.StartAge = f.cfg.PodStartAge
	}
	w.Containers = slices.Clone(w.Containers)
	w.Nodes = slices.Clone(w.Nodes)
	key := podKey{w.Namespace, w.Name}
	f.mu.Lock()
	_, exists := f.workloads[key]
	f.mu.Unlock()
	if exists {
		return nil, fmt.Errorf("workload %v already exists: use ScaleWorkload", key)
	}
	if _, err := f.ensureNamespace(ctx, w.Namespace); err != nil {
		return nil, err
	}
	wl := &workload{spec: w, labels: maps.Clone(w.Labels)}
	wl.labels[simLabel] = "true"
	if w.OwnerDeployment {
		uid, err := f.createDeployment(ctx, w)
		if err != nil {
			return nil, err
		}
		wl.owner = &metav1.OwnerReference{
			APIVersion: "apps/v1", Kind: "Deployment", Name: w.Name, UID: uidOf(uid), Controller: ptr(true),
		}
	}
	f.mu.Lock()
	if _, exists := f.workloads[key]; exists {
		f.mu.Unlock()
		return nil, fmt.Errorf("workload %v already exists: use ScaleWorkload", key)
	}
	f.workloads[key] = wl
	f.mu.Unlock()
	names, err := f.addWorkloadPods(ctx, wl, w.Replicas)
	if err != nil {
		return names, err
	}
	return names, f.syncDeploymentStatus(ctx, wl)
}

func (w *Workload) validate() error {
	var errs []error
	if w.Namespace == "" || w.Name == "" {
		errs = append(errs, errors.New("workload needs a namespace and a name"))
	}
	if w.Replicas < 0 {
		errs = append(errs, fmt.Errorf("workload %s/%s: negative replicas %d", w.Namespace, w.Name, w.Replicas))
	}
	if len(w.Containers) == 0 {
		errs = append(errs, fmt.Errorf("workload %s/%s has no containers", w.Namespace, w.Name))
	}
	seen := map[string]bool{}
	for _, c := range w.Containers {
		if c.Name == "" || seen[c.Name] {
			errs = append(errs, fmt.Errorf("workload %s/%s: container name %q empty or repeated", w.Namespace, w.Name, c.Name))
		}
		seen[c.Name] = true
		if c.CPUMilli < 0 || c.MemBytes < 0 {
			errs = append(errs, fmt.Errorf("workload %s/%s: container %q has negative usage", w.Namespace, w.Name, c.Name))
		}
	}
	return errors.Join(errs...)
}

// ScaleWorkload adds or removes (highest index first) pods of a workload made
// by AddWorkload until it has replicas of them.
func (f *Fleet) ScaleWorkload(ctx context.Context, namespace, name string, replicas int) error {
	if replicas < 0 {
		return fmt.Errorf("negative replicas %d", replicas)
	}
	key := podKey{namespace, name}
	f.mu.RLock()
	wl := f.workloads[key]
	var have []*pod
	if wl != nil {
		have = f.workloadPodsLocked(wl)
	}
	f.mu.RUnlock()
	if wl == nil {
		return fmt.Errorf("workload %v: %w", key, ErrNotFound)
	}
	switch {
	case len(have) < replicas:
		if _, err := f.addWorkloadPods(ctx, wl, replicas-len(have)); err != nil {
			return err
		}
	case len(have) > replicas:
		for _, p := range have[replicas:] {
			if err := f.DeletePod(ctx, p.namespace, p.name); err != nil {
				return err
			}
		}
	}
	return f.syncDeploymentStatus(ctx, wl)
}

// workloadPodsLocked returns the workload's pods by index.
func (f *Fleet) workloadPodsLocked(wl *workload) []*pod {
	var out []*pod
	for _, p := range f.pods {
		if p.workload == wl {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *pod) int { return cmp.Compare(a.index, b.index) })
	return out
}

// addWorkloadPods builds count pods, creates them in the API and adds each to
// the simulation once its object is Running.
func (f *Fleet) addWorkloadPods(ctx context.Context, wl *workload, count int) ([]string, error) {
	f.mu.Lock()
	nowMs := f.nowMs()
	startMs := nowMs - wl.spec.StartAge.Milliseconds()
	pods := make([]*pod, 0, count)
	for range count {
		n, err := f.pickNodeLocked(wl.spec.Nodes)
		if err != nil {
			f.mu.Unlock()
			return nil, err
		}
		var name string
		for {
			name = wl.spec.Name + "-" + strconv.Itoa(wl.next)
			wl.next++
			if f.pods[podKey{wl.spec.Namespace, name}] == nil {
				break
			}
		}
		p := newPod(n, wl.spec.Namespace, name, wl.labels, wl.spec.Containers, startMs, nowMs, f.cfg.Seed)
		p.workload, p.index, p.owner = wl, wl.next-1, wl.owner
		pods = append(pods, p)
	}
	f.mu.Unlock()

	var names []string
	added := make(chan string, len(pods))
	pl := newPool(ctx, min(f.cfg.Workers, max(len(pods), 1)), len(pods), "workload "+wl.spec.Name+" pods", f.cfg.Logf)
	for _, p := range pods {
		pl.do(func(ctx context.Context) (int, error) {
			reqs, err := f.createPod(ctx, p)
			if err == nil {
				f.addPod(p)
				added <- p.name
			}
			return reqs, err
		})
	}
	_, err := pl.wait()
	close(added)
	for n := range added {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, err
}

// pickNodeLocked returns the next live node, round-robin, among allowed (all
// when empty).
func (f *Fleet) pickNodeLocked(allowed []string) (*node, error) {
	if len(allowed) > 0 {
		for range allowed {
			name := allowed[f.nextNode%len(allowed)]
			f.nextNode++
			if n := f.byName[name]; n != nil && !n.gone {
				return n, nil
			}
		}
		return nil, fmt.Errorf("none of the nodes %v exists", allowed)
	}
	for range f.nodes {
		n := f.nodes[f.nextNode%len(f.nodes)]
		f.nextNode++
		if n != nil && !n.gone {
			return n, nil
		}
	}
	return nil, errors.New("no live node to place pods on")
}

// addPod puts a created pod into the simulation.
func (f *Fleet) addPod(p *pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.node.gone {
		return
	}
	p.node.pods = append(p.node.pods, p)
	f.pods[podKey{p.namespace, p.name}] = p
	p.node.rebuild(f.nowMs())
}

func (f *Fleet) createDeployment(ctx context.Context, w Workload) (string, error) {
	tmpl := &pod{labels: w.Labels}
	for _, c := range w.Containers {
		tmpl.containers = append(tmpl.containers, &container{name: c.Name, cpuReq: c.CPURequest, memReq: c.MemRequest})
	}
	podSpec := f.podObject(tmpl)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace, Labels: map[string]string{simLabel: "true"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(w.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: maps.Clone(w.Labels)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(w.Labels)},
				Spec:       podSpec.Spec,
			},
		},
	}
	deps := f.cfg.Client.AppsV1().Deployments(w.Namespace)
	created, err := deps.Create(ctx, d, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = deps.Get(ctx, w.Name, metav1.GetOptions{})
	}
	if err != nil {
		return "", fmt.Errorf("create deployment %s/%s: %w", w.Namespace, w.Name, err)
	}
	return string(created.UID), nil
}

// syncDeploymentStatus makes the owning Deployment's status count the pods
// the fleet runs for it.
func (f *Fleet) syncDeploymentStatus(ctx context.Context, wl *workload) error {
	if wl.owner == nil {
		return nil
	}
	f.mu.RLock()
	n := int32(len(f.workloadPodsLocked(wl)))
	f.mu.RUnlock()
	deps := f.cfg.Client.AppsV1().Deployments(wl.spec.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deps.Get(ctx, wl.spec.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = n, n, n, n
		d.Status.UnavailableReplicas = 0
		_, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", wl.spec.Namespace, wl.spec.Name, err)
	}
	return nil
}

// DeletePod removes the pod from its kubelet's output and deletes its API
// object at once (grace period 0: no kubelet would confirm a graceful
// deletion). It returns an error wrapping ErrNotFound when neither exists.
func (f *Fleet) DeletePod(ctx context.Context, namespace, name string) error {
	f.mu.Lock()
	p := f.pods[podKey{namespace, name}]
	if p != nil {
		f.removePodLocked(p)
		p.node.rebuild(f.nowMs())
	}
	f.mu.Unlock()
	if f.cfg.Client == nil {
		if p == nil {
			return fmt.Errorf("pod %s/%s: %w", namespace, name, ErrNotFound)
		}
		return nil
	}
	err := f.cfg.Client.CoreV1().Pods(namespace).Delete(ctx, name, deleteOptions())
	switch {
	case apierrors.IsNotFound(err) && p == nil:
		return fmt.Errorf("pod %s/%s: %w", namespace, name, ErrNotFound)
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("delete pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

func (f *Fleet) removePodLocked(p *pod) {
	delete(f.pods, podKey{p.namespace, p.name})
	p.node.pods = slices.DeleteFunc(p.node.pods, func(q *pod) bool { return q == p })
}

// DeleteNode stops the node's kubelet (its listener closes; open
// connections are dropped on their next request), forgets its pods, and
// deletes the node and its pods from the API.
func (f *Fleet) DeleteNode(ctx context.Context, name string) error {
	f.mu.Lock()
	n := f.byName[name]
	if n == nil {
		f.mu.Unlock()
		return fmt.Errorf("node %q: %w", name, ErrNotFound)
	}
	n.gone = true
	pods := slices.Clone(n.pods)
	for _, p := range pods {
		f.removePodLocked(p)
	}
	delete(f.byName, name)
	delete(f.byAddr, n.addr)
	f.nodes[n.index] = nil
	ln := n.ln
	n.ln = nil
	f.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	f.certs.forget(n.addr)
	if f.cfg.Client == nil {
		return nil
	}
	for _, p := range pods {
		err := f.cfg.Client.CoreV1().Pods(p.namespace).Delete(ctx, p.name, deleteOptions())
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete pod %s/%s: %w", p.namespace, p.name, err)
		}
	}
	err := f.cfg.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %q: %w", name, err)
	}
	return nil
}
