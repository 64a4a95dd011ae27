package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

const (
	usageGroup  = "usage.ringmetrics.dev"
	usageViewer = "usage-e2e-team-a-viewer" // view in team-a only
	usageNobody = "usage-e2e-nobody"        // authenticated, no binding
)

// TestUsageRBAC proves that the chart's aggregated ClusterRole (from
// manifests/components.yaml) lets the view role read usage.ringmetrics.dev
// where it is bound, through the real aggregator and kubectl, and that a
// user without roles cannot.
func TestUsageRBAC(t *testing.T) {
	use(t, env.ringmetrics)
	tailOnFailure(t, env.ringmetrics)
	cs := env.bed.Cluster.Client()
	installProjectReaderRole(t, cs)
	waitViewUsageRules(t, cs)
	bindUsageViewer(t, cs)

	_, base := apiserverClient(t, "e2e-admin", "", "system:masters")
	viewer, _ := apiserverClient(t, usageViewer, "")
	nobody, _ := apiserverClient(t, usageNobody, "")
	teamA := base + usageAPI + "/namespaces/team-a/podusages"
	for _, c := range []struct {
		who    string
		client *http.Client
		url    string
		want   int
	}{
		{usageViewer, viewer, teamA, http.StatusOK},
		{usageViewer, viewer, base + usageAPI + "/namespaces/team-b/podusages", http.StatusForbidden},
		{usageViewer, viewer, base + usageAPI + "/podusages", http.StatusForbidden},
		{usageViewer, viewer, base + usageAPI + "/nodeusages", http.StatusForbidden},
		{usageNobody, nobody, teamA, http.StatusForbidden},
		{usageNobody, nobody, base + usageAPI + "/nodeusages", http.StatusForbidden},
	} {
		// Bindings reach the authorizer through its informers: wait for a
		// grant, never for a denial.
		timeout := 30 * time.Second
		if c.want != http.StatusOK {
			timeout = 0
		}
		check := func() error {
			var list usagePodList
			code, err := bed.GetJSON(c.client, c.url, &list)
			if err != nil {
				return err
			}
			if code != c.want {
				return fmt.Errorf("%s: GET %s: %d, want %d", c.who, c.url, code, c.want)
			}
			if code == http.StatusOK && len(list.Items) == 0 {
				return fmt.Errorf("%s: GET %s: no items", c.who, c.url)
			}
			return nil
		}
		if timeout > 0 {
			eventually(t, timeout, check)
		} else if err := check(); err != nil {
			t.Error(err)
		}
	}

	k := bed.Kubectl{Binary: kubectlBinary(t, ""), Kubeconfig: adminKubeconfig(), CacheDir: t.TempDir()}
	out, _, err := k.Run("--as="+usageViewer, "get", "podusage", "-n", "team-a")
	if rows, perr := parseTable(out); err != nil || perr != nil || len(rows) == 0 {
		t.Errorf("kubectl get podusage -n team-a as the viewer: %v %v\n%s", err, perr, out)
	}
	for _, q := range []struct {
		who  string
		args []string
		want bool
	}{
		{usageViewer, []string{"list", "podusages." + usageGroup, "-n", "team-a"}, true},
		{usageViewer, []string{"get", "podusages." + usageGroup, "-n", "team-b"}, false},
		{usageViewer, []string{"list", "nodeusages." + usageGroup}, false},
		{usageNobody, []string{"list", "podusages." + usageGroup, "-n", "team-a"}, false},
	} {
		got, err := k.CanI(append([]string{"--as=" + q.who}, q.args...)...)
		if err != nil || got != q.want {
			t.Errorf("kubectl auth can-i %v as %s: %v %v, want %v", q.args, q.who, got, err, q.want)
		}
	}
}

// waitViewUsageRules waits until the clusterrole-aggregation controller has
// put the usage group into view.
func waitViewUsageRules(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		view, err := cs.RbacV1().ClusterRoles().Get(context.Background(), "view", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, res := range []string{"podusages", "nodeusages"} {
			for _, verb := range []string{"get", "list"} {
				if !slices.ContainsFunc(view.Rules, func(r rbacv1.PolicyRule) bool {
					return matches(r.APIGroups, usageGroup) && matches(r.Resources, res) && matches(r.Verbs, verb)
				}) {
					return fmt.Errorf("view does not grant %s %s.%s", verb, res, usageGroup)
				}
			}
		}
		return nil
	})
}

// bindUsageViewer binds view to usageViewer in team-a until the test ends.
func bindUsageViewer(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: usageViewer, Namespace: "team-a"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: usageViewer}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
	}
	if _, err := cs.RbacV1().RoleBindings("team-a").Create(context.Background(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().RoleBindings("team-a").Delete(context.Background(), rb.Name, metav1.DeleteOptions{})
	})
}
