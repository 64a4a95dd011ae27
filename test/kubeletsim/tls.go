package kubeletsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Certificate validity uses the wall clock, not Config.Clock: TLS peers
// check it against their own real time.
const (
	certBackdate = time.Hour
	certLifetime = 365 * 24 * time.Hour
)

// certCache issues one serving certificate per node address on first use,
// all sharing one ECDSA key, so 5 000 nodes cost one key and a small
// certificate each, and only for nodes actually contacted.
type certCache struct {
	ca     *x509.Certificate
	caKey  crypto.Signer
	key    *ecdsa.PrivateKey
	nameOf func(netip.Addr) string

	mu     sync.Mutex
	certs  map[netip.Addr]*tls.Certificate
	serial int64
}

func newCertCache(ca *x509.Certificate, caKey crypto.Signer, nameOf func(netip.Addr) string) (*certCache, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate serving key: %w", err)
	}
	return &certCache{ca: ca, caKey: caKey, key: key, nameOf: nameOf, certs: make(map[netip.Addr]*tls.Certificate)}, nil
}

// getCertificate picks the certificate by the local address the client
// connected to, which identifies the node.
func (c *certCache) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	ta, ok := hello.Conn.LocalAddr().(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("unexpected local address %v", hello.Conn.LocalAddr())
	}
	addr := ta.AddrPort().Addr().Unmap()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert := c.certs[addr]; cert != nil {
		return cert, nil
	}
	name := c.nameOf(addr)
	if name == "" {
		return nil, fmt.Errorf("no simulated node on %v", addr)
	}
	c.serial++
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + c.serial),
		Subject:      pkix.Name{CommonName: name + "@kubeletsim"},
		DNSNames:     []string{name},
		IPAddresses:  []net.IP{addr.AsSlice()},
		NotBefore:    now.Add(-certBackdate),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &c.key.PublicKey, c.caKey)
	if err != nil {
		return nil, fmt.Errorf("sign serving certificate for %v: %w", addr, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	cert := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: c.key, Leaf: leaf}
	c.certs[addr] = cert
	return cert, nil
}

// forget drops a node's certificate after the node is deleted.
func (c *certCache) forget(addr netip.Addr) {
	c.mu.Lock()
	delete(c.certs, addr)
	c.mu.Unlock()
}

// tlsConfig is shared by every node's listener.
func (f *Fleet) tlsConfig() *tls.Config {
	conf := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: f.certs.getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	if f.cfg.DisableHTTP2 {
		conf.NextProtos = []string{"http/1.1"}
	}
	if !f.cfg.AuthDisabled {
		conf.ClientAuth = tls.VerifyClientCertIfGiven
		conf.ClientCAs = f.cfg.ClientCAs
	}
	return conf
}

// newCA makes a throwaway self-signed CA for fleets given none.
func newCA() (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "kubeletsim-ca"},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-sign CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}
