package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// startExtraRingmetrics runs one more ringmetrics on the shared bed with
// extra flags, for the duration of the test.
func startExtraRingmetrics(t *testing.T, name string, extra ...string) *bed.Server {
	t.Helper()
	return startExtra(t, bed.ServerSpec{Name: name}, extra...)
}

// startExtra is startExtraRingmetrics with the rest of the spec given.
func startExtra(t *testing.T, spec bed.ServerSpec, extra ...string) *bed.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(env.bed.RingmetricsArgs(ringmetricsResolution), "--cert-dir="+t.TempDir())
	spec.Binary, spec.Args, spec.LogDir = env.binary, append(args, extra...), env.bed.LogDir
	s, err := bed.StartServer(ctx, spec, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	tailOnFailure(t, s)
	return s
}

// checkServesFleet requires every simulated node and pod to be served by s
// with the simulated usage.
func checkServesFleet(t *testing.T, s *bed.Server) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		var nl metricsv1beta1.NodeMetricsList
		if err := adminDirect(t, s, "/apis/metrics.k8s.io/v1beta1/nodes", &nl); err != nil {
			return err
		}
		if len(nl.Items) != nodes {
			return fmt.Errorf("%d nodes served, want %d", len(nl.Items), nodes)
		}
		for _, n := range nl.Items {
			cpu, mem := env.bed.Fleet.ExpectedNode(n.Name)
			if got := n.Usage.Cpu().MilliValue(); got < cpu-1 || got > cpu+1 {
				return fmt.Errorf("node %s: cpu %dm, simulated %dm", n.Name, got, cpu)
			}
			if got := n.Usage.Memory().Value(); got != mem {
				return fmt.Errorf("node %s: memory %d, simulated %d", n.Name, got, mem)
			}
		}
		var pl metricsv1beta1.PodMetricsList
		if err := adminDirect(t, s, "/apis/metrics.k8s.io/v1beta1/pods", &pl); err != nil {
			return err
		}
		if want := simulatedPods(nil); len(pl.Items) != want {
			return fmt.Errorf("%d pods served, want %d", len(pl.Items), want)
		}
		for _, p := range pl.Items {
			for _, c := range p.Containers {
				cpu, mem := env.bed.Fleet.ExpectedContainer(p.Namespace, p.Name, c.Name)
				if got := c.Usage.Cpu().MilliValue(); got < cpu-1 || got > cpu+1 {
					return fmt.Errorf("container %s/%s/%s: cpu %dm, simulated %dm", p.Namespace, p.Name, c.Name, got, cpu)
				}
				if got := c.Usage.Memory().Value(); got != mem {
					return fmt.Errorf("container %s/%s/%s: memory %d, simulated %d", p.Namespace, p.Name, c.Name, got, mem)
				}
			}
		}
		return nil
	})
}

// TestProxyMode scrapes every kubelet through the node proxy, with only the
// RBAC that mode documents: get nodes/proxy. Against the real kube-apiserver
// it shows the request path, credentials and RBAC: forbidden without the
// role; with it the apiserver accepts the request and stops only at its own
// refusal to proxy to loopback. The data path is then checked end to end
// through startNodeProxy, which serves the proxy subresource as the
// apiserver does, for loopback kubelets.
func TestProxyMode(t *testing.T) {
	ctx := context.Background()
	client := env.bed.Cluster.Client()
	// Every scrape of this one fails, so it never becomes ready: it is
	// watched through its log, started once it is live.
	real := startExtra(t, bed.ServerSpec{Name: "ringmetrics-proxy-real", WaitPath: "/livez"}, "--kubelet-via-apiserver")
	waitLog := func(s *bed.Server, want string) {
		t.Helper()
		eventually(t, 20*time.Second, func() error {
			log, err := os.ReadFile(s.LogPath)
			if err != nil {
				return err
			}
			if !strings.Contains(string(log), want) {
				return fmt.Errorf("%s not logged yet", want)
			}
			return nil
		})
	}
	waitLog(real, `reason="forbidden"`)

	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "ringmetrics-kubelet-via-apiserver"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes/proxy"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ringmetrics-kubelet-via-apiserver"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: bed.ServiceAccountName, Namespace: bed.Namespace}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// With the role, the apiserver authorizes the request and answers its
	// loopback refusal, 400 "address not allowed".
	waitLog(real, `kubelet answered HTTP 400`)

	s := startExtraRingmetrics(t, "ringmetrics-proxy", "--kubelet-via-apiserver", "--kubeconfig="+startNodeProxy(t))
	checkServesFleet(t, s)
	if log, err := os.ReadFile(s.LogPath); err != nil {
		t.Fatal(err)
	} else if strings.Contains(string(log), "Failed to scrape kubelet") {
		t.Errorf("proxy-mode scrapes failed:\n%s", bed.Tail(s.LogPath, 20))
	}
}

// TestSummaryEndpoint serves the same numbers from /stats/summary alone.
func TestSummaryEndpoint(t *testing.T) {
	s := startExtraRingmetrics(t, "ringmetrics-summary", "--kubelet-endpoint=summary")
	checkServesFleet(t, s)
}

// TestAutoFallsBackToSummary points one node's resource metrics path at
// nothing (as on a kubelet without /metrics/resource): in auto mode that
// node is scraped through its summary API, the others stay on resource.
func TestAutoFallsBackToSummary(t *testing.T) {
	ctx := context.Background()
	const node = "sim-node-1"
	nodes := env.bed.Cluster.Client().CoreV1().Nodes()
	patch := func(path *string) {
		t.Helper()
		value := "null"
		if path != nil {
			value = fmt.Sprintf("%q", *path)
		}
		body := fmt.Sprintf(`{"metadata":{"annotations":{"metrics.k8s.io/resource-metrics-path":%s}}}`, value)
		if _, err := nodes.Patch(ctx, node, types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	missing := "/metrics/absent"
	patch(&missing)
	t.Cleanup(func() { patch(nil) })

	s := startExtraRingmetrics(t, "ringmetrics-auto", "--kubelet-endpoint=auto")
	checkServesFleet(t, s)
	log, err := os.ReadFile(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "scraping its summary API instead"); n != 1 {
		t.Errorf("%d fallback log lines, want exactly 1 (for %s):\n%s", n, node, bed.Tail(s.LogPath, 20))
	}
	if !strings.Contains(string(log), `node="`+node+`"`) {
		t.Errorf("the fallback log does not name %s", node)
	}
}
