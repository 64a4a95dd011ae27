package pods

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

func resources(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// decoded returns a fresh copy of s, as the informer's decoder allocates
// every string of every pod it reads.
func decoded(s string) string { return strings.Clone(s) }

// fullPod is a pod as the apiserver sends it: most of its bytes are what
// Trim drops.
func fullPod(name string) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: decoded("team-a"), UID: "0b4f6a5e-9f51-4d3c-8d1b-7d1c8a3a7e11", ResourceVersion: "12345",
			Labels:          map[string]string{decoded("app"): decoded("web"), decoded("pod-template-hash"): decoded("5d8f7c9b6d")},
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
				Name: decoded("app"), Image: "registry.example/web:v3", Command: []string{"/web", "--port=8080"},
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

func TestTrim(t *testing.T) {
	got, err := Trim(fullPod("web-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-1", Namespace: "team-a", UID: "0b4f6a5e-9f51-4d3c-8d1b-7d1c8a3a7e11", ResourceVersion: "12345",
		},
		Labels: Labels{{"app", "web"}, {"pod-template-hash", "5d8f7c9b6d"}},
		Containers: []Container{
			{Name: "app", CPURequestMilli: 100, MemoryRequestBytes: 128 << 20, CPULimitMilli: -1, MemoryLimitBytes: 256 << 20},
			// The sidecar, after the containers; the plain init container
			// is gone.
			{Name: "proxy", CPURequestMilli: 20, MemoryRequestBytes: 32 << 20, CPULimitMilli: -1, MemoryLimitBytes: -1},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Trim (-want +got):\n%s", diff)
	}
	// Trimming is idempotent: an informer may pass an object through twice.
	again, _ := Trim(got)
	if again != got {
		t.Errorf("Trim(*Pod) = %v, want it unchanged", again)
	}
	// Anything else (a tombstone, say) passes through.
	if got, _ := Trim("x"); got != "x" {
		t.Errorf("Trim(string) = %v", got)
	}
}

func TestIndexerLister(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range []*corev1.Pod{fullPod("web-1"), fullPod("web-2")} {
		obj, _ := Trim(p)
		if err := indexer.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := Trim(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "db-0", Labels: map[string]string{"app": "db"}}})
	if err := indexer.Add(other); err != nil {
		t.Fatal(err)
	}
	l := IndexerLister{Indexer: indexer}
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

// TestTrimRetainedBytes measures what a trimmed pod costs the informer's
// cache, for the note on the pod informer: the heap a set of them
// keeps alive, decoded objects dropped. It fails if a pod costs more than
// 1 KiB, which would mean the transform kept something it should not.
func TestTrimRetainedBytes(t *testing.T) {
	const n = 20_000
	kept := make([]any, n)
	before := heapInUse()
	for i := range kept {
		kept[i], _ = Trim(fullPod(fmt.Sprintf("web-%d", i)))
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

// TestTrimInterns checks that the strings pods share are held once: two pods
// of one workload point at the same bytes for their namespace, label keys and
// values and container names, while each keeps its own name.
func TestTrimInterns(t *testing.T) {
	a, _ := Trim(fullPod("web-1"))
	b, _ := Trim(fullPod("web-2"))
	pa, pb := a.(*Pod), b.(*Pod)
	same := func(what, x, y string) {
		t.Helper()
		if x != y || unsafe.StringData(x) != unsafe.StringData(y) {
			t.Errorf("%s: %q and %q are not one interned string", what, x, y)
		}
	}
	same("namespace", pa.Namespace, pb.Namespace)
	same("label value", pa.Labels.Get("pod-template-hash"), pb.Labels.Get("pod-template-hash"))
	same("container name", pa.Containers[0].Name, pb.Containers[0].Name)
	for i := range pa.Labels {
		same("label key", pa.Labels[i].Key, pb.Labels[i].Key)
	}
	if unsafe.StringData(pa.Name) == unsafe.StringData(pb.Name) {
		t.Error("two pods share one name's bytes")
	}
	// An unset namespace or label map stays unset rather than becoming an
	// empty, allocated one.
	c, _ := Trim(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare"}})
	if pc := c.(*Pod); pc.Labels != nil || pc.Namespace != "" {
		t.Errorf("bare pod trimmed to labels %v namespace %q", pc.Labels, pc.Namespace)
	}
}

// TestLabels checks the sorted labels against the map they come from: the
// order, each lookup, and a selector matched through labels.Labels, over
// label sets of every size up to a dozen, keys in random order.
func TestLabels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 13 {
		m := map[string]string{}
		for len(m) < n {
			m[fmt.Sprintf("k%d", rng.IntN(100))] = fmt.Sprintf("v%d", rng.IntN(3))
		}
		l := SortedLabels(m)
		if len(l) != len(m) || !slices.IsSortedFunc(l, func(a, b Label) int { return strings.Compare(a.Key, b.Key) }) {
			t.Fatalf("SortedLabels(%v) = %v: not the map's labels in key order", m, l)
		}
		if diff := cmp.Diff(map[string]string(labels.Set(m)), l.Map(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Map() (-want +got):\n%s", diff)
		}
		for _, key := range []string{"k0", "k7", "k42", "k99", "missing"} {
			want, wantOK := m[key]
			if got, ok := l.Lookup(key); got != want || ok != wantOK || l.Has(key) != wantOK || l.Get(key) != want {
				t.Errorf("%v: Lookup(%q) = %q, %v; want %q, %v", m, key, got, ok, want, wantOK)
			}
		}
		for _, expr := range []string{"k7", "!k7", "k7=v1", "k7!=v1", "k7 in (v0,v2)", "k7,k42 notin (v1)"} {
			sel, err := labels.Parse(expr)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sel.Matches(l), sel.Matches(labels.Set(m)); got != want {
				t.Errorf("%q on %v: %v, the map gives %v", expr, m, got, want)
			}
		}
	}
	if SortedLabels(nil) != nil || SortedLabels(map[string]string{}) != nil || Labels(nil).Map() != nil {
		t.Error("no labels should stay nil")
	}
}
