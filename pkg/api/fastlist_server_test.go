package api_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/api"
	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The datasets of these tests are swapped under a running server: both
// paths read the current one.
type swapReader struct {
	cur *atomic.Pointer[api.TestDataset]
}

func (s swapReader) NodeUsage(node string) (sample.Usage, bool) {
	return s.cur.Load().Reader.NodeUsage(node)
}
func (s swapReader) PodUsage(namespace, pod string, dst []sample.ContainerUsage) ([]sample.ContainerUsage, bool) {
	return s.cur.Load().Reader.PodUsage(namespace, pod, dst)
}

type swapNodes struct {
	cur *atomic.Pointer[api.TestDataset]
}

func (s swapNodes) List(selector labels.Selector) ([]*corev1.Node, error) {
	return s.cur.Load().Nodes.List(selector)
}
func (s swapNodes) Get(name string) (*corev1.Node, error) { return s.cur.Load().Nodes.Get(name) }

type swapPods struct {
	cur *atomic.Pointer[api.TestDataset]
}

func (s swapPods) List(namespace string, selector labels.Selector) ([]*pods.Pod, error) {
	return s.cur.Load().Pods.List(namespace, selector)
}
func (s swapPods) Get(namespace, name string) (*pods.Pod, error) {
	return s.cur.Load().Pods.Get(namespace, name)
}

// slowHeader sends a request past FastList, straight to the apiserver.
const slowHeader = "X-Test-Slow-Path"

// fastServer is a generic apiserver whose API handler is wrapped by a
// FastList, as pkg/server wraps it, except for requests with slowHeader.
type fastServer struct {
	*testServer
	data *atomic.Pointer[api.TestDataset]
	// fellThrough counts the requests FastList passed to the apiserver.
	fellThrough atomic.Int64
	metrics     *api.Metrics
}

func startFastServer(t *testing.T) *fastServer {
	t.Helper()
	s := &fastServer{data: &atomic.Pointer[api.TestDataset]{}, metrics: api.NewMetrics()}
	s.data.Store(api.NewTestDataset(0, false))
	clock := clocktesting.NewFakePassiveClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	reader, nodes, pods := swapReader{s.data}, swapNodes{s.data}, swapPods{s.data}
	cfg := api.Config{Reader: reader, Nodes: nodes, Pods: pods, Clock: clock, Metrics: s.metrics}
	fast := api.NewFastList(cfg)
	s.testServer = runServer(t, func(h http.Handler) http.Handler {
		wrapped := fast.Wrap(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			s.fellThrough.Add(1)
			h.ServeHTTP(w, req)
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get(slowHeader) != "" {
				h.ServeHTTP(w, req)
				return
			}
			wrapped.ServeHTTP(w, req)
		})
	}, func(server *genericapiserver.GenericAPIServer) error {
		return api.Install(server, cfg)
	})
	// Requests in process must wait until PrepareRun is done.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.client.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// compare sends the request through both paths in process and fails the
// test unless status, headers and body are identical and FastList served
// it (wantFast) or passed it on. It returns the fast path's response.
func (s *fastServer) compare(t *testing.T, method, target string, header http.Header, wantFast bool) *httptest.ResponseRecorder {
	t.Helper()
	do := func(slow bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		for k, v := range header {
			req.Header[k] = slices.Clone(v)
		}
		// The same audit ID on both sides, or the Audit-Id headers differ.
		req.Header.Set("Audit-ID", "fast-list-test")
		if slow {
			req.Header.Set(slowHeader, "1")
		}
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, req)
		return rec
	}
	before := s.fellThrough.Load()
	fast := do(false)
	if fell := s.fellThrough.Load() != before; fell == wantFast {
		t.Errorf("%s %s %v: fell through = %v, want %v (status %d: %.200s)", method, target, header, fell, !wantFast, fast.Code, fast.Body.Bytes())
	}
	slow := do(true)
	if fast.Code != slow.Code {
		t.Errorf("%s %s %v: status %d, apiserver's %d", method, target, header, fast.Code, slow.Code)
	}
	if diff := cmp.Diff(slow.Header(), fast.Header()); diff != "" {
		t.Errorf("%s %s %v: headers (-apiserver +fast):\n%s", method, target, header, diff)
	}
	if !bytes.Equal(fast.Body.Bytes(), slow.Body.Bytes()) {
		t.Errorf("%s %s %v: bodies differ (%s):\nfast %q\nslow %q", method, target, header, s.data.Load(), fast.Body.Bytes(), slow.Body.Bytes())
	}
	return fast
}

const (
	v1beta1Prefix = "/apis/metrics.k8s.io/v1beta1"
	v1Prefix      = "/apis/metrics.k8s.io/v1"
)

// TestFastListByteIdentical serves random datasets through the generic
// apiserver and through FastList and requires the same bytes, for every
// kind of LIST FastList serves.
func TestFastListByteIdentical(t *testing.T) {
	s := startFastServer(t)
	accepts := []string{"", "*/*", "application/json", "application/json, */*", "application/vnd.kubernetes.protobuf",
		"application/vnd.kubernetes.protobuf, */*", "application/vnd.kubernetes.protobuf,application/json",
		"*/*,application/vnd.kubernetes.protobuf", "application/json,application/vnd.kubernetes.protobuf"}
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := range uint64(seeds) {
		ds := api.NewTestDataset(1000+seed, seed%10 == 3)
		s.data.Store(ds)
		rng := rand.New(rand.NewPCG(seed, 7))
		paths := []string{"/pods", "/nodes"}
		for _, ns := range ds.Namespaces {
			paths = append(paths, "/namespaces/"+ns+"/pods")
		}
		for i := range 120 {
			path := paths[i%len(paths)]
			query := url.Values{}
			if i >= len(paths) {
				if l := ds.LabelSelectors[rng.IntN(len(ds.LabelSelectors))]; l != "" || rng.IntN(4) == 0 {
					query.Set("labelSelector", l)
				}
				if f := ds.FieldSelectors[rng.IntN(len(ds.FieldSelectors))]; f != "" || rng.IntN(4) == 0 {
					query.Set("fieldSelector", f)
				}
				switch rng.IntN(8) {
				case 0:
					query.Set("resourceVersion", "0")
				case 1:
					query.Set("resourceVersion", "12345")
				case 2:
					query.Set("timeoutSeconds", "30")
				case 3:
					query.Set("timeout", "45s")
				}
			}
			header := http.Header{}
			if a := accepts[rng.IntN(len(accepts))]; a != "" {
				header.Set("Accept", a)
			}
			if rng.IntN(2) == 0 {
				header.Set("Accept-Encoding", "gzip")
			}
			if rng.IntN(4) == 0 {
				header.Set("User-Agent", "kubectl/v1.37.2 (linux/amd64)")
			}
			// Both versions, which differ in apiVersion only.
			target := []string{v1Prefix, v1beta1Prefix}[rng.IntN(2)] + path
			if len(query) > 0 {
				target += "?" + query.Encode()
			}
			rec := s.compare(t, http.MethodGet, target, header, true)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: status %d: %s", target, rec.Code, rec.Body.Bytes())
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	}
}

// TestFastListGzip checks the gzip threshold and the compressed bytes.
func TestFastListGzip(t *testing.T) {
	s := startFastServer(t)
	s.data.Store(api.NewTestDataset(5, true))
	gzip := http.Header{"Accept-Encoding": {"gzip, deflate"}}
	for _, accept := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		gzip.Set("Accept", accept)
		big := s.compare(t, http.MethodGet, v1beta1Prefix+"/pods", gzip, true)
		if big.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: all pods (%d bytes) not gzipped", accept, big.Body.Len())
		}
		small := s.compare(t, http.MethodGet, v1beta1Prefix+"/nodes?fieldSelector=metadata.name%3Dnode-1", gzip, true)
		if small.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: a small list was gzipped", accept)
		}
	}
}

// TestFastListOverTheWire compares whole responses over HTTPS (HTTP/2),
// compressed bytes included.
func TestFastListOverTheWire(t *testing.T) {
	s := startFastServer(t)
	s.data.Store(api.NewTestDataset(11, true))
	config := rest.CopyConfig(s.config)
	config.DisableCompression = true
	client, err := rest.HTTPClientFor(config)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, accept, encoding string, slow bool) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Audit-ID", "over-the-wire")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if encoding != "" {
			req.Header.Set("Accept-Encoding", encoding)
		}
		if slow {
			req.Header.Set(slowHeader, "1")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp, body
	}
	for _, path := range []string{"/pods", "/nodes", "/namespaces/default/pods", "/pods?labelSelector=app%3Dweb"} {
		for _, accept := range []string{"", "application/vnd.kubernetes.protobuf"} {
			for _, encoding := range []string{"", "gzip"} {
				before := s.fellThrough.Load()
				fast, fastBody := get(v1beta1Prefix+path, accept, encoding, false)
				if s.fellThrough.Load() != before {
					t.Errorf("%s %q %q: FastList fell through", path, accept, encoding)
				}
				slow, slowBody := get(v1beta1Prefix+path, accept, encoding, true)
				for _, h := range []http.Header{fast.Header, slow.Header} {
					h.Del("Date")
				}
				if fast.StatusCode != http.StatusOK || fast.StatusCode != slow.StatusCode || fast.Proto != slow.Proto || fast.ContentLength != slow.ContentLength {
					t.Errorf("%s %q %q: status, protocol, length %d %s %d, apiserver's %d %s %d", path, accept, encoding,
						fast.StatusCode, fast.Proto, fast.ContentLength, slow.StatusCode, slow.Proto, slow.ContentLength)
				}
				if diff := cmp.Diff(slow.Header, fast.Header); diff != "" {
					t.Errorf("%s %q %q: headers (-apiserver +fast):\n%s", path, accept, encoding, diff)
				}
				if !bytes.Equal(fastBody, slowBody) {
					t.Errorf("%s %q %q: bodies differ (%d and %d bytes)", path, accept, encoding, len(fastBody), len(slowBody))
				}
			}
		}
	}
}

// TestFastListFallsThrough checks that FastList leaves everything else to
// the apiserver, whose answer the client then gets unchanged.
func TestFastListFallsThrough(t *testing.T) {
	s := startFastServer(t)
	s.data.Store(api.NewTestDataset(3, false))
	accept := func(v string) http.Header { return http.Header{"Accept": {v}} }
	for _, tc := range []struct {
		target string
		header http.Header
	}{
		{"/pods?watch=true", nil},
		{"/pods?watch=1", nil},
		{"/nodes?watch=true", accept("application/vnd.kubernetes.protobuf")},
		{"/pods?pretty=true", nil},
		{"/pods?pretty=false", nil},
		{"/pods?limit=1", nil},
		{"/pods?continue=abc", nil},
		{"/pods?includeObject=Object", nil},
		{"/pods?resourceVersionMatch=NotOlderThan", nil},
		{"/pods?resourceVersion=0&resourceVersionMatch=Exact", nil},
		{"/pods?labelSelector=app+in+(web", nil},
		{"/pods?labelSelector=app%3Dweb&labelSelector=tier", nil},
		{"/pods?fieldSelector=spec.nodeName%3Dnode-1", nil},
		{"/nodes?fieldSelector=metadata.uid%3Dx", nil},
		{"/pods?fieldSelector=metadata.name", nil},
		{"/pods?timeoutSeconds=abc", nil},
		{"/pods?unknown=1", nil},
		{"/pods", accept("application/json;as=Table;v=v1;g=meta.k8s.io")},
		{"/namespaces/default/pods", accept("application/json;as=Table;v=v1;g=meta.k8s.io")},
		{"/nodes", accept("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io")},
		{"/pods", accept("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")},
		{"/pods", accept("application/yaml")},
		{"/pods", accept("application/json;q=0.5, application/yaml")},
		{"/pods", accept("text/plain")},
		{"/pods", http.Header{"User-Agent": {"curl/8.5.0"}}},
		{"/nodes", http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64)"}}},
		{"/pods", http.Header{"Content-Type": {"application/json"}}},
		{"/pods/", nil},
		{"/namespaces/default/pods/pod-1", nil},
		{"/nodes/node-1", nil},
		{"/namespaces/Default/pods", nil},
		{"", nil},
	} {
		s.compare(t, http.MethodGet, v1beta1Prefix+tc.target, tc.header, false)
	}
	s.compare(t, http.MethodPost, v1beta1Prefix+"/pods", nil, false)
	s.compare(t, http.MethodHead, v1beta1Prefix+"/nodes", nil, false)

	// A lister failure: the apiserver lists again and reports it.
	ds := api.NewTestDataset(4, false)
	ds.SetListersFailing(errors.New("informer exploded"))
	s.data.Store(ds)
	for _, target := range []string{"/pods", "/nodes", "/namespaces/default/pods"} {
		if rec := s.compare(t, http.MethodGet, v1beta1Prefix+target, nil, false); rec.Code != http.StatusInternalServerError {
			t.Errorf("GET %s with failing listers: status %d, want 500", target, rec.Code)
		}
	}
}

// TestFastListRequestMetrics checks that the requests FastList serves are
// counted in the apiserver's request metrics as the apiserver counts its
// own, and in FastList's.
func TestFastListRequestMetrics(t *testing.T) {
	s := startFastServer(t)
	s.data.Store(api.NewTestDataset(9, false))
	count := func(version, resource, scope string) float64 {
		t.Helper()
		families, err := legacyregistry.DefaultGatherer.Gather()
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, mf := range families {
			if mf.GetName() != "apiserver_request_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range m.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				if l["verb"] == "LIST" && l["group"] == "metrics.k8s.io" && l["version"] == version &&
					l["resource"] == resource && l["scope"] == scope && l["code"] == "200" && l["component"] == "apiserver" {
					total += m.GetCounter().GetValue()
				}
			}
		}
		return total
	}
	for _, tc := range []struct{ version, target, resource, scope string }{
		{"v1beta1", "/pods", "pods", "cluster"},
		{"v1beta1", "/namespaces/default/pods", "pods", "namespace"},
		{"v1beta1", "/nodes", "nodes", "cluster"},
		{"v1", "/pods", "pods", "cluster"},
		{"v1", "/nodes", "nodes", "cluster"},
	} {
		before := count(tc.version, tc.resource, tc.scope)
		s.compare(t, http.MethodGet, "/apis/metrics.k8s.io/"+tc.version+tc.target, nil, true)
		if got := count(tc.version, tc.resource, tc.scope) - before; got != 2 {
			t.Errorf("GET %s %s through both paths: apiserver_request_total{version=%q,resource=%q,scope=%q} grew by %v, want 2",
				tc.version, tc.target, tc.version, tc.resource, tc.scope, got)
		}
	}

	registry := prometheus.NewRegistry()
	if err := s.metrics.Register(registry); err != nil {
		t.Fatal(err)
	}
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	observed := map[string]uint64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			var key []string
			for _, lp := range m.GetLabel() {
				key = append(key, lp.GetName()+"="+lp.GetValue())
			}
			observed[mf.GetName()+"{"+strings.Join(key, ",")+"}"] = m.GetHistogram().GetSampleCount()
		}
	}
	for _, key := range []string{
		"ringmetrics_api_list_duration_seconds{content_type=application/json,resource=pods}",
		"ringmetrics_api_list_duration_seconds{content_type=application/json,resource=nodes}",
	} {
		if observed[key] == 0 {
			t.Errorf("%s not observed: %v", key, observed)
		}
	}
	if _, ok := observed["ringmetrics_api_list_duration_seconds{content_type=application/vnd.kubernetes.protobuf,resource=pods}"]; !ok {
		t.Errorf("protobuf series not initialised: %v", observed)
	}
}

// TestFastListDecodes decodes FastList's two encodings with the generated
// types: the same objects either way.
func TestFastListDecodes(t *testing.T) {
	s := startFastServer(t)
	s.data.Store(api.NewTestDataset(21, false))
	var lists []*v1beta1.PodMetricsList
	for _, accept := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		rec := s.compare(t, http.MethodGet, v1beta1Prefix+"/pods", http.Header{"Accept": {accept}}, true)
		obj, _, err := api.Codecs.UniversalDeserializer().Decode(rec.Body.Bytes(), nil, nil)
		if err != nil {
			t.Fatalf("%s: decoding: %v", accept, err)
		}
		list, ok := obj.(*v1beta1.PodMetricsList)
		if !ok || len(list.Items) == 0 {
			t.Fatalf("%s: decoded %T, want a PodMetricsList with items", accept, obj)
		}
		lists = append(lists, list)
	}
	// JSON carries invalid UTF-8 as U+FFFD, one per byte; protobuf as is.
	utf8ize := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			b.WriteRune(r)
		}
		return b.String()
	}
	for i := range lists[1].Items {
		m := &lists[1].Items[i]
		m.Name, m.Namespace = utf8ize(m.Name), utf8ize(m.Namespace)
		if m.Labels != nil {
			valid := map[string]string{}
			for k, v := range m.Labels {
				valid[utf8ize(k)] = utf8ize(v)
			}
			m.Labels = valid
		}
		for j := range m.Containers {
			m.Containers[j].Name = utf8ize(m.Containers[j].Name)
		}
	}
	// Semantic: a quantity decoded from either encoding holds its value in
	// whichever representation its parser chose.
	if !equality.Semantic.DeepEqual(lists[0], lists[1]) {
		t.Errorf("JSON and protobuf decode differently (-json +protobuf):\n%s", cmp.Diff(lists[0], lists[1]))
	}
}

// TestFastListConcurrent serves many requests at once: pooled encoders and
// buffers must not leak between them (run with -race).
func TestFastListConcurrent(t *testing.T) {
	s := startFastServer(t)
	s.data.Store(api.NewTestDataset(31, false))
	targets := []string{"/pods", "/nodes", "/namespaces/default/pods", "/pods?labelSelector=app%3Dweb"}
	accepts := []string{"application/json", "application/vnd.kubernetes.protobuf"}
	want := map[string][]byte{}
	for _, target := range targets {
		for _, accept := range accepts {
			want[target+" "+accept] = s.compare(t, http.MethodGet, v1beta1Prefix+target, http.Header{"Accept": {accept}}, true).Body.Bytes()
		}
	}
	var failures atomic.Int64
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 40 {
				target, accept := targets[(g+i)%len(targets)], accepts[(g*i)%len(accepts)]
				req := httptest.NewRequest(http.MethodGet, v1beta1Prefix+target, nil)
				req.Header.Set("Accept", accept)
				rec := httptest.NewRecorder()
				s.handler.ServeHTTP(rec, req)
				if !bytes.Equal(rec.Body.Bytes(), want[target+" "+accept]) {
					failures.Add(1)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	if n := failures.Load(); n > 0 {
		t.Errorf("%d concurrent responses differed from the sequential ones", n)
	}
}
