package bed

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/ringmetrics/ringmetrics/test/cluster"
)

// APIServerClient talks to the cluster's kube-apiserver (c.URL), verifying
// its serving certificate against the cluster CA, as user and groups with a
// client certificate (an empty user is anonymous). It is DirectClient with
// verification on.
func APIServerClient(c *cluster.Cluster, user string, groups ...string) (*http.Client, error) {
	caPEM, err := os.ReadFile(c.CAFile())
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", c.CAFile())
	}
	client, err := DirectClient(c, user, groups...)
	if err != nil {
		return nil, err
	}
	tr := client.Transport.(*http.Transport)
	tr.TLSClientConfig.InsecureSkipVerify = false
	tr.TLSClientConfig.RootCAs = pool
	return client, nil
}
