// Package options turns command-line flags into a validated server config.
package options

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	utilcompatibility "k8s.io/apiserver/pkg/util/compatibility"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/version"

	"github.com/ringmetrics/ringmetrics/pkg/api"
	"github.com/ringmetrics/ringmetrics/pkg/api/openapi"
	"github.com/ringmetrics/ringmetrics/pkg/scraper"
	"github.com/ringmetrics/ringmetrics/pkg/server"
	"github.com/ringmetrics/ringmetrics/pkg/store"
	"github.com/ringmetrics/ringmetrics/pkg/usage"
)

// Options are every flag of the ringmetrics command.
type Options struct {
	SecureServing  *genericoptions.SecureServingOptionsWithLoopback
	Authentication *genericoptions.DelegatingAuthenticationOptions
	Authorization  *genericoptions.DelegatingAuthorizationOptions
	Audit          *genericoptions.AuditOptions
	Features       *genericoptions.FeatureOptions
	Logging        *logs.Options
	Kubelet        *KubeletOptions
	Limits         *LimitOptions
	InFlight       *InFlightOptions

	Kubeconfig       string
	MetricResolution time.Duration
	History          time.Duration
	CPUWindow        time.Duration
	NodeSelector     string
	ServeV1          bool
	ShowVersion      bool
	// MemoryLimitRatio is the share of the container's cgroup memory limit
	// cmd/ringmetrics sets as the Go memory limit; 0 leaves it alone.
	MemoryLimitRatio float64

	// nodeSelector is NodeSelector as Complete parsed it, for Validate to
	// report nodeSelectorErr and Config to hand on its normalised string:
	// one parse, so the two cannot disagree. Nil until Complete.
	nodeSelector    labels.Selector
	nodeSelectorErr error
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	o := &Options{
		SecureServing:    genericoptions.NewSecureServingOptions().WithLoopback(),
		Authentication:   genericoptions.NewDelegatingAuthenticationOptions(),
		Authorization:    genericoptions.NewDelegatingAuthorizationOptions(),
		Audit:            genericoptions.NewAuditOptions(),
		Features:         genericoptions.NewFeatureOptions(),
		Logging:          logs.NewOptions(),
		Kubelet:          NewKubeletOptions(),
		Limits:           NewLimitOptions(),
		InFlight:         NewInFlightOptions(),
		MetricResolution: 15 * time.Second,
		History:          time.Hour,
		ServeV1:          true,
		MemoryLimitRatio: 0.9,
	}
	// metrics-server's image listens on 10250; ours defaults to the same so
	// its manifests' Service and probes fit unchanged.
	o.SecureServing.BindPort = 10250
	// TLS 1.2 is the generic server's floor today; saying it here keeps it
	// ours and shows it in --help. --tls-min-version still overrides it.
	o.SecureServing.MinTLSVersion = "VersionTLS12"
	return o
}

// Flags returns the flags in named sections, for help output.
func (o *Options) Flags() (fss cliflag.NamedFlagSets) {
	fs := fss.FlagSet("ringmetrics")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the cluster to serve; in-cluster config when empty. Also used for delegated authentication and authorization unless their own kubeconfig flags are set.")
	fs.DurationVar(&o.MetricResolution, "metric-resolution", o.MetricResolution, "How often each kubelet is scraped.")
	fs.DurationVar(&o.History, "history", o.History, "How much history each node and container keeps; the ring holds history / metric-resolution points.")
	fs.DurationVar(&o.CPUWindow, "cpu-window", o.CPUWindow, "Span the served CPU rate is averaged over; 0 takes the last two points, as metrics-server does.")
	fs.StringVar(&o.NodeSelector, "node-selector", o.NodeSelector, "Label selector of the nodes to scrape; all nodes when empty.")
	fs.BoolVar(&o.ServeV1, "serve-v1", o.ServeV1, "Serve metrics.k8s.io/v1 (GA from Kubernetes 1.37, read by kubectl from 1.37) beside v1beta1, and prefer it in discovery. Set false on clusters before 1.37 to serve and announce v1beta1 only.")
	fs.Float64Var(&o.MemoryLimitRatio, "memory-limit-ratio", o.MemoryLimitRatio, "Share of the container's cgroup memory limit set as the Go memory limit, so the heap is collected harder rather than the container OOM-killed; 0 leaves the Go limit alone. GOMEMLIMIT in the environment wins.")
	fs.BoolVar(&o.ShowVersion, "version", o.ShowVersion, "Print the version and exit.")

	o.Kubelet.AddFlags(fss.FlagSet("kubelet client"))
	o.Limits.AddFlags(fss.FlagSet("kubelet client"))
	o.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	o.InFlight.AddFlags(fss.FlagSet("secure serving"))
	o.Authentication.AddFlags(fss.FlagSet("authentication"))
	o.Authorization.AddFlags(fss.FlagSet("authorization"))
	o.Audit.AddFlags(fss.FlagSet("audit"))
	o.Features.AddFlags(fss.FlagSet("features"))
	logsapi.AddFlags(o.Logging, fss.FlagSet("logging"))
	return fss
}

// AddFlags puts every named flag set on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) cliflag.NamedFlagSets {
	fss := o.Flags()
	for _, f := range fss.FlagSets {
		fs.AddFlagSet(f)
	}
	return fss
}

// Complete fills what the flags leave implicit and parses what Validate and
// Config both need.
func (o *Options) Complete() {
	o.nodeSelector, o.nodeSelectorErr = labels.Parse(o.NodeSelector)
	// Out of the cluster, one kubeconfig is the common case: let it serve
	// delegated authn/authz too rather than demand it three times.
	if o.Kubeconfig != "" {
		if o.Authentication.RemoteKubeConfigFile == "" {
			o.Authentication.RemoteKubeConfigFile = o.Kubeconfig
		}
		if o.Authorization.RemoteKubeConfigFile == "" {
			o.Authorization.RemoteKubeConfigFile = o.Kubeconfig
		}
	}
}

// Validate returns every problem found, not only the first; call it after
// Complete.
func (o *Options) Validate() error {
	var errs []error
	errs = append(errs, o.SecureServing.Validate()...)
	errs = append(errs, o.Authentication.Validate()...)
	errs = append(errs, o.Authorization.Validate()...)
	errs = append(errs, o.Audit.Validate()...)
	errs = append(errs, o.Features.Validate()...)
	errs = append(errs, o.Kubelet.Validate()...)
	errs = append(errs, o.Limits.Validate()...)
	errs = append(errs, o.InFlight.Validate()...)
	if err := logsapi.ValidateAndApply(o.Logging, nil); err != nil {
		errs = append(errs, err)
	}
	if o.MetricResolution < time.Second {
		errs = append(errs, fmt.Errorf("--metric-resolution must be at least 1s, got %v", o.MetricResolution))
	}
	if o.MetricResolution > 0 && o.Kubelet.RequestTimeout > o.MetricResolution*9/10 {
		errs = append(errs, fmt.Errorf("--kubelet-request-timeout %v must be at most 0.9 × --metric-resolution %v, or scrapes of one node would overlap", o.Kubelet.RequestTimeout, o.MetricResolution))
	}
	if o.History < 2*o.MetricResolution {
		errs = append(errs, fmt.Errorf("--history %v must hold at least two points of --metric-resolution %v", o.History, o.MetricResolution))
	}
	// The store would refuse the ring at start-up without naming a flag.
	if o.MetricResolution >= time.Second && server.Capacity(o.History, o.MetricResolution) > store.MaxCapacity {
		errs = append(errs, fmt.Errorf("--history %v holds %d points of --metric-resolution %v, more than %d",
			o.History, server.Capacity(o.History, o.MetricResolution), o.MetricResolution, store.MaxCapacity))
	}
	if !(o.MemoryLimitRatio >= 0 && o.MemoryLimitRatio < 1) {
		errs = append(errs, fmt.Errorf("--memory-limit-ratio %v must be at least 0 and under 1", o.MemoryLimitRatio))
	}
	if o.CPUWindow < 0 || o.CPUWindow > o.History {
		errs = append(errs, fmt.Errorf("--cpu-window %v must be between 0 and --history %v", o.CPUWindow, o.History))
	}
	switch {
	case o.nodeSelectorErr != nil:
		errs = append(errs, fmt.Errorf("--node-selector: %w", o.nodeSelectorErr))
	case o.nodeSelector == nil:
		errs = append(errs, errors.New("options: Validate needs Complete first"))
	}
	return utilerrors.NewAggregate(errs)
}

// Config builds the server config the options describe; call it after
// Complete and Validate.
func (o *Options) Config() (*server.Config, error) {
	if o.nodeSelector == nil {
		return nil, errors.New("options: Config needs Complete and Validate first")
	}
	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed certificates: %w", err)
	}
	apiserver := genericapiserver.NewConfig(api.Codecs)
	if err := o.SecureServing.ApplyTo(&apiserver.SecureServing, &apiserver.LoopbackClientConfig); err != nil {
		return nil, err
	}
	if err := o.Authentication.ApplyTo(&apiserver.Authentication, apiserver.SecureServing, nil); err != nil {
		return nil, err
	}
	if err := o.Authorization.ApplyTo(&apiserver.Authorization); err != nil {
		return nil, err
	}
	if err := o.Audit.ApplyTo(apiserver); err != nil {
		return nil, err
	}
	o.InFlight.ApplyTo(apiserver)
	apiserver.EffectiveVersion = utilcompatibility.DefaultBuildEffectiveVersion()
	infoVersion := strings.SplitN(version.Get().GitVersion, "-", 2)[0]
	apiserver.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(api.Scheme, usage.Scheme))
	apiserver.OpenAPIConfig.Info.Title = "ringmetrics"
	apiserver.OpenAPIConfig.Info.Version = infoVersion
	apiserver.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(api.Scheme, usage.Scheme))
	apiserver.OpenAPIV3Config.Info.Title = "ringmetrics"
	apiserver.OpenAPIV3Config.Info.Version = infoVersion

	restConfig, err := o.restConfig()
	if err != nil {
		return nil, err
	}
	return &server.Config{
		Apiserver:        apiserver,
		Rest:             restConfig,
		Kubelet:          o.Kubelet.RESTConfig(restConfig),
		Resolver:         o.Kubelet.Resolver(),
		Endpoint:         scraper.Endpoint(o.Kubelet.Endpoint),
		ViaAPIServer:     o.Kubelet.ViaAPIServer,
		MaxResponseBytes: o.Kubelet.MaxResponseBytes,
		Limits:           o.Limits.Limits(),
		ScrapeTimeout:    o.Kubelet.RequestTimeout,
		Resolution:       o.MetricResolution,
		History:          o.History,
		CPUWindow:        o.CPUWindow,
		Versions:         o.versions(),
		NodeSelector:     o.nodeSelector.String(),
	}, nil
}

func (o *Options) restConfig() (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	if o.Kubeconfig != "" {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	} else {
		cfg, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			err = fmt.Errorf("%w: pass --kubeconfig when running outside a cluster", err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building the apiserver client config: %w", err)
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	// Listing 150 000 pods at start-up must not be throttled client-side.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// versions are the metrics.k8s.io versions --serve-v1 selects.
func (o *Options) versions() api.Versions {
	if o.ServeV1 {
		return api.AllVersions
	}
	return api.V1beta1Only
}
