// Package api serves metrics.k8s.io/v1beta1 (NodeMetrics and PodMetrics)
// from the in-memory store through a generic apiserver without etcd: the REST
// storages, their table conversion, the API group's installation and its
// scheme, and FastList, which answers the common LISTs with the same bytes
// without building typed objects. The OpenAPI definitions are in the openapi
// subpackage.
package api

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"
)

// NewAPIGroupInfo describes the metrics.k8s.io group: v1beta1 only, with the
// resources nodes and pods.
func NewAPIGroupInfo(nodes *NodeStorage, pods *PodStorage) genericapiserver.APIGroupInfo {
	info := genericapiserver.NewDefaultAPIGroupInfo(metrics.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	// Scheme prefers v1beta1 already; say so here too, so that discovery
	// cannot announce a version this group does not serve.
	info.PrioritizedVersions = []schema.GroupVersion{v1beta1.SchemeGroupVersion}
	info.VersionedResourcesStorageMap[v1beta1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"nodes": nodes,
		"pods":  pods,
	}
	return info
}

// Install serves metrics.k8s.io/v1beta1 on server, reading usage from reader
// and the objects it describes from the node and pod listers; clock gives
// each response's creationTimestamp. The server's
// config must carry OpenAPI v2 and v3 configs built from
// openapi.GetOpenAPIDefinitions and Scheme: the generic apiserver refuses to
// install a group without them.
func Install(server *genericapiserver.GenericAPIServer, reader MetricsReader, nodes NodeLister, pods PodLister, clock clock.PassiveClock) error {
	info := NewAPIGroupInfo(NewNodeStorage(reader, nodes, clock), NewPodStorage(reader, pods, clock))
	if err := server.InstallAPIGroup(&info); err != nil {
		return fmt.Errorf("installing the %s API group: %w", metrics.GroupName, err)
	}
	return nil
}
