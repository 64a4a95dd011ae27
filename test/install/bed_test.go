package install

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

const (
	bedNodes       = 3
	bedPodsPerNode = 5
	bedNamespace   = "team-a"
)

// TestOnBed proves the install against a real control plane: every rendered
// object passes a server-side dry run, the manifests apply, the
// ServiceAccount can read what the server needs and nothing else, and
// ringmetrics, started with the rendered Deployment's own arguments under
// that ServiceAccount's identity, becomes Ready, serves metrics.k8s.io
// through the aggregator to a user who only has `view`, and exposes a
// /metrics that passes the Prometheus lint and answers every dashboard query.
func TestOnBed(t *testing.T) {
	kubectlPath, err := bed.KubectlBinary("")
	if err != nil {
		t.Fatal(err)
	}
	helmBinary(t)
	binary := ringmetricsBinary(t)
	root := repoRoot(t)
	b := startBed(t)
	k := &kubectlRunner{t: t, Kubectl: bed.Kubectl{Binary: kubectlPath, Kubeconfig: b.Cluster.AdminKubeconfig}}

	if !t.Run("server-side dry run", func(t *testing.T) { testDryRun(t, k.with(t)) }) {
		t.FailNow()
	}
	if !t.Run("apply", func(t *testing.T) { testApply(t, k.with(t), root) }) {
		t.FailNow()
	}
	t.Run("rbac", func(t *testing.T) { testRBAC(t, k.with(t)) })
	t.Run("helm install", func(t *testing.T) { testHelmInstall(t, b, k.with(t)) })

	var server *bed.Server
	var dep *appsv1.Deployment
	if !t.Run("rendered deployment runs", func(t *testing.T) {
		server, dep = testRenderedDeploymentRuns(t, b, binary, defaultVariant, "ringmetrics-install")
	}) {
		t.FailNow()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of %s ---\n%s", server.LogPath, bed.Tail(server.LogPath, 30))
		}
		_ = server.Stop()
	})
	t.Run("probes", func(t *testing.T) { testProbes(t, server, dep) })
	if !t.Run("aggregated", func(t *testing.T) { testAggregated(t, b, k.with(t), server) }) {
		t.FailNow()
	}
	t.Run("metrics", func(t *testing.T) { testMetrics(t, b, server) })
	t.Run("summary endpoint", func(t *testing.T) { testSummaryEndpoint(t, b, k.with(t), binary) })
	// The DaemonSet's replicas replace the Deployment's, so the kubelets
	// count theirs alone.
	_ = server.Stop()
	t.Run("daemonset", func(t *testing.T) { testDaemonSetOnBed(t, b, k.with(t), binary) })
}

// startBed starts a control plane (with the controller manager's
// clusterrole-aggregation controller, which builds view/edit/admin) and a
// small simulated fleet. Its files are kept when the test fails.
func startBed(t *testing.T) *bed.Bed {
	t.Helper()
	dir, err := os.MkdirTemp("", "ringmetrics-install-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	b, err := bed.Start(ctx, bed.Options{
		Cluster: cluster.Options{
			Dir:               filepath.Join(dir, "cluster"),
			ControllerManager: true,
			ExtraControllerManagerArgs: []string{
				"--controllers=horizontal-pod-autoscaler-controller,clusterrole-aggregation-controller",
			},
		},
		Fleet: kubeletsim.Config{
			Nodes: bedNodes, PodsPerNode: bedPodsPerNode, Seed: 7, Namespaces: []string{bedNamespace},
			// Apart from test/e2e's fleet (127.1.x.y), should both run at once.
			FirstIP: netip.MustParseAddr("127.3.0.1"),
		},
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("starting the test bed: %v (files in %s)", err, dir)
	}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("test bed files kept in %s (logs in %s)", dir, b.LogDir)
			return
		}
		os.RemoveAll(dir)
	})
	return b
}

// ringmetricsBinary is bed.RingmetricsBinary, built into the test's
// temporary directory when the package runs on its own.
func ringmetricsBinary(t *testing.T) string {
	t.Helper()
	path, err := bed.RingmetricsBinary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectlRunner is a bed.Kubectl for one test, with a fresh discovery cache
// per test so a moved APIService is never served stale.
type kubectlRunner struct {
	t *testing.T
	bed.Kubectl
}

func (k *kubectlRunner) with(t *testing.T) *kubectlRunner {
	kc := k.Kubectl
	kc.CacheDir = t.TempDir()
	return &kubectlRunner{t: t, Kubectl: kc}
}

// must runs kubectl and fails the test on error.
func (k *kubectlRunner) must(args ...string) string {
	k.t.Helper()
	out, _, err := k.Run(args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return out
}

// testDryRun submits the default, HA, DaemonSet and everything-on renderings
// to the kube-apiserver with a server-side dry run and strict field
// validation: each object must be accepted, without a warning.
func testDryRun(t *testing.T, k *kubectlRunner) {
	// The ServiceMonitor needs its CRD (a stand-in: see the file).
	k.must("apply", "--validate=strict", "-f", filepath.Join("testdata", "servicemonitor-crd.yaml"))
	k.must("wait", "--for=condition=Established", "--timeout=60s", "crd/servicemonitors.monitoring.coreos.com")

	ca := writeTestCA(t)
	for _, v := range []variant{defaultVariant, haVariant, daemonSetVariant, allVariant(ca)} {
		t.Run(v.name, func(t *testing.T) {
			manifest := render(t, v)
			objs := decodeObjects(t, manifest)
			file := filepath.Join(t.TempDir(), v.name+".yaml")
			if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := k.with(t).Run("apply", "--dry-run=server", "--validate=strict", "-f", file, "-o", "name")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stderr, "Warning") {
				t.Errorf("the API server warned:\n%s", stderr)
			}
			accepted := strings.Fields(out)
			if len(accepted) != len(objs) {
				t.Errorf("dry run accepted %d objects, rendered %d:\n%s", len(accepted), len(objs), out)
			}
			t.Logf("%s: %d objects accepted (%v)", v.name, len(accepted), kinds(objs))
		})
	}
}

// testApply applies manifests/components.yaml as a user would, upgrades it
// in place to manifests/high-availability.yaml, then applies
// manifests/daemonset.yaml over it: the same ServiceAccount, RBAC, Service
// and APIServices, and a DaemonSet, so the RBAC checks that follow hold for
// the DaemonSet install too.
func testApply(t *testing.T, k *kubectlRunner, root string) {
	for _, g := range generated {
		file := filepath.Join(root, g.file)
		k.must("apply", "--validate=strict", "-f", file)
		got := strings.Fields(k.must("get", "-f", file, "-o", "name"))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(decodeObjects(t, string(data))); len(got) != want {
			t.Errorf("%s: %d objects in the cluster, %d in the file: %v", g.file, len(got), want, got)
		}
		t.Logf("applied %s: %d objects", g.file, len(got))
	}
	replicas := k.must("get", "deployment", releaseName, "-n", releaseNamespace, "-o", "jsonpath={.spec.replicas}")
	if replicas != "2" {
		t.Errorf("after applying high-availability.yaml, replicas = %q, want 2", replicas)
	}
	shape := k.must("get", "daemonset", releaseName, "-n", releaseNamespace, "-o",
		"jsonpath={.spec.template.spec.hostNetwork} {.spec.template.spec.containers[0].ports[0].hostPort} {.spec.updateStrategy.rollingUpdate.maxUnavailable}")
	if shape != "true 4443 1" {
		t.Errorf("applied DaemonSet: hostNetwork, hostPort, maxUnavailable = %q, want \"true 4443 1\"", shape)
	}
}

// testRBAC asks the API server what the installed ServiceAccount may do.
func testRBAC(t *testing.T, k *kubectlRunner) {
	as := "--as=" + serviceAccountUser
	canI := func(args ...string) bool {
		t.Helper()
		yes, err := k.CanI(append([]string{as}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return yes
	}
	for _, need := range [][]string{
		{"list", "nodes"}, {"watch", "nodes"},
		{"list", "pods", "--all-namespaces"}, {"watch", "pods", "--all-namespaces"},
		{"get", "nodes", "--subresource=metrics"}, {"get", "nodes", "--subresource=stats"},
		// Delegated authentication and authorization.
		{"create", "tokenreviews.authentication.k8s.io"},
		{"create", "subjectaccessreviews.authorization.k8s.io"},
		{"get", "configmap/extension-apiserver-authentication", "-n", "kube-system"},
	} {
		if !canI(need...) {
			t.Errorf("the ServiceAccount cannot %v, which the server needs", need)
		}
	}
	for _, deny := range [][]string{
		{"get", "secrets", "--all-namespaces"}, {"list", "secrets", "-n", "kube-system"}, {"watch", "secrets", "-n", releaseNamespace},
		{"get", "secret/anything", "-n", releaseNamespace},
		{"get", "nodes", "--subresource=proxy"}, {"get", "nodes", "--subresource=log"},
		{"get", "configmaps", "-n", "kube-system"},
		{"create", "pods", "-n", bedNamespace}, {"delete", "pods", "--all-namespaces"},
		{"create", "pods", "--subresource=eviction", "-n", bedNamespace},
		{"update", "nodes"}, {"patch", "nodes", "--subresource=status"}, {"delete", "nodes"},
		{"create", "configmaps", "-n", "kube-system"}, {"update", "configmap/extension-apiserver-authentication", "-n", "kube-system"},
		{"create", "serviceaccounts", "--subresource=token", "-n", releaseNamespace},
		{"update", "deployments.apps", "-n", releaseNamespace}, {"delete", "services", "-n", releaseNamespace},
		{"create", "clusterrolebindings.rbac.authorization.k8s.io"}, {"escalate", "clusterroles.rbac.authorization.k8s.io"},
		{"update", "apiservices.apiregistration.k8s.io"},
		{"impersonate", "users"},
		{"*", "*"},
	} {
		if canI(deny...) {
			t.Errorf("the ServiceAccount can %v; it must not", deny)
		}
	}

	// Everything it may do, in the two namespaces that matter: reads only,
	// except creating the review objects that delegation and self-inspection
	// need.
	reviews := []string{
		"tokenreviews.authentication.k8s.io", "subjectaccessreviews.authorization.k8s.io",
		"selfsubjectreviews.authentication.k8s.io", "selfsubjectaccessreviews.authorization.k8s.io",
		"selfsubjectrulesreviews.authorization.k8s.io",
	}
	bracket := regexp.MustCompile(`\[([^\]]*)\]`)
	for _, ns := range []string{"kube-system", bedNamespace} {
		out := k.must("auth", "can-i", as, "--list", "-n", ns)
		for _, line := range strings.Split(out, "\n")[1:] {
			if strings.TrimSpace(line) == "" {
				continue
			}
			groups := bracket.FindAllStringSubmatch(line, -1)
			if len(groups) == 0 {
				t.Errorf("unparsed line of kubectl auth can-i --list: %q", line)
				continue
			}
			verbs := strings.Fields(groups[len(groups)-1][1])
			resource := ""
			if !strings.HasPrefix(line, " ") {
				resource = strings.Fields(line)[0]
			}
			if strings.Contains(resource, "secrets") || resource == "*" || resource == "*.*" {
				t.Errorf("-n %s: may %v %s", ns, verbs, resource)
			}
			for _, v := range verbs {
				readOnly := v == "get" || v == "list" || v == "watch"
				if !readOnly && !(v == "create" && slices.Contains(reviews, resource)) {
					t.Errorf("-n %s: may %s %s (line %q)", ns, v, resource, strings.TrimSpace(line))
				}
			}
		}
	}
}

// bedArgs turns the rendered Deployment's container args into the ones the
// bed runs: only what a loopback bed must change is changed.
//   - --cert-dir=/tmp (the pod's emptyDir) becomes a temporary directory;
//   - --secure-port is dropped: bed.StartServer sets it (and
//     --bind-address=127.0.0.1) to a free loopback port;
//   - --kubeconfig is added: in a pod the server uses its ServiceAccount's
//     in-cluster config; here a client certificate for the same user and
//     groups stands in.
//
// Every other argument is passed as rendered.
func bedArgs(t *testing.T, rendered []string, certDir, kubeconfig string) []string {
	t.Helper()
	var args []string
	replaced := map[string]bool{}
	for _, a := range rendered {
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--cert-dir":
			args = append(args, "--cert-dir="+certDir)
			replaced[name] = true
		case "--secure-port":
			replaced[name] = true
		case "--bind-address", "--kubeconfig", "--authentication-kubeconfig", "--authorization-kubeconfig":
			t.Fatalf("the rendered Deployment sets %s, which the bed would have to override", a)
		default:
			args = append(args, a)
		}
	}
	if !replaced["--cert-dir"] || !replaced["--secure-port"] {
		t.Fatalf("rendered args %q lack --cert-dir or --secure-port", rendered)
	}
	return append(args, "--kubeconfig="+kubeconfig)
}

// testRenderedDeploymentRuns starts ringmetrics with the arguments of the
// rendered default Deployment, as the installed ServiceAccount, and waits
// for /readyz (a full round of scrapes of every node).
func testRenderedDeploymentRuns(t *testing.T, b *bed.Bed, binary string, v variant, name string) (*bed.Server, *appsv1.Deployment) {
	objs := decodeObjects(t, render(t, v))
	dep := typed[appsv1.Deployment](t, find(t, objs, "Deployment", releaseName))
	c := dep.Spec.Template.Spec.Containers[0]
	kubeconfig, err := b.Cluster.WriteKubeconfig("ringmetrics-serviceaccount", serviceAccountUser,
		"system:serviceaccounts", "system:serviceaccounts:"+releaseNamespace)
	if err != nil {
		t.Fatal(err)
	}
	args := bedArgs(t, c.Args, filepath.Join(b.Cluster.Dir, name+"-certs"), kubeconfig)
	t.Logf("rendered args: %q", c.Args)
	t.Logf("bed args:      %q (plus --bind-address and --secure-port)", args)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	s, err := bed.StartServer(ctx, bed.ServerSpec{Name: name, Binary: binary, Args: args, LogDir: b.LogDir}, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ringmetrics Ready in %v", time.Since(start).Round(time.Millisecond))
	if rss, err := cluster.RSS(s.PID()); err == nil {
		request := c.Resources.Requests.Memory().Value()
		t.Logf("RSS %.1f MiB, memory request %.0f MiB", float64(rss)/(1<<20), float64(request)/(1<<20))
		if rss > request {
			t.Errorf("RSS %d bytes with %d nodes exceeds the chart's memory request %d", rss, bedNodes, request)
		}
	}
	return s, dep
}

// testProbes calls the rendered probes as a kubelet does: no credentials.
func testProbes(t *testing.T, s *bed.Server, dep *appsv1.Deployment) {
	c := dep.Spec.Template.Spec.Containers[0]
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for name, p := range map[string]string{"liveness": c.LivenessProbe.HTTPGet.Path, "readiness": c.ReadinessProbe.HTTPGet.Path} {
		resp, err := client.Get(s.URL() + p)
		if err != nil {
			t.Errorf("%s probe %s: %v", name, p, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s probe %s without credentials: %s %s", name, p, resp.Status, body)
		}
	}
}

// testAggregated registers the server behind the APIService, then reads
// metrics.k8s.io through the aggregator as admin and as a user who only
// has the view role.
func testAggregated(t *testing.T, b *bed.Bed, k *kubectlRunner, s *bed.Server) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	client := b.Cluster.Client()
	// The installed Service selects pods the bed does not run; a loopback
	// ExternalName Service stands in (see TESTBED-NOTES.md).
	if err := bed.Register(ctx, client, b.Dynamic, bed.Registration{Port: s.Port, ServiceName: releaseName + "-loopback"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := bed.WaitAvailable(ctx, client, b.Dynamic, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("APIService Available in %v", time.Since(start).Round(time.Millisecond))

	var nodes struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(k.must("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes")), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != bedNodes {
		t.Errorf("metrics.k8s.io lists %d nodes, want %d", len(nodes.Items), bedNodes)
	}

	// The aggregated ClusterRole reaches view through the controller
	// manager's clusterrole-aggregation controller.
	const viewer, stranger = "viewer@example.com", "stranger@example.com"
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "install-test-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: viewer}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	path := "/apis/metrics.k8s.io/v1beta1/namespaces/" + bedNamespace + "/pods"
	var out string
	bed.Eventually(t, 60*time.Second, 500*time.Millisecond, func() (err error) {
		if out, _, err = k.Run("get", "--raw", path, "--as="+viewer); err != nil {
			return fmt.Errorf("a user with the view role cannot read pod metrics (is the aggregated ClusterRole aggregated?): %w", err)
		}
		return nil
	})
	var pods struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &pods); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != bedNodes*bedPodsPerNode {
		t.Errorf("%s as a view user: %d pods, want %d", path, len(pods.Items), bedNodes*bedPodsPerNode)
	}
	if _, _, err := k.Run("get", "--raw", path, "--as="+stranger); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("a user with no role read pod metrics (err %v), want Forbidden", err)
	}
}

// testSummaryEndpoint installs the chart with kubeletEndpoint=summary, whose
// ClusterRole grants nodes/stats and not nodes/metrics, and runs that
// rendering's arguments: every node must be served from /stats/summary.
func testSummaryEndpoint(t *testing.T, b *bed.Bed, k *kubectlRunner, binary string) {
	v := variant{name: "summary", args: []string{"--set", "kubeletEndpoint=summary"}}
	file := filepath.Join(t.TempDir(), "summary.yaml")
	if err := os.WriteFile(file, []byte(render(t, v)), 0o644); err != nil {
		t.Fatal(err)
	}
	k.must("apply", "--validate=strict", "-f", file)
	s, _ := testRenderedDeploymentRuns(t, b, binary, v, "ringmetrics-summary")
	defer s.Stop()
	bed.Eventually(t, 45*time.Second, time.Second, func() error {
		parser := expfmt.NewTextParser(model.LegacyValidation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(scrapeMetrics(t, b, s)))
		if err != nil {
			t.Fatal(err)
		}
		nodes := gaugeValue(families["ringmetrics_store_nodes"], nil)
		forbidden := counterValue(families["ringmetrics_scraper_errors_total"], map[string]string{"reason": "forbidden"})
		if nodes != bedNodes || forbidden != 0 {
			return fmt.Errorf("with kubeletEndpoint=summary and its ClusterRole: %v nodes stored, %v forbidden scrapes; want %d and 0\n%s",
				nodes, forbidden, bedNodes, bed.Tail(s.LogPath, 20))
		}
		return nil
	})
}

// testHelmInstall installs and uninstalls the chart with helm itself, as a
// second release beside the applied manifests (so without the APIService,
// which only one install can own), and checks the NOTES it prints, then
// those of a DaemonSet install (a server-side dry run).
func testHelmInstall(t *testing.T, b *bed.Bed, k *kubectlRunner) {
	const release, ns = "second", "ringmetrics-helm"
	env := []string{"KUBECONFIG=" + b.Cluster.AdminKubeconfig}
	out, err := helmEnv(t, env, "install", release, chartPath, "--namespace", ns, "--create-namespace",
		"-f", haValuesPath, "--set", "apiService.create=false", "--wait=false")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STATUS: deployed", "NOTES:", "register v1beta1.metrics.k8s.io and v1.metrics.k8s.io yourself"} {
		if !strings.Contains(out, want) {
			t.Errorf("helm install output lacks %q:\n%s", want, out)
		}
	}
	role := "clusterrole/system:" + release + "-ringmetrics"
	k.must("get", role, "deployment/"+release+"-ringmetrics", "-n", ns)
	if _, err := helmEnv(t, env, "uninstall", release, "--namespace", ns, "--wait"); err != nil {
		t.Fatal(err)
	}
	if out, _, err := k.Run("get", role); err == nil {
		t.Errorf("%s still exists after helm uninstall: %s", role, out)
	}

	// A DaemonSet install's NOTES say where its pods go and how to check.
	out, err = helmEnv(t, env, "install", release, chartPath, "--namespace", ns, "--set", "kind=DaemonSet",
		"--set", "apiService.create=false", "--dry-run=server")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"It runs as a DaemonSet", "matching kubernetes.io/os=linux,node-role.kubernetes.io/control-plane=",
		"kubectl get pods -n " + ns + " -l app.kubernetes.io/instance=" + release, "daemonSet.nodeSelector=null"} {
		if !strings.Contains(out, want) {
			t.Errorf("helm install --set kind=DaemonSet output lacks %q:\n%s", want, out)
		}
	}
}
