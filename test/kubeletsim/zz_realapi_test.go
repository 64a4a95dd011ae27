//go:build realapi

package kubeletsim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/cluster"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestRealAPIServer(t *testing.T) {
	c := cluster.StartT(t, cluster.Options{})
	rc := c.RESTConfig()
	rc.QPS, rc.Burst = 2000, 4000
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ca, key := c.CA()
	ctx := context.Background()
	f, err := New(Config{Nodes: 200, PodsPerNode: 30, Seed: 1, CA: ca, CAKey: key, Client: cs, FirstIP: testFirstIP, Port: AnyPort,
		Namespaces: []string{"sim-a", "sim-b"}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("real apiserver: %v", st)

	n, err := cs.CoreV1().Nodes().Get(ctx, "sim-node-7", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node status: addrs %v port %d ready %v", n.Status.Addresses, n.Status.DaemonEndpoints.KubeletEndpoint.Port, n.Status.Conditions[3])
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d running pods; first: node %s start %v qos %s ready %v", len(pods.Items), pods.Items[0].Spec.NodeName, pods.Items[0].Status.StartTime, pods.Items[0].Status.QOSClass, pods.Items[0].Status.Conditions)
	if len(pods.Items) != 6000 {
		t.Errorf("running pods %d", len(pods.Items))
	}
	// UIDs came from the apiserver.
	p0 := pods.Items[0]
	for _, p := range f.Pods() {
		if p.Name == p0.Name && p.Namespace == p0.Namespace && p.UID != string(p0.UID) {
			t.Errorf("uid %s vs %s", p.UID, p0.UID)
		}
	}

	// Workload with a deployment.
	names, err := f.AddWorkload(ctx, Workload{Namespace: "hpa", Name: "web", Replicas: 3, OwnerDeployment: true,
		Containers: []ContainerSpec{{Name: "web", CPURequest: resource.MustParse("100m"), MemRequest: resource.MustParse("64Mi"), CPUMilli: 80, MemBytes: 50 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("workload pods %v", names)
	if err := f.ScaleWorkload(ctx, "hpa", "web", 1); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteNode(ctx, "sim-node-3"); err != nil {
		t.Fatal(err)
	}

	// Real TokenReview and SubjectAccessReview.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scraper", Namespace: "sim-a"}}
	if _, err := cs.CoreV1().ServiceAccounts("sim-a").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("sim-a").CreateToken(ctx, "scraper", &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{"Authorization": {"Bearer " + tr.Status.Token}}
	cl := testClient(f, nil, false)
	if r := get(t, cl, f, "sim-node-1", "/metrics/resource", hdr); r.status != 403 {
		t.Errorf("before RBAC: %d %s", r.status, r.body)
	}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "scrape"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}}}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "scrape"}, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "scrape"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "scraper", Namespace: "sim-a"}}}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // RBAC cache
	if r := get(t, cl, f, "sim-node-2", "/metrics/resource", hdr); r.status != 200 {
		t.Errorf("after RBAC: %d %s", r.status, r.body)
	}
	if r := get(t, cl, f, "sim-node-2", "/stats/summary", hdr); r.status != 403 {
		t.Errorf("stats without RBAC: %d %s", r.status, r.body)
	}
	if r := get(t, cl, f, "sim-node-2", "/metrics/resource", http.Header{"Authorization": {"Bearer nope"}}); r.status != 401 {
		t.Errorf("bad token: %d %s", r.status, r.body)
	}
}
