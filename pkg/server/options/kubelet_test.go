package options

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// TestKubeletValidate breaks each rule alone, passes at each boundary and
// checks that every broken rule is reported.
func TestKubeletValidate(t *testing.T) {
	tests := []struct {
		args []string
		// errs are the beginnings of the errors Validate must report, in order.
		errs []string
	}{
		{args: nil},

		{args: []string{"--kubelet-port=1"}},
		{args: []string{"--kubelet-port=65535"}},
		{args: []string{"--kubelet-port=0"}, errs: []string{"--kubelet-port"}},
		{args: []string{"--kubelet-port=-1"}, errs: []string{"--kubelet-port"}},
		{args: []string{"--kubelet-port=65536"}, errs: []string{"--kubelet-port"}},

		{args: []string{"--kubelet-request-timeout=1ns"}},
		{args: []string{"--kubelet-request-timeout=0"}, errs: []string{"--kubelet-request-timeout"}},
		{args: []string{"--kubelet-request-timeout=-1s"}, errs: []string{"--kubelet-request-timeout"}},

		{args: []string{"--kubelet-max-response-bytes=1"}},
		{args: []string{"--kubelet-max-response-bytes=0"}, errs: []string{"--kubelet-max-response-bytes"}},
		{args: []string{"--kubelet-max-response-bytes=-1"}, errs: []string{"--kubelet-max-response-bytes"}},

		{args: []string{"--kubelet-preferred-address-types=ExternalIP,ExternalDNS,InternalIP,InternalDNS,Hostname"}},
		{args: []string{"--kubelet-preferred-address-types="}, errs: []string{"--kubelet-preferred-address-types must"}},
		{args: []string{"--kubelet-preferred-address-types=InternalIP,Bogus"}, errs: []string{`--kubelet-preferred-address-types: unknown address type "Bogus"`}},
		{args: []string{"--kubelet-preferred-address-types=internalip"}, errs: []string{`--kubelet-preferred-address-types: unknown address type "internalip"`}},
		{
			args: []string{"--kubelet-preferred-address-types=Bogus,InternalIP,Other"},
			errs: []string{`--kubelet-preferred-address-types: unknown address type "Bogus"`, `--kubelet-preferred-address-types: unknown address type "Other"`},
		},

		{args: []string{"--kubelet-client-certificate=/etc/kc.crt", "--kubelet-client-key=/etc/kc.key"}},
		{args: []string{"--kubelet-client-certificate=/etc/kc.crt"}, errs: []string{"--kubelet-client-certificate and --kubelet-client-key"}},
		{args: []string{"--kubelet-client-key=/etc/kc.key"}, errs: []string{"--kubelet-client-certificate and --kubelet-client-key"}},

		{args: []string{"--kubelet-endpoint=resource"}},
		{args: []string{"--kubelet-endpoint=summary"}},
		{args: []string{"--kubelet-endpoint=auto"}},
		{args: []string{"--kubelet-endpoint=Resource"}, errs: []string{"--kubelet-endpoint"}},
		{args: []string{"--kubelet-endpoint="}, errs: []string{"--kubelet-endpoint"}},

		{args: []string{"--kubelet-insecure-tls"}},
		{args: []string{"--kubelet-certificate-authority=/etc/kubelet-ca.crt"}},
		{args: []string{"--kubelet-insecure-tls", "--kubelet-certificate-authority=/etc/kubelet-ca.crt"}, errs: []string{"--kubelet-insecure-tls and --kubelet-certificate-authority"}},

		{
			args: []string{
				"--kubelet-port=0", "--kubelet-request-timeout=0", "--kubelet-max-response-bytes=0", "--kubelet-preferred-address-types=",
				"--kubelet-client-key=/etc/kc.key", "--kubelet-endpoint=stats", "--kubelet-insecure-tls", "--kubelet-certificate-authority=/etc/kubelet-ca.crt",
			},
			errs: []string{
				"--kubelet-port", "--kubelet-request-timeout", "--kubelet-max-response-bytes", "--kubelet-preferred-address-types",
				"--kubelet-client-certificate and --kubelet-client-key", "--kubelet-endpoint", "--kubelet-insecure-tls and --kubelet-certificate-authority",
			},
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o := NewKubeletOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			errs := o.Validate()
			if len(errs) != len(tt.errs) {
				t.Fatalf("Validate() = %v, want %d errors", errs, len(tt.errs))
			}
			for i, want := range tt.errs {
				if !strings.HasPrefix(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to begin with %q", i, errs[i], want)
				}
			}
		})
	}
}

func TestKubeletRESTConfig(t *testing.T) {
	apiserver := func() *rest.Config {
		return &rest.Config{
			Host:        "https://10.0.0.1:6443",
			BearerToken: "apiserver-token",
			Timeout:     30 * time.Second,
			TLSClientConfig: rest.TLSClientConfig{
				ServerName: "kubernetes.default.svc",
				CAData:     []byte("cluster-ca"),
				CertData:   []byte("client-cert"),
				KeyData:    []byte("client-key"),
			},
		}
	}
	// want describes the fields of the kubelet config the flags decide.
	type want struct {
		Insecure           bool
		ServerName         string
		CAFile             string
		CAData             string
		CertFile, KeyFile  string
		CertData, KeyData  string
		BearerToken        string
		Timeout            time.Duration
		Warnings           int
		ApiserverUnchanged bool
	}
	verified := want{CAData: "cluster-ca", CertData: "client-cert", KeyData: "client-key", BearerToken: "apiserver-token"}
	tests := []struct {
		name      string
		opts      func(o *KubeletOptions)
		apiserver func(c *rest.Config)
		want      want
	}{
		{
			name: "defaults verify kubelets against the cluster CA with the kubeconfig's identity",
			want: verified,
		},
		{
			name:      "a kubeconfig that skips apiserver verification does not skip kubelet verification",
			apiserver: func(c *rest.Config) { c.Insecure, c.CAData = true, nil },
			want:      want{CertData: "client-cert", KeyData: "client-key", BearerToken: "apiserver-token"},
		},
		{
			name: "--kubelet-certificate-authority replaces the cluster CA",
			opts: func(o *KubeletOptions) { o.CAFile = "/etc/kubelet-ca.crt" },
			want: want{CAFile: "/etc/kubelet-ca.crt", CertData: "client-cert", KeyData: "client-key", BearerToken: "apiserver-token"},
		},
		{
			name: "--kubelet-insecure-tls skips verification and warns once",
			opts: func(o *KubeletOptions) { o.InsecureTLS = true },
			want: want{Insecure: true, CertData: "client-cert", KeyData: "client-key", BearerToken: "apiserver-token", Warnings: 1},
		},
		{
			name: "--kubelet-insecure-tls in proxy mode is unused and not warned about",
			opts: func(o *KubeletOptions) { o.InsecureTLS, o.ViaAPIServer = true, true },
			want: want{Insecure: true, CertData: "client-cert", KeyData: "client-key", BearerToken: "apiserver-token"},
		},
		{
			name: "a kubelet client certificate replaces the kubeconfig's certificate and token",
			opts: func(o *KubeletOptions) { o.ClientCertFile, o.ClientKeyFile = "/etc/kc.crt", "/etc/kc.key" },
			want: want{CAData: "cluster-ca", CertFile: "/etc/kc.crt", KeyFile: "/etc/kc.key"},
		},
		{
			name:      "a token file is dropped with a kubelet client certificate too",
			apiserver: func(c *rest.Config) { c.BearerToken, c.BearerTokenFile = "", "/var/run/token" },
			opts:      func(o *KubeletOptions) { o.ClientCertFile, o.ClientKeyFile = "/etc/kc.crt", "/etc/kc.key" },
			want:      want{CAData: "cluster-ca", CertFile: "/etc/kc.crt", KeyFile: "/etc/kc.key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewKubeletOptions()
			if tt.opts != nil {
				tt.opts(o)
			}
			in := apiserver()
			if tt.apiserver != nil {
				tt.apiserver(in)
			}
			before := rest.CopyConfig(in)
			var cfg *rest.Config
			warnings := captureWarnings(t, func() { cfg = o.RESTConfig(in) })

			got := want{
				Insecure:    cfg.Insecure,
				ServerName:  cfg.ServerName,
				CAFile:      cfg.CAFile,
				CAData:      string(cfg.CAData),
				CertFile:    cfg.CertFile,
				KeyFile:     cfg.KeyFile,
				CertData:    string(cfg.CertData),
				KeyData:     string(cfg.KeyData),
				BearerToken: cfg.BearerToken + cfg.BearerTokenFile,
				Timeout:     cfg.Timeout,
				Warnings:    strings.Count(warnings, "\n"),
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("kubelet config (-want +got):\n%s\nwarnings:\n%s", diff, warnings)
			}
			if tt.want.Warnings > 0 && !strings.Contains(warnings, "--kubelet-insecure-tls") {
				t.Errorf("warning does not name the flag: %q", warnings)
			}
			if in.Host != before.Host || in.Insecure != before.Insecure || in.ServerName != before.ServerName ||
				!bytes.Equal(in.CAData, before.CAData) || in.BearerToken != before.BearerToken || in.Timeout != before.Timeout {
				t.Errorf("the apiserver config was modified: %+v, was %+v", in, before)
			}
			// The config must build a transport: nothing contradictory, such as
			// a CA with Insecure, reaches client-go.
			if _, err := rest.TransportFor(cfgWithoutFiles(cfg)); err != nil {
				t.Errorf("building a transport: %v", err)
			}
		})
	}
}

// cfgWithoutFiles swaps the test's made-up file paths and PEM for nothing, so
// TransportFor checks only the combination of settings.
func cfgWithoutFiles(c *rest.Config) *rest.Config {
	c = rest.CopyConfig(c)
	c.CAFile, c.CAData = "", nil
	c.CertFile, c.KeyFile, c.CertData, c.KeyData = "", "", nil, nil
	c.BearerTokenFile = ""
	return c
}

// captureWarnings returns the klog warnings f logs, one per line.
func captureWarnings(t *testing.T, f func()) string {
	t.Helper()
	var buf bytes.Buffer
	klog.LogToStderr(false)
	// klog writes a warning to the WARNING and INFO outputs: keep only one.
	klog.SetOutputBySeverity("INFO", io.Discard)
	klog.SetOutputBySeverity("WARNING", &buf)
	defer func() {
		klog.Flush()
		klog.SetOutput(io.Discard)
		klog.LogToStderr(true)
	}()
	f()
	klog.Flush()
	return buf.String()
}
