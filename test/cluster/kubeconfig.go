package cluster

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The admin client is used to create thousands of objects quickly; client-go's
// default of 5 QPS would make that take minutes. The admin user is in
// system:masters, which API priority and fairness exempts from its limits.
const (
	adminQPS   = 1000
	adminBurst = 2000
)

// CAFile is the PEM file of the cluster CA. It signs the apiserver's serving
// certificate, client certificates and serving certificates from
// IssueServingCert (kubelet simulators, aggregated servers).
func (c *Cluster) CAFile() string { return filepath.Join(c.Dir, "pki", "ca.crt") }

// FrontProxyCAFile is the PEM file of the CA that signs the aggregator's
// front-proxy-client certificate (--requestheader-client-ca-file).
func (c *Cluster) FrontProxyCAFile() string { return filepath.Join(c.Dir, "pki", "front-proxy-ca.crt") }

// CA returns the cluster CA certificate and key for in-process signing.
func (c *Cluster) CA() (*x509.Certificate, crypto.Signer) { return c.ca.cert, c.ca.signer() }

// IssueServingCert signs a serving certificate (ECDSA P-256) with the
// cluster CA for the given DNS names and IPs.
func (c *Cluster) IssueServingCert(dnsNames []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		return nil, nil, fmt.Errorf("a serving certificate needs at least one DNS name or IP")
	}
	cn := ""
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	} else {
		cn = ips[0].String()
	}
	return c.ca.issue(leaf{commonName: cn, dnsNames: dnsNames, ips: ips, server: true})
}

// IssueClientCert signs a client certificate with the cluster CA: the
// apiserver authenticates it as user with the given groups.
func (c *Cluster) IssueClientCert(user string, groups ...string) (certPEM, keyPEM []byte, err error) {
	if user == "" {
		return nil, nil, fmt.Errorf("empty user name")
	}
	return c.ca.issue(leaf{commonName: user, organization: groups})
}

// WriteKubeconfig issues a client certificate for user and groups and writes
// a kubeconfig using it to <Dir>/kubeconfig/<name>.kubeconfig.
func (c *Cluster) WriteKubeconfig(name, user string, groups ...string) (path string, err error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("invalid kubeconfig name %q", name)
	}
	certPEM, keyPEM, err := c.IssueClientCert(user, groups...)
	if err != nil {
		return "", err
	}
	path = filepath.Join(c.Dir, "kubeconfig", name+".kubeconfig")
	if err := writeKubeconfig(path, c.URL, c.ca.certPEM, name, certPEM, keyPEM); err != nil {
		return "", err
	}
	return path, nil
}

func writeKubeconfig(path, url string, caPEM []byte, user string, certPEM, keyPEM []byte) error {
	const clusterName = "ringmetrics"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = user
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// RESTConfig returns a new admin (system:masters) client configuration. Its
// rate limit is raised to 1000 QPS, burst 2000, for bulk object creation.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host: c.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.ca.certPEM,
			CertData: c.adminCert,
			KeyData:  c.adminKey,
		},
		QPS:       adminQPS,
		Burst:     adminBurst,
		UserAgent: "ringmetrics-test-cluster",
	}
}

// Client returns the admin clientset (system:masters), built by Start.
func (c *Cluster) Client() kubernetes.Interface { return c.client }
