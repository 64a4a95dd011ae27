package cluster

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestCluster runs the control plane with the controller manager and checks
// it through the real kubectl.
func TestCluster(t *testing.T) {
	c := StartT(t, Options{ControllerManager: true})
	t.Logf("control plane start time: %v", c.StartTimes)
	logRSS(t, c)
	ctx := t.Context()

	t.Run("kubectl version", func(t *testing.T) {
		out, _ := kubectl(t, c.AdminKubeconfig, "version", "-o", "json")
		var v struct {
			ServerVersion struct{ GitVersion string } `json:"serverVersion"`
		}
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("decoding kubectl version: %v\n%s", err, out)
		}
		if v.ServerVersion.GitVersion != KubernetesVersion {
			t.Errorf("server version = %q, want %q", v.ServerVersion.GitVersion, KubernetesVersion)
		}
	})

	t.Run("node status through the status subresource", func(t *testing.T) {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"ringmetrics.dev/sim": "true"}}}
		if _, err := c.Client().CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating node: %v", err)
		}
		now := time.Now().UTC().Format(time.RFC3339)
		patch := `{"status":{
			"addresses":[{"type":"InternalIP","address":"127.0.0.2"},{"type":"Hostname","address":"node-1"}],
			"daemonEndpoints":{"kubeletEndpoint":{"Port":10250}},
			"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},
			"allocatable":{"cpu":"3800m","memory":"7Gi","pods":"110"},
			"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"simulated",
				"lastHeartbeatTime":"` + now + `","lastTransitionTime":"` + now + `"}]}}`
		kubectl(t, c.AdminKubeconfig, "patch", "node", "node-1", "--subresource=status", "--type=merge", "-p", patch)

		out, _ := kubectl(t, c.AdminKubeconfig, "get", "nodes", "-o", "json")
		var list corev1.NodeList
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatalf("decoding nodes: %v", err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("got %d nodes, want 1", len(list.Items))
		}
		got := list.Items[0].Status
		if len(got.Addresses) == 0 || got.Addresses[0].Type != corev1.NodeInternalIP || got.Addresses[0].Address != "127.0.0.2" {
			t.Errorf("addresses = %v, want InternalIP 127.0.0.2 first", got.Addresses)
		}
		if got.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
			t.Errorf("kubelet port = %d, want 10250", got.DaemonEndpoints.KubeletEndpoint.Port)
		}
		if q := got.Capacity[corev1.ResourceCPU]; q.Cmp(resource.MustParse("4")) != 0 {
			t.Errorf("cpu capacity = %v, want 4", q.String())
		}
		if q := got.Allocatable[corev1.ResourceMemory]; q.Cmp(resource.MustParse("7Gi")) != 0 {
			t.Errorf("memory allocatable = %v, want 7Gi", q.String())
		}
		if len(got.Conditions) != 1 || got.Conditions[0].Type != corev1.NodeReady || got.Conditions[0].Status != corev1.ConditionTrue {
			t.Errorf("conditions = %v, want Ready=True", got.Conditions)
		}
	})

	t.Run("pod in default namespace", func(t *testing.T) {
		// Fails with `serviceaccount "default" not found` unless Start
		// created it.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-1", Namespace: "default"},
			Spec: corev1.PodSpec{
				NodeName:   "node-1",
				Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}},
			},
		}
		if _, err := c.Client().CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod: %v", err)
		}
	})

	t.Run("user without RBAC is forbidden", func(t *testing.T) {
		path, err := c.WriteKubeconfig("nobody", "nobody", "ringmetrics:testers")
		if err != nil {
			t.Fatal(err)
		}
		out, err := kubectlErr(path, "auth", "can-i", "list", "pods")
		if err == nil || strings.TrimSpace(string(out)) != "no" {
			t.Errorf("kubectl auth can-i list pods = %q, %v; want \"no\" and a non-zero exit", out, err)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("listing pods as nobody: err = %v, want 403 Forbidden", err)
		}
		if !strings.Contains(err.Error(), `User "nobody"`) {
			t.Errorf("error %q does not name the user: was the certificate's CN taken as the user?", err)
		}
	})

	t.Run("service account token signed with the ECDSA key", func(t *testing.T) {
		tr, err := c.Client().CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("requesting a token: %v", err)
		}
		cfg := &rest.Config{Host: c.URL, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile()}}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("authenticating with the token: %v", err)
		}
		if got, want := review.Status.UserInfo.Username, "system:serviceaccount:default:default"; got != want {
			t.Errorf("token authenticates as %q, want %q", got, want)
		}
	})

	t.Run("serving certificate chains to CAFile", func(t *testing.T) {
		certPEM, keyPEM, err := c.IssueServingCert([]string{"node-1"}, []net.IP{net.ParseIP("127.0.0.2")})
		if err != nil {
			t.Fatal(err)
		}
		if len(keyPEM) == 0 {
			t.Fatal("empty key")
		}
		caPEM, err := os.ReadFile(c.CAFile())
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(caPEM)
		block, _ := pem.Decode(certPEM)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.2", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verifying serving certificate: %v", err)
		}
	})

	t.Run("restart apiserver", func(t *testing.T) {
		before := c.APIServerPID()
		start := time.Now()
		if err := c.RestartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("kube-apiserver restarted in %v", time.Since(start).Round(time.Millisecond))
		if after := c.APIServerPID(); after == before || after == 0 {
			t.Errorf("pid %d after restart, was %d", after, before)
		}
		// The data survived, and the cached client reconnected.
		if _, err := c.Client().CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{}); err != nil {
			t.Errorf("node after restart: %v", err)
		}
	})

	if t.Failed() {
		return // keep the files for StartT's report
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if pid := c.APIServerPID(); pid != 0 {
		t.Errorf("kube-apiserver pid %d still running after Stop", pid)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still there after Stop: %v", c.Dir, err)
	}
}

// TestTwoClusters starts two clusters at the same time: their ports must not
// clash and their data must be separate.
func TestTwoClusters(t *testing.T) {
	var (
		wg       sync.WaitGroup
		clusters [2]*Cluster
		errs     [2]error
	)
	for i := range clusters {
		wg.Go(func() {
			clusters[i], errs[i] = Start(t.Context(), Options{Logf: t.Logf})
		})
	}
	wg.Wait()
	for i, c := range clusters {
		if c != nil {
			t.Cleanup(func() {
				if t.Failed() {
					c.keepDir = true
					t.Log(c.failureReport())
				}
				if err := c.Stop(); err != nil {
					t.Errorf("stopping cluster %d: %v", i, err)
				}
			})
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	a, b := clusters[0], clusters[1]
	t.Logf("cluster A at %s started in %v", a.URL, a.StartTimes)
	t.Logf("cluster B at %s started in %v", b.URL, b.StartTimes)
	if a.URL == b.URL || a.EtcdURL == b.EtcdURL {
		t.Fatalf("clusters share an address: %s %s / %s %s", a.URL, a.EtcdURL, b.URL, b.EtcdURL)
	}
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-a"}}
	if _, err := a.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client().CoreV1().Namespaces().Get(ctx, "only-in-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace from cluster A in cluster B: err = %v, want NotFound", err)
	}
	out, _ := kubectl(t, b.AdminKubeconfig, "get", "namespace", "default", "-o", "name")
	if strings.TrimSpace(string(out)) != "namespace/default" {
		t.Errorf("kubectl against cluster B: %q", out)
	}
	logRSS(t, a)
}

func TestStartMissingBinary(t *testing.T) {
	_, err := Start(t.Context(), Options{BinDir: t.TempDir()})
	if !errors.Is(err, ErrBinaryMissing) {
		t.Fatalf("Start with an empty bin dir: err = %v, want ErrBinaryMissing", err)
	}
	for _, want := range []string{"etcd", "hack/tools.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestStartFailureNamesComponent makes kube-apiserver exit at start: the
// error must name it, its log and the reason, and no process may be left.
func TestStartFailureNamesComponent(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(t.Context(), Options{Dir: dir, ExtraAPIServerArgs: []string{"--no-such-flag"}})
	if err == nil {
		t.Fatal("Start with a bad apiserver flag succeeded")
	}
	t.Logf("error, as a user sees it:\n%v", err)
	for _, want := range []string{"kube-apiserver", "logs/kube-apiserver.log", "unknown flag: --no-such-flag"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q", want)
		}
	}
	if out, _ := exec.Command("pgrep", "-f", dir).Output(); len(out) > 0 {
		t.Errorf("processes left running in %s: %s", dir, out)
	}
}

func TestParseVmRSS(t *testing.T) {
	status := []byte("Name:\tkube-apiserver\nVmPeak:\t 1000 kB\nVmRSS:\t  287344 kB\nRssAnon:\t 1 kB\n")
	got, err := parseVmRSS(status)
	if err != nil || got != 287344<<10 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 287344<<10)
	}
	if _, err := parseVmRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("parseVmRSS without VmRSS: want an error")
	}
}

func logRSS(t *testing.T, c *Cluster) {
	t.Helper()
	for _, p := range []struct {
		name string
		pid  int
	}{{"kube-apiserver", c.APIServerPID()}, {"etcd", c.EtcdPID()}, {"kube-controller-manager", c.ControllerManagerPID()}} {
		if p.pid == 0 {
			continue
		}
		rss, err := RSS(p.pid)
		if err != nil {
			t.Errorf("%s RSS: %v", p.name, err)
			continue
		}
		t.Logf("%s RSS: %.1f MiB", p.name, float64(rss)/(1<<20))
	}
}

// kubectl runs the real kubectl against a kubeconfig and fails the test
// when it exits non-zero.
func kubectl(t *testing.T, kubeconfig string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.Bytes(), errOut.Bytes())
	}
	return out.Bytes(), errOut.Bytes()
}

// kubectlErr runs kubectl and returns its stdout and exit error.
func kubectlErr(kubeconfig string, args ...string) ([]byte, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	return cmd.Output()
}
