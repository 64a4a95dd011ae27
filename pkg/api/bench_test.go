package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// benchPods returns a pods storage over n pods in n/30 namespaces, a third of
// them with two containers, as a cluster of n/30 nodes with 30 pods each,
// listed through the pods.Cache pkg/server uses.
func benchPods(b *testing.B, n int) *PodStorage { return benchPodsIn(b, n, 30) }

// benchPodsIn is benchPods with perNamespace pods in each namespace.
func benchPodsIn(b *testing.B, n, perNamespace int) *PodStorage {
	reader := &fakeReader{pods: make(map[podKey][]sample.ContainerUsage, n)}
	lister := &fakePodLister{pods: make([]*pods.Pod, 0, n)}
	for i := range n {
		namespace := fmt.Sprintf("namespace-%04d", i/perNamespace)
		name := fmt.Sprintf("workload-%06d-7d9f8c6b5-x%04d", i, i%10000)
		lister.pods = append(lister.pods, pod(namespace, name, map[string]string{
			"app":               fmt.Sprintf("workload-%06d", i),
			"pod-template-hash": "7d9f8c6b5",
		}))
		u := sample.Usage{TimestampMs: ms(15, i%1000), WindowMs: 15_000, CPUNanoCores: uint64(1_000_000 + i*1_337), MemoryBytes: uint64(50<<20 + i*4096)}
		containers := []sample.ContainerUsage{{Name: "app", Usage: u}}
		if i%3 == 0 {
			containers = append(containers, sample.ContainerUsage{Name: "sidecar", Usage: u})
		}
		reader.pods[podKey{namespace, name}] = containers
	}
	return NewPodStorage(reader, indexedPods(b, lister.pods), fakeClock())
}

// BenchmarkPodList measures a cluster-wide PodMetrics LIST: the storage
// building the objects, then encoding them as the apiserver does (the
// streaming collection encoders that NewDefaultAPIGroupInfo enables).
func BenchmarkPodList(b *testing.B) {
	codecs := serializer.NewCodecFactory(Scheme,
		serializer.WithStreamingCollectionEncodingToJSON(),
		serializer.WithStreamingCollectionEncodingToProtobuf())
	for _, n := range []int{30_000, 150_000} {
		s := benchPods(b, n)
		ctx := nsContext("")
		opts := &metainternalversion.ListOptions{}
		list := func(b *testing.B) *metrics.PodMetricsList {
			obj, err := s.List(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			l := obj.(*metrics.PodMetricsList)
			if len(l.Items) != n {
				b.Fatalf("listed %d pods, want %d", len(l.Items), n)
			}
			return l
		}
		b.Run(fmt.Sprintf("pods=%d/build", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				list(b)
			}
		})
		for _, mediaType := range []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf} {
			info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
			enc := codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion)
			var buf bytes.Buffer
			// At least this many bytes per pod: a size check that the
			// encoder cannot satisfy by skipping work.
			minBytes := n * 150
			b.Run(fmt.Sprintf("pods=%d/build+%s", n, map[string]string{runtime.ContentTypeJSON: "json", runtime.ContentTypeProtobuf: "protobuf"}[mediaType]), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					buf.Reset()
					if err := enc.Encode(list(b), &buf); err != nil {
						b.Fatal(err)
					}
					if buf.Len() < minBytes {
						b.Fatalf("encoded %d bytes, want at least %d", buf.Len(), minBytes)
					}
				}
				b.ReportMetric(float64(buf.Len()), "bytes/list")
			})
		}
	}
}

// BenchmarkFastList measures the same cluster-wide LIST as BenchmarkPodList
// through FastList: listing, selecting and writing the response bytes into
// a reused buffer, as FastList's pooled buffers are reused.
func BenchmarkFastList(b *testing.B) {
	for _, n := range []int{30_000, 150_000} {
		s := benchPods(b, n)
		f := NewFastList(Config{Reader: s.reader, Nodes: &fakeNodeLister{}, Pods: s.pods, Clock: fakeClock()})
		// The floor both paths share: list, filter, sort, read the usage.
		selectAll := func(b *testing.B) {
			served := 0
			err := listPods(s.reader, s.pods, "", nil, func(int) {},
				func(*pods.Pod, []sample.ContainerUsage) { served++ })
			if err != nil || served != n {
				b.Fatalf("served %d pods (%v), want %d", served, err, n)
			}
		}
		b.Run(fmt.Sprintf("pods=%d/select", n), func(b *testing.B) {
			b.ReportAllocs()
			// Untimed: the first list sorts the pod cache, once per server.
			selectAll(b)
			for b.Loop() {
				selectAll(b)
			}
		})
		for _, protobuf := range []bool{false, true} {
			r := listRequest{resource: resourcePods, scope: scopeCluster, protobuf: protobuf}
			name := map[bool]string{false: "json", true: "protobuf"}[protobuf]
			minBytes := n * 150
			b.Run(fmt.Sprintf("pods=%d/%s", n, name), func(b *testing.B) {
				b.ReportAllocs()
				var e encoder
				// FastList's buffers come from a pool: measure the steady
				// state, not the first response's allocation.
				buf, body, err := f.encode(&e, nil, &r, now)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					buf, body, err = f.encode(&e, buf[:0], &r, now)
					if err != nil {
						b.Fatal(err)
					}
					if len(body) < minBytes {
						b.Fatalf("wrote %d bytes, want at least %d", len(body), minBytes)
					}
				}
				b.ReportMetric(float64(len(body)), "bytes/list")
			})
		}
	}
}

// discardWriter is an http.ResponseWriter that keeps nothing.
type discardWriter struct {
	header http.Header
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// BenchmarkFastListHandler measures whole requests through FastList.Wrap,
// request parsing, pooling and the write included, with pods from a real
// informer indexer through the adapter the server uses, in a 5 000-node
// cluster: all namespaces, uncompressed and gzip; one namespace of 30 pods;
// and one of 1 500 pods, the namespace `make bench` lists at 5 000 nodes
// (150 000 pods in 100 namespaces), so its latency there can be set against
// the work a request does.
func BenchmarkFastListHandler(b *testing.B) {
	const n = 150_000
	handler := func(s *PodStorage) http.Handler {
		f := NewFastList(Config{Reader: s.reader, Nodes: &fakeNodeLister{}, Pods: s.pods, Clock: fakeClock()})
		return f.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { b.Fatal("fell through") }))
	}
	small, large := handler(benchPods(b, n)), handler(benchPodsIn(b, n, 1500))
	for _, tc := range []struct {
		name, path, accept, encoding string
		h                            http.Handler
	}{
		{"all/json", "/pods", "application/json", "", small},
		{"all/protobuf", "/pods", "application/vnd.kubernetes.protobuf", "", small},
		{"all/json+gzip", "/pods", "application/json", "gzip", small},
		{"namespace/json", "/namespaces/namespace-2345/pods", "application/json", "", small},
		{"namespace/protobuf", "/namespaces/namespace-2345/pods", "application/vnd.kubernetes.protobuf", "", small},
		{"namespace-1500/json", "/namespaces/namespace-0042/pods", "application/json", "", large},
		{"namespace-1500/protobuf", "/namespaces/namespace-0042/pods", "application/vnd.kubernetes.protobuf", "", large},
	} {
		req := httptest.NewRequest(http.MethodGet, "/apis/metrics.k8s.io/v1beta1"+tc.path, nil)
		req.Header.Set("Accept", tc.accept)
		if tc.encoding != "" {
			req.Header.Set("Accept-Encoding", tc.encoding)
		}
		b.Run(fmt.Sprintf("pods=%d/%s", n, tc.name), func(b *testing.B) {
			b.ReportAllocs()
			w := &discardWriter{header: http.Header{}}
			// Untimed: the first request sorts the pod cache and fills the
			// buffer pool, costs a server pays once, not per request.
			tc.h.ServeHTTP(w, req)
			for b.Loop() {
				w.n = 0
				tc.h.ServeHTTP(w, req)
				if w.n < 1000 {
					b.Fatalf("wrote %d bytes", w.n)
				}
			}
			b.ReportMetric(float64(w.n), "bytes/op")
		})
	}
}

// BenchmarkPodListNamespace is the apiserver path's one-namespace LIST over
// the same indexer, for comparison with BenchmarkFastListHandler.
func BenchmarkPodListNamespace(b *testing.B) {
	const n = 150_000
	s := benchPods(b, n)
	ctx := nsContext("namespace-2345")
	for _, mediaType := range []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf} {
		info, _ := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), mediaType)
		enc := Codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion)
		var buf bytes.Buffer
		b.Run(fmt.Sprintf("pods=%d/namespace/%s", n, map[string]string{runtime.ContentTypeJSON: "json", runtime.ContentTypeProtobuf: "protobuf"}[mediaType]), func(b *testing.B) {
			b.ReportAllocs()
			// Untimed: the first List sorts the pod cache, once per server.
			if _, err := s.List(ctx, &metainternalversion.ListOptions{}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				obj, err := s.List(ctx, &metainternalversion.ListOptions{})
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if err := enc.Encode(obj, &buf); err != nil {
					b.Fatal(err)
				}
				if buf.Len() < 30*150 {
					b.Fatalf("encoded %d bytes", buf.Len())
				}
			}
		})
	}
}

// indexedPods is a pods.Lister over a client-go indexer with the namespace
// index, through the pods.Cache pkg/server uses.
func indexedPods(b *testing.B, list []*pods.Pod) pods.Lister {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range list {
		if err := indexer.Add(p); err != nil {
			b.Fatal(err)
		}
	}
	c, err := pods.NewCache(storeOnly{indexer})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// storeOnly is an informer whose store is filled by hand and whose events
// never come.
type storeOnly struct{ indexer cache.Indexer }

func (s storeOnly) GetIndexer() cache.Indexer { return s.indexer }
func (storeOnly) AddEventHandler(cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	return nil, nil
}
