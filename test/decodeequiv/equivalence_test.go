package decodeequiv

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
	"github.com/ringmetrics/ringmetrics/pkg/store"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// equivalenceFirstIP keeps this test's kubelets apart from the simulator's
// own tests (127.1.200.0/24) and a running e2e fleet (127.1.0.0/16 from
// 127.1.0.1); ports are picked per node anyway.
var equivalenceFirstIP = netip.MustParseAddr("127.1.210.1")

// TestDecodersAgreeOnSimulatedWorkload scrapes both endpoints of simulated
// kubelets at two instants of a fake clock, decodes each with its decoder
// into a store of its own, and checks that the two stores serve identical
// usage for every node and pod: which endpoint ringmetrics reads must not
// change what it serves. The clock stays on whole seconds, the precision of
// the Summary API's times, so the readings are identical too.
func TestDecodersAgreeOnSimulatedWorkload(t *testing.T) {
	epoch := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(epoch)
	fleet, err := kubeletsim.New(kubeletsim.Config{
		Nodes: 3, PodsPerNode: 12, ContainersPerPod: 2, Namespaces: []string{"alpha", "beta", "gamma"},
		Seed: 42, Port: kubeletsim.AnyPort, AuthDisabled: true, Clock: clk, FirstIP: equivalenceFirstIP,
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: fleet.CAPool()}},
		Timeout:   30 * time.Second,
	}
	t.Cleanup(client.CloseIdleConnections)

	fromText := newStore(t)
	fromJSON := newStore(t)
	// One decoder per node and format, reused across scrapes as the
	// scraper does.
	textDecoders := map[string]*decode.ResourceDecoder{}
	jsonDecoders := map[string]*decode.SummaryDecoder{}
	scrape := func() {
		t.Helper()
		nowMs := clk.Now().UnixMilli()
		for _, n := range fleet.Nodes() {
			if textDecoders[n.Name] == nil {
				textDecoders[n.Name], jsonDecoders[n.Name] = decode.NewResourceDecoder(), decode.NewSummaryDecoder()
			}
			text := sample.Batch{Node: n.Name}
			if err := textDecoders[n.Name].Decode(get(t, client, n, "/metrics/resource"), &text); err != nil {
				t.Fatalf("node %s: %v", n.Name, err)
			}
			summary := sample.Batch{Node: n.Name}
			if err := jsonDecoders[n.Name].Decode(get(t, client, n, "/stats/summary"), &summary); err != nil {
				t.Fatalf("node %s: %v", n.Name, err)
			}
			for _, b := range []*sample.Batch{&text, &summary} {
				if !b.HasNode || len(b.Containers) == 0 || b.Skipped != ([sample.NumSkipReasons]uint32{}) {
					t.Fatalf("node %s: node %v, %d containers, skipped %v", n.Name, b.HasNode, len(b.Containers), b.Skipped)
				}
			}
			fromText.Write(&text, nowMs)
			fromJSON.Write(&summary, nowMs)
		}
	}

	scrape()
	compareStores(t, fleet, fromText, fromJSON, false)

	// Between the two instants: a usage change, a restart (a new start
	// time and a counter back at zero) and a pod that vanishes from its
	// kubelet's output.
	pods := fleet.Pods()
	clk.Step(5 * time.Second)
	if err := fleet.SetUsage(pods[0].Namespace, pods[0].Name, pods[0].Containers[0], 750, 300<<20); err != nil {
		t.Fatal(err)
	}
	if err := fleet.RestartContainer(pods[13].Namespace, pods[13].Name, pods[13].Containers[1]); err != nil {
		t.Fatal(err)
	}
	if err := fleet.HidePod(pods[30].Namespace, pods[30].Name); err != nil {
		t.Fatal(err)
	}
	clk.Step(10 * time.Second)
	scrape()
	compareStores(t, fleet, fromText, fromJSON, true)

	// The stores serve what the simulator says, not merely the same wrong
	// thing: a container left alone has its configured rate exactly.
	p := pods[5]
	cpu, mem := fleet.ExpectedContainer(p.Namespace, p.Name, p.Containers[1])
	usage, ok := fromJSON.PodUsage(p.Namespace, p.Name, nil)
	if !ok || len(usage) != 2 || usage[1].CPUNanoCores != uint64(cpu)*1e6 || usage[1].MemoryBytes != uint64(mem) {
		t.Errorf("pod %s/%s: %+v, %v; want container %s at %dm, %d bytes", p.Namespace, p.Name, usage, ok, p.Containers[1], cpu, mem)
	}
	if _, ok := fromJSON.PodUsage(pods[30].Namespace, pods[30].Name, nil); ok {
		t.Errorf("hidden pod %s/%s is still served", pods[30].Namespace, pods[30].Name)
	}
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	// The test scrapes twice; a few spare points cost nothing.
	s, err := store.New(store.Config{Capacity: 4, MaxAgeMs: 60_000})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, c *http.Client, n kubeletsim.NodeInfo, path string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+n.Endpoint()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", path, n.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s on %s: status %d, %v", path, n.Name, resp.StatusCode, err)
	}
	return body
}

// compareStores checks that both stores serve the same usage and hold the
// same points for every node, pod and container of the fleet. When
// servable is set, every node and every pod still reported must be served.
func compareStores(t *testing.T, fleet *kubeletsim.Fleet, a, b *store.Store, servable bool) {
	t.Helper()
	for _, n := range fleet.Nodes() {
		ua, okA := a.NodeUsage(n.Name)
		ub, okB := b.NodeUsage(n.Name)
		if okA != okB || ua != ub {
			t.Errorf("node %s: resource %+v (%v), summary %+v (%v)", n.Name, ua, okA, ub, okB)
		}
		if servable && (!okA || ua.CPUNanoCores == 0) {
			t.Errorf("node %s not served: %+v, %v", n.Name, ua, okA)
		}
		ha, _ := a.NodeHistory(n.Name, nil)
		hb, _ := b.NodeHistory(n.Name, nil)
		if diff := cmp.Diff(ha, hb); diff != "" || len(ha) == 0 {
			t.Errorf("node %s history (-resource +summary):\n%s", n.Name, diff)
		}
	}
	served := 0
	for _, p := range fleet.Pods() {
		ua, okA := a.PodUsage(p.Namespace, p.Name, nil)
		ub, okB := b.PodUsage(p.Namespace, p.Name, nil)
		if okA != okB || !cmp.Equal(ua, ub) {
			t.Errorf("pod %s/%s: resource %+v (%v), summary %+v (%v)", p.Namespace, p.Name, ua, okA, ub, okB)
		}
		if okA {
			served++
		}
		if servable && !p.Hidden && !okA {
			t.Errorf("pod %s/%s not served", p.Namespace, p.Name)
		}
		for _, c := range p.Containers {
			ha, _ := a.ContainerHistory(p.Namespace, p.Name, c, nil)
			hb, _ := b.ContainerHistory(p.Namespace, p.Name, c, nil)
			if diff := cmp.Diff(ha, hb); diff != "" {
				t.Errorf("container %s/%s/%s history (-resource +summary):\n%s", p.Namespace, p.Name, c, diff)
			}
		}
	}
	t.Logf("%d nodes, %d of %d pods served identically", len(fleet.Nodes()), served, len(fleet.Pods()))
}
