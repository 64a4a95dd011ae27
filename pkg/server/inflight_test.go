package server

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/authentication/user"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
)

func TestIsClusterList(t *testing.T) {
	list := func(ns, resource string) *apirequest.RequestInfo {
		return &apirequest.RequestInfo{IsResourceRequest: true, APIGroup: "metrics.k8s.io", Verb: "list", Namespace: ns, Resource: resource}
	}
	get := list("", "nodes")
	get.Verb, get.Name = "get", "n1"
	core := list("", "pods")
	core.APIGroup = ""
	usage := func(ns, resource string) *apirequest.RequestInfo {
		info := list(ns, resource)
		info.APIGroup = "usage.ringmetrics.dev"
		return info
	}
	tests := []struct {
		name string
		info *apirequest.RequestInfo
		want bool
	}{
		{"pods of all namespaces", list("", "pods"), true},
		{"nodes", list("", "nodes"), true},
		{"pods of one namespace", list("ns", "pods"), false},
		{"get one node", get, false},
		{"core pods", core, false},
		{"podusages of all namespaces", usage("", "podusages"), true},
		{"nodeusages", usage("", "nodeusages"), true},
		{"podusages of one namespace", usage("ns", "podusages"), false},
		{"usage group, metrics resource name", usage("", "pods"), false},
		{"non-resource", &apirequest.RequestInfo{Verb: "get", Path: "/readyz"}, false},
	}
	for _, tt := range tests {
		if got := isClusterList(tt.info); got != tt.want {
			t.Errorf("%s: isClusterList = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestClusterListLimit holds limit cluster-wide LISTs in the handler and
// checks what the next requests get.
func TestClusterListLimit(t *testing.T) {
	const limit = 2
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	h := WithClusterListLimit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("block") != "" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}), limit)
	serve := func(path, group string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		info, err := (&apirequest.RequestInfoFactory{APIPrefixes: sets.NewString("apis"), GrouplessAPIPrefixes: sets.NewString()}).NewRequestInfo(req)
		if err != nil {
			t.Fatal(err)
		}
		ctx := apirequest.WithRequestInfo(req.Context(), info)
		ctx = apirequest.WithUser(ctx, &user.DefaultInfo{Name: "u", Groups: []string{group, user.AllAuthenticated}})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(ctx))
		return rec
	}
	const all = "/apis/metrics.k8s.io/v1beta1/pods"
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() {
			if rec := serve(all+"?block=1", "readers"); rec.Code != http.StatusOK {
				t.Errorf("held LIST: %d", rec.Code)
			}
		})
		<-entered
	}
	tests := []struct {
		path, group string
		want        int
	}{
		{all, "readers", http.StatusTooManyRequests},
		{"/apis/metrics.k8s.io/v1beta1/nodes", "readers", http.StatusTooManyRequests},
		{"/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods?labelSelector=app%3Dx", "readers", http.StatusOK},
		{"/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods/p", "readers", http.StatusOK},
		{"/apis/metrics.k8s.io/v1beta1/nodes/n1", "readers", http.StatusOK},
		{all, user.SystemPrivilegedGroup, http.StatusOK},
	}
	for _, tt := range tests {
		rec := serve(tt.path, tt.group)
		if rec.Code != tt.want {
			t.Errorf("GET %s as %s while full: %d, want %d", tt.path, tt.group, rec.Code, tt.want)
		}
		if tt.want == http.StatusTooManyRequests && rec.Header().Get("Retry-After") != "1" {
			t.Errorf("GET %s: Retry-After %q, want 1", tt.path, rec.Header().Get("Retry-After"))
		}
	}
	close(release)
	wg.Wait()
	if rec := serve(all, "readers"); rec.Code != http.StatusOK {
		t.Errorf("LIST after the held ones ended: %d, want 200", rec.Code)
	}
}
