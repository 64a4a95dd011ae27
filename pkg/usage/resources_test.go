package usage

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

func resources(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestContainerResources(t *testing.T) {
	amounts := func(r *v1alpha1.Resources) []string {
		if r == nil {
			return nil
		}
		out := []string{"-", "-"}
		if r.CPU != nil {
			out[0] = r.CPU.String()
		}
		if r.Memory != nil {
			out[1] = r.Memory.String()
		}
		return out
	}
	for _, tc := range []struct {
		name               string
		requests, limits   corev1.ResourceList
		wantReq, wantLimit []string
	}{
		{"none", nil, nil, nil, nil},
		{"cpu and memory", resources("cpu", "0.5", "memory", "1Gi"), resources("cpu", "2"), []string{"500m", "1Gi"}, []string{"2", "-"}},
		{"zero is a request", resources("cpu", "0"), nil, []string{"0", "-"}, nil},
		{"other resources are not kept", resources("ephemeral-storage", "1Gi", "memory", "64Mi"), nil, []string{"-", "64Mi"}, nil},
		{"sub-millicore rounds up", resources("cpu", "100u"), nil, []string{"1m", "-"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj, _ := pods.Trim(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: tc.requests, Limits: tc.limits}}}}})
			c := &obj.(*pods.Pod).Containers[0]
			if got := amounts(requestsOf(c)); !slices.Equal(got, tc.wantReq) {
				t.Errorf("requests %v, want %v", got, tc.wantReq)
			}
			if got := amounts(limitsOf(c)); !slices.Equal(got, tc.wantLimit) {
				t.Errorf("limits %v, want %v", got, tc.wantLimit)
			}
		})
	}
}
