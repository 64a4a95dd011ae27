package decode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// decoder is what both decoders offer, for the tests that hold of both.
type decoder interface {
	Decode(body []byte, b *sample.Batch) error
}

var (
	_ decoder = (*ResourceDecoder)(nil)
	_ decoder = (*SummaryDecoder)(nil)
)

// format is one of the two decoders with a kubelet's response in its format.
type format struct {
	name string
	// newDecoder returns a new decoder under limits, and its table.
	newDecoder func(Limits) (decoder, *table)
	// body is a response for pods of containers each; kubeletBody and
	// summaryBody write the same workload.
	body func(pods, containers int) []byte
}

func formats(tb testing.TB) []format {
	return []format{{
		name:       "resource",
		newDecoder: func(l Limits) (decoder, *table) { d := &ResourceDecoder{Limits: l}; return d, &d.t },
		body:       kubeletBody,
	}, {
		name:       "summary",
		newDecoder: func(l Limits) (decoder, *table) { d := &SummaryDecoder{Limits: l}; return d, &d.t },
		body:       func(pods, containers int) []byte { return summaryBody(tb, pods, containers) },
	}}
}

// TestDecodersOwnStrings checks that no string in a batch aliases the body,
// which the caller reuses for the next scrape: neither a name read from the
// body's bytes nor one unescaped into the scratch space.
func TestDecodersOwnStrings(t *testing.T) {
	escaped := map[string]string{
		"resource": strings.ReplaceAll(cpuLine+memLine, `pod="p"`, `pod="p\\q"`) +
			strings.ReplaceAll(cpuLine+memLine, `pod="p"`, `pod="fresh"`),
		"summary": sDoc("", strings.Replace(sPod(sC), `"name":"p"`, `"name":"p\\q"`, 1),
			strings.Replace(sPod(sC), `"name":"p"`, `"name":"fresh"`, 1)),
	}
	for _, f := range formats(t) {
		t.Run(f.name, func(t *testing.T) {
			body := []byte(escaped[f.name])
			d, _ := f.newDecoder(Limits{})
			var b sample.Batch
			if err := d.Decode(body, &b); err != nil {
				t.Fatal(err)
			}
			before := append([]sample.Container(nil), b.Containers...)
			for i := range body {
				body[i] = 'X'
			}
			if diff := cmp.Diff(before, b.Containers); diff != "" || len(before) != 2 {
				t.Errorf("batch changed with the body (-before +after):\n%s", diff)
			}
			if before[0].Pod != `p\q` || before[1].Pod != "fresh" {
				t.Errorf("pods = %q, %q", before[0].Pod, before[1].Pod)
			}
		})
	}
}

// TestDecodersSteadyState checks that re-decoding the same node's response
// allocates nothing once the decoder and Batch have warmed up.
func TestDecodersSteadyState(t *testing.T) {
	for _, f := range formats(t) {
		t.Run(f.name, func(t *testing.T) {
			body := f.body(110, 2)
			d, _ := f.newDecoder(Limits{})
			var b sample.Batch
			allocs := testing.AllocsPerRun(20, func() {
				if err := d.Decode(body, &b); err != nil || len(b.Containers) != 220 || !b.HasNode {
					t.Fatalf("err %v, %d containers, node %v", err, len(b.Containers), b.HasNode)
				}
			})
			if allocs != 0 {
				t.Errorf("steady state allocates %.1f times per decode, want 0", allocs)
			}
		})
	}
}

// TestDecodersBounded checks that one huge response and pod churn do not
// pin memory in a decoder's table.
func TestDecodersBounded(t *testing.T) {
	for _, f := range formats(t) {
		t.Run(f.name, func(t *testing.T) {
			d, tb := f.newDecoder(Limits{})
			var b sample.Batch
			decode := func(body []byte, containers int) {
				t.Helper()
				if err := d.Decode(body, &b); err != nil || len(b.Containers) != containers {
					t.Fatalf("err %v, %d containers, want %d", err, len(b.Containers), containers)
				}
			}
			decode(f.body(3000, 3), 9000)
			small := f.body(10, 2)
			decode(small, 20)
			if len(tb.intern) > 2*3*20+internSlack || cap(tb.entries) > 4*20+tableSlack || tb.index != nil {
				t.Errorf("after a small scrape: intern %d, entries cap %d, index kept %v", len(tb.intern), cap(tb.entries), tb.index != nil)
			}

			// Every scrape brings new pods: the table must not grow without
			// bound.
			for i := range 200 {
				decode([]byte(strings.ReplaceAll(string(small), "deployment-", fmt.Sprintf("churn%d-", i))), 20)
				if len(tb.intern) > 2*3*20+internSlack+3*20 {
					t.Fatalf("round %d: intern table grew to %d names", i, len(tb.intern))
				}
			}
		})
	}
}

// BenchmarkDecodeResource decodes one node's response over and over, as a
// scrape loop does.
func BenchmarkDecodeResource(b *testing.B) { benchDecode(b, formats(b)[0]) }

// BenchmarkDecodeSummary is BenchmarkDecodeResource for the summary.
func BenchmarkDecodeSummary(b *testing.B) { benchDecode(b, formats(b)[1]) }

// benchDecode decodes one node's response over and over, as a scrape loop
// does: the decoder and Batch are reused, so the steady state should not
// allocate. The decode before the loop keeps the first, cold one out of
// allocs/op, which it would otherwise enter divided by however many rounds
// the machine's load allowed.
func benchDecode(b *testing.B, f format) {
	for _, pods := range []int{30, 110} {
		body := f.body(pods, 2)
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			d, _ := f.newDecoder(Limits{})
			var batch sample.Batch
			if err := d.Decode(body, &batch); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Decode(body, &batch); err != nil {
					b.Fatal(err)
				}
				if len(batch.Containers) != 2*pods || !batch.HasNode || batch.Skipped != ([sample.NumSkipReasons]uint32{}) {
					b.Fatalf("%d containers, node %v, skipped %v", len(batch.Containers), batch.HasNode, batch.Skipped)
				}
			}
		})
	}
}

// BenchmarkDecodeResourceCold decodes with a new decoder each time: the
// first scrape of a node, or a node whose pods all changed.
func BenchmarkDecodeResourceCold(b *testing.B) {
	benchCold(b, kubeletBody(110, 2), func(body []byte) (int, error) {
		var batch sample.Batch
		err := NewResourceDecoder().Decode(body, &batch)
		return len(batch.Containers), err
	})
}

// BenchmarkDecodeSummaryCold is BenchmarkDecodeResourceCold for the summary.
func BenchmarkDecodeSummaryCold(b *testing.B) {
	benchCold(b, summaryBody(b, 110, 2), func(body []byte) (int, error) {
		var batch sample.Batch
		err := NewSummaryDecoder().Decode(body, &batch)
		return len(batch.Containers), err
	})
}

// benchCold runs decode on body, 110 pods of 2 containers. decode must use
// a new decoder and batch, declared within it so that, as in a direct call,
// neither escapes to the heap.
func benchCold(b *testing.B, body []byte, decode func([]byte) (containers int, err error)) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := decode(body); err != nil || n != 220 {
			b.Fatalf("err %v, %d containers", err, n)
		}
	}
}
