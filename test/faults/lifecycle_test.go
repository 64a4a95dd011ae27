package faults

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

var metav1PatchOptions = metav1.PatchOptions{}

// testContainerRestart resets a container's counter: the served CPU must
// never go negative or spike, and the container is served again at once
// from its new start time.
func testContainerRestart(t *testing.T) {
	pod := env.bed.Fleet.Pods()[0]
	container := pod.Containers[0]
	if err := env.bed.Fleet.RestartContainer(pod.Namespace, pod.Name, container); err != nil {
		t.Fatal(err)
	}
	want, _ := env.bed.Fleet.ExpectedContainer(pod.Namespace, pod.Name, container)
	deadline := time.Now().Add(5 * resolution)
	for time.Now().Before(deadline) {
		checkNoSpike(t)
		time.Sleep(resolution / 4)
	}
	eventually(t, 5*resolution, func() error {
		p, ok := podMetrics(t)[pod.Namespace+"/"+pod.Name]
		if !ok {
			return fmt.Errorf("pod %s/%s not served after its container restarted", pod.Namespace, pod.Name)
		}
		for _, c := range p.Containers {
			if c.Name == container {
				if got := milli(c.Usage["cpu"]); got < want-1 || got > want+1 {
					return fmt.Errorf("restarted container serves %dm, simulated %dm", got, want)
				}
				return nil
			}
		}
		return fmt.Errorf("container %s missing from %+v", container, p)
	})
}

// testPodDeleted removes a pod from the API and the kubelet between two
// scrapes: it stops being served, nothing else changes.
func testPodDeleted(t *testing.T) {
	pod := env.bed.Fleet.Pods()[1]
	podsBefore := len(podMetrics(t))
	if err := env.bed.Fleet.DeletePod(context.Background(), pod.Namespace, pod.Name); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*resolution, func() error {
		code, err := bed.GetJSON(admin(t), env.rm.URL()+"/apis/metrics.k8s.io/v1beta1/namespaces/"+pod.Namespace+"/pods/"+pod.Name, nil)
		if err != nil {
			return err
		}
		if code != http.StatusNotFound {
			return fmt.Errorf("GET deleted pod: %d, want 404", code)
		}
		return nil
	})
	if got := len(podMetrics(t)); got != podsBefore-1 {
		t.Errorf("%d pods served after deleting one of %d", got, podsBefore)
	}
}

// testNodeDeletedMidScrape deletes a node while a scrape of it hangs: its
// loop must end, its data go, and no request to it linger.
func testNodeDeletedMidScrape(t *testing.T) {
	const victim = "sim-node-4"
	if err := env.bed.Fleet.SetFault(victim, kubeletsim.Hang()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(resolution + timeout/2)
	loopsBefore := metric(t, "ringmetrics_scraper_nodes", "")
	if err := env.bed.Fleet.DeleteNode(context.Background(), victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*resolution, func() error {
		if _, ok := nodeMetrics(t)[victim]; ok {
			return fmt.Errorf("deleted node %s still served", victim)
		}
		if got := metric(t, "ringmetrics_scraper_nodes", ""); got != loopsBefore-1 {
			return fmt.Errorf("%v scrape loops, want %v", got, loopsBefore-1)
		}
		for key, p := range podMetrics(t) {
			for _, info := range env.bed.Fleet.Pods() {
				if info.Namespace == p.Namespace && info.Name == p.Name && info.Node == victim {
					return fmt.Errorf("pod %s of the deleted node still served", key)
				}
			}
		}
		return nil
	})
}

// testNodeAdded starts a second fleet whose node joins the cluster while
// ringmetrics runs: it is scraped and served within a few resolutions.
func testNodeAdded(t *testing.T) {
	ca, key := env.bed.Cluster.CA()
	f, err := kubeletsim.New(kubeletsim.Config{
		Nodes: 1, PodsPerNode: 2, Seed: 11, NodePrefix: "late-node-", Namespaces: []string{"faults-late"},
		FirstIP: lateAddr(), CA: ca, CAKey: key, Client: env.bed.Cluster.Client(), Logf: log.Printf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	// Closed by TestMain: later cases still scrape this node.
	if _, err := f.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	late = f
	eventually(t, 10*resolution, func() error {
		n, ok := nodeMetrics(t)["late-node-0"]
		if !ok {
			return fmt.Errorf("late-node-0 not served yet")
		}
		want, _ := f.ExpectedNode("late-node-0")
		if got := milli(n.Usage["cpu"]); got < want-1 || got > want+1 {
			return fmt.Errorf("late-node-0 serves %dm, simulated %dm", got, want)
		}
		return nil
	})
}

// testAPIServerRestart restarts kube-apiserver under ringmetrics: scraping
// goes on meanwhile (it needs no apiserver), and the informers resume, so a
// pod created after the restart is served.
func testAPIServerRestart(t *testing.T) {
	before := nodeMetrics(t)
	start := time.Now()
	if err := env.bed.Cluster.RestartAPIServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver restarted in %v", time.Since(start).Round(time.Millisecond))
	select {
	case <-env.rm.Exited():
		t.Fatal("ringmetrics exited when kube-apiserver restarted")
	default:
	}
	// While the restarted apiserver primes RBAC, kubelets' access reviews can
	// be denied, and a kubelet caches a denial for 30 s: a real cluster may
	// take that long, plus a few scrapes, to be fresh again.
	eventually(t, kubeletsim.DefaultAuthDeniedTTL+5*resolution+maxAge, func() error {
		after := nodeMetrics(t)
		for name, b := range before {
			a, ok := after[name]
			if !ok || !a.Timestamp.After(b.Timestamp.Time) {
				return fmt.Errorf("node %s not fresh after the restart", name)
			}
		}
		return nil
	})
	names, err := env.bed.Fleet.AddWorkload(context.Background(), kubeletsim.Workload{
		Namespace: "faults", Name: "after-restart", Replicas: 1,
		Containers: []kubeletsim.ContainerSpec{{Name: "app", CPUMilli: 20, MemBytes: 16 << 20}},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		if _, ok := podMetrics(t)["faults/"+names[0]]; !ok {
			return fmt.Errorf("pod %s created after the restart not served: informers did not resume", names[0])
		}
		return nil
	})
}

// lateAddr is an address in the bed's own block, past its nodes.
func lateAddr() netip.Addr {
	b := env.bed.Fleet.Nodes()[0].Addr.As4()
	return netip.AddrFrom4([4]byte{b[0], b[1], 200, 1})
}

// testRelativeStartTimes has every kubelet report container start times as
// seconds since the container started, as one kubelet-compatible agent
// does: a start time that changes every scrape must not be taken for a
// restart, so every pod is served on every LIST, at its simulated usage.
func testRelativeStartTimes(t *testing.T) {
	want := len(podMetrics(t))
	if want == 0 {
		t.Fatal("no pods served before the change")
	}
	env.bed.Fleet.SetRelativeStartTimes(true)
	defer env.bed.Fleet.SetRelativeStartTimes(false)
	// Let every node be scraped with the new start times twice.
	time.Sleep(2*resolution + timeout)
	for i := range 12 {
		if got := len(podMetrics(t)); got != want {
			t.Fatalf("LIST %d with relative start times served %d pods, want %d", i, got, want)
		}
		time.Sleep(resolution / 2)
	}
	checkNoSpike(t)
}
