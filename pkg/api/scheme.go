package api

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Scheme and Codecs are the type registry and serializers of the API this
// package serves. They are package-level values, as in every aggregated
// apiserver, because the server wiring needs the same instances the storages
// are installed with (genericapiserver.NewRecommendedConfig(Codecs),
// openapinamer.NewDefinitionNamer(Scheme)); both are fully built when the
// package is initialised and never change afterwards.
var (
	// Scheme holds the metrics.k8s.io internal, v1 and v1beta1 types and
	// the meta/v1 types every apiserver needs (Status, ListOptions, ...).
	Scheme = newScheme()
	// Codecs serializes Scheme's types as JSON, YAML and protobuf.
	Codecs = serializer.NewCodecFactory(Scheme)
)

// newScheme registers every version this server can serve, v1 preferred,
// as k8s.io/metrics/pkg/apis/metrics/install does from v0.37 on. Which
// versions are served, and which discovery prefers, is the APIGroupInfo's
// to say (see Versions): a server told to serve v1beta1 alone must not
// announce v1.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(metrics.AddToScheme(s))
	utilruntime.Must(metricsv1.AddToScheme(s))
	utilruntime.Must(v1beta1.AddToScheme(s))
	utilruntime.Must(s.SetVersionPriority(metricsv1.SchemeGroupVersion, v1beta1.SchemeGroupVersion))
	// The unversioned meta types (Status, APIVersions, ...) and the list and
	// get options under v1, as metrics-server and sample-apiserver register them.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}
