// Package bed assembles the end-to-end test bed: it registers an aggregated
// metrics server (ringmetrics or metrics-server) with a running control plane
// and runs it as a real process.
package bed

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// ServiceAccountUser is the identity an aggregated server runs as on the bed,
// matching the ServiceAccount the RBAC below binds.
const (
	Namespace          = "kube-system"
	ServiceAccountName = "metrics-server"
	ServiceAccountUser = "system:serviceaccount:" + Namespace + ":" + ServiceAccountName
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// Registration says how the aggregator reaches a metrics server on loopback.
type Registration struct {
	// Port is the server's --secure-port on localhost.
	Port int
	// ServiceName names the ExternalName Service; defaults to "metrics-server".
	ServiceName string
	// Versions of metrics.k8s.io to register, preferred first; empty means
	// v1beta1 alone. A known version not listed is unregistered.
	Versions []string
	// Usage registers v1alpha1.usage.ringmetrics.dev, ringmetrics' usage
	// history group, at the same Service; false unregisters it, so that no
	// APIService is left pointing where nothing serves it.
	Usage bool
}

// The usage history group ringmetrics serves beside metrics.k8s.io, as the
// chart registers it.
const (
	usageGroup      = "usage.ringmetrics.dev"
	usageVersion    = "v1alpha1"
	usageAPIService = usageVersion + "." + usageGroup
)

// versionPriorities are the chart's: v1 sorts first in discovery.
var versionPriorities = map[string]int64{"v1": 200, "v1beta1": 100}

// ApplyRBAC creates what a metrics server needs, for both metrics-server and
// ringmetrics: read nodes, nodes/metrics and pods; delegate authn/authz; let
// view/edit/admin read metrics. It is idempotent.
func ApplyRBAC(ctx context.Context, client kubernetes.Interface) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: Namespace}}
	if _, err := client.CoreV1().ServiceAccounts(Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	reader := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "system:metrics-server"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"nodes/metrics", "nodes/stats"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	aggregated := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "system:aggregated-metrics-reader", Labels: map[string]string{
			"rbac.authorization.k8s.io/aggregate-to-view":  "true",
			"rbac.authorization.k8s.io/aggregate-to-edit":  "true",
			"rbac.authorization.k8s.io/aggregate-to-admin": "true",
		}},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"metrics.k8s.io"}, Resources: []string{"pods", "nodes"}, Verbs: []string{"get", "list", "watch"}}},
	}
	for _, role := range []*rbacv1.ClusterRole{reader, aggregated} {
		if _, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccountName, Namespace: Namespace}}
	bindings := []*rbacv1.ClusterRoleBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: "system:metrics-server"}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:metrics-server"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "metrics-server:system:auth-delegator"}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"}},
	}
	for _, b := range bindings {
		if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server-auth-reader", Namespace: Namespace},
		Subjects:   subject,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
	}
	if _, err := client.RbacV1().RoleBindings(Namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// Register points the metrics.k8s.io APIServices (and, with Usage, the usage
// group's) at a server on localhost:Port through an ExternalName Service
// (aggregator routing cannot reach loopback; see shared/TESTBED-NOTES.md). Re-registering moves the APIService to the new
// port, which is how a test swaps metrics-server for ringmetrics.
func Register(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, r Registration) error {
	name := r.ServiceName
	if name == "" {
		name = "metrics-server"
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(r.Port), Protocol: corev1.ProtocolTCP}},
		},
	}
	existing, err := client.CoreV1().Services(Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := client.CoreV1().Services(Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating service %s: %w", name, err)
		}
	case err != nil:
		return err
	default:
		existing.Spec.Ports = svc.Spec.Ports
		if _, err := client.CoreV1().Services(Namespace).Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating service %s: %w", name, err)
		}
	}

	versions := r.Versions
	if len(versions) == 0 {
		versions = []string{"v1beta1"}
	}
	for version := range versionPriorities {
		if slices.Contains(versions, version) {
			continue
		}
		err := dyn.Resource(apiServiceGVR).Delete(ctx, version+".metrics.k8s.io", metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("unregistering APIService %s.metrics.k8s.io: %w", version, err)
		}
	}
	for _, version := range versions {
		priority, ok := versionPriorities[version]
		if !ok {
			return fmt.Errorf("no metrics.k8s.io version %q", version)
		}
		if err := registerAPIService(ctx, dyn, "metrics.k8s.io", version, priority, name, r.Port); err != nil {
			return err
		}
	}
	if !r.Usage {
		err := dyn.Resource(apiServiceGVR).Delete(ctx, usageAPIService, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("unregistering APIService %s: %w", usageAPIService, err)
		}
		return nil
	}
	return registerAPIService(ctx, dyn, usageGroup, usageVersion, 100, name, r.Port)
}

// registerAPIService creates or moves the APIService of group and version to
// the Service.
func registerAPIService(ctx context.Context, dyn dynamic.Interface, group, version string, priority int64, service string, port int) error {
	apiServiceName := version + "." + group
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": apiServiceName},
		"spec": map[string]any{
			"group":                 group,
			"version":               version,
			"groupPriorityMinimum":  int64(100),
			"versionPriority":       priority,
			"insecureSkipTLSVerify": true,
			"service":               map[string]any{"name": service, "namespace": Namespace, "port": int64(port)},
		},
	}}
	apiServices := dyn.Resource(apiServiceGVR)
	// The aggregator's status controller writes the object too: a conflict
	// means read again and retry, not fail.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := apiServices.Get(ctx, apiServiceName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = apiServices.Create(ctx, apiService, metav1.CreateOptions{})
			return err
		case err != nil:
			return err
		}
		apiService.SetResourceVersion(current.GetResourceVersion())
		_, err = apiServices.Update(ctx, apiService, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("registering APIService %s: %w", apiServiceName, err)
	}
	return nil
}

// WaitAvailable waits until every metrics.k8s.io APIService, and the usage
// group's when registered, reports Available=True and the aggregator forwards
// its group-version's discovery to the server, and returns the last
// condition message or error on timeout.
//
// Available=True alone does not mean a request gets through: the status is
// written by the aggregator's availability controller, while its proxy
// handler learns of it later from its own informer and answers 503 "service
// unavailable" until then (seen in CI right after registration). So the wait
// also asks for each group-version through the aggregator until it has
// answered 200 on servedRounds consecutive polls.
func WaitAvailable(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, timeout time.Duration) error {
	const servedRounds = 3
	var last string
	served := 0
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := dyn.Resource(apiServiceGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		var groupVersions []string
		available := 0
		for _, obj := range list.Items {
			group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
			if group != "metrics.k8s.io" && group != usageGroup {
				continue
			}
			version, _, _ := unstructured.NestedString(obj.Object, "spec", "version")
			groupVersions = append(groupVersions, group+"/"+version)
			switch ok, why := APIServiceAvailable(&obj); {
			case ok:
				available++
			case why != "":
				last = obj.GetName() + ": " + why
			}
		}
		if len(groupVersions) == 0 {
			last = "no metrics.k8s.io APIService registered"
		}
		if len(groupVersions) == 0 || available != len(groupVersions) {
			served = 0
			return false, nil
		}
		for _, gv := range groupVersions {
			if _, err := client.Discovery().RESTClient().Get().AbsPath("/apis/" + gv).DoRaw(ctx); err != nil {
				last = fmt.Sprintf("GET /apis/%s through the aggregator: %v", gv, err)
				served = 0
				return false, nil
			}
		}
		served++
		return served >= servedRounds, nil
	})
	if err != nil {
		return fmt.Errorf("metrics.k8s.io APIServices not Available and served after %v (last: %s): %w", timeout, last, err)
	}
	return nil
}

// APIServiceAvailable reports whether an APIService's Available condition is
// True and, when the condition is there but not True, its reason and
// message.
func APIServiceAvailable(apiService *unstructured.Unstructured) (ok bool, why string) {
	conditions, _, _ := unstructured.NestedSlice(apiService.Object, "status", "conditions")
	for _, c := range conditions {
		if cond, _ := c.(map[string]any); cond["type"] == "Available" {
			if cond["status"] == "True" {
				return true, ""
			}
			return false, fmt.Sprintf("%v: %v", cond["reason"], cond["message"])
		}
	}
	return false, ""
}
