package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// TestHostileNodeTarget is a compromised kubelet rewriting its own Node's
// resource-metrics-path annotation to send the scrape, and the credentials
// it carries, to a listener of its choosing. The listener must see no
// connection at all; the node must show as failing with bad_target, with
// its latest error, while every other node stays served; health endpoints
// must show none of it to callers without rights; and once the annotation
// is corrected the node is scraped from /metrics/resource again, even after
// an earlier mistake had sent it to the summary API.
func TestHostileNodeTarget(t *testing.T) {
	const node = "sim-node-2"
	trap := listenAndCount(t)
	s := startExtraRingmetrics(t, "ringmetrics-hostile")
	setPath := annotator(t, node)

	hostile := []string{
		"@" + trap.addr + "/x",
		"//" + trap.addr + "/x",
		"https://" + trap.addr + "/x",
		"@" + trap.addr,
		".evil/x",
		"/metrics/resource?x=@" + trap.addr,
		"/metrics/resource#@" + trap.addr,
		"/../../x",
		"/%2e%2e/x",
	}
	errorsBefore := scrapeErrors(t, s, "bad_target")
	for _, value := range hostile {
		setPath(&value)
		// The listed error is the latest one: it quotes this value, not the
		// first of the streak.
		eventually(t, 10*ringmetricsResolution, func() error {
			diag, err := diagnostics(t, s)
			if err != nil {
				return err
			}
			line := lineWith(diag, node+": bad_target")
			if line == "" {
				return fmt.Errorf("%s not listed as bad_target:\n%s", node, diag)
			}
			if !strings.Contains(line, strconv.Quote(value)) && !strings.Contains(line, "is not a port") {
				return fmt.Errorf("listed error is not the latest (for %q): %s", value, line)
			}
			return nil
		})
		diag, _ := diagnostics(t, s)
		t.Logf("annotation %q: %s", value, lineWith(diag, node))
	}
	// A few more rounds on the last hostile value: still nothing leaves.
	time.Sleep(3 * ringmetricsResolution)
	if n := trap.accepted.Load(); n != 0 {
		t.Fatalf("the listener named by the annotation received %d connections; want none", n)
	}
	if got := scrapeErrors(t, s, "bad_target"); got < errorsBefore+float64(len(hostile)) {
		t.Errorf("errors_total{reason=\"bad_target\"} went from %v to %v, want at least %d more", errorsBefore, got, len(hostile))
	}
	checkOthersFresh(t, s, node)
	checkHealthRevealsNothing(t, s, node)

	// A valid path the kubelet does not serve sends the node to the summary
	// API; correcting the annotation must bring it back to resource metrics.
	absent := "/metrics/absent"
	setPath(&absent)
	waitServed(t, node, func(resource, summary int64) bool { return summary > 0 }, "scraped through /stats/summary")
	setPath(nil)
	// Every server on the bed (metrics-server too) scrapes this kubelet, so
	// the proof is that nobody asks for its summary any more: a replica
	// stuck on the fallback would keep doing so every resolution.
	time.Sleep(2 * ringmetricsResolution)
	_, summaryAfterFix, err := env.bed.Fleet.Served(node)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * ringmetricsResolution)
	if _, summary, _ := env.bed.Fleet.Served(node); summary != summaryAfterFix {
		t.Errorf("%d summary requests to %s after its annotation was corrected; the fallback stuck", summary-summaryAfterFix, node)
	}
	eventually(t, 10*ringmetricsResolution, func() error {
		diag, err := diagnostics(t, s)
		if err != nil {
			return err
		}
		if strings.Contains(diag, node+":") {
			return fmt.Errorf("%s still failing:\n%s", node, diag)
		}
		return nil
	})
}

// TestHealthOfUnreadyServerRevealsNothing runs a replica that can reach no
// kubelet: it stays unready, and its failing readiness check must still
// say nothing but its name to anonymous callers, while the authorized
// diagnostics page says why.
func TestHealthOfUnreadyServerRevealsNothing(t *testing.T) {
	s := startExtra(t, bed.ServerSpec{Name: "ringmetrics-unreachable", WaitPath: "/livez"},
		"--kubelet-use-node-status-port=false", "--kubelet-port=1")
	eventually(t, 10*ringmetricsResolution, func() error {
		diag, err := diagnostics(t, s)
		if err != nil {
			return err
		}
		if !strings.Contains(diag, fmt.Sprintf("%d of %d nodes failing", nodes, nodes)) {
			return fmt.Errorf("not every node failing yet:\n%s", diag)
		}
		return nil
	})
	body, code, err := bed.GetText(directClient(t, ""), s.URL()+"/readyz?verbose")
	if err != nil {
		t.Fatal(err)
	}
	// The generic apiserver answers a failed check with 500.
	if code == http.StatusOK || !strings.Contains(body, "[-]metric-storage-ready failed") {
		t.Fatalf("anonymous /readyz?verbose of an unready replica: %d\n%s", code, body)
	}
	for _, secret := range []string{"sim-node", "127.", "connection", "refused", "nodes have"} {
		if strings.Contains(body, secret) {
			t.Errorf("anonymous /readyz?verbose reveals %q:\n%s", secret, body)
		}
	}
	t.Logf("anonymous /readyz?verbose of an unready replica (%d):\n%s", code, body)
}

// checkHealthRevealsNothing asks every health endpoint, as anonymous and as
// an authenticated user without roles, while node is failing: pass/fail and
// check names only. The diagnostics page refuses both and serves an admin.
func checkHealthRevealsNothing(t *testing.T, s *bed.Server, node string) {
	t.Helper()
	callers := []struct {
		name   string
		user   string
		groups []string
	}{{name: "anonymous"}, {name: "no roles", user: "nobody"}}
	for _, c := range callers {
		client := directClient(t, c.user, c.groups...)
		for _, path := range []string{"/readyz", "/readyz?verbose", "/livez?verbose", "/healthz?verbose", "/readyz/metric-storage-ready"} {
			body, code, err := bed.GetText(client, s.URL()+path)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{node, "bad_target", "127.", "annotation", "kubelet scrapes"} {
				if strings.Contains(body, secret) {
					t.Errorf("%s: GET %s (%d) reveals %q:\n%s", c.name, path, code, secret, body)
				}
			}
		}
		body, code, err := bed.GetText(client, s.URL()+"/debug/scrapes")
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Errorf("%s: GET /debug/scrapes: %d, want 401 or 403", c.name, code)
		}
		if strings.Contains(body, node) {
			t.Errorf("%s: GET /debug/scrapes names %s:\n%s", c.name, node, body)
		}
	}
}

// checkOthersFresh requires every node but the failing one to be served
// with a point newer than two resolutions.
func checkOthersFresh(t *testing.T, s *bed.Server, failing string) {
	t.Helper()
	eventually(t, 5*ringmetricsResolution, func() error {
		var nl metricsv1beta1.NodeMetricsList
		if err := adminDirect(t, s, "/apis/metrics.k8s.io/v1beta1/nodes", &nl); err != nil {
			return err
		}
		served := 0
		for _, n := range nl.Items {
			if n.Name == failing {
				return fmt.Errorf("%s still served from before its annotation turned hostile", failing)
			}
			if age := time.Since(n.Timestamp.Time); age > 2*ringmetricsResolution+time.Second {
				return fmt.Errorf("node %s stale: newest point %v old", n.Name, age)
			}
			served++
		}
		if served != nodes-1 {
			return fmt.Errorf("%d nodes served, want %d", served, nodes-1)
		}
		return nil
	})
}

type countingListener struct {
	addr     string
	accepted atomic.Int64
}

// listenAndCount opens a loopback listener that counts and drops every
// connection: it stands for the attacker's host.
func listenAndCount(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingListener{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted.Add(1)
			t.Logf("trap listener: connection from %s", conn.RemoteAddr())
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

// annotator returns a function that sets (or, given nil, removes) node's
// resource-metrics-path annotation, and removes it when the test ends.
func annotator(t *testing.T, node string) func(*string) {
	t.Helper()
	nodes := env.bed.Cluster.Client().CoreV1().Nodes()
	set := func(path *string) {
		value := "null"
		if path != nil {
			value = strconv.Quote(*path)
		}
		body := fmt.Sprintf(`{"metadata":{"annotations":{"metrics.k8s.io/resource-metrics-path":%s}}}`, value)
		if _, err := nodes.Patch(context.Background(), node, types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatalf("annotating %s with %s: %v", node, value, err)
		}
	}
	t.Cleanup(func() { set(nil) })
	return set
}

// diagnostics reads /debug/scrapes as cluster-admin. A replica that has just
// gone live may not have loaded its client CAs yet, so a refusal is an
// error to retry, not a failure.
func diagnostics(t *testing.T, s *bed.Server) (string, error) {
	t.Helper()
	body, code, err := bed.GetText(directClient(t, "e2e-admin", "system:masters"), s.URL()+"/debug/scrapes")
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET /debug/scrapes as cluster-admin: %d\n%s", code, body)
	}
	return body, nil
}

func lineWith(text, part string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, part) {
			return line
		}
	}
	return ""
}

// scrapeErrors reads ringmetrics_scraper_errors_total{reason} from s.
func scrapeErrors(t *testing.T, s *bed.Server, reason string) float64 {
	t.Helper()
	v, err := bed.MetricValue(directClient(t, "e2e-admin", "system:masters"), s.URL(), "ringmetrics_scraper_errors_total", `reason="`+reason+`"`)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitServed waits until the simulated kubelet's served counters satisfy ok.
func waitServed(t *testing.T, node string, ok func(resource, summary int64) bool, what string) {
	t.Helper()
	eventually(t, 10*ringmetricsResolution, func() error {
		resource, summary, err := env.bed.Fleet.Served(node)
		if err != nil {
			return err
		}
		if !ok(resource, summary) {
			return fmt.Errorf("%s not %s yet (resource %d, summary %d bodies served)", node, what, resource, summary)
		}
		return nil
	})
}
