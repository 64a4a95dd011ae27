package api

import (
	"bytes"
	"fmt"
	"testing"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// benchPods returns a pods storage over n pods in n/30 namespaces, a third of
// them with two containers, as a cluster of n/30 nodes with 30 pods each.
func benchPods(n int) *PodStorage {
	reader := &fakeReader{pods: make(map[podKey][]sample.ContainerUsage, n)}
	lister := &fakePodLister{pods: make([]*metav1.PartialObjectMetadata, 0, n)}
	for i := range n {
		namespace := fmt.Sprintf("namespace-%04d", i/30)
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
	return NewPodStorage(reader, lister, fakeClock())
}

// BenchmarkPodList measures a cluster-wide PodMetrics LIST: the storage
// building the objects, then encoding them as the apiserver does (the
// streaming collection encoders that NewDefaultAPIGroupInfo enables).
func BenchmarkPodList(b *testing.B) {
	codecs := serializer.NewCodecFactory(Scheme,
		serializer.WithStreamingCollectionEncodingToJSON(),
		serializer.WithStreamingCollectionEncodingToProtobuf())
	for _, n := range []int{30_000, 150_000} {
		s := benchPods(n)
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
