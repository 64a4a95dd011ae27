package faults

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// adminClient is shared: a client per call would leave its kept-alive
// connections open on ringmetrics and read as a leak.
var adminClient struct {
	sync.Once
	c   *http.Client
	err error
}

func admin(t *testing.T) *http.Client {
	t.Helper()
	adminClient.Do(func() { adminClient.c, adminClient.err = bed.AdminClient(env.bed.Cluster) })
	if adminClient.err != nil {
		t.Fatal(adminClient.err)
	}
	return adminClient.c
}

// nodeMetrics lists NodeMetrics straight from ringmetrics, by name.
func nodeMetrics(t *testing.T) map[string]metricsv1beta1.NodeMetrics {
	t.Helper()
	var l metricsv1beta1.NodeMetricsList
	if code, err := bed.GetJSON(admin(t), env.rm.URL()+"/apis/metrics.k8s.io/v1beta1/nodes", &l); err != nil || code != http.StatusOK {
		t.Fatalf("listing NodeMetrics: %d %v", code, err)
	}
	m := map[string]metricsv1beta1.NodeMetrics{}
	for _, n := range l.Items {
		m[n.Name] = n
	}
	return m
}

// podMetrics lists PodMetrics straight from ringmetrics, by namespace/name.
func podMetrics(t *testing.T) map[string]metricsv1beta1.PodMetrics {
	t.Helper()
	var l metricsv1beta1.PodMetricsList
	if code, err := bed.GetJSON(admin(t), env.rm.URL()+"/apis/metrics.k8s.io/v1beta1/pods", &l); err != nil || code != http.StatusOK {
		t.Fatalf("listing PodMetrics: %d %v", code, err)
	}
	m := map[string]metricsv1beta1.PodMetrics{}
	for _, p := range l.Items {
		m[p.Namespace+"/"+p.Name] = p
	}
	return m
}

func milli(q resource.Quantity) int64 { return q.MilliValue() }

// checkNoSpike fails when any served CPU is negative or above what the
// simulator runs, beyond a millicore of rounding: a restart or a gap in
// scrapes must never show as a spike.
func checkNoSpike(t *testing.T) {
	t.Helper()
	for name, n := range nodeMetrics(t) {
		want, _ := env.bed.Fleet.ExpectedNode(name)
		if late != nil && want == 0 {
			want, _ = late.ExpectedNode(name)
		}
		if got := milli(n.Usage["cpu"]); got < 0 || got > want+1 {
			t.Errorf("node %s serves cpu %dm, simulated %dm", name, got, want)
		}
	}
	for key, p := range podMetrics(t) {
		for _, c := range p.Containers {
			want, _ := env.bed.Fleet.ExpectedContainer(p.Namespace, p.Name, c.Name)
			if late != nil && want == 0 {
				want, _ = late.ExpectedContainer(p.Namespace, p.Name, c.Name)
			}
			if got := milli(c.Usage["cpu"]); got < 0 || got > want+1 {
				t.Errorf("container %s/%s serves cpu %dm, simulated %dm", key, c.Name, got, want)
			}
		}
	}
}

// metric reads one sample from ringmetrics' /metrics; labels is the exact
// label text between the braces, "" for none.
func metric(t *testing.T, name, labels string) float64 {
	t.Helper()
	v, err := bed.MetricValue(admin(t), env.rm.URL(), name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// logLines counts ringmetrics log lines, from byte offset on, containing
// every one of parts.
func logLines(t *testing.T, offset int64, parts ...string) int {
	t.Helper()
	f, err := os.Open(env.rm.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
lines:
	for sc.Scan() {
		for _, p := range parts {
			if !strings.Contains(sc.Text(), p) {
				continue lines
			}
		}
		n++
	}
	return n
}

func logSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(env.rm.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// establishedConns counts the TCP connections ringmetrics holds open, from
// its file descriptors and the kernel's socket tables.
func establishedConns(t *testing.T) int {
	t.Helper()
	pid := env.rm.PID()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			// st 01 is ESTABLISHED; field 9 is the socket inode.
			if len(f) > 9 && f[3] == "01" && inodes[f[9]] {
				n++
			}
		}
	}
	return n
}

// eventually is bed.Eventually at this suite's interval, a fifth of the
// scrape resolution.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	bed.Eventually(t, timeout, resolution/5, f)
}
