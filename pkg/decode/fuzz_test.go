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
	} {
		f.Add([]byte(seed))
	}

	d := &Decoder{MaxContainers: 16}
	var first, second sample.Batch
	f.Fuzz(func(t *testing.T, body []byte) {
		// Decode a copy that is clobbered afterwards: any string aliasing
		// the body would show up as a difference from the second decode.
		clobbered := bytes.Clone(body)
		err := d.DecodeResource(clobbered, &first)
		for i := range clobbered {
			clobbered[i] ^= 0xff
		}
		checkInvariants(t, d, body, &first, err)

		err2 := d.DecodeResource(body, &second)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("errors differ between decodes: %v, %v", err, err2)
		}
		if !sameBatch(&first, &second) {
			t.Fatalf("decoding twice differs (-first +second):\n%s", cmp.Diff(first, second, cmpopts.EquateEmpty()))
		}
		var fresh sample.Batch
		_ = (&Decoder{MaxContainers: 16}).DecodeResource(body, &fresh)
		if !sameBatch(&first, &fresh) {
			t.Fatalf("a fresh decoder differs (-reused +fresh):\n%s", cmp.Diff(first, fresh, cmpopts.EquateEmpty()))
		}
	})
}

func checkInvariants(t *testing.T, d *Decoder, body []byte, b *sample.Batch, err error) {
	t.Helper()
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
	if len(b.Containers) > d.MaxContainers {
		t.Fatalf("%d containers, above the cap of %d", len(b.Containers), d.MaxContainers)
	}
	seen := make(map[containerKey]bool, len(b.Containers))
	for _, c := range b.Containers {
		for _, name := range []string{c.Namespace, c.Pod, c.Name} {
			if !validName([]byte(name)) {
				t.Fatalf("container %+v has a bad name %q", c, name)
			}
		}
		if c.TimestampMs <= 0 || c.StartTimeMs < 0 {
			t.Fatalf("container %+v has a bad timestamp", c)
		}
		k := containerKey{c.Namespace, c.Pod, c.Name}
		if seen[k] {
			t.Fatalf("container %+v appears twice", k)
		}
		seen[k] = true
	}
	// Each line is counted at most once, each container (and the node) at
	// most once more as incomplete.
	var total uint64
	for _, n := range b.Skipped {
		total += uint64(n)
	}
	if lines := uint64(bytes.Count(body, []byte("\n")) + 1); total > 2*lines+1 {
		t.Fatalf("%d skips for %d lines", total, lines)
	}
}

// sameBatch is cmp.Diff's verdict without its reflection, which would
// otherwise dominate the fuzzer's time per input.
func sameBatch(a, b *sample.Batch) bool {
	return a.Node == b.Node && a.HasNode == b.HasNode && a.NodePoint == b.NodePoint &&
		a.Skipped == b.Skipped && slices.Equal(a.Containers, b.Containers)
}
