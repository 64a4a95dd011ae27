package api

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

func TestSchemeAndGroupVersions(t *testing.T) {
	got := Scheme.PrioritizedVersionsForGroup(metrics.GroupName)
	if diff := cmp.Diff([]schema.GroupVersion{metricsv1.SchemeGroupVersion, v1beta1.SchemeGroupVersion}, got); diff != "" {
		t.Errorf("scheme's prioritized versions (-want +got):\n%s", diff)
	}
	for _, versions := range []Versions{AllVersions, V1beta1Only} {
		info := NewAPIGroupInfo(newTestNodeStorage(), newTestPodStorage(), versions)
		if diff := cmp.Diff([]schema.GroupVersion(versions), info.PrioritizedVersions); diff != "" {
			t.Errorf("APIGroupInfo versions (-want +got):\n%s", diff)
		}
		if len(info.VersionedResourcesStorageMap) != len(versions) {
			t.Errorf("storage map %v, want exactly %v", info.VersionedResourcesStorageMap, versions)
		}
		for _, v := range versions {
			if len(info.VersionedResourcesStorageMap[v.Version]) != 2 {
				t.Errorf("%s resources = %v, want nodes and pods", v.Version, info.VersionedResourcesStorageMap[v.Version])
			}
		}
	}
}

// roundTrip encodes obj as v1beta1 in mediaType and decodes it back to the
// internal version.
func roundTrip(t *testing.T, mediaType string, obj runtime.Object) runtime.Object {
	t.Helper()
	info, ok := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		t.Fatalf("no serializer for %s", mediaType)
	}
	var buf bytes.Buffer
	if err := Codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion).Encode(obj, &buf); err != nil {
		t.Fatalf("encoding %T as %s: %v", obj, mediaType, err)
	}
	if mediaType == runtime.ContentTypeProtobuf && !bytes.HasPrefix(buf.Bytes(), []byte("k8s\x00")) {
		t.Fatalf("protobuf encoding lacks the k8s envelope: %q", buf.Bytes()[:min(buf.Len(), 8)])
	}
	out, gvk, err := Codecs.DecoderToVersion(info.Serializer, metrics.SchemeGroupVersion).Decode(buf.Bytes(), nil, nil)
	if err != nil {
		t.Fatalf("decoding %s: %v", mediaType, err)
	}
	if gvk.GroupVersion() != v1beta1.SchemeGroupVersion {
		t.Errorf("decoded kind %v, want metrics.k8s.io/v1beta1", gvk)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	pods, err := newTestPodStorage().List(nsContext(""), nil)
	if err != nil {
		t.Fatalf("List pods: %v", err)
	}
	nodes, err := newTestNodeStorage().List(nsContext(""), nil)
	if err != nil {
		t.Fatalf("List nodes: %v", err)
	}
	for _, mediaType := range []string{runtime.ContentTypeProtobuf, runtime.ContentTypeJSON} {
		for _, obj := range []runtime.Object{pods, nodes, &pods.(*metrics.PodMetricsList).Items[1]} {
			got := roundTrip(t, mediaType, obj)
			// Times travel with second precision in both encodings: compare
			// after the same rounding.
			want := obj.DeepCopyObject()
			truncateTimes(want)
			truncateTimes(got)
			if !equality.Semantic.DeepEqual(want, got) {
				t.Errorf("%s round trip of %T:\n got %+v\nwant %+v", mediaType, obj, got, want)
			}
		}
	}
}

func truncateTimes(obj runtime.Object) {
	switch o := obj.(type) {
	case *metrics.PodMetricsList:
		o.TypeMeta = metav1.TypeMeta{}
		for i := range o.Items {
			truncateTimes(&o.Items[i])
		}
	case *metrics.NodeMetricsList:
		o.TypeMeta = metav1.TypeMeta{}
		for i := range o.Items {
			truncateTimes(&o.Items[i])
		}
	case *metrics.PodMetrics:
		o.Timestamp = o.Timestamp.Rfc3339Copy()
		o.CreationTimestamp = o.CreationTimestamp.Rfc3339Copy()
		o.TypeMeta = metav1.TypeMeta{}
	case *metrics.NodeMetrics:
		o.Timestamp = o.Timestamp.Rfc3339Copy()
		o.CreationTimestamp = o.CreationTimestamp.Rfc3339Copy()
		o.TypeMeta = metav1.TypeMeta{}
	}
}
