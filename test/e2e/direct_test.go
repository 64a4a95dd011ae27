package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// directClient talks to an aggregated server's own port; see bed.DirectClient.
func directClient(t *testing.T, user string, groups ...string) *http.Client {
	t.Helper()
	c, err := bed.DirectClient(env.bed.Cluster, user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiserverClient talks to the kube-apiserver (see bed.APIServerClient); user
// "" is anonymous, and token, when set, is sent as a bearer token.
func apiserverClient(t *testing.T, user, token string, groups ...string) (*http.Client, string) {
	t.Helper()
	c, err := bed.APIServerClient(env.bed.Cluster, user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		c.Transport = bearer{token: token, next: c.Transport}
	}
	return c, env.bed.Cluster.URL
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// getJSON fetches url into v and returns the status code.
func getJSON(t *testing.T, c *http.Client, url string, v any) int {
	t.Helper()
	code, err := bed.GetJSON(c, url, v)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// adminDirect reads a server's API directly as cluster-admin.
func adminDirect(t *testing.T, s *bed.Server, path string, v any) error {
	t.Helper()
	c := directClient(t, "e2e-admin", "system:masters")
	if code := getJSON(t, c, s.URL()+path, v); code != http.StatusOK {
		return fmt.Errorf("GET %s%s: status %d", s.URL(), path, code)
	}
	return nil
}
