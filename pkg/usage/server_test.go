package usage_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/api/openapi"
	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
	"github.com/ringmetrics/ringmetrics/pkg/usage"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

const (
	mi    = 1 << 20
	t0    = int64(1_772_366_400_000)
	group = "/apis/usage.ringmetrics.dev/v1alpha1"
)

// pts builds points 10 s apart from t0, from (CPU milliseconds, MiB) pairs.
func pts(pairs ...[2]uint64) []sample.Point {
	out := make([]sample.Point, len(pairs))
	for i, p := range pairs {
		out[i] = sample.Point{TimestampMs: t0 + int64(i)*10_000, CPUNanos: p[0] * 1_000_000, MemoryBytes: p[1] * mi}
	}
	return out
}

// histories is the store the server reads: a fake of the HistoryReader.
type histories struct {
	nodes      map[string][]sample.Point
	containers map[string][]sample.Point // "namespace/pod/container"
}

func (h histories) NodeHistory(node string, dst []sample.Point) ([]sample.Point, bool) {
	p, ok := h.nodes[node]
	return append(dst, p...), ok
}

func (h histories) ContainerHistory(namespace, pod, container string, dst []sample.Point) ([]sample.Point, bool) {
	p, ok := h.containers[namespace+"/"+pod+"/"+container]
	return append(dst, p...), ok
}

var data = histories{
	nodes: map[string][]sample.Point{
		// Rates 500m, 700m, 600m; 2, 3, 3, 4 GiB.
		"node-1": pts([2]uint64{0, 2048}, [2]uint64{5000, 3072}, [2]uint64{12000, 3072}, [2]uint64{18000, 4096}),
	},
	containers: map[string][]sample.Point{
		// Rates 100m, 100m, 300m, 100m, 100m; average 7 s / 50 s = 140m.
		// Memory 100, 100, 110, 120, 100, 100 MiB: average 105, p95 120.
		"x/web-1/app": pts([2]uint64{0, 100}, [2]uint64{1000, 100}, [2]uint64{2000, 110}, [2]uint64{5000, 120}, [2]uint64{6000, 100}, [2]uint64{7000, 100}),
		// 10m throughout, 10 MiB.
		"x/web-1/log": pts([2]uint64{0, 10}, [2]uint64{100, 10}, [2]uint64{200, 10}, [2]uint64{300, 10}, [2]uint64{400, 10}, [2]uint64{500, 10}),
		// A restart between the second and third points: 200m either side.
		"x/db-0/db": pts([2]uint64{50000, 200}, [2]uint64{52000, 200}, [2]uint64{1000, 50}, [2]uint64{3000, 60}),
		// One point: no rate yet.
		"y/new/app": pts([2]uint64{0, 1}),
	},
}

func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// pod is a pod as the informer keeps it, through pods.Trim.
func pod(namespace, name string, labels map[string]string, containers ...corev1.Container) *pods.Pod {
	p, err := pods.Trim(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels}, Spec: corev1.PodSpec{Containers: containers}})
	if err != nil {
		panic(err)
	}
	return p.(*pods.Pod)
}

// startServer runs a generic apiserver serving the group, its handler
// chain wrapped in WithQuery as pkg/server wires it, until the test ends.
func startServer(t *testing.T) (string, *http.Client) {
	t.Helper()
	// The listers pkg/server serves from, over indexers filled as its
	// informers fill them.
	nodeStore := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	podStore := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := errors.Join(
		nodeStore.Replace([]any{
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"zone": "a"}}},
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-2"}},
		}, ""),
		podStore.Replace([]any{
			pod("x", "web-1", map[string]string{"app": "web"},
				container("app", list("cpu", "100m", "memory", "128Mi"), list("memory", "256Mi")),
				container("log", list("cpu", "50m"), nil)),
			pod("x", "db-0", map[string]string{"app": "db"}, container("db", nil, nil)),
			pod("y", "new", map[string]string{"app": "web"}, container("app", nil, nil)),
			pod("y", "gone", nil, container("app", nil, nil)),
		}, ""),
	); err != nil {
		t.Fatal(err)
	}

	cfg := genericapiserver.NewRecommendedConfig(usage.Codecs.CodecFactory)
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	namer := openapinamer.NewDefinitionNamer(usage.Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title, cfg.OpenAPIConfig.Info.Version = "ringmetrics", "test"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title, cfg.OpenAPIV3Config.Info.Version = "ringmetrics", "test"
	build := cfg.BuildHandlerChainFunc
	cfg.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		return build(usage.WithQuery(h), c)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secure := options.NewSecureServingOptions().WithLoopback()
	secure.Listener = listener
	secure.BindAddress = net.IPv4(127, 0, 0, 1)
	secure.ServerCert.CertDirectory = t.TempDir()
	secure.ServerCert.PairName = "ringmetrics"
	if err := secure.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := secure.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		t.Fatal(err)
	}
	server, err := cfg.Complete().New("usage-test", genericapiserver.NewEmptyDelegate())
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktesting.NewFakePassiveClock(time.UnixMilli(t0 + 60_000))
	if err := usage.Install(server, usage.Config{Reader: data, Nodes: corelisters.NewNodeLister(nodeStore), Pods: pods.IndexerLister{Indexer: podStore}, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.PrepareRun().RunWithContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("server did not stop within a minute")
		}
	})
	client, err := rest.HTTPClientFor(cfg.LoopbackClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	client.Timeout = 30 * time.Second
	return cfg.LoopbackClientConfig.Host, client
}

func get(t *testing.T, client *http.Client, url, accept string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func mustGet(t *testing.T, client *http.Client, url string, into any) {
	t.Helper()
	code, _, body := get(t, client, url, "application/json")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

// res is cpu and memory resources, "" for absent.
func res(cpu, memory string) *v1alpha1.Resources {
	r := &v1alpha1.Resources{}
	if cpu != "" {
		c := q(cpu)
		r.CPU = &c
	}
	if memory != "" {
		m := q(memory)
		r.Memory = &m
	}
	return r
}

func pct(v int64) *int64 { return &v }

func TestServer(t *testing.T) {
	base, client := startServer(t)
	ts := func(ms int64) metav1.Time { return metav1.Time{Time: time.UnixMilli(ms)} }
	secs := func(s int) metav1.Duration { return metav1.Duration{Duration: time.Duration(s) * time.Second} }
	// Quantities compare by value; the JSON round trip keeps the text.
	opts := cmp.Options{cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })}

	webApp := v1alpha1.ContainerUsage{
		Name: "app",
		Usage: v1alpha1.Summary{Timestamp: ts(t0 + 50_000), Window: secs(50), Points: 6,
			CPU:    v1alpha1.CPUStats{Avg: q("140m"), P50: q("100m"), P90: q("300m"), P95: q("300m"), Max: q("300m")},
			Memory: v1alpha1.MemoryStats{Avg: q("105Mi"), P95: q("120Mi"), Max: q("120Mi")}},
		Requests: res("100m", "128Mi"),
		Limits:   res("", "256Mi"),
		// 300m × 1.15; 120Mi × 1.15 = 138Mi; both above the floors split in two.
		Recommendation: v1alpha1.Recommendation{CPU: q("345m"), Memory: q("138Mi")},
		Ratios:         v1alpha1.Ratios{CPUP95: pct(300), CPUMax: pct(300), MemoryMax: pct(94)},
	}
	webLog := v1alpha1.ContainerUsage{
		Name: "log",
		Usage: v1alpha1.Summary{Timestamp: ts(t0 + 50_000), Window: secs(50), Points: 6,
			CPU:    v1alpha1.CPUStats{Avg: q("10m"), P50: q("10m"), P90: q("10m"), P95: q("10m"), Max: q("10m")},
			Memory: v1alpha1.MemoryStats{Avg: q("10Mi"), P95: q("10Mi"), Max: q("10Mi")}},
		Requests: res("50m", ""),
		// 11.5m and 11.5Mi are below the floors' halves: 12.5m → 13m, 125Mi.
		Recommendation: v1alpha1.Recommendation{CPU: q("13m"), Memory: q("125Mi")},
		Ratios:         v1alpha1.Ratios{CPUP95: pct(20), CPUMax: pct(20)},
	}
	web := v1alpha1.PodUsage{
		TypeMeta:   metav1.TypeMeta{Kind: "PodUsage", APIVersion: "usage.ringmetrics.dev/v1alpha1"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "web-1", Labels: map[string]string{"app": "web"}, CreationTimestamp: ts(t0 + 60_000)},
		Timestamp:  ts(t0 + 50_000),
		Window:     secs(50),
		Total: v1alpha1.Total{
			CPU:    v1alpha1.CPUStats{Avg: q("150m"), P50: q("110m"), P90: q("310m"), P95: q("310m"), Max: q("310m")},
			Memory: v1alpha1.MemoryStats{Avg: q("115Mi"), P95: q("130Mi"), Max: q("130Mi")},
			// Only cpu is requested by both containers; only app has a limit.
			Requests:       res("150m", ""),
			Recommendation: v1alpha1.Recommendation{CPU: q("358m"), Memory: q("263Mi")},
			Ratios:         v1alpha1.Ratios{CPUP95: pct(207), CPUMax: pct(207)},
		},
		Containers: []v1alpha1.ContainerUsage{webApp, webLog},
	}

	t.Run("get pod", func(t *testing.T) {
		var got v1alpha1.PodUsage
		mustGet(t, client, base+group+"/namespaces/x/podusages/web-1", &got)
		if diff := cmp.Diff(web, got, opts); diff != "" {
			t.Errorf("web-1 (-want +got):\n%s", diff)
		}
	})

	t.Run("restart", func(t *testing.T) {
		var got v1alpha1.PodUsage
		mustGet(t, client, base+group+"/namespaces/x/podusages/db-0", &got)
		u := got.Containers[0].Usage
		if u.Restarts != 1 || u.Points != 4 || u.CPU.Max.Cmp(q("200m")) != 0 || u.CPU.Avg.Cmp(q("200m")) != 0 || u.CPU.P50.Cmp(q("200m")) != 0 {
			t.Errorf("db-0: %+v, want 1 restart and 200m throughout", u)
		}
		if got.Containers[0].Requests != nil || got.Total.Requests != nil || got.Total.Ratios != (v1alpha1.Ratios{}) {
			t.Errorf("db-0 requests nothing: %+v", got)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, path := range []string{"/namespaces/y/podusages/new", "/namespaces/y/podusages/gone", "/namespaces/y/podusages/nothing", "/nodeusages/node-2", "/nodeusages/node-3"} {
			code, _, body := get(t, client, base+group+path, "")
			if code != http.StatusNotFound || !strings.Contains(string(body), `"reason":"NotFound"`) || !strings.Contains(string(body), "usage.ringmetrics.dev") {
				t.Errorf("GET %s: %d %s", path, code, body)
			}
		}
	})

	names := func(items []v1alpha1.PodUsage) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Namespace+"/"+it.Name)
		}
		return out
	}
	t.Run("list pods", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			want []string
		}{
			{"/podusages", []string{"x/db-0", "x/web-1"}},
			{"/namespaces/x/podusages", []string{"x/db-0", "x/web-1"}},
			{"/namespaces/y/podusages", nil},
			{"/podusages?labelSelector=app%3Dweb", []string{"x/web-1"}},
			{"/podusages?fieldSelector=metadata.name%3Ddb-0", []string{"x/db-0"}},
			{"/podusages?fieldSelector=metadata.namespace%21%3Dx", nil},
			{"/namespaces/x/podusages?fieldSelector=metadata.name%21%3Ddb-0", []string{"x/web-1"}},
		} {
			var got v1alpha1.PodUsageList
			mustGet(t, client, base+group+tc.path, &got)
			if !slices.Equal(names(got.Items), tc.want) || got.Kind != "PodUsageList" {
				t.Errorf("%s: %s %v, want %v", tc.path, got.Kind, names(got.Items), tc.want)
			}
		}
		var got v1alpha1.PodUsageList
		mustGet(t, client, base+group+"/podusages?labelSelector=app%3Dweb", &got)
		if diff := cmp.Diff(web, got.Items[0], opts, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "TypeMeta" }, cmp.Ignore())); diff != "" {
			t.Errorf("listed web-1 differs from the GET (-want +got):\n%s", diff)
		}
		code, _, body := get(t, client, base+group+"/podusages?fieldSelector=spec.nodeName%3Dn", "")
		if code != http.StatusBadRequest || !strings.Contains(string(body), "spec.nodeName") {
			t.Errorf("unsupported field: %d %s", code, body)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		var got v1alpha1.NodeUsageList
		mustGet(t, client, base+group+"/nodeusages", &got)
		if len(got.Items) != 1 || got.Items[0].Name != "node-1" || got.Items[0].Labels["zone"] != "a" {
			t.Fatalf("nodes: %+v", got.Items)
		}
		u := got.Items[0].Usage
		want := v1alpha1.Summary{Timestamp: ts(t0 + 30_000), Window: secs(30), Points: 4,
			CPU:    v1alpha1.CPUStats{Avg: q("600m"), P50: q("600m"), P90: q("700m"), P95: q("700m"), Max: q("700m")},
			Memory: v1alpha1.MemoryStats{Avg: q("3Gi"), P95: q("4Gi"), Max: q("4Gi")}}
		if diff := cmp.Diff(want, u, opts); diff != "" {
			t.Errorf("node-1 (-want +got):\n%s", diff)
		}
		for _, path := range []string{"/nodeusages?labelSelector=zone%3Db", "/nodeusages?fieldSelector=metadata.name%3Dnode-2"} {
			var none v1alpha1.NodeUsageList
			mustGet(t, client, base+group+path, &none)
			if len(none.Items) != 0 {
				t.Errorf("%s: %d items", path, len(none.Items))
			}
		}
	})

	t.Run("window narrows", func(t *testing.T) {
		var got v1alpha1.PodUsage
		mustGet(t, client, base+group+"/namespaces/x/podusages/web-1?window=20s", &got)
		u := got.Containers[0].Usage
		// Points at 30, 40 and 50 s: rates 100m, 100m; memory 120, 100, 100.
		if u.Points != 3 || u.Window.Duration != 20*time.Second || u.CPU.Max.Cmp(q("100m")) != 0 || u.Memory.Max.Cmp(q("120Mi")) != 0 || got.Window.Duration != 20*time.Second {
			t.Errorf("window=20s: %+v", u)
		}
		var nodes v1alpha1.NodeUsageList
		mustGet(t, client, base+group+"/nodeusages?window=10s", &nodes)
		if n := nodes.Items[0].Usage; n.Points != 2 || n.CPU.Max.Cmp(q("600m")) != 0 {
			t.Errorf("node window=10s: %+v", n)
		}
		// A window too short for a rate leaves nothing to serve.
		code, _, _ := get(t, client, base+group+"/namespaces/x/podusages/web-1?window=5s", "")
		if code != http.StatusNotFound {
			t.Errorf("window=5s: %d, want 404", code)
		}
	})

	t.Run("samples", func(t *testing.T) {
		var plain v1alpha1.PodUsage
		mustGet(t, client, base+group+"/namespaces/x/podusages/db-0", &plain)
		if plain.Containers[0].Samples != nil {
			t.Errorf("samples without ?samples=true")
		}
		var got v1alpha1.PodUsage
		mustGet(t, client, base+group+"/namespaces/x/podusages/db-0?samples=true", &got)
		s := got.Containers[0].Samples
		if len(s) != 4 || s[0].CPU != nil || s[1].CPU.Cmp(q("200m")) != 0 || s[2].CPU != nil || s[3].CPU.Cmp(q("200m")) != 0 ||
			s[2].Memory.Cmp(q("50Mi")) != 0 || !s[3].Timestamp.Time.Equal(time.UnixMilli(t0+30_000)) {
			t.Errorf("db-0 samples: %+v", s)
		}
		var nodes v1alpha1.NodeUsageList
		mustGet(t, client, base+group+"/nodeusages?samples=true&window=10s", &nodes)
		if n := nodes.Items[0].Samples; len(n) != 2 || n[1].CPU.Cmp(q("600m")) != 0 {
			t.Errorf("node samples: %+v", n)
		}
	})

	t.Run("bad query", func(t *testing.T) {
		for _, query := range []string{"window=5", "window=-1m", "window=0s", "samples=maybe", "window=1m&window=2m"} {
			code, ctype, body := get(t, client, base+group+"/podusages?"+query, "")
			var st metav1.Status
			if err := json.Unmarshal(body, &st); err != nil || code != http.StatusBadRequest || st.Reason != metav1.StatusReasonBadRequest || !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("?%s: %d %s %s", query, code, ctype, body)
			}
		}
		// Other groups' requests are not this filter's business.
		code, _, _ := get(t, client, base+"/apis?window=5", "")
		if code != http.StatusOK {
			t.Errorf("/apis?window=5: %d", code)
		}
	})

	t.Run("table", func(t *testing.T) {
		var table metav1.Table
		code, _, body := get(t, client, base+group+"/namespaces/x/podusages?includeObject=Object", "application/json;as=Table;v=v1;g=meta.k8s.io")
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		if err := json.Unmarshal(body, &table); err != nil {
			t.Fatal(err)
		}
		var columns, wide []string
		for _, c := range table.ColumnDefinitions {
			if c.Priority == 0 {
				columns = append(columns, c.Name)
			} else {
				wide = append(wide, c.Name)
			}
		}
		if want := []string{"Name", "CPU(P95)", "CPU(MAX)", "CPU REQ", "MEM(MAX)", "MEM REQ", "Recommended", "Window"}; !slices.Equal(columns, want) {
			t.Errorf("columns %v, want %v", columns, want)
		}
		if len(wide) == 0 {
			t.Errorf("no -o wide columns")
		}
		if len(table.Rows) != 2 {
			t.Fatalf("%d rows", len(table.Rows))
		}
		wantWeb := []any{"web-1", "310m", "310m", "150m", "130Mi", "<none>", "358m/263Mi", "50s",
			float64(2), float64(0), "150m", "110m", "310m", "115Mi", "130Mi", "<none>", "<none>", "207%", "<none>"}
		if diff := cmp.Diff(wantWeb, table.Rows[1].Cells); diff != "" {
			t.Errorf("web-1 row (-want +got):\n%s", diff)
		}
		var obj v1alpha1.PodUsage
		if err := json.Unmarshal(table.Rows[1].Object.Raw, &obj); err != nil || obj.Kind != "PodUsage" || obj.APIVersion != "usage.ringmetrics.dev/v1alpha1" || obj.Name != "web-1" {
			t.Errorf("row object: %v %s", err, table.Rows[1].Object.Raw)
		}
		code, _, body = get(t, client, base+group+"/nodeusages", "application/json;as=Table;v=v1;g=meta.k8s.io")
		if err := json.Unmarshal(body, &table); err != nil || code != http.StatusOK || len(table.Rows) != 1 {
			t.Fatalf("node table: %d %v %s", code, err, body)
		}
		wantNode := []any{"node-1", "700m", "700m", "4096Mi", "30s", float64(4), float64(0), "600m", "600m", "700m", "3072Mi", "4096Mi"}
		if diff := cmp.Diff(wantNode, table.Rows[0].Cells); diff != "" {
			t.Errorf("node-1 row (-want +got):\n%s", diff)
		}
	})

	t.Run("media types", func(t *testing.T) {
		// No protobuf: a client that prefers it but takes JSON gets JSON;
		// one that takes only protobuf gets 406.
		code, ctype, _ := get(t, client, base+group+"/podusages", "application/vnd.kubernetes.protobuf, application/json")
		if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("protobuf or JSON: %d %s", code, ctype)
		}
		code, _, _ = get(t, client, base+group+"/podusages", "application/vnd.kubernetes.protobuf")
		if code != http.StatusNotAcceptable {
			t.Errorf("protobuf only: %d, want 406", code)
		}
		code, ctype, body := get(t, client, base+group+"/nodeusages/node-1", "application/yaml")
		if code != http.StatusOK || !strings.HasPrefix(ctype, "application/yaml") || !strings.Contains(string(body), "kind: NodeUsage") {
			t.Errorf("yaml: %d %s %s", code, ctype, body)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		var resources metav1.APIResourceList
		mustGet(t, client, base+group, &resources)
		got := map[string]metav1.APIResource{}
		for _, r := range resources.APIResources {
			got[r.Name] = r
		}
		for name, want := range map[string]struct {
			kind, singular string
			namespaced     bool
		}{"podusages": {"PodUsage", "podusage", true}, "nodeusages": {"NodeUsage", "nodeusage", false}} {
			r, ok := got[name]
			if !ok || r.Kind != want.kind || r.SingularName != want.singular || r.Namespaced != want.namespaced || !slices.Equal(r.Verbs, metav1.Verbs{"get", "list"}) {
				t.Errorf("%s: %+v", name, r)
			}
		}
		var groups metav1.APIGroupList
		mustGet(t, client, base+"/apis", &groups)
		if len(groups.Groups) != 1 || groups.Groups[0].PreferredVersion.GroupVersion != "usage.ringmetrics.dev/v1alpha1" {
			t.Errorf("/apis: %+v", groups)
		}
	})

	t.Run("openapi", func(t *testing.T) {
		var v2 struct {
			Definitions map[string]struct {
				GVK []map[string]string `json:"x-kubernetes-group-version-kind"`
			} `json:"definitions"`
		}
		mustGet(t, client, base+"/openapi/v2", &v2)
		for _, kind := range []string{"PodUsage", "PodUsageList", "NodeUsage", "NodeUsageList"} {
			def, ok := v2.Definitions["dev.ringmetrics.usage.v1alpha1."+kind]
			if !ok || len(def.GVK) != 1 || def.GVK[0]["group"] != "usage.ringmetrics.dev" || def.GVK[0]["kind"] != kind {
				t.Errorf("OpenAPI v2 %s: %v %+v", kind, ok, def.GVK)
			}
		}
		var v3 struct {
			Components struct {
				Schemas map[string]json.RawMessage `json:"schemas"`
			} `json:"components"`
		}
		mustGet(t, client, base+"/openapi/v3/apis/usage.ringmetrics.dev/v1alpha1", &v3)
		if _, ok := v3.Components.Schemas["dev.ringmetrics.usage.v1alpha1.PodUsage"]; !ok {
			t.Errorf("OpenAPI v3 lacks PodUsage: %d schemas", len(v3.Components.Schemas))
		}
	})
}
