package usage

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// Config is what the group serves from.
type Config struct {
	// Reader gives the histories; Nodes and Pods the objects they describe.
	Reader HistoryReader
	Nodes  NodeLister
	Pods   pods.Lister
	// Clock gives each object's creationTimestamp.
	Clock clock.PassiveClock
	// HasSynced reports whether Pods has synced; until it has, podusages
	// answers 503 rather than a list missing pods. Nil means synced.
	HasSynced func() bool
}

// Install serves usage.ringmetrics.dev/v1alpha1 on server. The server's
// OpenAPI configs must define the group's types (pkg/api/openapi does) and
// name them with a namer that knows Scheme; its handler chain must run
// WithQuery around the API handler, or ?window= and ?samples= are ignored.
func Install(server *genericapiserver.GenericAPIServer, cfg Config) error {
	info := genericapiserver.NewDefaultAPIGroupInfo(v1alpha1.GroupName, Scheme, metav1.ParameterCodec, Codecs.CodecFactory)
	info.NegotiatedSerializer = Codecs
	info.PrioritizedVersions = []schema.GroupVersion{v1alpha1.SchemeGroupVersion}
	info.VersionedResourcesStorageMap[v1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		nodeResource: &NodeStorage{Resource: nodeUsages, reader: cfg.Reader, nodes: cfg.Nodes, clock: cfg.Clock},
		podResource:  &PodStorage{Resource: podUsages, reader: cfg.Reader, pods: cfg.Pods, clock: cfg.Clock, synced: cfg.HasSynced},
	}
	if err := server.InstallAPIGroup(&info); err != nil {
		return fmt.Errorf("installing the %s API group: %w", v1alpha1.GroupName, err)
	}
	return nil
}
