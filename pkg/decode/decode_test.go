package decode

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// want is the expected outcome of one decode; skip lists reason, count pairs.
type want struct {
	node       *sample.Point
	containers []sample.Container
	skip       []skipCount
	err        bool
}

type skipCount struct {
	reason sample.SkipReason
	n      uint32
}

func ctr(ns, pod, name string, ts int64, cpu, mem uint64, start int64) sample.Container {
	return sample.Container{Namespace: ns, Pod: pod, Name: name, StartTimeMs: start,
		Point: sample.Point{TimestampMs: ts, CPUNanos: cpu, MemoryBytes: mem}}
}

// Short names of the skip reasons, for the tables of expected outcomes.
const (
	malformed   = sample.SkipMalformed
	invalid     = sample.SkipInvalidValue
	noTS        = sample.SkipMissingTimestamp
	duplicate   = sample.SkipDuplicate
	incomplete  = sample.SkipIncomplete
	noLabel     = sample.SkipMissingLabel
	tooMany     = sample.SkipTooMany
	tooManyPods = sample.SkipTooManyPods
	tooLong     = sample.SkipNameTooLong
)

func skips(pairs ...any) []skipCount {
	var s []skipCount
	for i := 0; i < len(pairs); i += 2 {
		s = append(s, skipCount{pairs[i].(sample.SkipReason), uint32(pairs[i+1].(int))})
	}
	return s
}

func (w want) batch() sample.Batch {
	b := sample.Batch{Node: "node-1", Containers: w.containers}
	if w.node != nil {
		b.HasNode, b.NodePoint = true, *w.node
	}
	for _, s := range w.skip {
		b.Skipped[s.reason] += s.n
	}
	return b
}

// checkDecode decodes in twice with d, into a fresh and into a dirty batch,
// and compares both results with w.
func checkDecode(t *testing.T, d *ResourceDecoder, in string, w want) {
	t.Helper()
	checkWith(t, "ResourceDecoder.Decode", d.Decode, ErrNotText, in, w)
}

// checkWith is checkDecode for either decoder's Decode; its errors must wrap
// sentinel.
func checkWith(t *testing.T, method string, decode func([]byte, *sample.Batch) error, sentinel error, in string, w want) {
	t.Helper()
	wantB := w.batch()
	for round, b := range []*sample.Batch{
		{Node: "node-1"},
		{Node: "node-1", HasNode: true, NodePoint: sample.Point{TimestampMs: 9, CPUNanos: 9, MemoryBytes: 9},
			Containers: make([]sample.Container, 3, 8), Skipped: [sample.NumSkipReasons]uint32{1, 2, 3}},
	} {
		err := decode([]byte(in), b)
		if gotErr := err != nil; gotErr != w.err {
			t.Fatalf("round %d: %s(%q) error = %v, want error: %v", round, method, clipS(in), err, w.err)
		}
		if err != nil && !errors.Is(err, sentinel) {
			t.Fatalf("round %d: error %v does not wrap %v", round, err, sentinel)
		}
		if len(b.Containers) == 0 {
			b.Containers = nil
		}
		if diff := cmp.Diff(wantB, *b); diff != "" {
			t.Fatalf("round %d: %s(%q) mismatch (-want +got):\n%s", round, method, clipS(in), diff)
		}
	}
}

func clipS(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

const (
	cpuLine = `container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1 5` + "\n"
	memLine = `container_memory_working_set_bytes{container="c",namespace="n",pod="p"} 2 5` + "\n"
	nodeOK  = "node_cpu_usage_seconds_total 1.5 1000\nnode_memory_working_set_bytes 100 1000\n"
)

var (
	cNP      = ctr("n", "p", "c", 5, 1e9, 2, 0)
	nodePt   = &sample.Point{TimestampMs: 1000, CPUNanos: 1.5e9, MemoryBytes: 100}
	complete = []sample.Container{cNP}
)

func TestDecodeResource(t *testing.T) {
	f := func(in string, w want) {
		t.Helper()
		checkDecode(t, NewResourceDecoder(), in, w)
	}

	// The kubelet's own output.
	f(kubeletExample, want{
		node:       &sample.Point{TimestampMs: 1732530000111, CPUNanos: 3456780000000, MemoryBytes: 2500000000},
		containers: []sample.Container{ctr("default", "web-1", "app", 1732530000123, 12345678000, 12345670, 1732500000000)},
	})
	f(strings.ReplaceAll(kubeletExample, "\n", "\r\n"), want{
		node:       &sample.Point{TimestampMs: 1732530000111, CPUNanos: 3456780000000, MemoryBytes: 2500000000},
		containers: []sample.Container{ctr("default", "web-1", "app", 1732530000123, 12345678000, 12345670, 1732500000000)},
	})

	// Empty and comment-only bodies are text with nothing in it.
	f("", want{})
	f("\n\n   \n\t\n", want{})
	f("# HELP x y\n# TYPE x gauge\n#\n", want{})
	f("# unterminated comment", want{})

	// Node.
	f(nodeOK, want{node: nodePt})
	f("node_memory_working_set_bytes 100\nnode_cpu_usage_seconds_total 1.5 1000\n", want{node: nodePt})
	f(`node_cpu_usage_seconds_total{node="x"} 1.5 1000`+"\nnode_memory_working_set_bytes{} 100 7\n", want{node: nodePt})
	f("node_cpu_usage_seconds_total 1.5\nnode_memory_working_set_bytes 100 1000\n", want{skip: skips(noTS, 1, incomplete, 1)})
	f("node_cpu_usage_seconds_total -1.5 1000\nnode_memory_working_set_bytes 100 1000\n", want{skip: skips(invalid, 1, incomplete, 1)})
	f("node_cpu_usage_seconds_total 1.5 1000\nnode_memory_working_set_bytes NaN 1000\n", want{skip: skips(invalid, 1, incomplete, 1)})
	f("node_cpu_usage_seconds_total 1.5 1000\n", want{skip: skips(incomplete, 1)})
	f("node_cpu_usage_seconds_total 1.5 0\nnode_memory_working_set_bytes 1 1\n", want{skip: skips(invalid, 1, incomplete, 1)})
	f("node_cpu_usage_seconds_total 1.5 -7\nnode_memory_working_set_bytes 1 1\n", want{skip: skips(invalid, 1, incomplete, 1)})
	f(nodeOK+"node_cpu_usage_seconds_total 9 9\n", want{node: nodePt, skip: skips(duplicate, 1)})
	f("node_cpu_usage_seconds_total NaN 1\n"+nodeOK, want{skip: skips(invalid, 1, duplicate, 1, incomplete, 1)})
	f("node_cpu_usage_seconds_total 0 1\nnode_memory_working_set_bytes 0 1\n",
		want{node: &sample.Point{TimestampMs: 1}})

	// Containers: complete, zero, label order, extra labels, whitespace.
	f(cpuLine+memLine, want{containers: complete})
	f(memLine+cpuLine, want{containers: complete})
	f(`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 0 5`+"\n"+
		`container_memory_working_set_bytes{container="c",namespace="n",pod="p"} 0 5`+"\n",
		want{containers: []sample.Container{ctr("n", "p", "c", 5, 0, 0, 0)}})
	f(`container_cpu_usage_seconds_total{pod="p",container="c",namespace="n"} 1 5`+"\n"+
		`container_memory_working_set_bytes{namespace="n",pod="p",container="c",id="/x",image="a\"b\\c\n"} 2`+"\n",
		want{containers: complete})
	f("  \t"+`container_cpu_usage_seconds_total{ container = "c" , namespace="n",pod="p", }`+"\t1 \t 5 \r\n"+
		`container_memory_working_set_bytes{container="c",namespace="n",pod="p"}2 5`+"\n",
		want{containers: complete})
	f(cpuLine+memLine+`container_start_time_seconds{container="c",namespace="n",pod="p"} 1.7325e+09`+"\n",
		want{containers: []sample.Container{ctr("n", "p", "c", 5, 1e9, 2, 1732500000000)}})
	f(cpuLine+memLine+`container_start_time_seconds{container="c",namespace="n",pod="p"} 12.3456`+"\n",
		want{containers: []sample.Container{ctr("n", "p", "c", 5, 1e9, 2, 12346)}})
	f(cpuLine+memLine+`container_start_time_seconds{container="c",namespace="n",pod="p"} NaN`+"\n",
		want{containers: complete, skip: skips(invalid, 1)})
	// Same names in other roles are other containers.
	f(cpuLine+memLine+
		`container_cpu_usage_seconds_total{container="p",namespace="n",pod="c"} 3 6`+"\n"+
		`container_memory_working_set_bytes{container="p",namespace="n",pod="c"} 4 6`+"\n",
		want{containers: []sample.Container{cNP, ctr("n", "c", "p", 6, 3e9, 4, 0)}})

	// Values in the forms strconv reads; rounding to the nearest unit.
	f(strings.Replace(cpuLine, " 1 ", " 12.345678 ", 1)+strings.Replace(memLine, " 2 ", " 1.2e+07 ", 1),
		want{containers: []sample.Container{ctr("n", "p", "c", 5, 12345678000, 12000000, 0)}})
	f(strings.Replace(cpuLine, " 1 ", " +0x1p-2 ", 1)+strings.Replace(memLine, " 2 ", " 2.5 ", 1),
		want{containers: []sample.Container{ctr("n", "p", "c", 5, 250000000, 3, 0)}})
	f(strings.Replace(cpuLine, " 1 ", " 1.6e-9 ", 1)+memLine,
		want{containers: []sample.Container{ctr("n", "p", "c", 5, 2, 2, 0)}})
	f(strings.Replace(cpuLine, " 1 ", " 1.8446744073709552e+10 ", 1)+memLine, // 2^64 ns
		want{skip: skips(invalid, 1, incomplete, 1)})
	f(cpuLine+strings.Replace(memLine, " 2 ", " 1e400 ", 1), want{skip: skips(invalid, 1, incomplete, 1)})
	for _, bad := range []string{"NaN", "+Inf", "-Inf", "Inf", "-1", "-1e-300"} {
		f(strings.Replace(cpuLine, " 1 ", " "+bad+" ", 1)+memLine, want{skip: skips(invalid, 1, incomplete, 1)})
		f(cpuLine+strings.Replace(memLine, " 2 ", " "+bad+" ", 1), want{skip: skips(invalid, 1, incomplete, 1)})
	}
	f(strings.Replace(cpuLine, " 1 ", " -0 ", 1)+memLine,
		want{containers: []sample.Container{ctr("n", "p", "c", 5, 0, 2, 0)}})

	// Timestamps: required on CPU only, positive, integral.
	f(strings.Replace(cpuLine, " 5\n", "\n", 1)+memLine, want{skip: skips(noTS, 1, incomplete, 1)})
	f(cpuLine+strings.Replace(memLine, " 5\n", "\n", 1), want{containers: complete})
	f(strings.Replace(cpuLine, " 5\n", " 0\n", 1)+memLine, want{skip: skips(invalid, 1, incomplete, 1)})
	f(strings.Replace(cpuLine, " 5\n", " +5\n", 1)+memLine, want{containers: complete})
	for _, bad := range []string{"5.0", "5e3", "0x5", "5x", "-", "99999999999999999999", "9223372036854775808"} {
		f(strings.Replace(cpuLine, " 5\n", " "+bad+"\n", 1)+memLine, want{skip: skips(malformed, 1, incomplete, 1)})
	}
	f(strings.Replace(cpuLine, " 5\n", " 9223372036854775807\n", 1)+memLine,
		want{containers: []sample.Container{ctr("n", "p", "c", 9223372036854775807, 1e9, 2, 0)}})
	f(strings.Replace(cpuLine, " 5\n", " 5 6\n", 1)+memLine, want{skip: skips(malformed, 1, incomplete, 1)})

	// Incomplete and duplicate containers; the first occurrence decides.
	f(cpuLine, want{skip: skips(incomplete, 1)})
	f(memLine, want{skip: skips(incomplete, 1)})
	f(`container_start_time_seconds{container="c",namespace="n",pod="p"} 1`+"\n", want{skip: skips(incomplete, 1)})
	f(cpuLine+memLine+strings.Replace(cpuLine, " 1 ", " 7 ", 1), want{containers: complete, skip: skips(duplicate, 1)})
	f(cpuLine+memLine+memLine+cpuLine, want{containers: complete, skip: skips(duplicate, 2)})
	f(strings.Replace(cpuLine, " 1 ", " NaN ", 1)+cpuLine+memLine, want{skip: skips(invalid, 1, duplicate, 1, incomplete, 1)})
	f(strings.Replace(cpuLine, `pod="p"`, `pod="p",image="x"`, 1)+cpuLine+memLine,
		want{containers: complete, skip: skips(duplicate, 1)})

	// Labels naming the container.
	f(`container_cpu_usage_seconds_total{container="c",pod="p"} 1 5`+"\n"+memLine, want{skip: skips(noLabel, 1, incomplete, 1)})
	f(`container_cpu_usage_seconds_total{container="",namespace="n",pod="p"} 1 5`+"\n"+memLine, want{skip: skips(noLabel, 1, incomplete, 1)})
	f(`container_cpu_usage_seconds_total 1 5`+"\n"+memLine, want{skip: skips(noLabel, 1, incomplete, 1)})
	f(`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p",pod="q"} 1 5`+"\n"+memLine,
		want{skip: skips(malformed, 1, incomplete, 1)})
	f(`container_cpu_usage_seconds_total{container="c",namespace="n",pod="",pod="q"} 1 5`+"\n"+memLine,
		want{skip: skips(malformed, 1, incomplete, 1)})

	// Escapes in kept labels are undone; a name cannot hold a newline.
	f(`container_cpu_usage_seconds_total{container="c\\d\"e",namespace="n",pod="p"} 1 5`+"\n"+
		`container_memory_working_set_bytes{container="c\\d\"e",namespace="n",pod="p"} 2 5`+"\n",
		want{containers: []sample.Container{ctr("n", "p", `c\d"e`, 5, 1e9, 2, 0)}})
	f(`container_cpu_usage_seconds_total{container="c\nd",namespace="n",pod="p"} 1 5`+"\n", want{skip: skips(malformed, 1)})
	f(`container_cpu_usage_seconds_total{container="c\td",namespace="n",pod="p"} 1 5`+"\n", want{skip: skips(malformed, 1), err: true})
	f(`container_cpu_usage_seconds_total{container="c\",namespace="n",pod="p"} 1 5`+"\n", want{skip: skips(malformed, 1), err: true})
	f(`container_cpu_usage_seconds_total{container="c`+"\xff"+`",namespace="n",pod="p"} 1 5`+"\n", want{skip: skips(malformed, 1)})
	f(`container_cpu_usage_seconds_total{container="cé",namespace="n",pod="p"} 1 5`+"\n"+
		`container_memory_working_set_bytes{container="cé",namespace="n",pod="p"} 2 5`+"\n",
		want{containers: []sample.Container{ctr("n", "p", "c\u00e9", 5, 1e9, 2, 0)}})

	// Huge label values: names past any Kubernetes limit are refused,
	// values of ignored labels are only scanned.
	long := strings.Repeat("a", DefaultMaxNameLength)
	f(strings.ReplaceAll(cpuLine+memLine, `pod="p"`, `pod="`+long+`"`),
		want{containers: []sample.Container{ctr("n", long, "c", 5, 1e9, 2, 0)}})
	f(strings.ReplaceAll(cpuLine+memLine, `pod="p"`, `pod="`+long+`a"`), want{skip: skips(sample.SkipNameTooLong, 2)})
	f(strings.Replace(cpuLine, `pod="p"`, `pod="p",id="`+strings.Repeat(`x\"`, 1<<18)+`"`, 1)+memLine,
		want{containers: complete})

	// Label-set syntax.
	for _, bad := range []string{
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p" 1 5`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"`,
		`container_cpu_usage_seconds_total{container="c" namespace="n",pod="p"} 1 5`,
		`container_cpu_usage_seconds_total{container=c,namespace="n",pod="p"} 1 5`,
		`container_cpu_usage_seconds_total{container"c",namespace="n",pod="p"} 1 5`,
		`container_cpu_usage_seconds_total{,container="c",namespace="n",pod="p"} 1 5`,
		`container_cpu_usage_seconds_total{9container="c",namespace="n",pod="p"} 1 5`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p}`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p\`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"}} 1 5`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1 5 6`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"}`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} one 5`,
		`container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1"`,
		`container_cpu_usage_seconds_total`,
		`node_cpu_usage_seconds_total`,
		`node_cpu_usage_seconds_total"x" 1 1`,
		"node_cpu_usage_seconds_total 1 1\rx",
	} {
		f(bad+"\n"+memLine, want{skip: skips(malformed, 1, incomplete, 1)})
	}
	f(`container_cpu_usage_seconds_total{} 1 5`+"\n", want{skip: skips(noLabel, 1)})

	// Unknown series are skipped without a count.
	f(cpuLine+memLine+
		`container_swap_usage_bytes{container="c",namespace="n",pod="p"} NaN`+"\n"+
		`pod_cpu_usage_seconds_total{namespace="n",pod="p"} 1 5`+"\n"+
		"scrape_error 1\nresource_scrape_error 0\nfoo:bar_total{a=\"b\"} 7\nnode_cpu_usage_seconds_totals 1 1\n"+
		"container_cpu_usage_seconds{container=\"c\",namespace=\"n\",pod=\"p\"} -1 1\n",
		want{containers: complete})

	// Truncated bodies: the cut line is malformed, the rest is kept.
	full := kubeletExample
	cut := strings.Index(full, "node_memory_working_set_bytes 2.5e+09") + len("node_memory_working_set_bytes 2.5e+0")
	f(full[:cut], want{
		containers: []sample.Container{ctr("default", "web-1", "app", 1732530000123, 12345678000, 12345670, 1732500000000)},
		skip:       skips(malformed, 1, incomplete, 1),
	})
	cut = strings.Index(full, `container_memory_working_set_bytes{container="app",nam`) + len(`container_memory_working_set_bytes{container="app",nam`)
	f(full[:cut], want{skip: skips(malformed, 1, incomplete, 1)})
	f(nodeOK+"node_swap_usage_bytes 0", want{node: nodePt, skip: skips(malformed, 1)})
	f(nodeOK+"  \t", want{node: nodePt})

	// Not text at all.
	f("\x00\x01\x02\xff\xfe", want{skip: skips(malformed, 1), err: true})
	f("<html><body>Unauthorized</body></html>\n", want{skip: skips(malformed, 1), err: true})
	f(`{"node":{"nodeName":"n1","cpu":{"usageNanoCores":1}}}`+"\n", want{skip: skips(malformed, 1), err: true})
	f("Unauthorized", want{skip: skips(malformed, 1), err: true})
	f("# comment\n\x00\n\x01\n", want{skip: skips(malformed, 2), err: true})
	// Garbage beside one sample line is not an error.
	f("\x00\n"+nodeOK, want{node: nodePt, skip: skips(malformed, 1)})
}

func TestDecodeResourceTooMany(t *testing.T) {
	d := &ResourceDecoder{Limits: Limits{MaxContainers: 2}}
	var in strings.Builder
	for _, pod := range []string{"p1", "p2", "p3", "p4"} {
		in.WriteString(strings.ReplaceAll(cpuLine, `pod="p"`, `pod="`+pod+`"`))
	}
	for _, pod := range []string{"p1", "p2", "p3", "p4"} {
		in.WriteString(strings.ReplaceAll(memLine, `pod="p"`, `pod="`+pod+`"`))
	}
	checkDecode(t, d, in.String(), want{
		containers: []sample.Container{ctr("n", "p1", "c", 5, 1e9, 2, 0), ctr("n", "p2", "c", 5, 1e9, 2, 0)},
		skip:       skips(sample.SkipTooMany, 4),
	})
	// The names of refused containers are not interned: the cap bounds
	// memory, not just output.
	if got := len(d.t.intern); got != 4 {
		t.Errorf("intern table holds %d names, want 4 (n, p1, p2, c)", got)
	}

	// The defaults apply to the zero decoder. kubeletBody sorts series by
	// container name, as the kubelet does, so the cap on containers falls
	// within the last container name: the two pods that lose their third
	// container to it lose their first two as well (3 series each refused,
	// 2 containers each dropped at the end).
	var zero ResourceDecoder
	var b sample.Batch
	if err := zero.Decode(kubeletBody(DefaultMaxContainers/3+1, 3), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Containers) != DefaultMaxContainers-4 || b.Skipped[sample.SkipTooMany] != 2*3+2*2 {
		t.Errorf("got %d containers, %d too many; want %d, 10", len(b.Containers), b.Skipped[sample.SkipTooMany], DefaultMaxContainers-4)
	}
	// One pod too many: all of its containers are refused.
	if err := zero.Decode(kubeletBody(DefaultMaxPods+1, 2), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Containers) != 2*DefaultMaxPods || b.Skipped[sample.SkipTooManyPods] != 2*3 || b.Skipped[sample.SkipTooMany] != 0 {
		t.Errorf("got %d containers, skipped %v; want %d, 6 too many pods", len(b.Containers), b.Skipped, 2*DefaultMaxPods)
	}
}

func TestDecodeResourceError(t *testing.T) {
	in := "<html>" + strings.Repeat("x", 200) + "\n"
	err := NewResourceDecoder().Decode([]byte(in), &sample.Batch{})
	if !errors.Is(err, ErrNotText) {
		t.Fatalf("error = %v, want ErrNotText", err)
	}
	wantMsg := `body is not Prometheus text exposition: no sample line, 1 malformed; line 1: bad metric name: "<html>` +
		strings.Repeat("x", 58) + `"`
	if err.Error() != wantMsg {
		t.Errorf("error message\n got %s\nwant %s", err, wantMsg)
	}
}
