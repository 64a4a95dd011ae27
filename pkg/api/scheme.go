package api

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Scheme and Codecs are the type registry and serializers of the API this
// package serves. They are package-level values, as in every aggregated
// apiserver, because the server wiring needs the same instances the storages
// are installed with (genericapiserver.NewRecommendedConfig(Codecs),
// openapinamer.NewDefinitionNamer(Scheme)); both are fully built when the
// package is initialised and never change afterwards.
var (
	// Scheme holds the metrics.k8s.io internal and v1beta1 types and the
	// meta/v1 types every apiserver needs (Status, ListOptions, ...).
	Scheme = newScheme()
	// Codecs serializes Scheme's types as JSON, YAML and protobuf.
	Codecs = serializer.NewCodecFactory(Scheme)
)

// newScheme registers exactly the versions this server serves. It does not
// use k8s.io/metrics/pkg/apis/metrics/install: from k8s.io/metrics v0.37 on
// that package also registers metrics.k8s.io/v1 and prefers it, which would
// make the group's discovery document announce v1 as the preferred version
// although only v1beta1 is served (metrics-server announces v1beta1).
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(metrics.AddToScheme(s))
	utilruntime.Must(v1beta1.AddToScheme(s))
	utilruntime.Must(s.SetVersionPriority(v1beta1.SchemeGroupVersion))
	// The unversioned meta types (Status, APIVersions, ...) and the list and
	// get options under v1, as metrics-server and sample-apiserver register them.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}
