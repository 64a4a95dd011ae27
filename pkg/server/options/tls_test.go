package options

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/spf13/pflag"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

// TestServingMinTLSVersion checks that serving defaults to TLS 1.2 and that
// --tls-min-version still decides.
func TestServingMinTLSVersion(t *testing.T) {
	tests := []struct {
		args []string
		want uint16
	}{
		{nil, tls.VersionTLS12},
		{[]string{"--tls-min-version=VersionTLS13"}, tls.VersionTLS13},
		{[]string{"--tls-min-version=VersionTLS12"}, tls.VersionTLS12},
	}
	for _, tt := range tests {
		o := NewOptions()
		fs := pflag.NewFlagSet("ringmetrics", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		serveOnLoopback(t, o)
		if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, nil); err != nil {
			t.Fatal(err)
		}
		var serving *genericapiserver.SecureServingInfo
		if err := o.SecureServing.SecureServingOptions.ApplyTo(&serving); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if serving.MinTLSVersion != tt.want {
			t.Errorf("%v: serving MinTLSVersion %s, want %s", tt.args, tls.VersionName(serving.MinTLSVersion), tls.VersionName(tt.want))
		}
	}
}

// serveOnLoopback lets o's secure serving be applied in a test: self-signed
// certificates in a temporary directory, as without --tls-cert-file, and a
// listener on a free loopback port rather than --secure-port's.
func serveOnLoopback(t *testing.T, o *Options) {
	t.Helper()
	o.SecureServing.ServerCert.CertDirectory = t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	o.SecureServing.Listener = l
}
