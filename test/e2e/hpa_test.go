package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// TestHPA has the real HPA controller in kube-controller-manager scale a
// Deployment of simulated pods on the usage ringmetrics serves.
func TestHPA(t *testing.T) {
	use(t, env.ringmetrics)
	tailOnFailure(t, env.ringmetrics)
	tests := []struct {
		name     string
		resource corev1.ResourceName
		target   int32 // average utilization, percent of request
		// usage before and after the load rises, per pod
		cpuBefore, cpuAfter int64
		memBefore, memAfter int64
	}{
		{name: "cpu", resource: corev1.ResourceCPU, target: 50,
			cpuBefore: 50, cpuAfter: 150, memBefore: 64 << 20, memAfter: 64 << 20},
		{name: "memory", resource: corev1.ResourceMemory, target: 60,
			cpuBefore: 10, cpuAfter: 10, memBefore: 75 << 20, memAfter: 200 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			ns, name := namespaces[0], "hpa-"+tt.name
			if _, err := env.bed.Fleet.AddWorkload(ctx, kubeletsim.Workload{
				Namespace: ns, Name: name, Replicas: 2, OwnerDeployment: true,
				Containers: []kubeletsim.ContainerSpec{{
					Name:       "app",
					CPURequest: resource.MustParse("100m"), MemRequest: resource.MustParse("128Mi"),
					CPUMilli: tt.cpuBefore, MemBytes: tt.memBefore,
				}},
			}); err != nil {
				t.Fatal(err)
			}
			hpas := env.bed.Cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(ns)
			hpa := &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
					MinReplicas:    ptr(int32(1)),
					MaxReplicas:    6,
					Metrics: []autoscalingv2.MetricSpec{{
						Type: autoscalingv2.ResourceMetricSourceType,
						Resource: &autoscalingv2.ResourceMetricSource{
							Name:   tt.resource,
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(tt.target)},
						},
					}},
				},
			}
			if _, err := hpas.Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = hpas.Delete(context.Background(), name, metav1.DeleteOptions{}) })

			request := map[corev1.ResourceName]int64{corev1.ResourceCPU: 100, corev1.ResourceMemory: 128 << 20}[tt.resource]
			utilization := func(cpu, mem int64) int32 {
				if tt.resource == corev1.ResourceCPU {
					return int32(cpu * 100 / request)
				}
				return int32(mem * 100 / request)
			}
			// The HPA's status must show the utilization read from ringmetrics.
			waitUtilization := func(want int32) {
				t.Helper()
				eventually(t, 90*time.Second, func() error {
					got, err := hpas.Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					for _, m := range got.Status.CurrentMetrics {
						if m.Resource != nil && m.Resource.Name == tt.resource && m.Resource.Current.AverageUtilization != nil {
							if u := *m.Resource.Current.AverageUtilization; u >= want-2 && u <= want+2 {
								return nil
							}
							return fmt.Errorf("HPA reads %s utilization %d%%, want %d%%", tt.resource, *m.Resource.Current.AverageUtilization, want)
						}
					}
					return fmt.Errorf("HPA has no current %s metric yet; conditions: %+v", tt.resource, got.Status.Conditions)
				})
			}
			waitUtilization(utilization(tt.cpuBefore, tt.memBefore))
			deployments := env.bed.Cluster.Client().AppsV1().Deployments(ns)
			if d, err := deployments.Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			} else if *d.Spec.Replicas != 2 {
				t.Fatalf("HPA moved replicas to %d at target utilization, want 2", *d.Spec.Replicas)
			}

			if _, err := env.bed.Fleet.SetUsageForSelector(ns, "app="+name, tt.cpuAfter, tt.memAfter); err != nil {
				t.Fatal(err)
			}
			waitUtilization(utilization(tt.cpuAfter, tt.memAfter))
			eventually(t, 90*time.Second, func() error {
				d, err := deployments.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if *d.Spec.Replicas <= 2 {
					return fmt.Errorf("deployment still at %d replicas", *d.Spec.Replicas)
				}
				t.Logf("HPA scaled %s from 2 to %d replicas", name, *d.Spec.Replicas)
				return nil
			})
		})
	}
}

func ptr[T any](v T) *T { return &v }
