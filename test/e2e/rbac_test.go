package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

const (
	metricsAPI = "/apis/metrics.k8s.io/v1beta1"
	metricsGrp = "metrics.k8s.io"

	// The HPA controller runs as this ServiceAccount (kube-controller-manager
	// --use-service-account-credentials), bound by the bootstrap policy to
	// the ClusterRole of the same name.
	hpaUser    = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
	hpaBinding = "system:controller:horizontal-pod-autoscaler"

	rbacViewer = "rbac-e2e-team-a-viewer"  // view in team-a only, through a RoleBinding
	rbacReader = "rbac-e2e-cluster-reader" // view everywhere, through a ClusterRoleBinding
	rbacNobody = "rbac-e2e-nobody"         // authenticated, no binding at all

	aggregateToView = "rbac.authorization.k8s.io/aggregate-to-view"
)

// rbacIdentity is one row of the matrix: who calls.
type rbacIdentity struct {
	name   string
	user   string // "" is anonymous
	groups []string
}

// rbacRequest is one column of the matrix: a GET through the aggregator, the
// kubectl auth can-i question that asks the same, and what a 200 must hold.
type rbacRequest struct {
	name  string
	path  string
	canI  []string
	check func(body []byte) error
}

// rbacRow is an identity and the status it must get for each request.
type rbacRow struct {
	who  rbacIdentity
	want [7]int
}

// TestRBACThroughAPIServer proves who may read metrics.k8s.io with requests
// through the real kube-apiserver and its aggregator: anonymous callers are
// refused authentication, an authenticated user without roles is forbidden,
// the view role reaches exactly the namespaces it is bound in, a cluster-wide
// view binding reads everything, and the HPA controller may list pod metrics
// in any namespace and nothing else. view reads metrics only through the
// aggregated ClusterRole of manifests/components.yaml (the chart's): the
// bed's stand-in copy of metrics-server's role is taken out meanwhile, and
// taking the project's role away takes the access away.
func TestRBACThroughAPIServer(t *testing.T) {
	use(t, env.ringmetrics)
	tailOnFailure(t, env.ringmetrics)
	cs := env.bed.Cluster.Client()

	node, podA, podB := servedObjects(t)
	projectRole := installProjectReaderRole(t, cs)
	bindView(t, cs)
	checkHPABootstrapBinding(t, cs)

	columns := []rbacRequest{
		{"nodes list", metricsAPI + "/nodes",
			[]string{"list", "nodes." + metricsGrp}, checkList("NodeMetricsList", "", node)},
		{"node get", metricsAPI + "/nodes/" + node,
			[]string{"get", "nodes." + metricsGrp + "/" + node}, checkGet("NodeMetrics", "", node)},
		{"pods list team-a", metricsAPI + "/namespaces/team-a/pods",
			[]string{"list", "pods." + metricsGrp, "-n", "team-a"}, checkList("PodMetricsList", "team-a", podA)},
		{"pod get team-a", metricsAPI + "/namespaces/team-a/pods/" + podA,
			[]string{"get", "pods." + metricsGrp + "/" + podA, "-n", "team-a"}, checkGet("PodMetrics", "team-a", podA)},
		{"pods list team-b", metricsAPI + "/namespaces/team-b/pods",
			[]string{"list", "pods." + metricsGrp, "-n", "team-b"}, checkList("PodMetricsList", "team-b", podB)},
		{"pod get team-b", metricsAPI + "/namespaces/team-b/pods/" + podB,
			[]string{"get", "pods." + metricsGrp + "/" + podB, "-n", "team-b"}, checkGet("PodMetrics", "team-b", podB)},
		{"pods list all", metricsAPI + "/pods",
			[]string{"list", "pods." + metricsGrp, "--all-namespaces"}, checkList("PodMetricsList", "", "team-a/"+podA, "team-b/"+podB)},
	}
	matrix := []rbacRow{
		// nodes list, node get, pods list team-a, pod get team-a, pods list team-b, pod get team-b, pods list all
		{rbacIdentity{name: "anonymous"}, [7]int{401, 401, 401, 401, 401, 401, 401}},
		{rbacIdentity{name: "authenticated, no roles", user: rbacNobody}, [7]int{403, 403, 403, 403, 403, 403, 403}},
		{rbacIdentity{name: "view in team-a", user: rbacViewer}, [7]int{403, 403, 200, 200, 403, 403, 403}},
		{rbacIdentity{name: "view cluster-wide", user: rbacReader}, [7]int{200, 200, 200, 200, 200, 200, 200}},
		// The bootstrap role grants list and watch on pods.metrics.k8s.io:
		// what the HPA controller does, and no more.
		{rbacIdentity{name: "HPA controller", user: hpaUser,
			groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}},
			[7]int{403, 403, 200, 403, 200, 403, 200}},
	}
	if len(columns) != len(matrix[0].want) {
		t.Fatalf("%d requests, %d statuses per identity", len(columns), len(matrix[0].want))
	}
	clients := make([]*http.Client, len(matrix))
	for i, row := range matrix {
		clients[i], _ = apiserverClient(t, row.who.user, "", row.who.groups...)
	}
	base := env.bed.Cluster.URL

	// Bindings reach the apiserver's authorizer through its informers: wait
	// until every cell that should be granted is, then check every cell once.
	// Nothing is retried after this, so a denial below is not an early one.
	t.Run("grants in effect", func(t *testing.T) {
		for i, row := range matrix {
			for j, col := range columns {
				if row.want[j] != http.StatusOK {
					continue
				}
				eventually(t, 30*time.Second, func() error {
					code, body, err := rbacGet(clients[i], base+col.path)
					if err != nil {
						return err
					}
					if code != http.StatusOK {
						return fmt.Errorf("%s: %s: %d %.300s", row.who.name, col.name, code, body)
					}
					return nil
				})
			}
		}
	})

	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "identity\t%s\n", strings.Join(names(columns), "\t"))
	for i, row := range matrix {
		t.Run(row.who.name, func(t *testing.T) {
			got := make([]string, len(columns))
			for j, col := range columns {
				code, body, err := rbacGet(clients[i], base+col.path)
				if err != nil {
					t.Fatal(err)
				}
				got[j] = fmt.Sprint(code)
				if code != row.want[j] {
					got[j] += fmt.Sprintf("≠%d", row.want[j])
					t.Errorf("%s: GET %s: %d, want %d\n%.400s", col.name, col.path, code, row.want[j], body)
					continue
				}
				if err := checkAnswer(row.who, col, code, body); err != nil {
					t.Errorf("%s: GET %s: %v", col.name, col.path, err)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\n", row.who.name, strings.Join(got, "\t"))
		})
	}
	tw.Flush()
	t.Logf("status codes through the aggregator:\n%s", table.String())

	// kubectl auth can-i asks the same questions of the apiserver's
	// authorizer (anonymous has no answer there: it is refused before).
	t.Run("kubectl auth can-i agrees", func(t *testing.T) {
		// The bed's admin asks, impersonating each user.
		k := bed.Kubectl{Binary: kubectlBinary(t, ""), Kubeconfig: adminKubeconfig(), CacheDir: t.TempDir()}
		for _, row := range matrix {
			if row.who.user == "" {
				continue
			}
			for j, col := range columns {
				args := append([]string{"--as=" + row.who.user}, col.canI...)
				for _, g := range row.who.groups {
					args = append(args, "--as-group="+g)
				}
				answer, err := k.CanI(args...)
				if err != nil {
					t.Fatal(err)
				}
				if want := row.want[j] == http.StatusOK; answer != want {
					t.Errorf("%s: kubectl auth can-i %s: %v, want %v", row.who.name, strings.Join(args, " "), answer, want)
				}
			}
		}
	})

	// Causation, the other way round: without the project's aggregated
	// role, view no longer reads metrics.
	t.Run("without the project's role view reads nothing", func(t *testing.T) {
		deleteClusterRole(t, cs, projectRole)
		waitViewMetricsRules(t, cs, false)
		for _, cell := range [][2]string{
			{rbacViewer, "pods list team-a"}, {rbacReader, "nodes list"}, {rbacReader, "pods list all"},
		} {
			i := slices.IndexFunc(matrix, func(r rbacRow) bool { return r.who.user == cell[0] })
			j := slices.IndexFunc(columns, func(c rbacRequest) bool { return c.name == cell[1] })
			row, col := matrix[i], columns[j]
			eventually(t, 30*time.Second, func() error {
				code, body, err := rbacGet(clients[i], base+col.path)
				if err != nil {
					return err
				}
				if code != http.StatusForbidden {
					return fmt.Errorf("%s: %s: %d, want 403 %.300s", row.who.name, col.name, code, body)
				}
				return nil
			})
		}
	})
}

func names(cols []rbacRequest) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// rbacGet fetches url and returns the status and body.
func rbacGet(c *http.Client, url string) (int, []byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return resp.StatusCode, body, nil
}

// checkAnswer checks the body behind an expected status: the object asked
// for on 200, and on 401 and 403 the apiserver's Status naming the reason
// (and, for 403, the caller: the denial was for this identity).
func checkAnswer(who rbacIdentity, col rbacRequest, code int, body []byte) error {
	if code == http.StatusOK {
		return col.check(body)
	}
	var st metav1.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("%d with a body that is not a Status: %w: %.300s", code, err, body)
	}
	want := metav1.StatusReasonUnauthorized
	if code == http.StatusForbidden {
		want = metav1.StatusReasonForbidden
	}
	if st.Kind != "Status" || int(st.Code) != code || st.Reason != want {
		return fmt.Errorf("Status kind %q code %d reason %q, want Status %d %q", st.Kind, st.Code, st.Reason, code, want)
	}
	if code == http.StatusForbidden && !strings.Contains(st.Message, fmt.Sprintf("User %q", who.user)) {
		return fmt.Errorf("403 message %q does not name user %q", st.Message, who.user)
	}
	return nil
}

type metricsObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// checkList wants a list of kind whose items are all in namespace (when
// set) and include each of want ("name" or "namespace/name").
func checkList(kind, namespace string, want ...string) func([]byte) error {
	return func(body []byte) error {
		var l struct {
			Kind  string          `json:"kind"`
			Items []metricsObject `json:"items"`
		}
		if err := json.Unmarshal(body, &l); err != nil {
			return fmt.Errorf("decoding %s: %w", kind, err)
		}
		if l.Kind != kind {
			return fmt.Errorf("kind %q, want %q", l.Kind, kind)
		}
		var seen []string
		for _, it := range l.Items {
			if namespace != "" && it.Metadata.Namespace != namespace {
				return fmt.Errorf("%s in namespace %s lists %s/%s", kind, namespace, it.Metadata.Namespace, it.Metadata.Name)
			}
			seen = append(seen, it.Metadata.Name)
			if it.Metadata.Namespace != "" {
				seen = append(seen, it.Metadata.Namespace+"/"+it.Metadata.Name)
			}
		}
		for _, w := range want {
			if !slices.Contains(seen, w) {
				return fmt.Errorf("%s of %d items lacks %s", kind, len(l.Items), w)
			}
		}
		return nil
	}
}

// checkGet wants the object of kind named name in namespace.
func checkGet(kind, namespace, name string) func([]byte) error {
	return func(body []byte) error {
		var o metricsObject
		if err := json.Unmarshal(body, &o); err != nil {
			return fmt.Errorf("decoding %s: %w", kind, err)
		}
		if o.Kind != kind || o.Metadata.Namespace != namespace || o.Metadata.Name != name {
			return fmt.Errorf("got %s %s/%s, want %s %s/%s", o.Kind, o.Metadata.Namespace, o.Metadata.Name, kind, namespace, name)
		}
		return nil
	}
}

// servedObjects waits until ringmetrics serves metrics in both namespaces
// and returns a node and one pod of each namespace it serves.
func servedObjects(t *testing.T) (node, podA, podB string) {
	t.Helper()
	c, base := apiserverClient(t, "e2e-admin", "", "system:masters")
	first := func(path string) (string, error) {
		var l struct {
			Items []metricsObject `json:"items"`
		}
		code, err := bed.GetJSON(c, base+metricsAPI+path, &l)
		if err != nil {
			return "", err
		}
		if code != http.StatusOK || len(l.Items) == 0 {
			return "", fmt.Errorf("GET %s as admin: %d, %d items", path, code, len(l.Items))
		}
		return l.Items[0].Metadata.Name, nil
	}
	eventually(t, 60*time.Second, func() (err error) {
		if node, err = first("/nodes"); err != nil {
			return err
		}
		if podA, err = first("/namespaces/team-a/pods"); err != nil {
			return err
		}
		podB, err = first("/namespaces/team-b/pods")
		return err
	})
	return node, podA, podB
}

// installProjectReaderRole creates the aggregate-to-view ClusterRole of
// manifests/components.yaml (generated from the chart; test/install keeps
// the two in step) and takes every other role that aggregates metrics.k8s.io
// into view out until the test ends. It returns the project role's name.
func installProjectReaderRole(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	role := projectReaderRole(t)

	others, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: aggregateToView + "=true"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range others.Items {
		if o.Name == role.Name || !grantsMetrics(o.Rules) {
			continue
		}
		saved := &rbacv1.ClusterRole{
			ObjectMeta:      metav1.ObjectMeta{Name: o.Name, Labels: o.Labels, Annotations: o.Annotations},
			Rules:           o.Rules,
			AggregationRule: o.AggregationRule,
		}
		deleteClusterRole(t, cs, o.Name)
		t.Logf("took ClusterRole %s out of view for this test", o.Name)
		t.Cleanup(func() {
			if _, err := cs.RbacV1().ClusterRoles().Create(context.Background(), saved, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Errorf("restoring ClusterRole %s: %v", saved.Name, err)
			}
		})
	}
	// Nothing else grants view the metrics now.
	waitViewMetricsRules(t, cs, false)

	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the project's ClusterRole %s: %v", role.Name, err)
	}
	t.Cleanup(func() { deleteClusterRole(t, cs, role.Name) })
	waitViewMetricsRules(t, cs, true)
	return role.Name
}

// projectReaderRole is the one ClusterRole in manifests/components.yaml that
// aggregates to view.
func projectReaderRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	path := filepath.Join("..", "..", "manifests", "components.yaml")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found []*rbacv1.ClusterRole
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		role := new(rbacv1.ClusterRole)
		err := dec.Decode(role)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if role.Kind == "ClusterRole" && role.Labels[aggregateToView] == "true" {
			found = append(found, role)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d ClusterRoles aggregate to view, want 1", path, len(found))
	}
	if !grantsMetrics(found[0].Rules) {
		t.Fatalf("%s: ClusterRole %s does not grant get and list on %s nodes and pods", path, found[0].Name, metricsGrp)
	}
	return found[0]
}

// grantsMetrics reports whether rules allow get and list of NodeMetrics and
// PodMetrics.
func grantsMetrics(rules []rbacv1.PolicyRule) bool {
	for _, res := range []string{"nodes", "pods"} {
		for _, verb := range []string{"get", "list"} {
			if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
				return matches(r.APIGroups, metricsGrp) && matches(r.Resources, res) && matches(r.Verbs, verb)
			}) {
				return false
			}
		}
	}
	return true
}

func matches(list []string, v string) bool {
	return slices.Contains(list, v) || slices.Contains(list, "*")
}

// mentionsMetrics reports whether any rule names the metrics.k8s.io group.
func mentionsMetrics(rules []rbacv1.PolicyRule) bool {
	return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool { return matches(r.APIGroups, metricsGrp) })
}

// waitViewMetricsRules waits until the clusterrole-aggregation controller
// has (or has not) put metrics.k8s.io into the view ClusterRole.
func waitViewMetricsRules(t *testing.T, cs kubernetes.Interface, want bool) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		view, err := cs.RbacV1().ClusterRoles().Get(context.Background(), "view", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if want && !grantsMetrics(view.Rules) {
			return fmt.Errorf("view (%d rules) does not grant %s: is kube-controller-manager's clusterrole-aggregation-controller running?", len(view.Rules), metricsGrp)
		}
		if !want && mentionsMetrics(view.Rules) {
			return fmt.Errorf("view still has %s rules", metricsGrp)
		}
		return nil
	})
}

func deleteClusterRole(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	err := cs.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting ClusterRole %s: %v", name, err)
	}
}

// bindView binds the view ClusterRole to rbacViewer in team-a and to
// rbacReader cluster-wide, until the test ends.
func bindView(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	view := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}
	user := func(name string) []rbacv1.Subject {
		return []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: rbacViewer, Namespace: "team-a"}, Subjects: user(rbacViewer), RoleRef: view}
	if _, err := cs.RbacV1().RoleBindings("team-a").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cs.RbacV1().RoleBindings("team-a").Delete(context.Background(), rb.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting RoleBinding team-a/%s: %v", rb.Name, err)
		}
	})
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: rbacReader}, Subjects: user(rbacReader), RoleRef: view}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting ClusterRoleBinding %s: %v", crb.Name, err)
		}
	})
}

// checkHPABootstrapBinding checks that the HPA controller's identity holds
// its bootstrap role: the row tests the cluster's policy, not one made here.
func checkHPABootstrapBinding(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	b, err := cs.RbacV1().ClusterRoleBindings().Get(context.Background(), hpaBinding, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("bootstrap ClusterRoleBinding %s: %v", hpaBinding, err)
	}
	bound := slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
		return s.Kind == rbacv1.ServiceAccountKind && "system:serviceaccount:"+s.Namespace+":"+s.Name == hpaUser
	})
	if b.RoleRef.Name != hpaBinding || !bound {
		t.Fatalf("ClusterRoleBinding %s binds %s to %v, want %s to %s", hpaBinding, b.RoleRef.Name, b.Subjects, hpaBinding, hpaUser)
	}
}
