package install

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// TestHelmLint lints the chart strictly (warnings fail) with the default,
// high-availability, DaemonSet and everything-on values.
func TestHelmLint(t *testing.T) {
	ca := writeTestCA(t)
	for _, v := range []variant{defaultVariant, haVariant, daemonSetVariant, allVariant(ca)} {
		t.Run(v.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartPath, "--namespace", releaseNamespace}, v.args...)
			out, err := helm(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint: %s", out)
			}
		})
	}
}

// typed converts a rendered object into its Go type, failing on any field
// the type does not have (a misspelt key would otherwise vanish).
func typed[T any](t testing.TB, o *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return out
}

// rule is one (group, resource, verb) a role grants.
type rule struct{ group, resource, verb string }

func flattenRules(rules []rbacv1.PolicyRule) []rule {
	var out []rule
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			out = append(out, rule{"?", "resourceNames or nonResourceURLs", "?"})
			continue
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, rule{g, res, v})
				}
			}
		}
	}
	return sortRules(out)
}

func sortRules(rules []rule) []rule {
	slices.SortFunc(rules, func(a, b rule) int {
		return strings.Compare(a.group+"/"+a.resource+"/"+a.verb, b.group+"/"+b.resource+"/"+b.verb)
	})
	return rules
}

// informerRules are what the server's informers read.
var informerRules = []rule{
	{"", "nodes", "list"}, {"", "nodes", "watch"},
	{"", "pods", "list"}, {"", "pods", "watch"},
}

// serverRules is exactly what the default server reads: the informers, and
// kubelets' /metrics/resource (nodes/metrics) with the /stats/summary
// fallback of --kubelet-endpoint=auto (nodes/stats). Anything more is a
// finding.
var serverRules = withRules(rule{"", "nodes/metrics", "get"}, rule{"", "nodes/stats", "get"})

func withRules(extra ...rule) []rule {
	return sortRules(append(slices.Clone(informerRules), extra...))
}

// TestRenderedDefault checks the objects of a default install.
func TestRenderedDefault(t *testing.T) {
	objs := decodeObjects(t, render(t, defaultVariant))
	want := map[string]int{
		"ServiceAccount": 1, "ClusterRole": 2, "ClusterRoleBinding": 2, "RoleBinding": 1,
		"Service": 1, "Deployment": 1, "APIService": 3,
	}
	if got := kinds(objs); !maps.Equal(got, want) {
		t.Errorf("rendered kinds = %v, want %v", got, want)
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "ClusterRoleBinding", "APIService":
			if o.GetNamespace() != "" {
				t.Errorf("cluster-scoped %s %s has namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		default:
			if o.GetNamespace() != releaseNamespace {
				t.Errorf("%s %s: namespace %q, want %q (kubectl apply must not depend on the current namespace)", o.GetKind(), o.GetName(), o.GetNamespace(), releaseNamespace)
			}
		}
	}

	dep := typed[appsv1.Deployment](t, find(t, objs, "Deployment", releaseName))
	checkDeployment(t, dep, 1)

	role := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "system:"+releaseName))
	if got := flattenRules(role.Rules); !slices.Equal(got, serverRules) {
		t.Errorf("server ClusterRole grants %v, want exactly %v", got, serverRules)
	}
	reader := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "system:"+releaseName+"-aggregated-reader"))
	for _, to := range []string{"view", "edit", "admin"} {
		if reader.Labels["rbac.authorization.k8s.io/aggregate-to-"+to] != "true" {
			t.Errorf("aggregated reader is not aggregated to %s: labels %v", to, reader.Labels)
		}
	}
	wantReader := []rule{
		{"metrics.k8s.io", "nodes", "get"}, {"metrics.k8s.io", "nodes", "list"}, {"metrics.k8s.io", "nodes", "watch"},
		{"metrics.k8s.io", "pods", "get"}, {"metrics.k8s.io", "pods", "list"}, {"metrics.k8s.io", "pods", "watch"},
		{"usage.ringmetrics.dev", "nodeusages", "get"}, {"usage.ringmetrics.dev", "nodeusages", "list"},
		{"usage.ringmetrics.dev", "podusages", "get"}, {"usage.ringmetrics.dev", "podusages", "list"},
	}
	if got := flattenRules(reader.Rules); !slices.Equal(got, wantReader) {
		t.Errorf("aggregated reader grants %v, want %v", got, wantReader)
	}

	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: releaseName, Namespace: releaseNamespace}
	checkBinding := func(kind, name, refKind, refName string) {
		t.Helper()
		o := find(t, objs, kind, name)
		var ref rbacv1.RoleRef
		var subjects []rbacv1.Subject
		if kind == "RoleBinding" {
			b := typed[rbacv1.RoleBinding](t, o)
			ref, subjects = b.RoleRef, b.Subjects
		} else {
			b := typed[rbacv1.ClusterRoleBinding](t, o)
			ref, subjects = b.RoleRef, b.Subjects
		}
		if ref.Kind != refKind || ref.Name != refName || !slices.Equal(subjects, []rbacv1.Subject{sa}) {
			t.Errorf("%s %s binds %s %s to %v, want %s %s to %v", kind, name, ref.Kind, ref.Name, subjects, refKind, refName, sa)
		}
	}
	checkBinding("ClusterRoleBinding", "system:"+releaseName, "ClusterRole", "system:"+releaseName)
	checkBinding("ClusterRoleBinding", releaseName+":system:auth-delegator", "ClusterRole", "system:auth-delegator")
	checkBinding("RoleBinding", releaseName+"-auth-reader", "Role", "extension-apiserver-authentication-reader")
	if rb := find(t, objs, "RoleBinding", releaseName+"-auth-reader"); rb.GetNamespace() != "kube-system" {
		t.Errorf("the auth-reader RoleBinding must be in kube-system, where the Role is; got %q", rb.GetNamespace())
	}

	svc := typed[corev1.Service](t, find(t, objs, "Service", releaseName))
	checkService(t, svc, dep.Spec.Template.Labels)

	for _, version := range []string{"v1", "v1beta1"} {
		api := find(t, objs, "APIService", version+".metrics.k8s.io")
		checkAPIService(t, api, svc, version)
		if v, _, _ := unstructured.NestedBool(api.Object, "spec", "insecureSkipTLSVerify"); !v {
			t.Errorf("default APIService %s: insecureSkipTLSVerify = false, want true (the server's certificate is self-signed)", version)
		}
	}
	checkUsageAPIService(t, objs, svc)
	// kubectl 1.37 reads the version discovery sorts first.
	v1, _, _ := unstructured.NestedInt64(find(t, objs, "APIService", "v1.metrics.k8s.io").Object, "spec", "versionPriority")
	v1beta1, _, _ := unstructured.NestedInt64(find(t, objs, "APIService", "v1beta1.metrics.k8s.io").Object, "spec", "versionPriority")
	if v1 <= v1beta1 {
		t.Errorf("versionPriority v1 %d, v1beta1 %d: v1 must sort first", v1, v1beta1)
	}
	if args := dep.Spec.Template.Spec.Containers[0].Args; slices.Contains(args, "--serve-v1=false") {
		t.Errorf("default args %q turn v1 off", args)
	}
}

// TestRenderedV1beta1Only checks apiService.v1=false, for clusters before
// 1.37: one APIService, v1beta1, and a server told to serve nothing else.
func TestRenderedV1beta1Only(t *testing.T) {
	objs := decodeObjects(t, render(t, variant{name: "v1beta1-only", args: []string{"--set", "apiService.v1=false"}}))
	if got := kinds(objs)["APIService"]; got != 2 {
		t.Fatalf("%d APIServices, want v1beta1 and the usage group's only", got)
	}
	svc := typed[corev1.Service](t, find(t, objs, "Service", releaseName))
	checkAPIService(t, find(t, objs, "APIService", "v1beta1.metrics.k8s.io"), svc, "v1beta1")
	dep := typed[appsv1.Deployment](t, find(t, objs, "Deployment", releaseName))
	if args := dep.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--serve-v1=false") {
		t.Errorf("args %q lack --serve-v1=false", args)
	}
}

// checkDeployment checks what every rendering's Deployment must have.
func checkDeployment(t *testing.T, dep *appsv1.Deployment, replicas int32) {
	t.Helper()
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != replicas {
		t.Errorf("replicas = %v, want %d", dep.Spec.Replicas, replicas)
	}
	checkPodTemplate(t, dep.Spec.Selector, dep.Spec.Template)
}

// checkPodTemplate checks what every rendering's pods must have, in either
// kind of workload: its selector picks them, and they run hardened.
func checkPodTemplate(t *testing.T, selector *metav1.LabelSelector, template corev1.PodTemplateSpec) {
	t.Helper()
	pod := template.Spec
	for k, v := range selector.MatchLabels {
		if template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels %v", k, v, template.Labels)
		}
	}
	if pod.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName = %q, want system-cluster-critical", pod.PriorityClassName)
	}
	if pod.ServiceAccountName != releaseName {
		t.Errorf("serviceAccountName = %q, want %q", pod.ServiceAccountName, releaseName)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot and seccompProfile RuntimeDefault", psc)
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("want one container and no init containers, got %d and %d", len(pod.Containers), len(pod.InitContainers))
	}
	c := pod.Containers[0]
	if want := "ghcr.io/ringmetrics/ringmetrics:" + chartAppVersion(t); c.Image != want && !strings.Contains(c.Image, "@sha256:") {
		t.Errorf("image = %q, want %q", c.Image, want)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no securityContext")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container securityContext: runAsNonRoot is not true")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container securityContext: readOnlyRootFilesystem is not true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container securityContext: allowPrivilegeEscalation is not false")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("container is privileged")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("container capabilities = %+v, want drop [ALL] and nothing added", sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("container seccompProfile = %+v, want RuntimeDefault", sc.SeccompProfile)
	}
	checkProbe := func(name string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe missing or not httpGet: %+v", name, p)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Scheme != corev1.URISchemeHTTPS || p.HTTPGet.Port != intstr.FromString("https") {
			t.Errorf("%s probe = %s %s port %s, want HTTPS %s port https", name, p.HTTPGet.Scheme, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	checkProbe("liveness", c.LivenessProbe, "/livez")
	checkProbe("readiness", c.ReadinessProbe, "/readyz")
	if len(c.Ports) != 1 || c.Ports[0].Name != "https" {
		t.Fatalf("container ports = %+v, want one named https", c.Ports)
	}
	if !slices.Contains(c.Args, "--secure-port="+itoa(c.Ports[0].ContainerPort)) {
		t.Errorf("args %q lack --secure-port=%d, the containerPort", c.Args, c.Ports[0].ContainerPort)
	}
	if !slices.Contains(c.Args, "--cert-dir=/tmp") {
		t.Errorf("args %q lack --cert-dir=/tmp", c.Args)
	}
	// The root filesystem is read-only: /tmp must be a writable volume.
	tmpVolume := ""
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/tmp" {
			tmpVolume = m.Name
		}
	}
	found := false
	for _, v := range pod.Volumes {
		if v.Name == tmpVolume && v.EmptyDir != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("/tmp (--cert-dir) is not an emptyDir volume: mounts %+v, volumes %+v", c.VolumeMounts, pod.Volumes)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resource requests = %v, want cpu and memory", c.Resources.Requests)
	}
	if !c.Resources.Limits.Cpu().IsZero() {
		t.Errorf("a CPU limit (%v) throttles the scrape loops; the chart sets none", c.Resources.Limits.Cpu())
	}
}

func checkService(t *testing.T, svc *corev1.Service, podLabels map[string]string) {
	t.Helper()
	for k, v := range svc.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("Service selector %s=%s does not select the server's pods (%v)", k, v, podLabels)
		}
	}
	if len(svc.Spec.Selector) == 0 {
		t.Error("Service has no selector")
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].TargetPort != intstr.FromString("https") {
		t.Errorf("Service ports = %+v, want one named https targeting the container port https", svc.Spec.Ports)
	}
}

// checkUsageAPIService checks v1alpha1.usage.ringmetrics.dev, which every
// install registers beside metrics.k8s.io, pointing at the same Service.
func checkUsageAPIService(t *testing.T, objs []*unstructured.Unstructured, svc *corev1.Service) {
	t.Helper()
	api := find(t, objs, "APIService", "v1alpha1.usage.ringmetrics.dev")
	spec, _, _ := unstructured.NestedMap(api.Object, "spec")
	service, _ := spec["service"].(map[string]any)
	if spec["group"] != "usage.ringmetrics.dev" || spec["version"] != "v1alpha1" {
		t.Errorf("APIService %s serves %v/%v, want usage.ringmetrics.dev/v1alpha1", api.GetName(), spec["group"], spec["version"])
	}
	if service["name"] != svc.Name || service["namespace"] != svc.Namespace || toInt(service["port"]) != int64(svc.Spec.Ports[0].Port) {
		t.Errorf("APIService %s points at %v, want Service %s/%s port %d", api.GetName(), service, svc.Namespace, svc.Name, svc.Spec.Ports[0].Port)
	}
}

func checkAPIService(t *testing.T, api *unstructured.Unstructured, svc *corev1.Service, version string) {
	t.Helper()
	spec, _, _ := unstructured.NestedMap(api.Object, "spec")
	service, _ := spec["service"].(map[string]any)
	if spec["group"] != "metrics.k8s.io" || spec["version"] != version {
		t.Errorf("APIService %s serves %v/%v, want metrics.k8s.io/%s", api.GetName(), spec["group"], spec["version"], version)
	}
	if service["name"] != svc.Name || service["namespace"] != svc.Namespace || toInt(service["port"]) != int64(svc.Spec.Ports[0].Port) {
		t.Errorf("APIService points at %v, want Service %s/%s port %d", service, svc.Namespace, svc.Name, svc.Spec.Ports[0].Port)
	}
}

// TestRenderedHA checks the high-availability values: two replicas that
// cannot share a node, spread over zones, a PodDisruptionBudget, and
// otherwise the same install as the default.
func TestRenderedHA(t *testing.T) {
	def := decodeObjects(t, render(t, defaultVariant))
	ha := decodeObjects(t, render(t, haVariant))
	dep := typed[appsv1.Deployment](t, find(t, ha, "Deployment", releaseName))
	checkDeployment(t, dep, 2)
	defDep := typed[appsv1.Deployment](t, find(t, def, "Deployment", releaseName))
	if !slices.Equal(dep.Spec.Template.Spec.Containers[0].Args, defDep.Spec.Template.Spec.Containers[0].Args) {
		t.Errorf("HA args %q differ from the default's %q", dep.Spec.Template.Spec.Containers[0].Args, defDep.Spec.Template.Spec.Containers[0].Args)
	}

	pdb := typed[policyv1.PodDisruptionBudget](t, find(t, ha, "PodDisruptionBudget", releaseName))
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PodDisruptionBudget: minAvailable %v maxUnavailable %v, want minAvailable 1", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}
	if !reflect.DeepEqual(pdb.Spec.Selector, dep.Spec.Selector) {
		t.Errorf("PodDisruptionBudget selector %v, want the Deployment's %v", pdb.Spec.Selector, dep.Spec.Selector)
	}

	podLabels := dep.Spec.Template.Labels
	selects := func(m map[string]string) bool {
		for k, v := range m {
			if podLabels[k] != v {
				return false
			}
		}
		return len(m) > 0
	}
	pod := dep.Spec.Template.Spec
	antiOK := false
	if pod.Affinity != nil && pod.Affinity.PodAntiAffinity != nil {
		for _, term := range pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			if term.TopologyKey == "kubernetes.io/hostname" && term.LabelSelector != nil && selects(term.LabelSelector.MatchLabels) {
				antiOK = true
			}
		}
	}
	if !antiOK {
		t.Errorf("no required pod anti-affinity on kubernetes.io/hostname selecting the server's own pods: %+v", pod.Affinity)
	}
	spreadOK := false
	for _, c := range pod.TopologySpreadConstraints {
		if c.TopologyKey == "topology.kubernetes.io/zone" && c.LabelSelector != nil && selects(c.LabelSelector.MatchLabels) {
			spreadOK = true
		}
	}
	if !spreadOK {
		t.Errorf("no zone topology spread selecting the server's own pods: %+v", pod.TopologySpreadConstraints)
	}

	// Everything but the Deployment and the PDB is the default install's.
	byKey := func(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
		m := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			if o.GetKind() != "Deployment" && o.GetKind() != "PodDisruptionBudget" {
				m[o.GetKind()+"/"+o.GetName()] = o
			}
		}
		return m
	}
	d, h := byKey(def), byKey(ha)
	if !slices.Equal(slices.Sorted(maps.Keys(d)), slices.Sorted(maps.Keys(h))) {
		t.Errorf("HA objects %v, default objects %v", slices.Sorted(maps.Keys(h)), slices.Sorted(maps.Keys(d)))
	}
	for k, o := range d {
		if h[k] != nil && !reflect.DeepEqual(o.Object, h[k].Object) {
			t.Errorf("%s differs between the default and HA installs", k)
		}
	}
}

// TestRenderedOptions checks the optional parts with every option on.
func TestRenderedOptions(t *testing.T) {
	ca := writeTestCA(t)
	objs := decodeObjects(t, render(t, allVariant(ca)))
	dep := typed[appsv1.Deployment](t, find(t, objs, "Deployment", releaseName))
	checkDeployment(t, dep, 3)
	pod := dep.Spec.Template.Spec
	args := pod.Containers[0].Args
	for _, want := range []string{"--secure-port=4443", "--kubelet-via-apiserver", "--tls-cert-file=/etc/ringmetrics/tls/tls.crt",
		"--tls-private-key-file=/etc/ringmetrics/tls/tls.key", "--history=30m"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v dnsPolicy %q, want true and ClusterFirstWithHostNet", pod.HostNetwork, pod.DNSPolicy)
	}

	role := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "system:"+releaseName))
	// Through the apiserver's node proxy the kubelet sees the apiserver:
	// nodes/proxy replaces nodes/metrics and nodes/stats.
	want := withRules(rule{"", "nodes/proxy", "get"})
	if got := flattenRules(role.Rules); !slices.Equal(got, want) {
		t.Errorf("kubeletViaAPIServer ClusterRole grants %v, want %v", got, want)
	}

	svc := typed[corev1.Service](t, find(t, objs, "Service", releaseName))
	api := find(t, objs, "APIService", "v1beta1.metrics.k8s.io")
	checkAPIService(t, api, svc, "v1beta1")
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	bundle, _, _ := unstructured.NestedString(api.Object, "spec", "caBundle")
	if bundle != base64.StdEncoding.EncodeToString(caPEM) {
		t.Errorf("APIService caBundle is not the base64 of the CA file")
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(api.Object, "spec", "insecureSkipTLSVerify"); found {
		t.Errorf("APIService sets insecureSkipTLSVerify together with a caBundle")
	}

	pdb := typed[policyv1.PodDisruptionBudget](t, find(t, objs, "PodDisruptionBudget", releaseName))
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget: minAvailable %v maxUnavailable %v, want maxUnavailable 1 only", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}

	sm := find(t, objs, "ServiceMonitor", releaseName)
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints = %v, want one", endpoints)
	}
	ep, _ := endpoints[0].(map[string]any)
	if ep["port"] != svc.Spec.Ports[0].Name || ep["scheme"] != "https" || ep["path"] != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v, want port %q scheme https path /metrics", ep, svc.Spec.Ports[0].Name)
	}
	smSelector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range smSelector {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selector %s=%s does not select the Service (labels %v)", k, v, svc.Labels)
		}
	}
	if sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v lack serviceMonitor.additionalLabels", sm.GetLabels())
	}

	cm := typed[corev1.ConfigMap](t, find(t, objs, "ConfigMap", releaseName+"-dashboard"))
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v lack grafana_dashboard=1 (the Grafana sidecar's default)", cm.Labels)
	}
	file, err := os.ReadFile(filepath.Join(repoRoot(t), chartPath, "dashboards", "ringmetrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(cm.Data["ringmetrics.json"]) != strings.TrimSpace(string(file)) {
		t.Error("dashboard ConfigMap's ringmetrics.json is not the chart's dashboards/ringmetrics.json")
	}
}

// TestKubeletEndpointRBAC checks the ClusterRole follows --kubelet-endpoint.
func TestKubeletEndpointRBAC(t *testing.T) {
	for _, c := range []struct {
		endpoint string
		want     []rule
	}{
		{"auto", serverRules},
		{"resource", withRules(rule{"", "nodes/metrics", "get"})},
		{"summary", withRules(rule{"", "nodes/stats", "get"})},
	} {
		t.Run(c.endpoint, func(t *testing.T) {
			objs := decodeObjects(t, render(t, variant{name: c.endpoint, args: []string{"--set", "kubeletEndpoint=" + c.endpoint}}))
			dep := typed[appsv1.Deployment](t, find(t, objs, "Deployment", releaseName))
			if args := dep.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--kubelet-endpoint="+c.endpoint) {
				t.Errorf("args %q lack --kubelet-endpoint=%s", args, c.endpoint)
			}
			role := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "system:"+releaseName))
			if got := flattenRules(role.Rules); !slices.Equal(got, c.want) {
				t.Errorf("ClusterRole grants %v, want %v", got, c.want)
			}
		})
	}
}

// TestRenderRejectsBadValues checks the chart refuses combinations that
// would install something broken.
func TestRenderRejectsBadValues(t *testing.T) {
	ca := writeTestCA(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no TLS verification and no CA", []string{"--set", "apiService.insecureSkipTLSVerify=false"}, "apiService.caBundle is required"},
		{"both TLS settings", []string{"--set-file", "apiService.caBundle=" + ca}, "not both"},
		{"host network on the kubelet's port", []string{"--set", "hostNetwork.enabled=true", "--set", "containerPort=10250"}, "containerPort 10250 on the host network"},
		{"DaemonSet on the kubelet's port", []string{"--set", "kind=DaemonSet", "--set", "containerPort=10250"}, "containerPort 10250 on the host network"},
		{"unknown kubelet endpoint", []string{"--set", "kubeletEndpoint=stats"}, "kubeletEndpoint must be"},
		{"unknown kind", []string{"--set", "kind=StatefulSet"}, `kind must be Deployment or DaemonSet, not "StatefulSet"`},
		{"DaemonSet with replicas", []string{"--set", "kind=DaemonSet", "--set", "replicas=2"}, "replicas (2) does not apply to kind DaemonSet"},
		{"DaemonSet with the HA values", []string{"--set", "kind=DaemonSet", "-f", haValuesPath}, "replicas (2) does not apply to kind DaemonSet"},
		{"DaemonSet with a PodDisruptionBudget", []string{"--set", "kind=DaemonSet", "--set", "podDisruptionBudget.enabled=true"}, "would protect nothing"},
		{"DaemonSet with spread constraints", []string{"--set", "kind=DaemonSet", "--set", "topologySpreadConstraints[0].maxSkew=1"}, "topologySpreadConstraints does not apply to kind DaemonSet"},
		{"DaemonSet with pod anti-affinity", []string{"--set", "kind=DaemonSet", "--set",
			"affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey=kubernetes.io/hostname"},
			"affinity.podAntiAffinity does not apply to kind DaemonSet"},
		{"DaemonSet surging on the host network", []string{"--set", "kind=DaemonSet", "--set", "updateStrategy.rollingUpdate.maxSurge=1"}, "a surge pod needs port 4443"},
		{"DaemonSet with a Deployment strategy", []string{"--set", "kind=DaemonSet", "--set", "updateStrategy.type=Recreate"}, `"Recreate" is not a DaemonSet strategy`},
		{"Deployment with a DaemonSet strategy", []string{"--set", "updateStrategy.type=OnDelete"}, `"OnDelete" is not a Deployment strategy`},
		{"host network neither true nor false", []string{"--set", "hostNetwork.enabled=yes"}, `hostNetwork.enabled must be true, false or empty, not "yes"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := helm(t, templateArgs(variant{args: c.args})...)
			if err == nil {
				t.Fatalf("helm template succeeded, want an error containing %q:\n%s", c.want, out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestValuesDocumented checks the chart README documents every value: each
// leaf of values.yaml, or a parent of it, appears in backquotes.
func TestValuesDocumented(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, chartPath, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, chartPath, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := prefix + k
			if strings.Contains(string(readme), "`"+key+"`") {
				continue
			}
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(key+".", sub)
				continue
			}
			t.Errorf("value %s is not documented in %s/README.md", key, chartPath)
		}
	}
	walk("", values)
}

// TestDashboardJSON checks the dashboard's shape offline; the bed test
// checks its queries against a live /metrics.
func TestDashboardJSON(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q title %q", d.UID, d.Title)
	}
	exprs := d.exprs()
	if len(exprs) < 8 {
		t.Fatalf("dashboard has %d queries, want the scrape, error, served, API and memory panels", len(exprs))
	}
	all := strings.Join(exprs, "\n")
	for _, want := range []string{
		"ringmetrics_scraper_duration_seconds_bucket", "ringmetrics_scraper_errors_total", "by (reason)",
		"ringmetrics_store_nodes", "ringmetrics_store_pods",
		`apiserver_request_total{job=~"$job", instance=~"$instance", group="metrics.k8s.io"}`, "apiserver_request_duration_seconds_bucket",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no dashboard query uses %s", want)
		}
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func (d dashboard) exprs() []string {
	var out []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, target := range p.Targets {
				out = append(out, target.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func loadDashboard(t testing.TB) dashboard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), chartPath, "dashboards", "ringmetrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return d
}

func chartAppVersion(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), chartPath, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	return chart.AppVersion
}

func itoa(n int32) string { return strconv.FormatInt(int64(n), 10) }

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return -1
}
