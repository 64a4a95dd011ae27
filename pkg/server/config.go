// Package server wires informers, scrapers, the store and the API into one
// running metrics server.
package server

import (
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/rest"

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
}

type completedConfig struct {
	*Config
	apiserver genericapiserver.CompletedConfig
}

// CompletedConfig can build a Server; only Complete makes one, so New never
// sees a half-filled config.
type CompletedConfig struct {
	*completedConfig
}

// Complete fills in derived values.
func (c *Config) Complete() CompletedConfig {
	return CompletedConfig{&completedConfig{Config: c, apiserver: c.Apiserver.Complete(nil)}}
}

// capacity is the number of points each series' ring holds.
func (c *Config) capacity() int {
	return max(2, int(c.History/c.Resolution))
}
