package decode

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The fixtures under testdata/resource and testdata/summary are bodies in the
// forms kubelets of different versions, platforms and runtimes write (see
// the comment in each test case). They were written for this package, not
// captured. Whole-second timestamps let a resource fixture and its summary
// twin describe the same readings exactly.

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func fixtures(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no fixtures %s: %v", pattern, err)
	}
	var out [][]byte
	for _, name := range names {
		out = append(out, readFixture(tb, strings.TrimPrefix(name, "testdata"+string(filepath.Separator))))
	}
	return out
}

func resourceFixtures(tb testing.TB) [][]byte { return fixtures(tb, "resource/*.txt") }
func summaryFixtures(tb testing.TB) [][]byte  { return fixtures(tb, "summary/*.json") }

// sortContainers orders containers by namespace, pod and name: the two
// formats list them in different orders.
func sortContainers(cs []sample.Container) {
	slices.SortFunc(cs, func(a, b sample.Container) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Name, b.Name))
	})
}

// decoderFor returns a new decoder of the kind a fixture's extension calls
// for; fallbackMs is the resource decoder's FallbackTimestampMs.
func decoderFor(name string, fallbackMs int64) decoder {
	if strings.HasSuffix(name, ".json") {
		return NewSummaryDecoder()
	}
	return &ResourceDecoder{FallbackTimestampMs: fallbackMs}
}

// decodeFixture decodes a fixture body with d, containers sorted.
func decodeFixture(t *testing.T, d decoder, body []byte) (sample.Batch, error) {
	t.Helper()
	b := sample.Batch{Node: "node-1"}
	err := d.Decode(body, &b)
	sortContainers(b.Containers)
	if len(b.Containers) == 0 {
		b.Containers = nil
	}
	return b, err
}

const (
	fixtureTS = 1732530000000 // 2024-11-25T10:20:00Z
	// fallbackTS is the response time a scraper would pass.
	fallbackTS = fixtureTS + 5000
)

var (
	// The workload of kubelet-1.2x.txt and its twins.
	workload12x = []sample.Container{
		ctr("kube-system", "coredns-5d78c9869d-abcde", "coredns", fixtureTS-1000, 4567891, 14680064, 1732442400000),
		ctr("monitoring", "node-exporter-q8zc4", "node-exporter", fixtureTS+1000, 250500000000, 22020096, 1732442400000),
		ctr("shop", "web-7d9f8c6b5-x2k9m", "app", fixtureTS, 12345678901, 16777216, 1732528800000),
		ctr("shop", "web-7d9f8c6b5-x2k9m", "istio-proxy", fixtureTS, 3200000000, 42434560, 1732528799000),
	}
	node12x = &sample.Point{TimestampMs: fixtureTS, CPUNanos: 45678123456789, MemoryBytes: 2147483648}

	workload118 = []sample.Container{
		ctr("default", "nginx-6db489d4b7-x2k9m", "nginx", 1732530000456, 112230514, 2969600, 0),
		ctr("kube-system", "coredns-66bff467f8-7xk2p", "coredns", 1732530001234, 152873644051, 12935168, 0),
		ctr("kube-system", "kube-proxy-q8zc4", "kube-proxy", 1732530002345, 48215399866, 21671936, 0),
	}
	node118 = &sample.Point{TimestampMs: 1732530000987, CPUNanos: 12345678901234, MemoryBytes: 1073741824}

	workloadWindows = []sample.Container{
		ctr("calico-system", "calico-node-windows-7xk2p", "calico-node-felix", fixtureTS, 8765432109800, 86863872, 1732356000000),
		ctr("default", "iis-7d4f5b9c8d-x2k9m", "iis", fixtureTS, 1234567890100, 148082688, 1732527000000),
		ctr("kube-system", "kube-proxy-windows-q8zc4", "kube-proxy", fixtureTS, 431000000100, 33484800, 1732356000000),
	}
	nodeWindows = &sample.Point{TimestampMs: fixtureTS, CPUNanos: 987654321098700, MemoryBytes: 4294967296}

	workloadSwap = []sample.Container{
		ctr("cache", "redis-0", "redis", fixtureTS, 97503000000, 268435456, 1731859200000),
		ctr("jobs", "report-28871234-lm4tq", "batch", fixtureTS, 1843021000000, 536870912, 1732525560000),
	}
	nodeSwap = &sample.Point{TimestampMs: fixtureTS, CPUNanos: 356789500000000, MemoryBytes: 7516192768}
)

// retimed returns cs with every timestamp set to ts.
func retimed(cs []sample.Container, ts int64) []sample.Container {
	out := slices.Clone(cs)
	for i := range out {
		out[i].TimestampMs = ts
	}
	return out
}

// without returns cs without the named containers.
func without(cs []sample.Container, names ...string) []sample.Container {
	return slices.DeleteFunc(slices.Clone(cs), func(c sample.Container) bool { return slices.Contains(names, c.Name) })
}

// unstarted returns cs with the named containers' start times unknown.
func unstarted(cs []sample.Container, names ...string) []sample.Container {
	out := slices.Clone(cs)
	for i := range out {
		if slices.Contains(names, out[i].Name) {
			out[i].StartTimeMs = 0
		}
	}
	return out
}

func TestDialects(t *testing.T) {
	nodeAt := func(p *sample.Point, ts int64) *sample.Point { q := *p; q.TimestampMs = ts; return &q }
	for _, tc := range []struct {
		file string
		// fallback is the ResourceDecoder's FallbackTimestampMs.
		fallback int64
		want     want
	}{
		// Kubelet 1.18: [ALPHA] families, scrape_error, no start times, no
		// pod series; millisecond timestamps that differ per series.
		{file: "resource/kubelet-1.18.txt", want: want{node: node118, containers: workload118}},
		// Kubelet 1.2x: [STABLE] families with start times, pod series and
		// resource_scrape_error.
		{file: "resource/kubelet-1.2x.txt", want: want{node: node12x, containers: workload12x}},
		// The same lines shuffled across families, with HELP and TYPE lines
		// out of place.
		{file: "resource/random-order.txt", want: want{node: node12x, containers: workload12x}},
		// Swap families (container_, pod_, node_swap_usage_bytes) beside
		// the usage families.
		{file: "resource/swap.txt", want: want{node: nodeSwap, containers: workloadSwap}},
		// Windows: CPU counters in 100 ns steps, large working sets, no
		// swap families.
		{file: "resource/windows.txt", want: want{node: nodeWindows, containers: workloadWindows}},
		// No timestamps at all: every CPU series misses it, so nothing is
		// kept...
		{file: "resource/no-timestamps.txt", want: want{skip: skips(noTS, 5, incomplete, 5)}},
		// ...unless the scraper passes the response time.
		{file: "resource/no-timestamps.txt", fallback: fallbackTS,
			want: want{node: nodeAt(node12x, fallbackTS), containers: retimed(workload12x, fallbackTS)}},
		// Some CPU series with timestamps, some without: the fallback does
		// not apply, so as not to mix clocks.
		{file: "resource/partial-timestamps.txt",
			want: want{containers: without(workload12x, "app"), skip: skips(noTS, 2, incomplete, 2)}},
		{file: "resource/partial-timestamps.txt", fallback: fallbackTS,
			want: want{containers: without(workload12x, "app"), skip: skips(noTS, 2, incomplete, 2)}},
		// Comments, repeated HELP and TYPE, blank lines, histograms,
		// summaries, untyped and look-alike families.
		{file: "resource/noise.txt", want: want{node: node118, containers: workload118[:1]}},
		// Escapes in kept and ignored label values; a name that unescapes
		// to a newline is refused.
		{file: "resource/escaped.txt", want: want{
			containers: []sample.Container{
				ctr("shop", `back\slash`, `quote"d`, fixtureTS, 1e9, 4096, 0),
				ctr("shop", "web-7d9f8c6b5-x2k9m", "app", fixtureTS, 12345678901, 16777216, 0),
			},
			skip: skips(malformed, 1),
		}},
		// A runtime that reports the pod sandbox as container "POD": left
		// out silently...
		{file: "resource/sandbox-pod.txt", want: want{node: node12x, containers: workload12x[2:3]}},
		// ...and as container "": counted, since an empty label may as well
		// be a broken series.
		{file: "resource/sandbox-empty.txt", want: want{node: node12x, containers: workload12x[2:3], skip: skips(noLabel, 3)}},
		// A runtime whose stats lack some start times.
		{file: "resource/no-start-time.txt", want: want{node: node12x, containers: unstarted(workload12x, "coredns", "istio-proxy")}},

		// Summary twins of the resource fixtures, with the members a kubelet
		// writes beside the ones read (system containers, file systems,
		// networks, volumes, swap, process counts).
		{file: "summary/kubelet-1.2x.json", want: want{node: node12x, containers: workload12x}},
		{file: "summary/windows.json", want: want{node: nodeWindows, containers: workloadWindows}},
		{file: "summary/swap.json", want: want{node: nodeSwap, containers: workloadSwap}},
		// Fractional seconds and zone offsets, as time.Time writes them.
		{file: "summary/fractional-times.json", want: want{
			node: &sample.Point{TimestampMs: fixtureTS + 123, CPUNanos: 1000, MemoryBytes: 2000},
			containers: []sample.Container{
				ctr("ns", "p", "a", fixtureTS+999, 1, 1, 1732528800500),
				ctr("ns", "p", "b", fixtureTS, 2, 2, 1732528800050),
			},
		}},
		// One of each problem; see the container names.
		{file: "summary/broken-members.json", want: want{
			containers: []sample.Container{
				ctr("ns", "late-ref", "c", fixtureTS+1000, 50, 60, 0),
				ctr("ns", "ok", "bad-start", fixtureTS, 30, 40, 0),
				ctr("ns", "ok", "good", fixtureTS, 10, 20, 1732528800000),
			},
			skip: skips(incomplete, 3, noTS, 1, invalid, 2, malformed, 5, noLabel, 2, duplicate, 1),
		}},
	} {
		t.Run(strings.ReplaceAll(tc.file, "/", "_")+map[bool]string{true: "_fallback"}[tc.fallback > 0], func(t *testing.T) {
			got, err := decodeFixture(t, decoderFor(tc.file, tc.fallback), readFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tc.want.batch(), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

// TestDialectsCovered makes sure no fixture is left out of TestDialects.
func TestDialectsCovered(t *testing.T) {
	src, err := os.ReadFile("dialect_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{"resource/*.txt", "summary/*.json"} {
		names, _ := filepath.Glob(filepath.Join("testdata", pattern))
		for _, name := range names {
			rel := filepath.ToSlash(strings.TrimPrefix(name, "testdata"+string(filepath.Separator)))
			if !bytes.Contains(src, []byte(`file: "`+rel+`"`)) {
				t.Errorf("fixture %s has no case in TestDialects", rel)
			}
		}
	}
}

// TestResourceAndSummaryAgree checks that a /metrics/resource body and the
// /stats/summary body of the same workload decode to identical batches,
// whatever the summary's layout.
func TestResourceAndSummaryAgree(t *testing.T) {
	for _, pair := range [][2]string{
		{"resource/kubelet-1.2x.txt", "summary/kubelet-1.2x.json"},
		{"resource/random-order.txt", "summary/kubelet-1.2x.json"},
		{"resource/windows.txt", "summary/windows.json"},
		{"resource/swap.txt", "summary/swap.json"},
	} {
		fromText, err := decodeFixture(t, NewResourceDecoder(), readFixture(t, pair[0]))
		if err != nil {
			t.Fatal(err)
		}
		summary := readFixture(t, pair[1])
		var compact bytes.Buffer
		if err := json.Compact(&compact, summary); err != nil {
			t.Fatal(err)
		}
		d := NewSummaryDecoder()
		for _, body := range [][]byte{summary, compact.Bytes()} {
			fromJSON, err := decodeFixture(t, d, body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(fromText, fromJSON); diff != "" || !fromText.HasNode || len(fromText.Containers) == 0 {
				t.Errorf("%s and %s differ (-resource +summary):\n%s", pair[0], pair[1], diff)
			}
		}
	}
}

// TestFallbackTimestamp covers FallbackTimestampMs on small bodies.
func TestFallbackTimestamp(t *testing.T) {
	f := func(fallback int64, in string, w want) {
		t.Helper()
		checkDecode(t, &ResourceDecoder{FallbackTimestampMs: fallback}, in, w)
	}
	untimedCPU := strings.Replace(cpuLine, " 5\n", "\n", 1)
	untimedNode := "node_cpu_usage_seconds_total 1.5\nnode_memory_working_set_bytes 100\n"
	at := func(ts int64) []sample.Container { return []sample.Container{ctr("n", "p", "c", ts, 1e9, 2, 0)} }
	nodeAt := &sample.Point{TimestampMs: 7000, CPUNanos: 1.5e9, MemoryBytes: 100}

	f(7000, untimedCPU+memLine+untimedNode, want{node: nodeAt, containers: at(7000)})
	f(7000, untimedNode, want{node: nodeAt})
	f(7000, untimedCPU+memLine, want{containers: at(7000)})
	f(0, untimedCPU+memLine+untimedNode, want{skip: skips(sample.SkipMissingTimestamp, 2, sample.SkipIncomplete, 2)})
	f(-1, untimedCPU+memLine, want{skip: skips(sample.SkipMissingTimestamp, 1, sample.SkipIncomplete, 1)})
	// One timed CPU series turns the fallback off for the whole body.
	f(7000, untimedCPU+memLine+nodeOK, want{node: nodePt, skip: skips(sample.SkipMissingTimestamp, 1, sample.SkipIncomplete, 1)})
	f(7000, cpuLine+memLine+untimedNode, want{containers: complete, skip: skips(sample.SkipMissingTimestamp, 1, sample.SkipIncomplete, 1)})
	// Even when that series is itself dropped.
	f(7000, untimedCPU+memLine+`container_cpu_usage_seconds_total{container="",namespace="n",pod="p"} 1 5`+"\n",
		want{skip: skips(sample.SkipMissingLabel, 1, sample.SkipMissingTimestamp, 1, sample.SkipIncomplete, 1)})
	// Memory timestamps do not count: only CPU readings carry the time.
	f(7000, untimedCPU+memLine+"node_memory_working_set_bytes 100 1000\n",
		want{containers: at(7000), skip: skips(sample.SkipIncomplete, 1)})
	// Other faults still apply to untimed readings.
	f(7000, strings.Replace(untimedCPU, " 1\n", " NaN\n", 1)+memLine, want{skip: skips(sample.SkipInvalidValue, 1, sample.SkipIncomplete, 1)})
	f(7000, untimedCPU+untimedCPU+memLine, want{containers: at(7000), skip: skips(sample.SkipDuplicate, 1)})
	f(7000, untimedCPU, want{skip: skips(sample.SkipIncomplete, 1)})
	// The summary decoder has no fallback: the Summary API always gives a
	// reading its time.
	checkWith(t, "SummaryDecoder.Decode", NewSummaryDecoder().Decode, ErrNotJSON,
		sDoc("", sPod(sCtr(`"name":"c"`, `"cpu":{"usageCoreNanoSeconds":1}`, sumMemM))),
		want{skip: skips(sample.SkipMissingTimestamp, 1)})
}

// TestPauseContainer covers the sandbox series of the resource format.
func TestPauseContainer(t *testing.T) {
	pause := strings.ReplaceAll(cpuLine+memLine, `container="c"`, `container="POD"`)
	checkDecode(t, NewResourceDecoder(), pause+cpuLine+memLine, want{containers: complete})
	checkDecode(t, NewResourceDecoder(), strings.ReplaceAll(pause, `namespace="n",`, ""), want{})
	// Only the exact name: "pod" could be a real container.
	lower := strings.ReplaceAll(cpuLine+memLine, `container="c"`, `container="pod"`)
	checkDecode(t, NewResourceDecoder(), lower, want{containers: []sample.Container{ctr("n", "p", "pod", 5, 1e9, 2, 0)}})
}
