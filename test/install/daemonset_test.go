package install

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
)

// daemonSetVariant is the chart as a DaemonSet on the control-plane nodes,
// what manifests/daemonset.yaml holds.
var daemonSetVariant = variant{name: "daemonset", args: []string{"--set", "kind=DaemonSet"}}

// controlPlaneLabel is the label, and the key of the NoSchedule taint,
// kubeadm (and most installers) put on control-plane nodes.
const controlPlaneLabel = "node-role.kubernetes.io/control-plane"

// renderDaemonSet renders v and returns its objects and its DaemonSet.
func renderDaemonSet(t *testing.T, v variant) ([]*unstructured.Unstructured, *appsv1.DaemonSet) {
	t.Helper()
	objs := decodeObjects(t, render(t, v))
	return objs, typed[appsv1.DaemonSet](t, find(t, objs, "DaemonSet", releaseName))
}

// TestRenderedDaemonSet checks kind=DaemonSet: one pod on each control-plane
// node, on the host network with the kubelet's port left alone, hardened and
// probed as the Deployment's pods are, rolled out one node at a time, no
// PodDisruptionBudget; and every other object the default install's, so the
// RBAC, the Service and the APIServices are unchanged.
func TestRenderedDaemonSet(t *testing.T) {
	def := decodeObjects(t, render(t, defaultVariant))
	objs, ds := renderDaemonSet(t, daemonSetVariant)
	want := map[string]int{
		"ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 2, "RoleBinding": 1,
		"Service": 1, "DaemonSet": 1, "APIService": 3,
	}
	if got := kinds(objs); !maps.Equal(got, want) {
		t.Errorf("rendered kinds = %v, want %v (no Deployment, no PodDisruptionBudget)", got, want)
	}
	if ds.GetNamespace() != releaseNamespace {
		t.Errorf("DaemonSet namespace %q, want %q", ds.GetNamespace(), releaseNamespace)
	}
	checkPodTemplate(t, ds.Spec.Selector, ds.Spec.Template)
	pod := ds.Spec.Template.Spec

	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v dnsPolicy %q, want true and ClusterFirstWithHostNet", pod.HostNetwork, pod.DNSPolicy)
	}
	c := pod.Containers[0]
	if p := c.Ports[0]; p.ContainerPort != 4443 || p.HostPort != 4443 {
		t.Errorf("port %+v, want containerPort and hostPort 4443 (the kubelet holds 10250 on the host)", p)
	}
	if want := map[string]string{controlPlaneLabel: "", "kubernetes.io/os": "linux"}; !maps.Equal(pod.NodeSelector, want) {
		t.Errorf("nodeSelector %v, want %v", pod.NodeSelector, want)
	}
	// The pods must tolerate the taint the selected nodes carry.
	taint := corev1.Taint{Key: controlPlaneLabel, Effect: corev1.TaintEffectNoSchedule}
	if !slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool { return tol.ToleratesTaint(klog.Background(), &taint, false) }) {
		t.Errorf("tolerations %+v do not tolerate the control-plane taint %v", pod.Tolerations, taint)
	}

	s := ds.Spec.UpdateStrategy
	if s.Type != appsv1.RollingUpdateDaemonSetStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxUnavailable == nil || *s.RollingUpdate.MaxUnavailable != intstr.FromInt32(1) ||
		(s.RollingUpdate.MaxSurge != nil && s.RollingUpdate.MaxSurge.IntValue() != 0) {
		t.Errorf("updateStrategy %+v, want RollingUpdate with maxUnavailable 1 and no surge", s)
	}

	// The pod is the Deployment's pod but for what the DaemonSet shape
	// changes: the network, the port, where it runs.
	dep := typed[appsv1.Deployment](t, find(t, def, "Deployment", releaseName))
	depPod := dep.Spec.Template.Spec.DeepCopy()
	dsPod := pod.DeepCopy()
	dsPod.HostNetwork, dsPod.DNSPolicy = depPod.HostNetwork, depPod.DNSPolicy
	dsPod.NodeSelector, dsPod.Tolerations = depPod.NodeSelector, depPod.Tolerations
	dsPod.Containers[0].Ports = depPod.Containers[0].Ports
	for i, a := range dsPod.Containers[0].Args {
		if a == "--secure-port=4443" {
			dsPod.Containers[0].Args[i] = "--secure-port=10250"
		}
	}
	if !reflect.DeepEqual(dsPod, depPod) {
		t.Errorf("the DaemonSet's pod differs from the Deployment's beyond network, port and placement:\n DaemonSet:  %+v\n Deployment: %+v", dsPod, depPod)
	}
	if !reflect.DeepEqual(ds.Spec.Template.ObjectMeta, dep.Spec.Template.ObjectMeta) || !reflect.DeepEqual(ds.Spec.Selector, dep.Spec.Selector) {
		t.Errorf("pod labels or selector differ from the Deployment's")
	}

	// Everything else is the default install's, byte for byte.
	byKey := func(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
		m := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			if o.GetKind() != "Deployment" && o.GetKind() != "DaemonSet" {
				m[o.GetKind()+"/"+o.GetName()] = o
			}
		}
		return m
	}
	d, ours := byKey(def), byKey(objs)
	if !slices.Equal(slices.Sorted(maps.Keys(d)), slices.Sorted(maps.Keys(ours))) {
		t.Errorf("DaemonSet install objects %v, default objects %v", slices.Sorted(maps.Keys(ours)), slices.Sorted(maps.Keys(d)))
	}
	for k, o := range d {
		if ours[k] != nil && !reflect.DeepEqual(o.Object, ours[k].Object) {
			t.Errorf("%s differs between the default and DaemonSet installs", k)
		}
	}
	svc := typed[corev1.Service](t, find(t, objs, "Service", releaseName))
	checkService(t, svc, ds.Spec.Template.Labels)
	for _, version := range []string{"v1", "v1beta1"} {
		checkAPIService(t, find(t, objs, "APIService", version+".metrics.k8s.io"), svc, version)
	}
	checkUsageAPIService(t, objs, svc)
}

// TestRenderedDaemonSetOverrides checks the DaemonSet's defaults give way to
// values: another port, off the host network, everywhere instead of the
// control plane, v1beta1 only; and that a Deployment on the host network
// moves off the kubelet's port by itself.
func TestRenderedDaemonSetOverrides(t *testing.T) {
	ds := func(t *testing.T, args ...string) ([]*unstructured.Unstructured, corev1.PodSpec) {
		t.Helper()
		objs, ds := renderDaemonSet(t, variant{name: "daemonset", args: append([]string{"--set", "kind=DaemonSet"}, args...)})
		checkPodTemplate(t, ds.Spec.Selector, ds.Spec.Template)
		return objs, ds.Spec.Template.Spec
	}
	t.Run("port", func(t *testing.T) {
		_, pod := ds(t, "--set", "containerPort=8443")
		if c := pod.Containers[0]; c.Ports[0].ContainerPort != 8443 || c.Ports[0].HostPort != 8443 || !slices.Contains(c.Args, "--secure-port=8443") {
			t.Errorf("ports %+v args %q, want 8443", c.Ports, c.Args)
		}
	})
	t.Run("pod network", func(t *testing.T) {
		_, pod := ds(t, "--set", "hostNetwork.enabled=false")
		if c := pod.Containers[0]; pod.HostNetwork || pod.DNSPolicy != "" || c.Ports[0].ContainerPort != 10250 || c.Ports[0].HostPort != 0 {
			t.Errorf("hostNetwork %v dnsPolicy %q ports %+v, want the pod network on 10250", pod.HostNetwork, pod.DNSPolicy, c.Ports)
		}
	})
	t.Run("every node", func(t *testing.T) {
		_, pod := ds(t, "--set", "daemonSet.nodeSelector=null", "--set", "daemonSet.tolerations=null")
		if !maps.Equal(pod.NodeSelector, map[string]string{"kubernetes.io/os": "linux"}) || len(pod.Tolerations) != 0 {
			t.Errorf("nodeSelector %v tolerations %v, want nodeSelector's own and none", pod.NodeSelector, pod.Tolerations)
		}
	})
	t.Run("v1beta1 only", func(t *testing.T) {
		objs, pod := ds(t, "--set", "apiService.v1=false")
		if got := kinds(objs)["APIService"]; got != 2 {
			t.Errorf("%d APIServices, want v1beta1 and the usage group's only", got)
		}
		find(t, objs, "APIService", "v1beta1.metrics.k8s.io")
		if !slices.Contains(pod.Containers[0].Args, "--serve-v1=false") {
			t.Errorf("args %q lack --serve-v1=false", pod.Containers[0].Args)
		}
	})
	t.Run("deployment on the host network", func(t *testing.T) {
		objs := decodeObjects(t, render(t, variant{name: "hostnetwork", args: []string{"--set", "hostNetwork.enabled=true"}}))
		dep := typed[appsv1.Deployment](t, find(t, objs, "Deployment", releaseName))
		checkDeployment(t, dep, 1)
		pod := dep.Spec.Template.Spec
		if c := pod.Containers[0]; !pod.HostNetwork || c.Ports[0].ContainerPort != 4443 || c.Ports[0].HostPort != 4443 {
			t.Errorf("hostNetwork %v ports %+v, want the host network on 4443", pod.HostNetwork, c.Ports)
		}
		if _, ok := pod.NodeSelector[controlPlaneLabel]; ok || len(pod.Tolerations) != 0 {
			t.Errorf("a Deployment got the DaemonSet's placement: nodeSelector %v tolerations %v", pod.NodeSelector, pod.Tolerations)
		}
	})
}
