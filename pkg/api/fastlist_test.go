package api

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

func TestAppendJSONString(t *testing.T) {
	f := func(s string) {
		t.Helper()
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("json.Marshal(%q): %v", s, err)
		}
		if got := appendJSONString([]byte("prefix"), s); string(got) != "prefix"+string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got[len("prefix"):], want)
		}
	}
	for _, s := range oddStrings {
		f(s)
	}
	for b := range 256 {
		f(string([]byte{byte(b)}))
		f("a" + string([]byte{byte(b)}) + "z")
	}
	f("\u2028")
	f("x\u2029y")
	f(string(utf8.RuneError))
	f("\xed\xa0\x80") // a surrogate half: invalid UTF-8, three bytes
	// Random strings over the bytes that matter most.
	interesting := []byte("aZ09 \"\\<>&\x00\x1f\x7f\x80\xbf\xc3\xa9\xe2\x80\xa8\xa9\xf0\x9f\x98\x80\xff")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = interesting[rng.IntN(len(interesting))]
		}
		f(string(b))
	}
}

func TestFastQuantityText(t *testing.T) {
	var e encoder
	f := func(q resource.Quantity) {
		t.Helper()
		want := q.String()
		if got := e.appendQuantity([]byte("x"), &q); string(got) != "x"+want {
			t.Errorf("appendQuantity(%s) = %s, want %s", want, got[1:], want)
		}
	}
	usage := func(v uint64) {
		t.Helper()
		u := sample.Usage{CPUNanoCores: v, MemoryBytes: v}
		cpu, memory := cpuQuantity(u), memoryQuantity(u)
		if got, want := string(e.appendCPU(nil, u)), cpu.String(); got != want {
			t.Errorf("appendCPU(%d) = %s, want %s", v, got, want)
		}
		if got, want := string(e.appendMemory(nil, u)), memory.String(); got != want {
			t.Errorf("appendMemory(%d) = %s, want %s", v, got, want)
		}
	}
	values := []uint64{0, 1, 9, 10, 999, 1000, 1001, 1023, 1024, 1025, 1 << 20, 1<<20 + 1, 5 << 30, 1_000_000_000,
		123_456_789, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64}
	rng := rand.New(rand.NewPCG(3, 4))
	for p := uint(0); p < 64; p++ {
		values = append(values, 1<<p, 1<<p-1, 1<<p+1, 3<<p, 1000<<p, 1023<<p, 1025<<p)
	}
	for range 20_000 {
		values = append(values, rng.Uint64()>>rng.IntN(64), rng.Uint64N(1<<30)*1024, rng.Uint64N(1<<20)*1_000_000,
			rng.Uint64N(1<<20)<<(10*rng.IntN(7)), rng.Uint64N(1<<12)*4096)
	}
	for _, v := range values {
		f(readonly.Quantity(v, resource.Nano, resource.DecimalSI))
		f(readonly.Quantity(v, 0, resource.BinarySI))
		usage(v)
	}
}

// slowBody lists and encodes as the storages and the apiserver's encoders
// do, for comparison with FastList.encode.
func slowBody(t *testing.T, codecs serializer.CodecFactory, ds *TestDataset, r *listRequest) []byte {
	t.Helper()
	var (
		obj runtime.Object
		err error
	)
	if r.resource == resourcePods {
		obj, err = NewPodStorage(ds.Reader, ds.Pods, fakeClock()).List(nsContext(r.namespace), &r.options)
	} else {
		obj, err = NewNodeStorage(ds.Reader, ds.Nodes, fakeClock()).List(nsContext(""), &r.options)
	}
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), r.contentType())
	var buf bytes.Buffer
	gv := schema.GroupVersion{Group: metrics.GroupName, Version: r.version}
	if err := codecs.EncoderForVersion(info.Serializer, gv).Encode(obj, &buf); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return buf.Bytes()
}

// TestFastEncodeMatchesEncoders compares FastList's bytes with the storages'
// objects encoded by the apiserver's JSON and protobuf encoders (streaming
// and not). The HTTP-level comparison is TestFastListByteIdentical.
func TestFastEncodeMatchesEncoders(t *testing.T) {
	factories := map[string]serializer.CodecFactory{
		"plain": Codecs,
		"streaming": serializer.NewCodecFactory(Scheme,
			serializer.WithStreamingCollectionEncodingToJSON(),
			serializer.WithStreamingCollectionEncodingToProtobuf()),
	}
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	for seed := range uint64(seeds) {
		ds := NewTestDataset(seed, seed%20 == 7)
		f := NewFastList(Config{Reader: ds.Reader, Nodes: ds.Nodes, Pods: ds.Pods, Clock: fakeClock()})
		var e encoder
		var requests []listRequest
		for _, protobuf := range []bool{false, true} {
			requests = append(requests,
				listRequest{resource: resourcePods, protobuf: protobuf},
				listRequest{resource: resourceNodes, protobuf: protobuf})
			for _, ns := range ds.Namespaces {
				requests = append(requests, listRequest{resource: resourcePods, namespace: ns, protobuf: protobuf})
			}
			for _, l := range ds.LabelSelectors {
				for _, fs := range ds.FieldSelectors {
					ls, err := labels.Parse(l)
					if err != nil {
						t.Fatal(err)
					}
					fsel, err := fields.ParseSelector(fs)
					if err != nil {
						t.Fatal(err)
					}
					opts := metainternalversion.ListOptions{LabelSelector: ls, FieldSelector: fsel}
					requests = append(requests,
						listRequest{resource: resourcePods, protobuf: protobuf, options: opts},
						listRequest{resource: resourcePods, namespace: "default", protobuf: protobuf, options: opts},
						listRequest{resource: resourceNodes, protobuf: protobuf, options: opts})
				}
			}
		}
		// The versions take turns: they differ in apiVersion only.
		version := AllVersions[int(seed)%len(AllVersions)].Version
		for _, r := range requests {
			r.version, r.apiVersion = version, apiVersionOf(version)
			_, got, err := f.encode(&e, nil, &r, now)
			if err != nil {
				t.Fatalf("seed %d: encode %+v: %v", seed, r, err)
			}
			for name, codecs := range factories {
				if want := slowBody(t, codecs, ds, &r); !bytes.Equal(got, want) {
					t.Fatalf("seed %d (%s), %s %s ns=%q labels=%v fields=%v: %s encoders differ:\nfast %q\nslow %q",
						seed, ds, r.contentType(), r.resource, r.namespace, r.options.LabelSelector, r.options.FieldSelector, name, got, want)
				}
			}
		}
	}
}

// TestFastProtobufMatchesGeneratedMarshal compares FastList's protobuf with
// the generated marshalers of the v1 and v1beta1 types and of
// runtime.Unknown, without the apiserver's encoder in between.
func TestFastProtobufMatchesGeneratedMarshal(t *testing.T) {
	lists := map[string][2]func() runtime.Object{
		"v1": {
			func() runtime.Object { return &metricsv1.PodMetricsList{} },
			func() runtime.Object { return &metricsv1.NodeMetricsList{} }},
		"v1beta1": {
			func() runtime.Object { return &v1beta1.PodMetricsList{} },
			func() runtime.Object { return &v1beta1.NodeMetricsList{} }},
	}
	for seed := range uint64(30) {
		ds := NewTestDataset(500+seed, false)
		f := NewFastList(Config{Reader: ds.Reader, Nodes: ds.Nodes, Pods: ds.Pods, Clock: fakeClock()})
		version := AllVersions[int(seed)%len(AllVersions)].Version
		for _, resourceName := range []string{resourcePods, resourceNodes} {
			r := listRequest{resource: resourceName, protobuf: true, version: version, apiVersion: apiVersionOf(version)}
			var e encoder
			_, got, err := f.encode(&e, nil, &r, now)
			if err != nil {
				t.Fatal(err)
			}
			var internal, versioned runtime.Object
			if resourceName == resourcePods {
				internal, err = NewPodStorage(ds.Reader, ds.Pods, fakeClock()).List(nsContext(""), nil)
				versioned = lists[version][0]()
			} else {
				internal, err = NewNodeStorage(ds.Reader, ds.Nodes, fakeClock()).List(nsContext(""), nil)
				versioned = lists[version][1]()
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := Scheme.Convert(internal, versioned, nil); err != nil {
				t.Fatal(err)
			}
			raw, err := versioned.(interface{ Marshal() ([]byte, error) }).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			unknown := runtime.Unknown{
				TypeMeta: runtime.TypeMeta{APIVersion: "metrics.k8s.io/" + version, Kind: listKind(resourceName)},
				Raw:      raw,
			}
			envelope, err := unknown.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte("k8s\x00"), envelope...); !bytes.Equal(got, want) {
				t.Fatalf("seed %d, %s: FastList and the generated marshalers differ:\nfast %q\nwant %q", seed, resourceName, got, want)
			}
		}
	}
}

func TestParseListRequest(t *testing.T) {
	served := AllVersions
	f := func(method, target string, header http.Header, want *listRequest) {
		t.Helper()
		req := httptest.NewRequest(method, target, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		got, ok := parseListRequest(req, served)
		if want == nil {
			if ok {
				t.Errorf("%s %s %v: matched %+v, want fall-through", method, target, header, got)
			}
			return
		}
		if !ok {
			t.Errorf("%s %s %v: fell through, want %+v", method, target, header, *want)
			return
		}
		wantVersion, wantAPIVersion := "v1beta1", "metrics.k8s.io/v1beta1"
		if want.version != "" {
			wantVersion, wantAPIVersion = want.version, want.apiVersion
		}
		if got.resource != want.resource || got.namespace != want.namespace || got.scope != want.scope || got.protobuf != want.protobuf ||
			got.version != wantVersion || got.apiVersion != wantAPIVersion {
			t.Errorf("%s %s %v = %+v, want %+v", method, target, header, got, *want)
		}
	}
	pods := &listRequest{resource: resourcePods, scope: scopeCluster}
	podsProto := &listRequest{resource: resourcePods, scope: scopeCluster, protobuf: true}
	nodes := &listRequest{resource: resourceNodes, scope: scopeCluster}
	nsPods := &listRequest{resource: resourcePods, scope: scopeNamespace, namespace: "kube-system"}
	v1 := func(r *listRequest) *listRequest {
		c := *r
		c.version, c.apiVersion = "v1", "metrics.k8s.io/v1"
		return &c
	}
	accept := func(v ...string) http.Header { return http.Header{"Accept": v} }
	const p = "/apis/metrics.k8s.io/v1beta1"

	f("GET", p+"/pods", nil, pods)
	f("GET", p+"/nodes", nil, nodes)
	f("GET", p+"/namespaces/kube-system/pods", nil, nsPods)
	f("GET", p+"/pods?labelSelector=app%3Dweb&fieldSelector=metadata.name%3Dx&resourceVersion=0&timeoutSeconds=5&timeout=30s", nil, pods)
	f("GET", p+"/pods?labelSelector=", nil, pods)
	f("GET", p+"/pods", accept(""), pods)
	f("GET", p+"/pods", accept("*/*"), pods)
	f("GET", p+"/pods", accept("application/json"), pods)
	f("GET", p+"/pods", accept("application/json, */*"), pods)
	f("GET", p+"/pods", accept("application/vnd.kubernetes.protobuf"), podsProto)
	f("GET", p+"/pods", accept("application/vnd.kubernetes.protobuf, */*"), podsProto)
	f("GET", p+"/pods", accept("*/*,application/vnd.kubernetes.protobuf"), podsProto)
	f("GET", p+"/pods", accept("application/vnd.kubernetes.protobuf,application/json"), podsProto)
	f("GET", p+"/pods", http.Header{"Accept": {"application/vnd.kubernetes.protobuf"}, "User-Agent": {"curl/8.0"}}, podsProto)
	f("GET", p+"/pods", http.Header{"User-Agent": {"kubectl/v1.37.2"}}, pods)

	// Not a LIST of these resources.
	f("HEAD", p+"/pods", nil, nil)
	f("POST", p+"/pods", nil, nil)
	f("GET", p+"/pods/", nil, nil)
	f("GET", p+"/pods/x", nil, nil)
	f("GET", p+"/namespaces/x/pods/y", nil, nil)
	f("GET", p+"/namespaces/x/nodes", nil, nil)
	f("GET", p+"/namespaces//pods", nil, nil)
	f("GET", p+"/namespaces/Upper/pods", nil, nil)
	f("GET", p+"/namespaces/a%2Fb/pods", nil, nil)
	f("GET", p+"/namespaces/-x/pods", nil, nil)
	f("GET", p+"/namespaces/"+strings.Repeat("a", 64)+"/pods", nil, nil)
	f("GET", p, nil, nil)
	// Each served version, and only those.
	f("GET", "/apis/metrics.k8s.io/v1/pods", nil, v1(pods))
	f("GET", "/apis/metrics.k8s.io/v1/nodes", nil, v1(nodes))
	f("GET", "/apis/metrics.k8s.io/v1/namespaces/kube-system/pods", nil, v1(nsPods))
	f("GET", "/apis/metrics.k8s.io/v1/pods", accept("application/vnd.kubernetes.protobuf"), v1(podsProto))
	for _, other := range []string{"v2", "v1alpha1", "V1", "", "v1beta1x", "v1/"} {
		f("GET", "/apis/metrics.k8s.io/"+other+"/pods", nil, nil)
	}
	f("GET", "/apis/metrics.k8s.io/pods", nil, nil)
	f("GET", "/apis/metrics.k8s.io//pods", nil, nil)
	served = V1beta1Only
	f("GET", "/apis/metrics.k8s.io/v1/pods", nil, nil)
	f("GET", p+"/pods", nil, pods)
	served = AllVersions
	// Other representations.
	f("GET", p+"/pods", accept("application/json;as=Table;v=v1;g=meta.k8s.io"), nil)
	f("GET", p+"/pods", accept("application/json;q=0.9"), nil)
	f("GET", p+"/pods", accept("application/yaml"), nil)
	f("GET", p+"/pods", accept("application/cbor"), nil)
	f("GET", p+"/pods", accept("application/json", "application/json"), nil)
	f("GET", p+"/pods", accept("application/vnd.kubernetes.protobuf;stream=watch"), nil)
	f("GET", p+"/pods", http.Header{"User-Agent": {"curl/8.0"}}, nil)
	f("GET", p+"/pods", http.Header{"User-Agent": {"Mozilla/5.0 (X11)"}}, nil)
	f("GET", p+"/pods", http.Header{"User-Agent": {"Wget/1.21"}}, nil)
	f("GET", p+"/pods", http.Header{"Content-Type": {"application/json"}}, nil)
	// Other parameters, repeated ones, and invalid ones.
	for _, q := range []string{"watch=true", "watch=false", "pretty=true", "pretty=false", "limit=10", "continue=abc",
		"includeObject=Object", "resourceVersionMatch=NotOlderThan", "sendInitialEvents=true", "allowWatchBookmarks=true",
		"labelSelector=a&labelSelector=b", "labelSelector=app+in+(web", "labelSelector=a%3D%3D%3Db",
		"fieldSelector=spec.nodeName%3Dx", "fieldSelector=metadata.name", "fieldSelector=metadata.uid%3Dx",
		"timeoutSeconds=abc", "timeoutSeconds=", "a=%zz", "a;b", "unknown=1"} {
		f("GET", p+"/pods?"+q, nil, nil)
	}
}
