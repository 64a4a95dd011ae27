package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/compatibility"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/api"
	"github.com/ringmetrics/ringmetrics/pkg/api/openapi"
	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/scraper"
	"github.com/ringmetrics/ringmetrics/pkg/server"
	"github.com/ringmetrics/ringmetrics/pkg/usage"
)

const (
	resolution = 15 * time.Second
	// The stub kubelet's node uses half a core and its one container a
	// quarter, at constant memory.
	nodeCores, containerCores = 0.5, 0.25
	nodeMemory, containerMem  = 1 << 30, 64 << 20
)

// stubKubelet answers /metrics/resource with counters that grow at a fixed
// rate of the fake clock, so the usage the server must serve is known.
type stubKubelet struct {
	clock    *testingclock.FakeClock
	epoch    time.Time
	requests atomic.Int64
	// served holds the times of the last two responses, newest last;
	// protos the protocols the scrapes came over.
	mu     sync.Mutex
	served [2]time.Time
	protos map[string]int
}

func (k *stubKubelet) lastTwo() (older, newer time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.served[0], k.served[1]
}

func (k *stubKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != scraper.DefaultResourceMetricsPath {
		http.NotFound(w, r)
		return
	}
	now := k.clock.Now()
	ms, elapsed := now.UnixMilli(), now.Sub(k.epoch).Seconds()
	fmt.Fprintf(w, "node_cpu_usage_seconds_total %g %d\n", nodeCores*elapsed, ms)
	fmt.Fprintf(w, "node_memory_working_set_bytes %d %d\n", nodeMemory, ms)
	fmt.Fprintf(w, "container_cpu_usage_seconds_total{container=\"c\",namespace=\"ns\",pod=\"p\"} %g %d\n", containerCores*elapsed, ms)
	fmt.Fprintf(w, "container_memory_working_set_bytes{container=\"c\",namespace=\"ns\",pod=\"p\"} %d %d\n", containerMem, ms)
	k.mu.Lock()
	k.served = [2]time.Time{k.served[1], now.Truncate(time.Millisecond)}
	if k.protos == nil {
		k.protos = map[string]int{}
	}
	k.protos[r.Proto]++
	k.mu.Unlock()
	k.requests.Add(1)
}

// testServer is one server.New built against fake clients, a stub kubelet
// and a fake clock, with its own metrics registry.
type testServer struct {
	srv      *server.Server
	clock    *testingclock.FakeClock
	kubelet  *stubKubelet
	registry *prometheus.Registry
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	epoch := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(epoch)
	kubelet := &stubKubelet{clock: clk, epoch: epoch}
	// The stub offers h2 as a kubelet does; the server should still pick
	// HTTP/1.1 (see New).
	kubeletServer := httptest.NewUnstartedServer(kubelet)
	kubeletServer.EnableHTTP2 = true
	kubeletServer.StartTLS()
	t.Cleanup(kubeletServer.Close)
	u, err := url.Parse(kubeletServer.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: u.Hostname()}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "a"}},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}

	// Nothing is served over a socket: requests go to the handler directly,
	// with authentication and authorization left out of the chain.
	apiserver := genericapiserver.NewConfig(api.Codecs)
	apiserver.LoopbackClientConfig = &rest.Config{}
	apiserver.ExternalAddress = "127.0.0.1:443"
	apiserver.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	apiserver.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(api.Scheme, usage.Scheme))
	apiserver.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(api.Scheme, usage.Scheme))

	registry := prometheus.NewRegistry()
	cfg := &server.Config{
		Apiserver:        apiserver,
		Rest:             &rest.Config{Host: "https://127.0.0.1:1"},
		Kubelet:          &rest.Config{TLSClientConfig: rest.TLSClientConfig{Insecure: true}},
		Resolver:         scraper.TargetResolver{AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, UseNodeStatusPort: true, Port: 1, Scheme: "https"},
		Endpoint:         scraper.Endpoint("resource"),
		MaxResponseBytes: 1 << 20,
		ScrapeTimeout:    5 * time.Second,
		Resolution:       resolution,
		History:          15 * time.Minute,
		Limits:           decode.DefaultLimits(),
		Clock:            clk,
		Registerer:       registry,
		Client:           kubefake.NewClientset(node, pod),
	}
	completed, err := cfg.Complete()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := completed.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testServer{srv: srv, clock: clk, kubelet: kubelet, registry: registry}
}

// scrapeTwice starts the server's informers and scrape loop and steps the
// fake clock a second at a time until the stub kubelet has been scraped
// twice. The expiry loop waits on the clock too, so a waiter alone does not
// say that the scrape loop has re-armed its timer: small steps never jump
// past a scrape.
func (s *testServer) scrapeTwice(t *testing.T, ctx context.Context) {
	t.Helper()
	s.srv.StartForTest(ctx)
	waitUntil(t, func() bool {
		if s.kubelet.requests.Load() >= 2 {
			return true
		}
		if s.clock.HasWaiters() {
			s.clock.Step(time.Second)
		}
		return false
	}, "two scrapes of the stub kubelet")
}

// TestNewBuildsTwiceAndServes builds two servers in one process, each with
// its own registry, scrapes a stub kubelet through each, and reads the usage
// back through each one's API: a GET through the REST storage and a LIST
// through the fast path. The expected values come from the stub's fixed
// rates, not from the server.
func TestNewBuildsTwiceAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	servers := []*testServer{newTestServer(t), newTestServer(t)}
	for i, s := range servers {
		t.Run(fmt.Sprintf("server %d", i+1), func(t *testing.T) {
			s.scrapeTwice(t, ctx)

			var nm v1beta1.NodeMetrics
			waitUntil(t, func() bool { return s.get("/apis/metrics.k8s.io/v1beta1/nodes/n1", &nm) == http.StatusOK }, "node n1 served")
			wantQuantity(t, "node cpu", nm.Usage.Cpu().MilliValue(), int64(nodeCores*1000))
			wantQuantity(t, "node memory", nm.Usage.Memory().Value(), nodeMemory)
			first, second := s.kubelet.lastTwo()
			s.kubelet.mu.Lock()
			protos := maps.Clone(s.kubelet.protos)
			s.kubelet.mu.Unlock()
			if protos["HTTP/1.1"] < 2 || len(protos) != 1 {
				t.Errorf("scrapes by protocol = %v, want every one over HTTP/1.1", protos)
			}
			if want := second.Sub(first); nm.Window.Duration != want {
				t.Errorf("node window = %v, want %v between the two scrapes", nm.Window.Duration, want)
			}
			if !nm.Timestamp.Time.Equal(second) {
				t.Errorf("node timestamp = %v, want the second scrape's %v", nm.Timestamp.Time, second)
			}

			var pods v1beta1.PodMetricsList
			if code := s.get("/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods", &pods); code != http.StatusOK {
				t.Fatalf("LIST pods: HTTP %d", code)
			}
			if len(pods.Items) != 1 || len(pods.Items[0].Containers) != 1 {
				t.Fatalf("LIST pods = %+v, want pod p with container c", pods.Items)
			}
			c := pods.Items[0].Containers[0]
			wantQuantity(t, "container cpu", c.Usage.Cpu().MilliValue(), int64(containerCores*1000))
			wantQuantity(t, "container memory", c.Usage.Memory().Value(), containerMem)
			if got := pods.Items[0].Labels["app"]; got != "a" {
				t.Errorf("pod labels = %v, want app=a", pods.Items[0].Labels)
			}

			s.wantMetrics(t, "ringmetrics_scraper_duration_seconds", "ringmetrics_api_list_duration_seconds", "ringmetrics_store_nodes")
		})
	}
}

func (s *testServer) get(path string, into any) int {
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
			return -1
		}
	}
	return rec.Code
}

// wantMetrics checks that each package's metrics reached this server's own
// registry: the registration goes through the registerer given, not a
// process-global one.
func (s *testServer) wantMetrics(t *testing.T, names ...string) {
	t.Helper()
	families, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range families {
		have[f.GetName()] = true
	}
	for _, name := range names {
		if !have[name] {
			t.Errorf("metric %s not in the server's registry", name)
		}
	}
}

func wantQuantity(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

// waitUntil polls cond (which may act) in real time: the scrape loop and informers run on
// their own goroutines, and the fake clock only decides when they act.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
