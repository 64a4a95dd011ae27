package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

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

// apiserverClient talks to the kube-apiserver; user "" is anonymous, and
// token, when set, is sent as a bearer token.
func apiserverClient(t *testing.T, user, token string, groups ...string) (*http.Client, string) {
	t.Helper()
	caPEM, err := os.ReadFile(env.bed.Cluster.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{RootCAs: pool}
	if user != "" {
		certPEM, keyPEM, err := env.bed.Cluster.IssueClientCert(user, groups...)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	var rt http.RoundTripper = &http.Transport{TLSClientConfig: cfg}
	if token != "" {
		rt = bearer{token: token, next: rt}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: rt}, env.bed.Cluster.URL
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
