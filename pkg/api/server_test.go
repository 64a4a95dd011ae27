package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/api"
	"github.com/ringmetrics/ringmetrics/pkg/api/openapi"
	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The in-process server's data: two nodes (one without data) and three pods
// (one without data).
type reader struct{}

func (reader) NodeUsage(node string) (sample.Usage, bool) {
	if node != "node-1" {
		return sample.Usage{}, false
	}
	return sample.Usage{TimestampMs: 1_772_366_400_000, WindowMs: 15_000, CPUNanoCores: 250_000_000, MemoryBytes: 1 << 30}, true
}

func (reader) PodUsage(namespace, pod string, dst []sample.ContainerUsage) ([]sample.ContainerUsage, bool) {
	if namespace != "x" || pod == "pending" {
		return dst, false
	}
	u := sample.Usage{TimestampMs: 1_772_366_400_000, WindowMs: 15_000, CPUNanoCores: 10_000_000, MemoryBytes: 64 << 20}
	return append(dst, sample.ContainerUsage{Name: "app", Usage: u}), true
}

// startServer runs a generic apiserver with the metrics API installed, on a
// loopback port with a self-signed certificate and without authentication or
// authorization, until the test ends. It returns the server's base URL and
// a client that trusts it.
func startServer(t *testing.T, versions api.Versions) (string, *http.Client) {
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
			&pods.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "web-1"}, Labels: pods.SortedLabels(map[string]string{"app": "web"})},
			&pods.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "db-0"}, Labels: pods.SortedLabels(map[string]string{"app": "db"})},
			&pods.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "pending"}, Labels: pods.SortedLabels(map[string]string{"app": "web"})},
		}, ""),
	); err != nil {
		t.Fatal(err)
	}
	s := runServer(t, nil, func(server *genericapiserver.GenericAPIServer) error {
		return api.Install(server, api.Config{
			Reader: reader{}, Nodes: corelisters.NewNodeLister(nodeStore), Pods: pods.IndexerLister{Indexer: podStore},
			Clock: clock.RealClock{}, Versions: versions,
		})
	})
	return s.base, s.client
}

// testServer is a running generic apiserver.
type testServer struct {
	base   string
	client *http.Client
	// handler is the server's whole handler chain, for in-process requests.
	handler http.Handler
	// config is the loopback client configuration.
	config *rest.Config
}

// runServer runs a generic apiserver until the test ends, with chain (when
// not nil) wrapping the API handler inside the default handler chain, as
// pkg/server wraps it, and install installing the API.
func runServer(t *testing.T, chain func(http.Handler) http.Handler, install func(*genericapiserver.GenericAPIServer) error) *testServer {
	t.Helper()
	cfg := genericapiserver.NewRecommendedConfig(api.Codecs)
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(api.Scheme))
	cfg.OpenAPIConfig.Info.Title = "ringmetrics"
	cfg.OpenAPIConfig.Info.Version = "test"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(api.Scheme))
	cfg.OpenAPIV3Config.Info.Title = "ringmetrics"
	cfg.OpenAPIV3Config.Info.Version = "test"
	if chain != nil {
		build := cfg.BuildHandlerChainFunc
		cfg.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
			return build(chain(h), c)
		}
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	secure := options.NewSecureServingOptions().WithLoopback()
	secure.Listener = listener
	secure.BindAddress = net.IPv4(127, 0, 0, 1)
	secure.ServerCert.CertDirectory = t.TempDir()
	secure.ServerCert.PairName = "ringmetrics"
	if err := secure.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatalf("self-signed certificate: %v", err)
	}
	if err := secure.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		t.Fatalf("applying serving options: %v", err)
	}

	server, err := cfg.Complete().New("ringmetrics-test", genericapiserver.NewEmptyDelegate())
	if err != nil {
		t.Fatalf("creating server: %v", err)
	}
	if err := install(server); err != nil {
		t.Fatalf("installing the API: %v", err)
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
		t.Fatalf("client: %v", err)
	}
	client.Timeout = 30 * time.Second
	return &testServer{base: cfg.LoopbackClientConfig.Host, client: client, handler: server.Handler, config: cfg.LoopbackClientConfig}
}

// get fetches path with the Accept header and returns the status and body.
func get(t *testing.T, client *http.Client, base, path, accept string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatalf("request %s: %v", path, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func mustGet(t *testing.T, client *http.Client, base, path, accept string, into any) []byte {
	t.Helper()
	code, _, body := get(t, client, base, path, accept)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, code, body)
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: decoding %T: %v\n%s", path, into, err, body)
		}
	}
	return body
}

func TestServer(t *testing.T) {
	base, client := startServer(t, api.AllVersions)
	for _, version := range []string{"v1", "v1beta1"} {
		prefix := "/apis/metrics.k8s.io/" + version
		apiVersion := "metrics.k8s.io/" + version
		t.Run(version, func(t *testing.T) {
			t.Run("list nodes", func(t *testing.T) {
				var list v1beta1.NodeMetricsList
				mustGet(t, client, base, prefix+"/nodes", "application/json", &list)
				if len(list.Items) != 1 || list.Items[0].Name != "node-1" {
					t.Fatalf("nodes = %+v, want node-1 only", list.Items)
				}
				m := list.Items[0]
				if got := m.Usage.Cpu().String(); got != "250m" {
					t.Errorf("cpu = %s, want 250m", got)
				}
				if got := m.Usage.Memory().String(); got != "1Gi" {
					t.Errorf("memory = %s, want 1Gi", got)
				}
				if m.Window.Duration != 15*time.Second || m.Timestamp.Unix() != 1_772_366_400 || m.Labels["zone"] != "a" {
					t.Errorf("node-1 = %+v", m)
				}
			})

			t.Run("get node", func(t *testing.T) {
				var m v1beta1.NodeMetrics
				mustGet(t, client, base, prefix+"/nodes/node-1", "", &m)
				if m.Kind != "NodeMetrics" || m.APIVersion != apiVersion || m.Name != "node-1" {
					t.Errorf("node-1 = %+v", m)
				}
				code, _, body := get(t, client, base, prefix+"/nodes/node-2", "")
				if code != http.StatusNotFound || !strings.Contains(string(body), `nodemetrics.metrics.k8s.io \"node-2\" not found`) {
					t.Errorf("GET node-2 = %d %s, want 404 nodemetrics not found", code, body)
				}
			})

			t.Run("list pods by label", func(t *testing.T) {
				var list v1beta1.PodMetricsList
				mustGet(t, client, base, prefix+"/namespaces/x/pods?labelSelector="+url.QueryEscape("app=web"), "", &list)
				if len(list.Items) != 1 || list.Items[0].Name != "web-1" || list.Items[0].Namespace != "x" {
					t.Fatalf("pods = %+v, want x/web-1 only", list.Items)
				}
				if c := list.Items[0].Containers; len(c) != 1 || c[0].Name != "app" || c[0].Usage.Cpu().String() != "10m" || c[0].Usage.Memory().String() != "64Mi" {
					t.Errorf("containers = %+v", c)
				}
				mustGet(t, client, base, prefix+"/pods", "", &list)
				var names []string
				for _, p := range list.Items {
					names = append(names, p.Namespace+"/"+p.Name)
				}
				if diff := cmp.Diff([]string{"x/db-0", "x/web-1"}, names); diff != "" {
					t.Errorf("all pods (-want +got):\n%s", diff)
				}
			})

			t.Run("protobuf", func(t *testing.T) {
				code, contentType, body := get(t, client, base, prefix+"/namespaces/x/pods", "application/vnd.kubernetes.protobuf")
				if code != http.StatusOK || contentType != "application/vnd.kubernetes.protobuf" {
					t.Fatalf("status %d, Content-Type %q: %q", code, contentType, body)
				}
				obj, gvk, err := api.Codecs.UniversalDeserializer().Decode(body, nil, nil)
				if err != nil {
					t.Fatalf("decoding protobuf: %v", err)
				}
				var list metrics.PodMetricsList
				if err := api.Scheme.Convert(obj, &list, nil); err != nil || gvk.GroupVersion().String() != apiVersion {
					t.Fatalf("decoded %v %T (%v), want a %s PodMetricsList", gvk, obj, err, apiVersion)
				}
				if len(list.Items) != 2 || list.Items[1].Name != "web-1" || list.Items[1].Containers[0].Usage.Cpu().MilliValue() != 10 {
					t.Errorf("decoded %+v", list)
				}
			})

			t.Run("selectors", func(t *testing.T) {
				for _, tc := range []struct {
					query string
					code  int
				}{
					{"fieldSelector=" + url.QueryEscape("metadata.name=db-0"), http.StatusOK},
					{"fieldSelector=" + url.QueryEscape("spec.nodeName=node-1"), http.StatusBadRequest},
					{"fieldSelector=" + url.QueryEscape("metadata.name"), http.StatusBadRequest},
					{"labelSelector=" + url.QueryEscape("app in (web"), http.StatusBadRequest},
					{"watch=true", http.StatusMethodNotAllowed},
				} {
					code, _, body := get(t, client, base, prefix+"/namespaces/x/pods?"+tc.query, "")
					if code != tc.code {
						t.Errorf("?%s: status %d, want %d: %s", tc.query, code, tc.code, body)
					}
				}
			})

			t.Run("table", func(t *testing.T) {
				var table metav1.Table
				mustGet(t, client, base, prefix+"/nodes", "application/json;as=Table;v=v1;g=meta.k8s.io", &table)
				var columns []string
				for _, c := range table.ColumnDefinitions {
					columns = append(columns, c.Name)
				}
				if diff := cmp.Diff([]string{"Name", "cpu", "memory", "Window"}, columns); diff != "" {
					t.Errorf("columns (-want +got):\n%s", diff)
				}
				if len(table.Rows) != 1 {
					t.Fatalf("rows = %+v, want one", table.Rows)
				}
				if diff := cmp.Diff([]any{"node-1", "250m", "1Gi", "15s"}, table.Rows[0].Cells); diff != "" {
					t.Errorf("cells (-want +got):\n%s", diff)
				}
				// kubectl reads each row's object metadata.
				var meta metav1.PartialObjectMetadata
				if err := json.Unmarshal(table.Rows[0].Object.Raw, &meta); err != nil || meta.Name != "node-1" {
					t.Errorf("row object = %s (%v), want node-1's metadata", table.Rows[0].Object.Raw, err)
				}

				mustGet(t, client, base, prefix+"/pods", "application/json;as=Table;v=v1;g=meta.k8s.io", &table)
				if len(table.Rows) != 2 || table.Rows[1].Cells[0] != "web-1" || table.Rows[1].Cells[1] != "10m" {
					t.Errorf("pod table rows = %+v", table.Rows)
				}
			})
		})
	}
	const prefix = "/apis/metrics.k8s.io/v1beta1"

	t.Run("discovery", func(t *testing.T) {
		var resources metav1.APIResourceList
		mustGet(t, client, base, prefix, "", &resources)
		got := map[string]string{}
		for _, r := range resources.APIResources {
			got[r.Name] = r.Kind + " namespaced=" + map[bool]string{true: "true", false: "false"}[r.Namespaced] + " verbs=" + strings.Join(r.Verbs, ",")
		}
		want := map[string]string{
			"nodes": "NodeMetrics namespaced=false verbs=get,list",
			"pods":  "PodMetrics namespaced=true verbs=get,list",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("resources (-want +got):\n%s", diff)
		}

		wantDiscovery(t, client, base, "v1", "v1beta1")
	})

	t.Run("openapi v2", func(t *testing.T) {
		var doc struct {
			Definitions map[string]json.RawMessage `json:"definitions"`
			Paths       map[string]json.RawMessage `json:"paths"`
		}
		mustGet(t, client, base, "/openapi/v2", "application/json", &doc)
		for _, name := range []string{"io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics", "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList"} {
			if _, ok := doc.Definitions[name]; !ok {
				t.Errorf("/openapi/v2 lacks definition %s", name)
			}
		}
		if _, ok := doc.Paths[prefix+"/nodes/{name}"]; !ok {
			t.Errorf("/openapi/v2 lacks path %s/nodes/{name}", prefix)
		}
	})

	t.Run("openapi v3", func(t *testing.T) {
		var index struct {
			Paths map[string]struct {
				ServerRelativeURL string `json:"serverRelativeURL"`
			} `json:"paths"`
		}
		mustGet(t, client, base, "/openapi/v3", "application/json", &index)
		for _, version := range []string{"v1", "v1beta1"} {
			p, ok := index.Paths["apis/metrics.k8s.io/"+version]
			if !ok {
				t.Fatalf("/openapi/v3 lacks apis/metrics.k8s.io/%s: %+v", version, index.Paths)
			}
			var doc struct {
				Components struct {
					Schemas map[string]json.RawMessage `json:"schemas"`
				} `json:"components"`
			}
			mustGet(t, client, base, p.ServerRelativeURL, "application/json", &doc)
			if _, ok := doc.Components.Schemas["io.k8s.metrics.pkg.apis.metrics."+version+".NodeMetrics"]; !ok {
				t.Errorf("%s lacks schema NodeMetrics", p.ServerRelativeURL)
			}
		}
	})
}

// wantDiscovery checks that the group's discovery, plain and aggregated,
// announces exactly versions, the first preferred, each with nodes and pods.
func wantDiscovery(t *testing.T, client *http.Client, base string, versions ...string) {
	t.Helper()
	var group metav1.APIGroup
	mustGet(t, client, base, "/apis/metrics.k8s.io", "", &group)
	var got []string
	for _, v := range group.Versions {
		got = append(got, v.Version)
	}
	if diff := cmp.Diff(versions, got); diff != "" || group.PreferredVersion.Version != versions[0] {
		t.Errorf("group versions (-want +got):\n%s\npreferred %s, want %s", diff, group.PreferredVersion.Version, versions[0])
	}

	var aggregated apidiscoveryv2.APIGroupDiscoveryList
	mustGet(t, client, base, "/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", &aggregated)
	got = nil
	for _, g := range aggregated.Items {
		if g.Name != "metrics.k8s.io" {
			continue
		}
		for _, v := range g.Versions {
			if len(v.Resources) != 2 {
				t.Errorf("aggregated discovery of %s: %d resources, want nodes and pods", v.Version, len(v.Resources))
			}
			got = append(got, v.Version)
		}
	}
	if diff := cmp.Diff(versions, got); diff != "" {
		t.Errorf("aggregated discovery versions (-want +got):\n%s", diff)
	}
}

// TestServerV1beta1Only checks that a server told to serve v1beta1 alone, for
// a cluster before 1.37, neither announces nor serves v1, on either path.
func TestServerV1beta1Only(t *testing.T) {
	base, client := startServer(t, api.V1beta1Only)
	wantDiscovery(t, client, base, "v1beta1")
	for _, path := range []string{"/pods", "/nodes", "/nodes/node-1", "/namespaces/x/pods"} {
		if code, _, body := get(t, client, base, "/apis/metrics.k8s.io/v1"+path, ""); code != http.StatusNotFound {
			t.Errorf("GET v1%s = %d %s, want 404", path, code, body)
		}
		if code, _, body := get(t, client, base, "/apis/metrics.k8s.io/v1beta1"+path, ""); code != http.StatusOK {
			t.Errorf("GET v1beta1%s = %d %s, want 200", path, code, body)
		}
	}
}
