package store

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

const (
	sec    = int64(1000)
	res    = 15 * sec
	maxAge = 35 * sec
)

// scrape builds one node's batch at t0+off. Every container runs at 0.1
// core and has been running since t0-res, so it is servable at once.
type scrape struct {
	node string
	off  int64
	pods []testPod
}

type testPod struct {
	ns, name   string
	containers []string
}

func (sc scrape) batch() *sample.Batch {
	ts := t0 + sc.off
	b := &sample.Batch{
		Node:      sc.node,
		HasNode:   true,
		NodePoint: sample.Point{TimestampMs: ts, CPUNanos: uint64(sc.off+res) * 1e6, MemoryBytes: 1 << 30},
	}
	for _, p := range sc.pods {
		for _, c := range p.containers {
			b.Containers = append(b.Containers, sample.Container{
				Namespace: p.ns, Pod: p.name, Name: c, StartTimeMs: t0 - res,
				Point: sample.Point{TimestampMs: ts, CPUNanos: uint64(sc.off+res) * 1e5, MemoryBytes: 1 << 20},
			})
		}
	}
	return b
}

func (sc scrape) write(st *Store) { st.Write(sc.batch(), t0+sc.off) }

func pod(ns, name string, containers ...string) testPod { return testPod{ns, name, containers} }

func names(us []sample.ContainerUsage) []string {
	var n []string
	for _, u := range us {
		n = append(n, u.Name)
	}
	return n
}

func TestNew(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr []string
	}{
		{cfg: Config{Capacity: 2, CPUWindowMs: 60000, MaxAgeMs: 1}},
		{cfg: Config{Capacity: MaxCapacity, MaxAgeMs: 1}},
		{cfg: Config{MaxAgeMs: 1}, wantErr: []string{"capacity 0"}},
		{cfg: Config{Capacity: 1, MaxAgeMs: 1}, wantErr: []string{"capacity 1"}},
		{cfg: Config{Capacity: MaxCapacity + 1, MaxAgeMs: 1}, wantErr: []string{"capacity"}},
		{
			cfg:     Config{Capacity: -1, CPUWindowMs: -1},
			wantErr: []string{"capacity -1", "cpu window -1ms", "max age 0ms"},
		},
	}
	for _, tt := range tests {
		st, err := New(tt.cfg)
		if len(tt.wantErr) == 0 {
			if err != nil || st == nil {
				t.Errorf("New(%+v) = %v, %v; want a store", tt.cfg, st, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("New(%+v) succeeded; want errors %q", tt.cfg, tt.wantErr)
			continue
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%+v) error %q lacks %q", tt.cfg, err, w)
			}
		}
	}
}

func TestPodUsageSortedAndAppended(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	scrape{node: "n1", pods: []testPod{pod("ns", "p", "sidecar", "app", "init-done")}}.write(st)
	// A container appearing later takes its place in the order.
	scrape{node: "n1", off: res, pods: []testPod{pod("ns", "p", "sidecar", "app", "init-done", "b")}}.write(st)

	dst := []sample.ContainerUsage{{Name: "earlier"}}
	got, ok := st.PodUsage("ns", "p", dst)
	if !ok {
		t.Fatal("PodUsage: pod not served")
	}
	if diff := cmp.Diff([]string{"earlier", "app", "b", "init-done", "sidecar"}, names(got)); diff != "" {
		t.Errorf("PodUsage names (-want +got):\n%s", diff)
	}
	want := sample.Usage{TimestampMs: t0 + res, WindowMs: 15 * sec, CPUNanoCores: 1e8, MemoryBytes: 1 << 20}
	if diff := cmp.Diff(want, got[1].Usage); diff != "" {
		t.Errorf("PodUsage usage (-want +got):\n%s", diff)
	}
	want.WindowMs = 2 * res // the new container, from its start time
	if diff := cmp.Diff(want, got[2].Usage); diff != "" {
		t.Errorf("PodUsage new container usage (-want +got):\n%s", diff)
	}
}

func TestPodServedWholeOrNotAtAll(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	b := scrape{node: "n1", pods: []testPod{pod("ns", "p", "app")}}.batch()
	// A container without a start time needs two points.
	b.Containers = append(b.Containers, sample.Container{
		Namespace: "ns", Pod: "p", Name: "nostart",
		Point: sample.Point{TimestampMs: t0, CPUNanos: 1, MemoryBytes: 1},
	})
	st.Write(b, t0)
	dst := make([]sample.ContainerUsage, 1, 4)
	if got, ok := st.PodUsage("ns", "p", dst); ok || len(got) != 1 {
		t.Fatalf("PodUsage = %+v, %v; want dst unchanged and false", got, ok)
	}
	for i := range b.Containers {
		b.Containers[i].TimestampMs += res
	}
	st.Write(b, t0+res)
	if got, ok := st.PodUsage("ns", "p", nil); !ok || len(got) != 2 {
		t.Fatalf("PodUsage = %+v, %v; want both containers", got, ok)
	}
}

func TestUnknown(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.write(st)
	if _, ok := st.NodeUsage("n2"); ok {
		t.Error("NodeUsage of an unknown node reported true")
	}
	if _, ok := st.PodUsage("ns", "q", nil); ok {
		t.Error("PodUsage of an unknown pod reported true")
	}
	if _, ok := st.PodUsage("other", "p", nil); ok {
		t.Error("PodUsage of a pod in another namespace reported true")
	}
	if _, ok := st.ContainerHistory("ns", "p", "d", nil); ok {
		t.Error("ContainerHistory of an unknown container reported true")
	}
	if _, ok := st.NodeHistory("n2", nil); ok {
		t.Error("NodeHistory of an unknown node reported true")
	}
	st.Write(nil, t0)
	st.Write(&sample.Batch{}, t0)
	if got := st.Stats().Nodes; got != 1 {
		t.Errorf("Stats().Nodes = %d after nameless batches, want 1", got)
	}
}

func TestGoneContainersAndPodsDropped(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	scrape{node: "n1", pods: []testPod{pod("ns", "a", "c1", "c2"), pod("ns", "b", "c")}}.write(st)
	scrape{node: "n1", off: res, pods: []testPod{pod("ns", "a", "c2")}}.write(st)

	got, ok := st.PodUsage("ns", "a", nil)
	if !ok {
		t.Fatal("PodUsage(a): not served")
	}
	if diff := cmp.Diff([]string{"c2"}, names(got)); diff != "" {
		t.Errorf("PodUsage(a) names (-want +got):\n%s", diff)
	}
	if _, ok := st.PodUsage("ns", "b", nil); ok {
		t.Error("PodUsage(b): still served after it left the batch")
	}
	if _, ok := st.ContainerHistory("ns", "a", "c1", nil); ok {
		t.Error("ContainerHistory(a/c1): still held after it left the batch")
	}
	// The freed slots are reused by newcomers without mixing up histories.
	scrape{node: "n1", off: 2 * res, pods: []testPod{pod("ns", "a", "c2"), pod("ns", "c", "x", "y")}}.write(st)
	h, ok := st.ContainerHistory("ns", "c", "x", nil)
	if !ok || len(h) != 1 {
		t.Errorf("ContainerHistory(c/x) = %v, %v; want one point", h, ok)
	}
	h, ok = st.ContainerHistory("ns", "a", "c2", nil)
	if !ok || len(h) != 3 {
		t.Errorf("ContainerHistory(a/c2) = %v, %v; want three points", h, ok)
	}
	if got, want := st.Stats(), (Stats{Nodes: 1, Pods: 2, Containers: 3, Points: 3 + 3 + 1 + 1}); got.Nodes != want.Nodes || got.Pods != want.Pods || got.Containers != want.Containers || got.Points != want.Points {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestHistory(t *testing.T) {
	st := mustNew(t, Config{Capacity: 4, MaxAgeMs: maxAge})
	for i := range int64(6) {
		scrape{node: "n1", off: i * res, pods: []testPod{pod("ns", "p", "c")}}.write(st)
	}
	got, ok := st.ContainerHistory("ns", "p", "c", []sample.Point{{}})
	if !ok {
		t.Fatal("ContainerHistory: not found")
	}
	var want []sample.Point
	want = append(want, sample.Point{})
	for i := int64(2); i < 6; i++ {
		want = append(want, sample.Point{TimestampMs: t0 + i*res, CPUNanos: uint64(i*res+res) * 1e5, MemoryBytes: 1 << 20})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ContainerHistory (-want +got):\n%s", diff)
	}
	nh, ok := st.NodeHistory("n1", nil)
	if !ok || len(nh) != 4 || nh[0].TimestampMs != t0+2*res || nh[3].TimestampMs != t0+5*res {
		t.Errorf("NodeHistory = %v, %v; want the last four points, oldest first", nh, ok)
	}
}

func TestWriteKeepsNoBatch(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	b := scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.batch()
	st.Write(b, t0)
	before, _ := st.PodUsage("ns", "p", nil)
	// The decoder reuses the batch for the next scrape.
	b.Reset()
	b.Containers = b.Containers[:1]
	b.Containers[0] = sample.Container{Namespace: "x", Pod: "y", Name: "z", Point: sample.Point{TimestampMs: 1}}
	after, ok := st.PodUsage("ns", "p", nil)
	if !ok {
		t.Fatal("PodUsage: not served after the batch was reused")
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("PodUsage changed with the batch (-before +after):\n%s", diff)
	}
}

func TestExpire(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.write(st)
	scrape{node: "n1", off: res, pods: []testPod{pod("ns", "p", "c")}}.write(st)
	scrape{node: "n2", off: res, pods: []testPod{pod("ns", "q", "c")}}.write(st)
	scrape{node: "n2", off: 2 * res, pods: []testPod{pod("ns", "q", "c")}}.write(st)

	if n := st.Expire(t0 + res + maxAge); n != 0 {
		t.Errorf("Expire at exactly max age removed %d nodes, want 0", n)
	}
	if _, ok := st.NodeUsage("n1"); !ok {
		t.Error("NodeUsage(n1) not served at exactly max age")
	}
	if n := st.Expire(t0 + res + maxAge + 1); n != 1 {
		t.Errorf("Expire past max age removed %d nodes, want 1", n)
	}
	if _, ok := st.NodeUsage("n1"); ok {
		t.Error("NodeUsage(n1) served after expiry")
	}
	if _, ok := st.PodUsage("ns", "p", nil); ok {
		t.Error("PodUsage(p) served after its node expired")
	}
	if _, ok := st.PodUsage("ns", "q", nil); !ok {
		t.Error("PodUsage(q) not served although its node is fresh")
	}
	if got := st.Stats(); got.Nodes != 1 || got.Pods != 1 || got.Containers != 1 {
		t.Errorf("Stats() = %+v after expiry, want one node, pod and container", got)
	}
	// The node comes back: it starts afresh.
	scrape{node: "n1", off: 4 * res, pods: []testPod{pod("ns", "p", "c")}}.write(st)
	if _, ok := st.NodeUsage("n1"); ok {
		t.Error("NodeUsage(n1) served from one point after coming back")
	}
	// Its container started long before this first point: its lifetime
	// average is not its usage, so it waits for a second point.
	if u, ok := st.PodUsage("ns", "p", nil); ok {
		t.Errorf("PodUsage(p) = %+v after coming back; want nothing from a start time older than max age", u)
	}
	scrape{node: "n1", off: 5 * res, pods: []testPod{pod("ns", "p", "c")}}.write(st)
	if u, ok := st.PodUsage("ns", "p", nil); !ok || u[0].WindowMs != res {
		t.Errorf("PodUsage(p) = %+v, %v after a second point; want a rate over one resolution", u, ok)
	}
}

// A kubelet that keeps answering with a frozen reading (a stuck cAdvisor)
// is written to, but the frozen series must stop being served.
func TestFrozenSeriesNotServed(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	frozen := scrape{node: "n1", off: res, pods: []testPod{pod("ns", "p", "c")}}.batch()
	scrape{node: "n1", pods: []testPod{pod("ns", "p", "c")}}.write(st)
	st.Write(frozen, t0+res)
	for _, off := range []int64{2 * res, 3 * res} {
		frozen.NodePoint.TimestampMs = t0 + off
		frozen.NodePoint.CPUNanos += 1e9
		st.Write(frozen, t0+off)
	}
	// The container last advanced at res: served until res+maxAge.
	if _, ok := st.PodUsage("ns", "p", nil); !ok {
		t.Fatal("PodUsage: not served within max age of its last new point")
	}
	if n := st.Expire(t0 + res + maxAge + 1); n != 0 {
		t.Fatalf("Expire removed %d nodes, want 0: the node was written", n)
	}
	if _, ok := st.PodUsage("ns", "p", nil); ok {
		t.Error("PodUsage: frozen container still served after Expire")
	}
	if _, ok := st.NodeUsage("n1"); !ok {
		t.Error("NodeUsage: fresh node not served")
	}
	// A write past the max age hides it as well, without Expire.
	frozen.NodePoint.TimestampMs = t0 + 4*res
	frozen.NodePoint.CPUNanos += 1e9
	st.Write(frozen, t0+4*res)
	if _, ok := st.PodUsage("ns", "p", nil); ok {
		t.Error("PodUsage: frozen container served after a write")
	}
	// Frozen node reading too.
	st.Write(frozen, t0+4*res+maxAge+1)
	if _, ok := st.NodeUsage("n1"); ok {
		t.Error("NodeUsage: frozen node served")
	}
}

func TestDeleteNode(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	for _, off := range []int64{0, res} {
		scrape{node: "n1", off: off, pods: []testPod{pod("ns", "p", "c")}}.write(st)
		scrape{node: "n2", off: off, pods: []testPod{pod("ns", "q", "c")}}.write(st)
	}
	st.DeleteNode("n1")
	st.DeleteNode("n1")
	st.DeleteNode("unknown")
	if _, ok := st.NodeUsage("n1"); ok {
		t.Error("NodeUsage(n1) served after DeleteNode")
	}
	if _, ok := st.PodUsage("ns", "p", nil); ok {
		t.Error("PodUsage(p) served after DeleteNode of its node")
	}
	if _, ok := st.NodeHistory("n1", nil); ok {
		t.Error("NodeHistory(n1) found after DeleteNode")
	}
	if _, ok := st.PodUsage("ns", "q", nil); !ok {
		t.Error("PodUsage(q) not served after DeleteNode of another node")
	}
	if got := st.Stats(); got.Nodes != 1 || got.Pods != 1 {
		t.Errorf("Stats() = %+v, want one node and one pod", got)
	}
}

func TestDeletePod(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	for _, off := range []int64{0, res} {
		scrape{node: "n1", off: off, pods: []testPod{pod("ns", "p", "c"), pod("ns", "q", "c")}}.write(st)
	}
	st.DeletePod("ns", "p")
	st.DeletePod("ns", "p")
	st.DeletePod("ns", "unknown")
	if _, ok := st.PodUsage("ns", "p", nil); ok {
		t.Error("PodUsage(p) served after DeletePod")
	}
	if _, ok := st.ContainerHistory("ns", "p", "c", nil); ok {
		t.Error("ContainerHistory(p) found after DeletePod")
	}
	if _, ok := st.PodUsage("ns", "q", nil); !ok {
		t.Error("PodUsage(q) not served after DeletePod of another pod")
	}
	if got := st.Stats(); got.Pods != 1 || got.Containers != 1 {
		t.Errorf("Stats() = %+v, want one pod and container", got)
	}
	// The kubelet still reports it: it comes back as new.
	scrape{node: "n1", off: 2 * res, pods: []testPod{pod("ns", "p", "c"), pod("ns", "q", "c")}}.write(st)
	if h, ok := st.ContainerHistory("ns", "p", "c", nil); !ok || len(h) != 1 {
		t.Errorf("ContainerHistory(p) = %v, %v; want the one new point", h, ok)
	}
}

func TestPodMovesNodes(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	scrape{node: "a", pods: []testPod{pod("ns", "p", "c"), pod("ns", "stay", "c")}}.write(st)
	scrape{node: "a", off: res, pods: []testPod{pod("ns", "p", "c"), pod("ns", "stay", "c")}}.write(st)
	// Recreated on b; a's kubelet still reports the old one for a scrape.
	scrape{node: "b", off: res + 1, pods: []testPod{pod("ns", "p", "other")}}.write(st)
	check := func(when string) {
		t.Helper()
		got, ok := st.PodUsage("ns", "p", nil)
		if !ok || len(got) != 1 || got[0].Name != "other" {
			t.Errorf("%s: PodUsage(p) = %+v, %v; want b's container", when, got, ok)
		}
	}
	check("after b reported it")
	scrape{node: "a", off: 2 * res, pods: []testPod{pod("ns", "p", "c"), pod("ns", "stay", "c")}}.write(st)
	check("after a reported it again")
	scrape{node: "a", off: 3 * res, pods: []testPod{pod("ns", "stay", "c")}}.write(st)
	check("after a dropped it")
	st.DeleteNode("a")
	check("after a was deleted")
	if _, ok := st.PodUsage("ns", "stay", nil); ok {
		t.Error("PodUsage(stay) served after its node was deleted")
	}
	st.DeletePod("ns", "p")
	if _, ok := st.PodUsage("ns", "p", nil); ok {
		t.Error("PodUsage(p) served after DeletePod")
	}
}

func TestStats(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	if got := st.Stats(); got.Nodes != 0 || got.Pods != 0 || got.Containers != 0 || got.Points != 0 {
		t.Errorf("empty Stats() = %+v", got)
	}
	for i := range int64(testCapacity + 2) {
		scrape{node: "n1", off: i * res, pods: []testPod{pod("ns", "a", "c1", "c2"), pod("ns", "b", "c")}}.write(st)
		scrape{node: "n2", off: i * res, pods: []testPod{pod("ns", "c", "c")}}.write(st)
	}
	got := st.Stats()
	want := Stats{Nodes: 2, Pods: 3, Containers: 4, Points: (2 + 4) * testCapacity}
	if got.Nodes != want.Nodes || got.Pods != want.Pods || got.Containers != want.Containers || got.Points != want.Points {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	// At least the series and their chunks; at most what flat rings of 24
	// bytes a point took, since steady series compress to a few bits.
	var chunks int64
	for _, sh := range st.nodes {
		chunks += int64(sh.arena.used)
	}
	if min, max := 6*sizeofSeries+chunks*chunkBytes, got.Points*24; got.Bytes < min || got.Bytes > max {
		t.Errorf("Stats().Bytes = %d, want within [%d, %d]", got.Bytes, min, max)
	}
}

// A steady write, with the snapshots recycled, must not allocate.
func TestWriteSteadyStateAllocs(t *testing.T) {
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	b := benchBatch("n1", 30, 2)
	now := t0
	write := func() {
		now += res
		advance(b, now)
		st.Write(b, now)
	}
	write()
	write()
	if a := testing.AllocsPerRun(100, write); a != 0 {
		t.Errorf("steady Write allocates %v times, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() {
		if _, ok := st.PodUsage("ns-n1", b.Containers[0].Pod, nil); !ok {
			t.Fatal("PodUsage: not served")
		}
	}); a != 1 {
		t.Errorf("PodUsage into a nil slice allocates %v times, want 1 (the result)", a)
	}
}

// Once the rings are full, a write of realistic points (jittered
// timestamps, noisy rates, wobbling memory) frees a chunk about as often as
// it takes one: the arena stops growing and a write does not allocate.
func TestWriteSteadyStateAllocsRealistic(t *testing.T) {
	f := newFleet(1, 30)
	st := mustNew(t, Config{MaxAgeMs: maxAge})
	now := t0
	write := func() {
		now += res
		f.round(st, now)
	}
	for range 3 * testCapacity {
		write()
	}
	if a := testing.AllocsPerRun(100, write); a != 0 {
		t.Errorf("steady Write allocates %v times, want 0", a)
	}
}
