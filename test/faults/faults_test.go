package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// late is a second fleet, created mid-run to add a node at run time.
var late *kubeletsim.Fleet

// nodeFault is one way a kubelet misbehaves, injected on one node.
type nodeFault struct {
	name   string
	node   string
	reason string
	inject func(t *testing.T)
	clear  func(t *testing.T)
}

func fleetFault(node string, f kubeletsim.Fault) (func(*testing.T), func(*testing.T)) {
	return func(t *testing.T) {
			if err := env.bed.Fleet.SetFault(node, f); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T) {
			if err := env.bed.Fleet.SetFault(node, kubeletsim.Fault{}); err != nil {
				t.Fatal(err)
			}
		}
}

func TestFaultMatrix(t *testing.T) {
	// Settle: every node served before the baseline is taken.
	eventually(t, 30*time.Second, func() error {
		if n := len(nodeMetrics(t)); n != nodes {
			return fmt.Errorf("%d of %d nodes served", n, nodes)
		}
		return nil
	})
	goroutinesBefore := metric(t, "go_goroutines", "")
	connsBefore := establishedConns(t)
	t.Logf("baseline: %v goroutines, %d established connections", goroutinesBefore, connsBefore)

	node := func(i int) string { return "sim-node-" + strconv.Itoa(i) }
	var cases []nodeFault
	add := func(name, reason string, n int, f kubeletsim.Fault) {
		inject, clear := fleetFault(node(n), f)
		cases = append(cases, nodeFault{name: name, node: node(n), reason: reason, inject: inject, clear: clear})
	}
	add("slow node", "timeout", 1, kubeletsim.Slow(3*timeout))
	add("hanging node", "timeout", 2, kubeletsim.Hang())
	add("endless body", "too_large", 3, kubeletsim.Huge(0))
	add("garbage body", "decode", 4, kubeletsim.Garbage(64<<10))
	add("HTTP 500", "http_status", 1, kubeletsim.HTTP500())
	add("401 from the kubelet", "unauthorized", 2, kubeletsim.Unauthorized())
	cases = append(cases, tlsMismatch(t, node(3)))

	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) { runNodeFault(t, fc) })
	}
	t.Run("container restart", testContainerRestart)
	t.Run("pod deleted between scrapes", testPodDeleted)
	t.Run("node deleted mid-scrape", testNodeDeletedMidScrape)
	t.Run("node added at run time", testNodeAdded)
	t.Run("relative start times", testRelativeStartTimes)
	t.Run("kube-apiserver restart", testAPIServerRestart)

	// Nothing the faults started may outlive them.
	time.Sleep(2 * resolution)
	goroutinesAfter := metric(t, "go_goroutines", "")
	connsAfter := establishedConns(t)
	t.Logf("after: %v goroutines, %d established connections", goroutinesAfter, connsAfter)
	// One node left and one joined, so the loop count is unchanged; allow
	// for the HTTP/2 and informer goroutines that come and go.
	if goroutinesAfter > goroutinesBefore+15 {
		t.Errorf("goroutines grew from %v to %v across the fault matrix", goroutinesBefore, goroutinesAfter)
	}
	if connsAfter > connsBefore+2 {
		t.Errorf("established connections grew from %d to %d across the fault matrix", connsBefore, connsAfter)
	}
	checkNoSpike(t)
}

// runNodeFault injects a fault and checks: the other nodes stay fresh, the
// faulty node's data expire, the cause is logged once and counted by reason
// and listed on the authorized diagnostics page, and the node recovers once the fault clears.
func runNodeFault(t *testing.T, fc nodeFault) {
	errorsBefore := metric(t, "ringmetrics_scraper_errors_total", `reason="`+fc.reason+`"`)
	logOffset := logSize(t)
	before := nodeMetrics(t)

	fc.inject(t)
	cleared := false
	defer func() {
		if !cleared {
			fc.clear(t)
		}
	}()
	// The faulty node's last good data expire after max age.
	eventually(t, maxAge+5*resolution, func() error {
		if _, ok := nodeMetrics(t)[fc.node]; ok {
			return fmt.Errorf("node %s still served during the fault", fc.node)
		}
		return nil
	})
	// Let a few more failing scrapes happen: they must not log again.
	time.Sleep(3 * resolution)
	during := nodeMetrics(t)
	for name, b := range before {
		if name == fc.node {
			continue
		}
		d, ok := during[name]
		if !ok || !d.Timestamp.After(b.Timestamp.Time) {
			t.Errorf("node %s went stale while %s failed: %v then %v", name, fc.node, b.Timestamp, d.Timestamp)
		}
	}
	if got := metric(t, "ringmetrics_scraper_errors_total", `reason="`+fc.reason+`"`); got < errorsBefore+3 {
		t.Errorf("errors_total{reason=%q} went from %v to %v, want at least 3 more", fc.reason, errorsBefore, got)
	}
	if n := logLines(t, logOffset, "Failed to scrape kubelet", `node="`+fc.node+`"`, `reason="`+fc.reason+`"`); n != 1 {
		t.Errorf("%d log lines for %s failing with %s, want exactly 1 (one per state change)", n, fc.node, fc.reason)
	}
	diag, code, err := bed.GetText(admin(t), env.rm.URL()+"/debug/scrapes")
	if err != nil || code != http.StatusOK {
		t.Errorf("/debug/scrapes: %d %v", code, err)
	}
	if !strings.Contains(diag, fc.node+": "+fc.reason) {
		t.Errorf("/debug/scrapes does not name %s failing with %s:\n%s", fc.node, fc.reason, diag)
	}

	fc.clear(t)
	cleared = true
	eventually(t, 5*maxAge, func() error {
		n, ok := nodeMetrics(t)[fc.node]
		if !ok {
			return fmt.Errorf("node %s not served after the fault cleared", fc.node)
		}
		want, _ := env.bed.Fleet.ExpectedNode(fc.node)
		if got := milli(n.Usage["cpu"]); got < want-1 || got > want+1 {
			return fmt.Errorf("node %s serves %dm after recovery, simulated %dm", fc.node, got, want)
		}
		return nil
	})
	if n := logLines(t, logOffset, "Kubelet scrape recovered", `node="`+fc.node+`"`); n != 1 {
		t.Errorf("%d recovery log lines for %s, want 1", n, fc.node)
	}
	checkNoSpike(t)
}

// tlsMismatch points a node at a TLS server whose certificate no cluster
// CA signed: the scrape fails on verification, never reaching the server.
func tlsMismatch(t *testing.T, node string) nodeFault {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	info, _ := env.bed.Fleet.Node(node)
	patch := func(t *testing.T, addr netip.Addr, port int) {
		t.Helper()
		body := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":%q},{"type":"Hostname","address":%q}],"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}}}}`, addr, node, port)
		_, err := env.bed.Cluster.Client().CoreV1().Nodes().Patch(context.Background(), node, types.StrategicMergePatchType, []byte(body), metav1PatchOptions, "status")
		if err != nil {
			t.Fatal(err)
		}
	}
	return nodeFault{
		name: "TLS certificate from an unknown CA", node: node, reason: "tls",
		inject: func(t *testing.T) { patch(t, netip.MustParseAddr("127.0.0.1"), port) },
		clear:  func(t *testing.T) { patch(t, info.Addr, info.Port) },
	}
}
