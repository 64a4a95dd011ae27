package usage

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

func resources(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// fullPod is a pod as the apiserver sends it: most of its bytes are what
// TrimPod drops.
func fullPod(name string) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "team-a", UID: "0b4f6a5e-9f51-4d3c-8d1b-7d1c8a3a7e11", ResourceVersion: "12345",
			Labels:          map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b6d"},
			Annotations:     map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-30T12:00:00Z", "prometheus.io/scrape": "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7c9b6d", UID: "uid"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: make([]byte, 2048)}}},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1",
			InitContainers: []corev1.Container{
				{Name: "migrate", Image: "registry.example/migrate:v1", Resources: corev1.ResourceRequirements{Requests: resources("cpu", "1")}},
				{Name: "proxy", Image: "registry.example/proxy:v2", RestartPolicy: &always,
					Resources: corev1.ResourceRequirements{Requests: resources("cpu", "20m", "memory", "32Mi")}},
			},
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/web:v3", Command: []string{"/web", "--port=8080"},
				Env:   []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "LOG", Value: "info"}},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				Resources: corev1.ResourceRequirements{
					Requests: resources("cpu", "100m", "memory", "128Mi"),
					Limits:   resources("memory", "256Mi"),
					Claims:   []corev1.ResourceClaim{{Name: "gpu"}},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "token", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}},
			}},
			Volumes: []corev1.Volume{{Name: "token"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7",
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, Image: "registry.example/web:v3"}}},
	}
}

func TestTrimPod(t *testing.T) {
	got, err := TrimPod(fullPod("web-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-1", Namespace: "team-a", UID: "0b4f6a5e-9f51-4d3c-8d1b-7d1c8a3a7e11", ResourceVersion: "12345",
			Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f7c9b6d"},
		},
		Containers: []Container{
			{Name: "app", CPURequestMilli: 100, MemoryRequestBytes: 128 << 20, CPULimitMilli: -1, MemoryLimitBytes: 256 << 20},
			// The sidecar, after the containers; the plain init container
			// is gone.
			{Name: "proxy", CPURequestMilli: 20, MemoryRequestBytes: 32 << 20, CPULimitMilli: -1, MemoryLimitBytes: -1},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TrimPod (-want +got):\n%s", diff)
	}
	// Trimming is idempotent: an informer may pass an object through twice.
	again, _ := TrimPod(got)
	if again != got {
		t.Errorf("TrimPod(*Pod) = %v, want it unchanged", again)
	}
	// Anything else (a tombstone, say) passes through.
	if got, _ := TrimPod("x"); got != "x" {
		t.Errorf("TrimPod(string) = %v", got)
	}
}

func TestContainerResources(t *testing.T) {
	amounts := func(r *v1alpha1.Resources) []string {
		if r == nil {
			return nil
		}
		out := []string{"-", "-"}
		if r.CPU != nil {
			out[0] = r.CPU.String()
		}
		if r.Memory != nil {
			out[1] = r.Memory.String()
		}
		return out
	}
	for _, tc := range []struct {
		name               string
		requests, limits   corev1.ResourceList
		wantReq, wantLimit []string
	}{
		{"none", nil, nil, nil, nil},
		{"cpu and memory", resources("cpu", "0.5", "memory", "1Gi"), resources("cpu", "2"), []string{"500m", "1Gi"}, []string{"2", "-"}},
		{"zero is a request", resources("cpu", "0"), nil, []string{"0", "-"}, nil},
		{"other resources are not kept", resources("ephemeral-storage", "1Gi", "memory", "64Mi"), nil, []string{"-", "64Mi"}, nil},
		{"sub-millicore rounds up", resources("cpu", "100u"), nil, []string{"1m", "-"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := trimContainer(&corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: tc.requests, Limits: tc.limits}})
			if got := amounts(c.requests()); !slices.Equal(got, tc.wantReq) {
				t.Errorf("requests %v, want %v", got, tc.wantReq)
			}
			if got := amounts(c.limits()); !slices.Equal(got, tc.wantLimit) {
				t.Errorf("limits %v, want %v", got, tc.wantLimit)
			}
		})
	}
}

func TestIndexerPodLister(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range []*corev1.Pod{fullPod("web-1"), fullPod("web-2")} {
		obj, _ := TrimPod(p)
		if err := indexer.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := TrimPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "db-0", Labels: map[string]string{"app": "db"}}})
	if err := indexer.Add(other); err != nil {
		t.Fatal(err)
	}
	l := IndexerPodLister{Indexer: indexer}
	count := func(namespace, selector string) int {
		t.Helper()
		pods, err := l.List(namespace, labels.SelectorFromSet(labels.Set(parseSet(selector))))
		if err != nil {
			t.Fatal(err)
		}
		return len(pods)
	}
	if n := count("", ""); n != 3 {
		t.Errorf("all: %d", n)
	}
	if n := count("team-a", ""); n != 2 {
		t.Errorf("team-a: %d", n)
	}
	if n := count("", "app=db"); n != 1 {
		t.Errorf("app=db: %d", n)
	}
	if p, err := l.Get("team-b", "db-0"); err != nil || p.Name != "db-0" {
		t.Errorf("Get: %v %v", p, err)
	}
	if _, err := l.Get("team-b", "web-1"); !apierrors.IsNotFound(err) {
		t.Errorf("Get of a missing pod: %v", err)
	}
}

func parseSet(s string) map[string]string {
	if s == "" {
		return nil
	}
	k, v, _ := strings.Cut(s, "=")
	return map[string]string{k: v}
}

// TestTrimPodRetainedBytes measures what a trimmed pod costs the informer's
// cache, for the note on the second pod informer: the heap a set of them
// keeps alive, decoded objects dropped. It fails if a pod costs more than
// 1 KiB, which would mean the transform kept something it should not.
func TestTrimPodRetainedBytes(t *testing.T) {
	const n = 20_000
	kept := make([]any, n)
	before := heapInUse()
	for i := range kept {
		kept[i], _ = TrimPod(fullPod(fmt.Sprintf("web-%d", i)))
	}
	after := heapInUse()
	perPod := float64(after-before) / n
	runtime.KeepAlive(kept)
	t.Logf("a trimmed pod (2 labels, a container and a sidecar with requests and limits) retains %.0f bytes", perPod)
	if perPod > 1024 {
		t.Errorf("a trimmed pod retains %.0f bytes, want at most 1 KiB", perPod)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
