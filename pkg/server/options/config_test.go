package options

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/scraper"
	"github.com/ringmetrics/ringmetrics/pkg/server"
)

// configView is what Config derives from the flags, in comparable form.
type configView struct {
	Resolution, History, CPUWindow, ScrapeTimeout time.Duration
	NodeSelector                                  string
	Endpoint                                      scraper.Endpoint
	Resolver                                      scraper.TargetResolver
	ViaAPIServer                                  bool
	MaxResponseBytes                              int64
	Limits                                        decode.Limits
	MaxRequestsInFlight                           int
	Versions                                      string

	RestHost, RestContentType, RestAccept string
	RestQPS                               float32
	RestBurst                             int

	KubeletHost     string
	KubeletInsecure bool
	KubeletCAFile   string
	KubeletCAData   bool
	KubeletCertFile string
	KubeletToken    string

	OpenAPITitle, OpenAPIV3Title string
	Authenticator, Authorizer    bool
}

func viewConfig(c *server.Config) configView {
	return configView{
		Resolution:          c.Resolution,
		History:             c.History,
		CPUWindow:           c.CPUWindow,
		ScrapeTimeout:       c.ScrapeTimeout,
		NodeSelector:        c.NodeSelector,
		Endpoint:            c.Endpoint,
		Resolver:            c.Resolver,
		ViaAPIServer:        c.ViaAPIServer,
		MaxResponseBytes:    c.MaxResponseBytes,
		Limits:              c.Limits,
		MaxRequestsInFlight: c.Apiserver.MaxRequestsInFlight,
		Versions:            fmt.Sprint(c.Versions),
		RestHost:            c.Rest.Host,
		RestContentType:     c.Rest.ContentType,
		RestAccept:          c.Rest.AcceptContentTypes,
		RestQPS:             c.Rest.QPS,
		RestBurst:           c.Rest.Burst,
		KubeletHost:         c.Kubelet.Host,
		KubeletInsecure:     c.Kubelet.Insecure,
		KubeletCAFile:       c.Kubelet.CAFile,
		KubeletCAData:       len(c.Kubelet.CAData) > 0,
		KubeletCertFile:     c.Kubelet.CertFile,
		KubeletToken:        c.Kubelet.BearerToken,
		OpenAPITitle:        c.Apiserver.OpenAPIConfig.Info.Title,
		OpenAPIV3Title:      c.Apiserver.OpenAPIV3Config.Info.Title,
		Authenticator:       c.Apiserver.Authentication.Authenticator != nil,
		Authorizer:          c.Apiserver.Authorization.Authorizer != nil,
	}
}

// TestOptionsConfig checks the values Config derives from the flags. The
// kubelet client config's TLS is TestKubeletRESTConfig's; here only that
// the flags reach it.
func TestOptionsConfig(t *testing.T) {
	const host = "https://10.0.0.1:6443"
	kubeconfig := writeKubeconfig(t, host, "kubeconfig-token")
	// One serving certificate for every case: generating a key per case
	// would take most of the test's time.
	certFile, keyFile := writeServingCert(t)
	defaults := configView{
		Resolution:    15 * time.Second,
		History:       time.Hour,
		ScrapeTimeout: 10 * time.Second,
		Endpoint:      scraper.EndpointAuto,
		Resolver: scraper.TargetResolver{
			AddressTypes: scraper.DefaultAddressTypes,
			Port:         10250,
			Scheme:       "https",
		},
		MaxResponseBytes:    16 << 20,
		Limits:              decode.DefaultLimits(),
		MaxRequestsInFlight: 400,
		Versions:            "[metrics.k8s.io/v1 metrics.k8s.io/v1beta1]",
		RestHost:            host,
		RestContentType:     "application/vnd.kubernetes.protobuf",
		RestAccept:          "application/vnd.kubernetes.protobuf,application/json",
		RestQPS:             50,
		RestBurst:           100,
		KubeletHost:         host,
		KubeletCAData:       true,
		KubeletToken:        "kubeconfig-token",
		OpenAPITitle:        "ringmetrics",
		OpenAPIV3Title:      "ringmetrics",
		Authenticator:       true,
		Authorizer:          true,
	}
	tests := []struct {
		name string
		args []string
		want func(v *configView)
	}{
		{name: "defaults"},
		{
			name: "v1beta1 only",
			args: []string{"--serve-v1=false"},
			want: func(v *configView) { v.Versions = "[metrics.k8s.io/v1beta1]" },
		},
		{
			name: "durations",
			args: []string{"--metric-resolution=30s", "--history=1h", "--cpu-window=1m", "--kubelet-request-timeout=27s"},
			want: func(v *configView) {
				v.Resolution, v.History, v.CPUWindow, v.ScrapeTimeout = 30*time.Second, time.Hour, time.Minute, 27*time.Second
			},
		},
		{
			name: "node selector is normalised",
			args: []string{"--node-selector= pool in (b,a) , !gpu,zone=x "},
			want: func(v *configView) { v.NodeSelector = "!gpu,pool in (a,b),zone=x" },
		},
		{
			name: "kubelet endpoint and response limit",
			args: []string{"--kubelet-endpoint=summary", "--kubelet-max-response-bytes=1024"},
			want: func(v *configView) { v.Endpoint, v.MaxResponseBytes = scraper.EndpointSummary, 1024 },
		},
		{
			name: "resolver",
			args: []string{"--kubelet-port=10255", "--kubelet-use-node-status-port", "--kubelet-preferred-address-types=InternalIP,Hostname"},
			want: func(v *configView) {
				v.Resolver = scraper.TargetResolver{
					AddressTypes:      []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName},
					Port:              10255,
					UseNodeStatusPort: true,
					Scheme:            "https",
				}
			},
		},
		{
			// The resolver's APIServerURL is server.New's to set, from Rest.
			name: "via the apiserver",
			args: []string{"--kubelet-via-apiserver"},
			want: func(v *configView) { v.ViaAPIServer = true },
		},
		{
			name: "kubelet trust and identity",
			args: []string{"--kubelet-certificate-authority=/etc/kubelet-ca.crt", "--kubelet-client-certificate=/etc/kc.crt", "--kubelet-client-key=/etc/kc.key"},
			want: func(v *configView) {
				v.KubeletCAFile, v.KubeletCAData, v.KubeletCertFile, v.KubeletToken = "/etc/kubelet-ca.crt", false, "/etc/kc.crt", ""
			},
		},
		{
			name: "kubelet insecure TLS",
			args: []string{"--kubelet-insecure-tls"},
			want: func(v *configView) { v.KubeletInsecure, v.KubeletCAData = true, false },
		},
		{
			name: "limits",
			args: []string{"--kubelet-max-containers-per-node=500", "--kubelet-max-pods-per-node=200", "--kubelet-max-name-length=63"},
			want: func(v *configView) { v.Limits = decode.Limits{MaxContainers: 500, MaxPods: 200, MaxNameLength: 63} },
		},
		{
			name: "in-flight",
			args: []string{"--max-requests-inflight=0", "--max-cluster-list-requests-inflight=0"},
			want: func(v *configView) { v.MaxRequestsInFlight = 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("ringmetrics", pflag.ContinueOnError)
			o.AddFlags(fs)
			// No lookup of the cluster's authentication ConfigMap: nothing
			// serves at the kubeconfig's address.
			args := append([]string{"--kubeconfig=" + kubeconfig, "--authentication-skip-lookup", "--tls-cert-file=" + certFile, "--tls-private-key-file=" + keyFile}, tt.args...)
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			serveOnLoopback(t, o)
			o.Complete()
			if err := o.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			var cfg *server.Config
			// --kubelet-insecure-tls warns; keep the test output quiet.
			captureWarnings(t, func() {
				var err error
				if cfg, err = o.Config(); err != nil {
					t.Fatalf("Config() = %v", err)
				}
			})
			want := defaults
			if tt.want != nil {
				tt.want(&want)
			}
			if diff := cmp.Diff(want, viewConfig(cfg)); diff != "" {
				t.Errorf("Config() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigBeforeComplete(t *testing.T) {
	if _, err := NewOptions().Config(); err == nil || !strings.Contains(err.Error(), "Complete") {
		t.Errorf("Config() before Complete = %v, want an error saying so", err)
	}
}

// writeServingCert writes a self-signed serving certificate and its key.
func writeServingCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	cert, key, err := certutil.GenerateSelfSignedCertKey("localhost", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// writeKubeconfig writes a kubeconfig for a cluster at host, trusted through
// a CA of its own, and a user with token; nothing needs to serve at host.
func writeKubeconfig(t *testing.T, host, token string) string {
	t.Helper()
	ca, _, err := certutil.GenerateSelfSignedCertKey("ringmetrics-test-ca", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: ca}
	cfg.AuthInfos["test"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
