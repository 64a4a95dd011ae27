// Package api serves metrics.k8s.io/v1 and v1beta1 (NodeMetrics and PodMetrics)
// from the in-memory store through a generic apiserver without etcd: the REST
// storages, their table conversion, the API group's installation and its
// scheme, and FastList, which answers the common LISTs with the same bytes
// without building typed objects. The OpenAPI definitions are in the openapi
// subpackage.
package api

import (
	"fmt"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/utils/clock"
)

// Config is what the API serves from and how: the same for the REST
// storages and FastList, so that both answer alike.
type Config struct {
	// Reader gives usage; Nodes and Pods the objects it describes.
	Reader MetricsReader
	Nodes  NodeLister
	Pods   pods.Lister
	// Clock gives each response's creationTimestamp and times requests.
	Clock clock.PassiveClock
	// Versions are served, preferred first; nil means AllVersions.
	Versions Versions
	// Metrics receives FastList's metrics; nil records none.
	Metrics *Metrics
}

func (c *Config) versions() Versions {
	if len(c.Versions) == 0 {
		return AllVersions
	}
	return c.Versions
}

// NewAPIGroupInfo describes the metrics.k8s.io group with the resources
// nodes and pods in each of versions, the first preferred.
func NewAPIGroupInfo(nodes *NodeStorage, pods *PodStorage, versions Versions) genericapiserver.APIGroupInfo {
	info := genericapiserver.NewDefaultAPIGroupInfo(metrics.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	// Discovery announces these, in this order, whatever else the scheme
	// knows.
	info.PrioritizedVersions = versions
	for _, v := range versions {
		info.VersionedResourcesStorageMap[v.Version] = map[string]rest.Storage{
			"nodes": nodes,
			"pods":  pods,
		}
	}
	return info
}

// Install serves metrics.k8s.io on server as cfg says. The server's config
// must carry OpenAPI v2 and v3 configs built from
// openapi.GetOpenAPIDefinitions and Scheme: the generic apiserver refuses to
// install a group without them.
func Install(server *genericapiserver.GenericAPIServer, cfg Config) error {
	info := NewAPIGroupInfo(NewNodeStorage(cfg.Reader, cfg.Nodes, cfg.Clock), NewPodStorage(cfg.Reader, cfg.Pods, cfg.Clock), cfg.versions())
	if err := server.InstallAPIGroup(&info); err != nil {
		return fmt.Errorf("installing the %s API group: %w", metrics.GroupName, err)
	}
	return nil
}
