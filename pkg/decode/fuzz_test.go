package decode

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// fuzzLimits are small enough for the fuzzer to reach every cap.
var fuzzLimits = Limits{MaxContainers: 16, MaxPods: 6, MaxNameLength: 80}

func FuzzDecodeResource(f *testing.F) {
	for _, seed := range []string{
		kubeletExample,
		strings.ReplaceAll(kubeletExample, "\n", "\r\n"),
		string(kubeletBody(3, 2)),
		cpuLine + memLine,
		nodeOK,
		cpuLine + memLine + cpuLine + `container_start_time_seconds{container="c",namespace="n",pod="p"} 1.7325e+09` + "\n",
		`container_cpu_usage_seconds_total{pod="p\\q",container="c\"",namespace="n\n",} NaN` + "\n",
		`container_cpu_usage_seconds_total{ container = "c" , namespace="n",pod="p", }` + "\t1 \t 5 \r\n",
		"node_cpu_usage_seconds_total -1 0\nnode_memory_working_set_bytes +Inf\n",
		"node_cpu_usage_seconds_total 1e400 9223372036854775807\n",
		"container_memory_working_set_bytes{container=\"c\",namespace=\"n\",pod=\"p\"} 0x1p-2 -5\n",
		"\x00\x01\x02\xff",
		"<html></html>\n",
		"# HELP x\n\n",
		"node_cpu_usage_seconds_total 3456.78 17325",
		// Over fuzzLimits: pods, containers (in whole pods) and names.
		string(kubeletBody(7, 2)),
		string(kubeletBody(5, 4)),
		strings.ReplaceAll(cpuLine+memLine, `pod="p"`, `pod="`+strings.Repeat("p", 81)+`"`),
		strings.ReplaceAll(cpuLine+memLine, `container="c"`, `container="`+strings.Repeat(`\`, 80)+`"`),
	} {
		f.Add([]byte(seed))
	}
	for _, fx := range resourceFixtures(f) {
		f.Add(fx)
	}

	d := &ResourceDecoder{Limits: fuzzLimits}
	fallback := &ResourceDecoder{Limits: fuzzLimits, FallbackTimestampMs: 1732530000000}
	var first, second, third sample.Batch
	f.Fuzz(func(t *testing.T, body []byte) {
		// Decode a copy that is clobbered afterwards: any string aliasing
		// the body would show up as a difference from the second decode.
		clobbered := bytes.Clone(body)
		err := d.Decode(clobbered, &first)
		for i := range clobbered {
			clobbered[i] ^= 0xff
		}
		checkInvariants(t, body, &first, err)

		checkRepeatable(t, d, &ResourceDecoder{Limits: fuzzLimits}, body, &first, &second, err)

		// The fallback time changes nothing in a body with a timed CPU
		// series, and otherwise only keeps what lacked nothing else.
		err3 := fallback.Decode(body, &third)
		checkInvariants(t, body, &third, err3)
		if fallback.cpuTimed {
			if !sameBatch(&first, &third) {
				t.Fatalf("the fallback changed a timed body (-without +with):\n%s", cmp.Diff(first, third, cmpopts.EquateEmpty()))
			}
			return
		}
		if first.HasNode || len(first.Containers) > 0 {
			t.Fatalf("readings kept from a body without CPU timestamps: %+v", first)
		}
		if third.HasNode && third.NodePoint.TimestampMs != fallback.FallbackTimestampMs {
			t.Fatalf("node timestamp %d, want the fallback", third.NodePoint.TimestampMs)
		}
		for _, c := range third.Containers {
			if c.TimestampMs != fallback.FallbackTimestampMs {
				t.Fatalf("container %+v does not have the fallback timestamp", c)
			}
		}
	})
}

func checkInvariants(t *testing.T, body []byte, b *sample.Batch, err error) {
	t.Helper()
	total := checkBatch(t, b, err)
	// Each line is counted at most once, each container (and the node) at
	// most once more as incomplete.
	if lines := uint64(bytes.Count(body, []byte("\n")) + 1); total > 2*lines+1 {
		t.Fatalf("%d skips for %d lines", total, lines)
	}
}

// checkBatch checks what must hold of any batch decoded under fuzzLimits,
// and returns its total skip count.
func checkBatch(t *testing.T, b *sample.Batch, err error) (skips uint64) {
	t.Helper()
	limits := fuzzLimits.WithDefaults()
	if err != nil && (b.HasNode || len(b.Containers) > 0) {
		t.Fatalf("error %v, yet the batch holds readings", err)
	}
	if b.HasNode {
		if b.NodePoint.TimestampMs <= 0 {
			t.Fatalf("node reading with timestamp %d", b.NodePoint.TimestampMs)
		}
	} else if b.NodePoint != (sample.Point{}) {
		t.Fatalf("no node reading, yet NodePoint = %+v", b.NodePoint)
	}
	if len(b.Containers) > limits.MaxContainers {
		t.Fatalf("%d containers, above the cap of %d", len(b.Containers), limits.MaxContainers)
	}
	seen := make(map[containerKey]bool, len(b.Containers))
	pods := make(map[containerKey]bool)
	for _, c := range b.Containers {
		for _, name := range []string{c.Namespace, c.Pod, c.Name} {
			if _, ok := checkName([]byte(name), false, limits.MaxNameLength); !ok {
				t.Fatalf("container %+v has a bad name %q", c, name)
			}
		}
		pods[containerKey{namespace: c.Namespace, pod: c.Pod}] = true
		if c.TimestampMs <= 0 || c.StartTimeMs < 0 {
			t.Fatalf("container %+v has a bad timestamp", c)
		}
		k := containerKey{c.Namespace, c.Pod, c.Name}
		if seen[k] {
			t.Fatalf("container %+v appears twice", k)
		}
		seen[k] = true
	}
	if len(pods) > limits.MaxPods {
		t.Fatalf("%d pods, above the cap of %d", len(pods), limits.MaxPods)
	}
	for _, n := range b.Skipped {
		skips += uint64(n)
	}
	return skips
}

// checkRepeatable checks that what d decoded into first (with err) from a
// copy of body, clobbered since, is what d and fresh, a new decoder, decode
// from body: a string aliasing the body would differ, and so would a
// decoder whose result depends on what it decoded before.
func checkRepeatable(t *testing.T, d, fresh decoder, body []byte, first, second *sample.Batch, err error) {
	t.Helper()
	err2 := d.Decode(body, second)
	if (err == nil) != (err2 == nil) {
		t.Fatalf("errors differ between decodes: %v, %v", err, err2)
	}
	if !sameBatch(first, second) {
		t.Fatalf("decoding twice differs (-first +second):\n%s", cmp.Diff(*first, *second, cmpopts.EquateEmpty()))
	}
	var again sample.Batch
	_ = fresh.Decode(body, &again)
	if !sameBatch(first, &again) {
		t.Fatalf("a fresh decoder differs (-reused +fresh):\n%s", cmp.Diff(*first, again, cmpopts.EquateEmpty()))
	}
}

// sameBatch is cmp.Diff's verdict without its reflection, which would
// otherwise dominate the fuzzer's time per input.
func sameBatch(a, b *sample.Batch) bool {
	return a.Node == b.Node && a.HasNode == b.HasNode && a.NodePoint == b.NodePoint &&
		a.Skipped == b.Skipped && slices.Equal(a.Containers, b.Containers)
}
