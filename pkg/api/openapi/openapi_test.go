package openapi

import (
	"testing"

	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// TestDefinitionsComplete checks that the metrics and usage types are defined and that
// every definition's dependencies are defined too, so that the served
// documents hold no dangling references.
func TestDefinitionsComplete(t *testing.T) {
	defs := GetOpenAPIDefinitions(func(path string) spec.Ref { return spec.MustCreateRef("#/definitions/" + path) })
	for _, name := range []string{
		"io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics",
		"io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetricsList",
		"io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics",
		"io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList",
		"io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics",
		"dev.ringmetrics.usage.v1alpha1.NodeUsage",
		"dev.ringmetrics.usage.v1alpha1.NodeUsageList",
		"dev.ringmetrics.usage.v1alpha1.PodUsage",
		"dev.ringmetrics.usage.v1alpha1.PodUsageList",
		"dev.ringmetrics.usage.v1alpha1.ContainerUsage",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Status",
		"io.k8s.apimachinery.pkg.api.resource.Quantity",
	} {
		if _, ok := defs[name]; !ok {
			t.Errorf("no definition for %s", name)
		}
	}
	for name, def := range defs {
		for _, dep := range def.Dependencies {
			if _, ok := defs[dep]; !ok {
				t.Errorf("%s depends on %s, which is not defined", name, dep)
			}
		}
	}
	var _ common.GetOpenAPIDefinitions = GetOpenAPIDefinitions
}
