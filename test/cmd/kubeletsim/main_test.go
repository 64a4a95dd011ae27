package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile := write("ca.crt", "CERTIFICATE", certDER)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)

	for _, tc := range []struct {
		name, typ string
		der       []byte
		pub       crypto.PublicKey
	}{
		{"pkcs8", "PRIVATE KEY", pkcs8, &ecKey.PublicKey},
		{"sec1", "EC PRIVATE KEY", sec1, &ecKey.PublicKey},
		{"pkcs1", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), &rsaKey.PublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, signer, err := loadCA(certFile, write(tc.name+".key", tc.typ, tc.der))
			if err != nil {
				t.Fatal(err)
			}
			if cert.Subject.CommonName != "test-ca" {
				t.Errorf("cert %v", cert.Subject)
			}
			if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.pub) {
				t.Error("wrong key")
			}
		})
	}
	if _, _, err := loadCA(certFile, write("bad.key", "CERTIFICATE", certDER)); err == nil {
		t.Error("certificate accepted as a key")
	}
	if _, _, err := loadCA(certFile, ""); err == nil {
		t.Error("missing key file accepted")
	}
	if _, err := loadPool(certFile); err != nil {
		t.Error(err)
	}
}
