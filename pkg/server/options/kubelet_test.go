package options

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

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
