package usage

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// Scheme and Codecs are the type registry and serializers of
// usage.ringmetrics.dev, package-level as pkg/api's are, for the same reason
// (the server's OpenAPI namer needs the Scheme the group is installed with);
// both are fully built when the package is initialised and never change.
//
// The group has one version and no internal types: its storages build
// v1alpha1 objects, which the scheme converts to v1alpha1 by setting their
// kind. It serves JSON and YAML, not protobuf: the types have no generated
// protobuf marshalling (go-to-protobuf needs protoc), and a client asking
// for protobuf first falls back to JSON.
var (
	Scheme = newScheme()
	// Codecs encodes lists as a stream, as the generic apiserver's default
	// group codecs do.
	Codecs = newJSONAndYAML(serializer.NewCodecFactory(Scheme, serializer.WithStreamingCollectionEncodingToJSON()))
)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(v1alpha1.AddToScheme(s))
	utilruntime.Must(s.SetVersionPriority(v1alpha1.SchemeGroupVersion))
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}

// JSONAndYAML is a codec factory that offers only JSON and YAML.
type JSONAndYAML struct {
	serializer.CodecFactory
	infos []runtime.SerializerInfo
}

var _ runtime.NegotiatedSerializer = JSONAndYAML{}

func newJSONAndYAML(f serializer.CodecFactory) JSONAndYAML {
	c := JSONAndYAML{CodecFactory: f}
	for _, info := range f.SupportedMediaTypes() {
		if info.MediaType == runtime.ContentTypeJSON || info.MediaType == runtime.ContentTypeYAML {
			c.infos = append(c.infos, info)
		}
	}
	return c
}

// SupportedMediaTypes implements runtime.NegotiatedSerializer.
func (c JSONAndYAML) SupportedMediaTypes() []runtime.SerializerInfo { return c.infos }
