package e2e

import (
	"net/http"
	"testing"
)

// TestAuthThroughAPIServer checks delegated authentication and authorization
// on the real path: kube-apiserver, aggregator, ringmetrics.
func TestAuthThroughAPIServer(t *testing.T) {
	use(t, env.ringmetrics)
	const path = "/apis/metrics.k8s.io/v1beta1/nodes"
	tests := []struct {
		name   string
		user   string
		token  string
		groups []string
		want   int
	}{
		{name: "anonymous", want: http.StatusUnauthorized},
		{name: "bad token", token: "not-a-token", want: http.StatusUnauthorized},
		{name: "user without RBAC", user: "nobody", want: http.StatusForbidden},
		{name: "cluster admin", user: "e2e-admin", groups: []string{"system:masters"}, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, url := apiserverClient(t, tt.user, tt.token, tt.groups...)
			if got := getJSON(t, c, url+path, nil); got != tt.want {
				t.Fatalf("GET %s as %q: status %d, want %d", path, tt.name, got, tt.want)
			}
		})
	}
}

// TestAuthDirect checks ringmetrics itself: a request that did not come
// through the aggregator still needs an identity the cluster authorizes.
func TestAuthDirect(t *testing.T) {
	const path = "/apis/metrics.k8s.io/v1beta1/nodes"
	tests := []struct {
		name   string
		user   string
		groups []string
		want   []int
	}{
		{name: "anonymous", want: []int{http.StatusUnauthorized, http.StatusForbidden}},
		{name: "user without RBAC", user: "nobody", want: []int{http.StatusForbidden}},
		{name: "cluster admin", user: "e2e-admin", groups: []string{"system:masters"}, want: []int{http.StatusOK}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := getJSON(t, directClient(t, tt.user, tt.groups...), env.ringmetrics.URL()+path, nil)
			for _, w := range tt.want {
				if got == w {
					return
				}
			}
			t.Fatalf("GET %s directly as %q: status %d, want one of %v", path, tt.name, got, tt.want)
		})
	}
	// Health endpoints stay open for kubelet probes.
	for _, p := range []string{"/livez", "/readyz"} {
		if got := getJSON(t, directClient(t, ""), env.ringmetrics.URL()+p, nil); got != http.StatusOK {
			t.Errorf("GET %s anonymously: %d, want 200", p, got)
		}
	}
}
