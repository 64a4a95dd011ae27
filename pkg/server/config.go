// Package server wires informers, scrapers, the store and the API into one
// running metrics server.
package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/api"
	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/scraper"
)

// Config is a validated description of the server.
type Config struct {
	Apiserver *genericapiserver.Config
	// Rest reaches the kube-apiserver for informers.
	Rest *rest.Config
	// Kubelet holds the TLS trust and credentials for kubelets.
	Kubelet  *rest.Config
	Resolver scraper.TargetResolver
	Endpoint scraper.Endpoint
	// ViaAPIServer scrapes through the kube-apiserver's node proxy with the
	// Rest config's transport and credentials.
	ViaAPIServer     bool
	MaxResponseBytes int64
	ScrapeTimeout    time.Duration
	Resolution       time.Duration
	History          time.Duration
	CPUWindow        time.Duration
	// NodeSelector is a label selector string; empty selects every node.
	NodeSelector string
	// Limits bound what one kubelet response may make ringmetrics keep.
	Limits decode.Limits
	// Versions of metrics.k8s.io to serve, preferred first; nil means all.
	Versions api.Versions

	// Clock is read wherever the server takes the time: scrape rounds,
	// timestamps written to the store, expiry and the API's responses. Nil
	// means the real clock.
	Clock clock.WithTicker
	// Registerer receives the metrics of every package the server wires.
	// Nil means the legacy registry, which the apiserver serves on /metrics.
	Registerer prometheus.Registerer
	// Client reaches the kube-apiserver for the node and pod informers. Nil
	// means a client built from Rest.
	Client kubernetes.Interface
}

type completedConfig struct {
	*Config
	apiserver genericapiserver.CompletedConfig
	// capacity and maxAge are derived once here and read by everything
	// New builds, so the store, the scraper and the expiry loop agree.
	capacity int
	maxAge   time.Duration
	// baseChain is the apiserver's handler chain before New puts FastList
	// in front of it.
	baseChain func(http.Handler, *genericapiserver.Config) http.Handler
}

// CompletedConfig can build a Server; only Complete makes one, so New never
// sees a half-filled config.
type CompletedConfig struct {
	*completedConfig
}

// Complete fills in the defaults and derived values, and builds the clients
// not given.
func (c *Config) Complete() (CompletedConfig, error) {
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Registerer == nil {
		c.Registerer = legacyregistry.Registerer()
	}
	var err error
	if c.Client == nil {
		if c.Client, err = kubernetes.NewForConfig(c.Rest); err != nil {
			return CompletedConfig{}, fmt.Errorf("building the apiserver client: %w", err)
		}
	}
	return CompletedConfig{&completedConfig{
		Config:    c,
		apiserver: c.Apiserver.Complete(nil),
		capacity:  Capacity(c.History, c.Resolution),
		maxAge:    MaxAge(c.Resolution, c.ScrapeTimeout),
		baseChain: c.Apiserver.BuildHandlerChainFunc,
	}}, nil
}

// Capacity is the number of points each series' ring holds for a history
// at a resolution; a rate needs two.
func Capacity(history, resolution time.Duration) int {
	return max(2, int(history/resolution))
}

// MaxAge is how long a series is served after its newest point: long enough
// to ride out a failed scrape (two resolutions plus the timeout of the one in
// flight), short enough that an HPA never acts on a node that stopped
// reporting minutes ago. Tests that wait for expiry use it rather than a copy.
func MaxAge(resolution, scrapeTimeout time.Duration) time.Duration {
	return 2*resolution + scrapeTimeout
}
