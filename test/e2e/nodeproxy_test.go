package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

var nodeProxyPath = regexp.MustCompile(`^/api/v1/nodes/([^/]+)/proxy(/.*)$`)

// startNodeProxy stands in front of the bed's kube-apiserver for one reason:
// the real apiserver refuses to proxy to loopback addresses ("address not
// allowed"), and every simulated kubelet lives on loopback. It passes every
// request to the real apiserver as the metrics server's ServiceAccount, and
// serves /api/v1/nodes/{node}/proxy/... itself the way the apiserver does:
// a SubjectAccessReview for get nodes/proxy, then the kubelet, reached with
// the apiserver's own kubelet client certificate. It returns a kubeconfig
// for ringmetrics that points at it.
func startNodeProxy(t *testing.T) string {
	t.Helper()
	c := env.bed.Cluster
	raw, err := clientcmd.LoadFromFile(env.bed.ServerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := raw.Contexts[raw.CurrentContext]
	auth := raw.AuthInfos[ctx.AuthInfo]
	saCert, err := tls.X509KeyPair(auth.ClientCertificateData, auth.ClientKeyData)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(c.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	kubeletCert, err := tls.LoadX509KeyPair(filepath.Join(c.Dir, "pki", "apiserver-kubelet-client.crt"), filepath.Join(c.Dir, "pki", "apiserver-kubelet-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	kubelets := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{kubeletCert}}}}

	upstream, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	apiserver := httputil.NewSingleHostReverseProxy(upstream)
	apiserver.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{saCert}}}
	apiserver.FlushInterval = -1

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := nodeProxyPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			apiserver.ServeHTTP(w, r)
			return
		}
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   bed.ServiceAccountUser,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + bed.Namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: "get", Resource: "nodes", Subresource: "proxy", Name: m[1],
			},
		}}
		got, err := c.Client().AuthorizationV1().SubjectAccessReviews().Create(r.Context(), review, metav1.CreateOptions{})
		if err != nil || !got.Status.Allowed {
			http.Error(w, "forbidden: nodes/proxy", http.StatusForbidden)
			return
		}
		node, err := c.Client().CoreV1().Nodes().Get(r.Context(), m[1], metav1.GetOptions{})
		if err != nil || len(node.Status.Addresses) == 0 {
			http.Error(w, "no such node", http.StatusNotFound)
			return
		}
		target := "https://" + net.JoinHostPort(node.Status.Addresses[0].Address, strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port))) + m[2]
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
		resp, err := kubelets.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})

	certPEM, keyPEM, err := c.IssueServingCert([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	serving, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serving}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	raw.Clusters[ctx.Cluster].Server = "https://" + ln.Addr().String()
	path := filepath.Join(t.TempDir(), "via-node-proxy.kubeconfig")
	if err := clientcmd.WriteToFile(*raw, path); err != nil {
		t.Fatal(err)
	}
	return path
}
