package options

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/pkg/scraper"
)

// KubeletOptions say how to reach and trust kubelets. Flag names and defaults
// are metrics-server's, so existing manifests keep working.
type KubeletOptions struct {
	InsecureTLS           bool
	UseNodeStatusPort     bool
	Port                  int
	PreferredAddressTypes []string
	CAFile                string
	ClientCertFile        string
	ClientKeyFile         string
	RequestTimeout        time.Duration
	MaxResponseBytes      int64
	Endpoint              string
	ViaAPIServer          bool
}

// NewKubeletOptions returns the defaults.
func NewKubeletOptions() *KubeletOptions {
	o := &KubeletOptions{
		Port:             10250,
		RequestTimeout:   10 * time.Second,
		MaxResponseBytes: 16 << 20,
		Endpoint:         string(scraper.EndpointAuto),
	}
	for _, t := range scraper.DefaultAddressTypes {
		o.PreferredAddressTypes = append(o.PreferredAddressTypes, string(t))
	}
	return o
}

// AddFlags registers the kubelet client flags.
func (o *KubeletOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.InsecureTLS, "kubelet-insecure-tls", o.InsecureTLS, "Do not verify the serving certificates of kubelets. For testing only.")
	fs.BoolVar(&o.UseNodeStatusPort, "kubelet-use-node-status-port", o.UseNodeStatusPort, "Use the port a node publishes in its status; takes precedence over --kubelet-port.")
	fs.IntVar(&o.Port, "kubelet-port", o.Port, "The port kubelets serve on.")
	fs.StringSliceVar(&o.PreferredAddressTypes, "kubelet-preferred-address-types", o.PreferredAddressTypes, "Node address types to connect to kubelets by, in order of preference.")
	fs.StringVar(&o.CAFile, "kubelet-certificate-authority", o.CAFile, "CA bundle that signs kubelets' serving certificates. Defaults to the cluster CA of --kubeconfig or the service account.")
	fs.StringVar(&o.ClientCertFile, "kubelet-client-certificate", o.ClientCertFile, "Client certificate to present to kubelets, instead of the kubeconfig's credentials.")
	fs.StringVar(&o.ClientKeyFile, "kubelet-client-key", o.ClientKeyFile, "Key of --kubelet-client-certificate.")
	fs.DurationVar(&o.RequestTimeout, "kubelet-request-timeout", o.RequestTimeout, "The most one scrape of one kubelet may take, body included.")
	fs.StringVar(&o.Endpoint, "kubelet-endpoint", o.Endpoint, "Kubelet endpoint to scrape: resource (/metrics/resource), summary (/stats/summary), or auto (resource, falling back per node to summary when a kubelet lacks resource metrics).")
	fs.BoolVar(&o.ViaAPIServer, "kubelet-via-apiserver", o.ViaAPIServer, "Reach kubelets through the kube-apiserver's node proxy (needs get on nodes/proxy) instead of directly; the kubelet TLS and address flags are then unused.")
	fs.Int64Var(&o.MaxResponseBytes, "kubelet-max-response-bytes", o.MaxResponseBytes, "The largest kubelet response accepted; larger ones fail the scrape.")
}

// Validate returns every problem found.
func (o *KubeletOptions) Validate() []error {
	var errs []error
	if o.Port <= 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("--kubelet-port %d is not a port", o.Port))
	}
	if o.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--kubelet-request-timeout must be positive, got %v", o.RequestTimeout))
	}
	if o.MaxResponseBytes <= 0 {
		errs = append(errs, fmt.Errorf("--kubelet-max-response-bytes must be positive, got %d", o.MaxResponseBytes))
	}
	if len(o.PreferredAddressTypes) == 0 {
		errs = append(errs, errors.New("--kubelet-preferred-address-types must name at least one type"))
	}
	known := []corev1.NodeAddressType{corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeInternalIP, corev1.NodeExternalDNS, corev1.NodeExternalIP}
	for _, t := range o.PreferredAddressTypes {
		if !slices.Contains(known, corev1.NodeAddressType(t)) {
			errs = append(errs, fmt.Errorf("--kubelet-preferred-address-types: unknown address type %q", t))
		}
	}
	if (o.ClientCertFile == "") != (o.ClientKeyFile == "") {
		errs = append(errs, errors.New("--kubelet-client-certificate and --kubelet-client-key go together"))
	}
	if !slices.Contains(scraper.Endpoints, scraper.Endpoint(o.Endpoint)) {
		errs = append(errs, fmt.Errorf("--kubelet-endpoint %q is not one of %v", o.Endpoint, scraper.Endpoints))
	}
	if o.InsecureTLS && o.CAFile != "" {
		errs = append(errs, errors.New("--kubelet-insecure-tls and --kubelet-certificate-authority exclude each other"))
	}
	return errs
}

// Resolver returns the node → URL resolver the flags describe.
func (o *KubeletOptions) Resolver() scraper.TargetResolver {
	types := make([]corev1.NodeAddressType, 0, len(o.PreferredAddressTypes))
	for _, t := range o.PreferredAddressTypes {
		types = append(types, corev1.NodeAddressType(t))
	}
	return scraper.TargetResolver{AddressTypes: types, Port: o.Port, UseNodeStatusPort: o.UseNodeStatusPort, Scheme: "https"}
}

// RESTConfig derives the kubelet client's TLS and credentials from the
// apiserver client config: same user, but kubelet trust from the flags.
// Kubelet certificates are verified unless --kubelet-insecure-tls is set, even
// when the kubeconfig skips verification of the apiserver; with the flag it
// logs one warning, so call it once.
func (o *KubeletOptions) RESTConfig(apiserver *rest.Config) *rest.Config {
	cfg := rest.CopyConfig(apiserver)
	// The apiserver's name must not be required of kubelets.
	cfg.TLSClientConfig.ServerName = ""
	// Trusting the apiserver blindly is not a reason to trust every kubelet.
	cfg.TLSClientConfig.Insecure = false
	if o.CAFile != "" {
		cfg.TLSClientConfig.CAFile = o.CAFile
		cfg.TLSClientConfig.CAData = nil
	}
	if o.InsecureTLS {
		if !o.ViaAPIServer {
			klog.Warning("Kubelet serving certificates are not verified (--kubelet-insecure-tls): whoever answers at a node's address receives ringmetrics' kubelet credentials")
		}
		cfg.TLSClientConfig.Insecure = true
		cfg.TLSClientConfig.CAFile = ""
		cfg.TLSClientConfig.CAData = nil
	}
	if o.ClientCertFile != "" {
		cfg.TLSClientConfig.CertFile = o.ClientCertFile
		cfg.TLSClientConfig.KeyFile = o.ClientKeyFile
		cfg.TLSClientConfig.CertData = nil
		cfg.TLSClientConfig.KeyData = nil
		// A client certificate replaces the kubeconfig's identity entirely.
		cfg.BearerToken = ""
		cfg.BearerTokenFile = ""
	}
	cfg.Timeout = 0
	return cfg
}
