package install

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// controlPlaneNodes are the bed's two control-plane nodes: a loopback
// address each, inside the bed fleet's 127.3.0.0/16 but clear of its
// kubelets (127.3.0.x). A replica on the host network listens on its node's
// address, so the two listen on the same port at different addresses, as on
// two machines.
var controlPlaneNodes = []struct{ name, host string }{
	{"control-plane-1", "127.3.1.1"},
	{"control-plane-2", "127.3.1.2"},
}

// replica is one DaemonSet pod on the bed: ringmetrics with the rendered
// DaemonSet's arguments on one control-plane node's address.
type replica struct {
	node string
	spec bed.ServerSpec
	s    *bed.Server
}

func (r *replica) addr() string { return net.JoinHostPort(r.spec.Host, strconv.Itoa(r.spec.Port)) }

// testDaemonSetOnBed runs the rendered DaemonSet as two control-plane nodes
// would, behind the real aggregator: both replicas Ready, scraping every
// node and serving; the kubelet requests each adds; the APIService answering
// through either while the other is stopped; and a restarted replica Ready
// only after its own first full round of scrapes, the other serving
// meanwhile.
//
// What the bed cannot show that a cluster does: there is no scheduler and no
// kubelet, so the nodeSelector, tolerations, hostNetwork, hostPort and the
// rollout's maxUnavailable are checked by rendering and by the server-side
// dry run, not enacted; the Service's endpoints and kube-proxy are a
// stand-in (serviceLB: see there how its timing differs from readiness
// probes and EndpointSlices); and the two "nodes" are two addresses of one
// kernel, so a lost node shows here as refused connections, not as the
// timeouts of a partition.
func testDaemonSetOnBed(t *testing.T, b *bed.Bed, k *kubectlRunner, binary string) {
	_, ds := renderDaemonSet(t, daemonSetVariant)
	c := ds.Spec.Template.Spec.Containers[0]
	if !ds.Spec.Template.Spec.HostNetwork {
		t.Fatal("the rendered DaemonSet is not on the host network")
	}
	port := int(c.Ports[0].ContainerPort)
	resolution := renderedResolution(t, c.Args)
	kubeconfig, err := b.Cluster.WriteKubeconfig("ringmetrics-serviceaccount", serviceAccountUser,
		"system:serviceaccounts", "system:serviceaccounts:"+releaseNamespace)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := bed.AdminClient(b.Cluster)
	if err != nil {
		t.Fatal(err)
	}

	var replicas []*replica
	for _, n := range controlPlaneNodes {
		args := bedArgs(t, c.Args, filepath.Join(b.Cluster.Dir, "ringmetrics-"+n.name+"-certs"), kubeconfig)
		replicas = append(replicas, &replica{node: n.name, spec: bed.ServerSpec{
			Name: "ringmetrics-" + n.name, Binary: binary, Args: args, LogDir: b.LogDir,
			// The rendered port on every node: only the address differs.
			Host: n.host, Port: port,
		}})
	}
	t.Logf("rendered args: %q", c.Args)
	t.Logf("bed args:      %q (plus --bind-address=<node address> and --secure-port=%d)", replicas[0].spec.Args, port)
	t.Cleanup(func() {
		for _, r := range replicas {
			if r.s == nil {
				continue
			}
			if t.Failed() {
				t.Logf("--- last lines of %s ---\n%s", r.s.LogPath, bed.Tail(r.s.LogPath, 30))
			}
			_ = r.s.Stop()
		}
	})

	// Both start at once, as a DaemonSet's pods do.
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, r := range replicas {
		wg.Go(func() {
			start := time.Now()
			r.s, errs[i] = bed.StartServer(t.Context(), r.spec, 2*time.Minute)
			if errs[i] == nil {
				t.Logf("%s Ready %v after start, listening on %s", r.node, time.Since(start).Round(time.Millisecond), r.s.Addr())
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	lb := newServiceLB(t, c.ReadinessProbe.HTTPGet.Path, replicas[0].addr(), replicas[1].addr())
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := bed.Register(ctx, b.Cluster.Client(), b.Dynamic, bed.Registration{
		Port: lb.Port(), ServiceName: releaseName + "-daemonset-loopback", Versions: []string{"v1", "v1beta1"},
	}); err != nil {
		t.Fatal(err)
	}
	registered := time.Now()
	if err := bed.WaitAvailable(ctx, b.Cluster.Client(), b.Dynamic, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("APIServices v1 and v1beta1 Available through the Service stand-in in %v", time.Since(registered).Round(time.Millisecond))

	for _, r := range replicas {
		checkServesEveryNode(t, admin, r.s, r.node)
	}
	checkKubectlTop(t, k)

	// Item 4: the kubelet requests each replica adds, counted by the
	// simulated kubelets over two resolutions of each node, and by each
	// replica itself.
	ownBefore := make([]float64, len(replicas))
	for i, r := range replicas {
		ownBefore[i] = scrapes(t, admin, r.s)
	}
	served, span := kubeletLoad(t, b, resolution)
	want := int64(2 * len(replicas)) // one request per replica per resolution
	perMinute := float64(want) / (2 * resolution).Minutes() / float64(len(replicas))
	for node, n := range served {
		if n != want {
			t.Errorf("node %s served %d requests in two resolutions (%v) with %d replicas, want %d: one per replica per --metric-resolution",
				node, n, 2*resolution, len(replicas), want)
		}
	}
	t.Logf("every node's kubelet served %v requests in two resolutions with %d replicas: %.2f requests per node per minute per replica at --metric-resolution=%v (%d replicas: %.2f a minute on each kubelet)",
		served, len(replicas), perMinute, resolution, len(replicas), perMinute*float64(len(replicas)))
	for i, r := range replicas {
		// Each replica does its own share: about one scrape of each node
		// per resolution over the span (a round may straddle either end).
		own := scrapes(t, admin, r.s) - ownBefore[i]
		rounds := span.Seconds() / resolution.Seconds()
		t.Logf("%s: %.0f scrapes of its own in %v (%.1f resolutions, %d nodes)", r.node, own, span.Round(time.Millisecond), rounds, bedNodes)
		if own < bedNodes*(rounds-1) || own > bedNodes*(rounds+1) {
			t.Errorf("%s made %.0f scrapes in %.1f resolutions of %d nodes, want about %.0f", r.node, own, rounds, bedNodes, bedNodes*rounds)
		}
	}

	// The APIService answers through either replica while the other is
	// stopped; the watch checks every half second from here on.
	watch := watchAggregator(t, b)
	shutdowns := []shutdown{failOver(t, k, lb, watch, replicas[0], replicas[1])}
	restartReplica(t, b, admin, lb, replicas[0])
	shutdowns = append(shutdowns, failOver(t, k, lb, watch, replicas[1], replicas[0]))
	ok, blips := 0, 0
	for _, r := range watch.stop() {
		switch during := duringShutdown(shutdowns, r); {
		case r.err == nil:
			ok++
		case during != "" && apierrors.IsServiceUnavailable(r.err):
			blips++
			t.Logf("through the aggregator, while %s shut down: %s %v", during, r.at.Format("15:04:05.000"), r.err)
		default:
			t.Errorf("through the aggregator: %s %v", r.at.Format("15:04:05.000"), r.err)
		}
	}
	t.Logf("through the aggregator: %d checks of v1 nodes, v1beta1 pods and both APIServices' Available passed over two failovers and a restart; %d answered 503 while a replica shut down",
		ok, blips)
}

// renderedResolution is the --metric-resolution among the rendered args.
func renderedResolution(t *testing.T, args []string) time.Duration {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--metric-resolution="); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatalf("rendered args %q set no --metric-resolution", args)
	return 0
}

// checkServesEveryNode asks the replica itself, bypassing the aggregator,
// for every node's and every pod's metrics.
func checkServesEveryNode(t *testing.T, admin *http.Client, s *bed.Server, name string) {
	t.Helper()
	var nodes, pods struct{ Items []json.RawMessage }
	if code, err := bed.GetJSON(admin, s.URL()+"/apis/metrics.k8s.io/v1/nodes", &nodes); err != nil || code != http.StatusOK {
		t.Fatalf("%s: v1 nodes: status %d, %v", name, code, err)
	}
	if code, err := bed.GetJSON(admin, s.URL()+bed.GroupVersionPath+"/pods", &pods); err != nil || code != http.StatusOK {
		t.Fatalf("%s: v1beta1 pods: status %d, %v", name, code, err)
	}
	if len(nodes.Items) != bedNodes || len(pods.Items) != bedNodes*bedPodsPerNode {
		t.Errorf("%s serves %d nodes and %d pods, want %d and %d", name, len(nodes.Items), len(pods.Items), bedNodes, bedNodes*bedPodsPerNode)
	}
}

// checkKubectlTop runs kubectl top through the aggregator.
func checkKubectlTop(t *testing.T, k *kubectlRunner) {
	t.Helper()
	out := k.with(t).must("top", "node", "--no-headers")
	if got := len(strings.Split(strings.TrimSpace(out), "\n")); got != bedNodes {
		t.Errorf("kubectl top node lists %d nodes, want %d:\n%s", got, bedNodes, out)
	}
	out = k.with(t).must("top", "pod", "-n", bedNamespace, "--no-headers")
	if got := len(strings.Split(strings.TrimSpace(out), "\n")); got != bedNodes*bedPodsPerNode {
		t.Errorf("kubectl top pod lists %d pods, want %d:\n%s", got, bedNodes*bedPodsPerNode, out)
	}
}

// failOver stops one replica, as a terminating pod (out of the Service,
// and SIGTERM), and checks that metrics.k8s.io keeps answering through the
// aggregator, now from the other: the watch's checks pass again, and
// kubectl top answers.
func failOver(t *testing.T, k *kubectlRunner, lb *serviceLB, w *aggregatorWatch, stop, keep *replica) shutdown {
	t.Helper()
	sd := shutdown{node: stop.node, from: time.Now()}
	lb.remove(stop.addr())
	if err := stop.s.Stop(); err != nil {
		t.Fatalf("stopping %s: %v", stop.node, err)
	}
	sd.to = time.Now().Add(time.Second)
	time.Sleep(time.Until(sd.to))
	before := lb.served(keep.addr())
	bed.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
		if n := w.passedSince(sd.to); n < 4 {
			return fmt.Errorf("with %s stopped, %d checks through the aggregator passed, want 4", stop.node, n)
		}
		return nil
	})
	checkKubectlTop(t, k)
	if lb.served(keep.addr()) == before {
		t.Errorf("with %s stopped, no answer came from %s", stop.node, keep.node)
	}
	t.Logf("%s stopped (in %v): the aggregator and kubectl top answered from %s", stop.node, sd.to.Add(-time.Second).Sub(sd.from).Round(time.Millisecond), keep.node)
	return sd
}

// restartReplica starts a stopped replica again and checks it reports Ready
// only once its own store serves every node and pod: it answers /readyz
// with an error first, then, at the first 200, already lists them all.
func restartReplica(t *testing.T, b *bed.Bed, admin *http.Client, lb *serviceLB, r *replica) {
	t.Helper()
	kubeletBefore := total(kubeletRequests(t, b))
	spec := r.spec
	spec.WaitPath = "/livez" // readiness is what this watches
	start := time.Now()
	s, err := bed.StartServer(t.Context(), spec, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	lb.add(r.addr())
	probe := &http.Client{Timeout: 2 * time.Second, Transport: admin.Transport}
	// Answers naming the store's check as the failing one: the replica is
	// up, its informers perhaps synced, its own round not complete.
	storePending := 0
	deadline := time.Now().Add(time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("%s not Ready a minute after its restart\n%s", r.node, bed.Tail(s.LogPath, 20))
		}
		body, code, err := bed.GetText(probe, s.URL()+"/readyz")
		if err == nil && code == http.StatusOK {
			break
		}
		if err == nil && strings.Contains(body, "[-]metric-storage-ready") {
			storePending++
		}
		time.Sleep(50 * time.Millisecond)
	}
	readyAfter := time.Since(start)
	// Right at the first 200: its own store already serves everything.
	checkServesEveryNode(t, admin, s, r.node)
	own := scrapes(t, admin, s)
	t.Logf("%s restarted: Ready %v after start, after %d answers failing metric-storage-ready and %.0f scrapes of its own (%d nodes); the kubelets served %d requests meanwhile, the other replica's included",
		r.node, readyAfter.Round(time.Millisecond), storePending, own, bedNodes, total(kubeletRequests(t, b))-kubeletBefore)
	if storePending == 0 {
		t.Errorf("%s never reported its store not ready after the restart: it cannot have scraped every node at its first answer", r.node)
	}
	if own < bedNodes {
		t.Errorf("%s Ready after %.0f scrapes of its own, fewer than the %d nodes", r.node, own, bedNodes)
	}
}
