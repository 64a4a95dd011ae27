package api

import (
	"fmt"
	"math"
	"math/rand/v2"

	"k8s.io/apimachinery/pkg/fields"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// TestDataset is a random cluster for the byte-identity tests of FastList,
// here and in package api_test (which reaches it through this exported
// test-only type).
type TestDataset struct {
	Reader *fakeReader
	Nodes  *fakeNodeLister
	Pods   *fakePodLister
	// Namespaces are the valid namespace names pods live in, and one
	// without pods.
	Namespaces []string
	// LabelSelectors and FieldSelectors are selectors worth trying, the
	// empty one first.
	LabelSelectors, FieldSelectors []string
}

// The strings names and labels are drawn from when they are not ordinary:
// everything encoding/json escapes or passes through specially.
var oddStrings = []string{
	`quote"d`, `back\slash`, `<script>&amp;</script>`, "tab\there", "new\nline", "cr\rff\fbs\b",
	"\x00\x01\x1f\x7f", "ünïcödé", "line\u2028para\u2029", "bad\xffutf8\xfe", "trunc\xe2\x82", "emoji😀",
	"/slashes/", "", " ", "日本語",
}

var labelKeys = []string{"app", "tier", "team", "example.com/role", "pod-template-hash"}
var labelValues = []string{"web", "db", "cache", "a", "", "v1.2.3", "x_y-z"}

// NewTestDataset draws a dataset from seed. Large makes it big enough for
// the responses to cross the apiserver's gzip threshold.
func NewTestDataset(seed uint64, large bool) *TestDataset {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ds := &TestDataset{
		Reader: &fakeReader{nodes: map[string]sample.Usage{}, pods: map[podKey][]sample.ContainerUsage{}},
		Nodes:  &fakeNodeLister{},
		Pods:   &fakePodLister{},
	}
	name := func(prefix string, i int) string {
		if rng.IntN(50) == 0 {
			return "" // omitted from the JSON, an empty string in protobuf
		}
		if rng.IntN(8) == 0 {
			return prefix + oddStrings[rng.IntN(len(oddStrings))] + fmt.Sprint(i)
		}
		return fmt.Sprintf("%s-%d", prefix, i)
	}
	labelSet := func() map[string]string {
		switch rng.IntN(6) {
		case 0:
			return nil
		case 1:
			return map[string]string{}
		}
		m := map[string]string{}
		for range 1 + rng.IntN(5) {
			m[labelKeys[rng.IntN(len(labelKeys))]] = labelValues[rng.IntN(len(labelValues))]
		}
		if rng.IntN(5) == 0 {
			m[oddStrings[rng.IntN(len(oddStrings))]] = oddStrings[rng.IntN(len(oddStrings))]
		}
		return m
	}

	nodes := rng.IntN(16)
	pods := rng.IntN(48)
	if large {
		nodes, pods = 200+rng.IntN(100), 600+rng.IntN(400)
	}
	for i := range nodes {
		n := node(name("node", i), labelSet())
		ds.Nodes.nodes = append(ds.Nodes.nodes, n)
		if rng.IntN(8) != 0 {
			ds.Reader.nodes[n.Name] = randomUsage(rng)
		}
	}
	namespaces := []string{"default", "kube-system", "team-a", "empty-ns"}
	ds.Namespaces = namespaces
	for i := range pods {
		namespace := namespaces[rng.IntN(3)]
		switch rng.IntN(40) {
		case 0, 1:
			namespace = `we"ird ns`
		case 2:
			namespace = ""
		}
		p := pod(namespace, name("pod", i), labelSet())
		ds.Pods.pods = append(ds.Pods.pods, p)
		switch rng.IntN(10) {
		case 0: // no data yet
			continue
		case 1: // known to the store, no containers
			ds.Reader.pods[podKey{p.Namespace, p.Name}] = []sample.ContainerUsage{}
			continue
		}
		containers := make([]sample.ContainerUsage, 1+rng.IntN(4))
		for j := range containers {
			containers[j] = sample.ContainerUsage{Name: name("c", j), Usage: randomUsage(rng)}
		}
		ds.Reader.pods[podKey{p.Namespace, p.Name}] = containers
	}
	// Data for a pod the lister does not know is not served.
	ds.Reader.pods[podKey{"default", "gone"}] = []sample.ContainerUsage{{Name: "app", Usage: randomUsage(rng)}}

	ds.LabelSelectors = []string{"", "app=web", "app!=web", "tier", "!tier", "app in (web,db)", "app notin (web)", "app=web,tier", "team=cache"}
	ds.FieldSelectors = []string{"", "metadata.namespace=default", "metadata.namespace!=kube-system", "metadata.name=node-1", "metadata.namespace="}
	for _, p := range ds.Pods.pods[:min(3, len(ds.Pods.pods))] {
		ds.FieldSelectors = append(ds.FieldSelectors,
			"metadata.name="+fields.EscapeValue(p.Name),
			"metadata.name!="+fields.EscapeValue(p.Name)+",metadata.namespace="+fields.EscapeValue(p.Namespace))
	}
	return ds
}

func randomUsage(rng *rand.Rand) sample.Usage {
	values := []uint64{0, 1, 999, 1000, 1001, 1023, 1024, 1 << 20, 5 << 30, 1_500_000, 123_456_789, 1_000_000_000,
		2_500_000_000, math.MaxInt64, math.MaxInt64 + 1, math.MaxInt64 + 10, math.MaxUint64}
	value := func() uint64 {
		switch rng.IntN(3) {
		case 0:
			return values[rng.IntN(len(values))]
		case 1:
			return rng.Uint64N(1 << 40)
		}
		return rng.Uint64() >> rng.IntN(64)
	}
	base := now.UnixMilli()
	timestamps := []int64{base - 15_000, base - 14_250, base, 0, -1_500, -62_135_596_800_000, 300_000_000_000_000, base + 999}
	windows := []int64{15_000, 14_500, 30_000, 0, 1, 60_000, 3_600_000, -5, math.MaxInt64/1000 + 7}
	ts := base - rng.Int64N(60_000)
	if rng.IntN(6) == 0 {
		ts = timestamps[rng.IntN(len(timestamps))]
	}
	window := int64(15_000)
	if rng.IntN(3) == 0 {
		window = windows[rng.IntN(len(windows))]
	}
	return sample.Usage{TimestampMs: ts, WindowMs: window, CPUNanoCores: value(), MemoryBytes: value()}
}

// Fakes for package api_test, which cannot name the unexported types.
var (
	_ MetricsReader = (*fakeReader)(nil)
	_ NodeLister    = (*fakeNodeLister)(nil)
	_ pods.Lister   = (*fakePodLister)(nil)
)

// SetListersFailing makes the dataset's listers fail every call.
func (ds *TestDataset) SetListersFailing(err error) {
	ds.Nodes.err = err
	ds.Pods.err = err
}

// String describes the dataset's size, for test messages.
func (ds *TestDataset) String() string {
	return fmt.Sprintf("%d nodes, %d pods", len(ds.Nodes.nodes), len(ds.Pods.pods))
}
