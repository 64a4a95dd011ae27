package api

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Versions are the versions of metrics.k8s.io a server serves, preferred
// first. Both carry the same types; only the apiVersion differs.
type Versions []schema.GroupVersion

var (
	// AllVersions serves v1, GA from Kubernetes 1.37 and preferred by
	// kubectl from 1.37, and v1beta1, which the HPA, older kubectl, the VPA
	// and KEDA read.
	AllVersions = Versions{metricsv1.SchemeGroupVersion, v1beta1.SchemeGroupVersion}
	// V1beta1Only is for clusters before 1.37, whose clients know no v1.
	V1beta1Only = Versions{v1beta1.SchemeGroupVersion}
)

// apiVersionOf is "metrics.k8s.io/"+version, without building the string
// on every request.
func apiVersionOf(version string) string {
	switch version {
	case metricsv1.SchemeGroupVersion.Version:
		return apiVersionV1
	case v1beta1.SchemeGroupVersion.Version:
		return apiVersionV1beta1
	}
	return schema.GroupVersion{Group: metricsv1.GroupName, Version: version}.String()
}

var (
	apiVersionV1      = metricsv1.SchemeGroupVersion.String()
	apiVersionV1beta1 = v1beta1.SchemeGroupVersion.String()
)

// serves reports whether version (such as "v1") is among vs.
func (vs Versions) serves(version string) bool {
	for _, v := range vs {
		if v.Version == version {
			return true
		}
	}
	return false
}
