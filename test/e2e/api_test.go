package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// TestAPIThroughAggregator exercises what kubectl top does not: protobuf,
// selectors, errors, tables and OpenAPI, through kube-apiserver.
func TestAPIThroughAggregator(t *testing.T) {
	use(t, env.ringmetrics)
	c, base := apiserverClient(t, "e2e-admin", "", "system:masters")
	get := func(path, accept string) (int, []byte, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body, resp.Header.Get("Content-Type")
	}

	t.Run("protobuf list", func(t *testing.T) {
		code, body, ct := get("/apis/metrics.k8s.io/v1beta1/pods", "application/vnd.kubernetes.protobuf")
		if code != http.StatusOK || !strings.HasPrefix(ct, "application/vnd.kubernetes.protobuf") {
			t.Fatalf("status %d, content type %q", code, ct)
		}
		scheme := runtime.NewScheme()
		if err := metricsv1beta1.AddToScheme(scheme); err != nil {
			t.Fatal(err)
		}
		codecs := serializer.NewCodecFactory(scheme)
		info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
		if !ok {
			t.Fatal("no protobuf serializer")
		}
		var list metricsv1beta1.PodMetricsList
		if _, _, err := info.Serializer.Decode(body, nil, &list); err != nil {
			t.Fatalf("decoding protobuf PodMetricsList: %v", err)
		}
		if want := simulatedPods(nil); len(list.Items) != want {
			t.Fatalf("%d pods in the protobuf list, want %d", len(list.Items), want)
		}
	})
	t.Run("field selector", func(t *testing.T) {
		var list metricsv1beta1.PodMetricsList
		if code := getJSON(t, c, base+"/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%3Dteam-b", &list); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		for _, p := range list.Items {
			if p.Namespace != "team-b" {
				t.Fatalf("field selector let %s/%s through", p.Namespace, p.Name)
			}
		}
		if len(list.Items) == 0 {
			t.Fatal("no pods in team-b")
		}
	})
	for _, bad := range []string{"labelSelector=app+in+%28", "fieldSelector=spec.nodeName%3Dx", "labelSelector=%3D%3Dx"} {
		t.Run("bad selector "+bad, func(t *testing.T) {
			code, body, _ := get("/apis/metrics.k8s.io/v1beta1/pods?"+bad, "")
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", code, body)
			}
		})
	}
	t.Run("unknown pod is 404", func(t *testing.T) {
		if code, body, _ := get("/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods/no-such-pod", ""); code != http.StatusNotFound {
			t.Fatalf("status %d, want 404: %s", code, body)
		}
	})
	t.Run("node table", func(t *testing.T) {
		code, body, _ := get("/apis/metrics.k8s.io/v1beta1/nodes", "application/json;as=Table;v=v1;g=meta.k8s.io")
		if code != http.StatusOK || !strings.Contains(string(body), `"kind":"Table"`) || !strings.Contains(string(body), "sim-node-0") {
			t.Fatalf("status %d: %.300s", code, body)
		}
	})
	for _, path := range []string{"/openapi/v2", "/openapi/v3/apis/metrics.k8s.io/v1beta1"} {
		t.Run("openapi "+path, func(t *testing.T) {
			eventually(t, 60*time.Second, func() error {
				code, body, _ := get(path, "application/json")
				if code != http.StatusOK || !strings.Contains(string(body), "NodeMetrics") {
					return fmt.Errorf("GET %s: status %d, NodeMetrics not found", path, code)
				}
				return nil
			})
		})
	}
}
