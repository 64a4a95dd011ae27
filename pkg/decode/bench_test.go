package decode

import (
	"fmt"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// BenchmarkDecodeResource decodes one node's response over and over, as a
// scrape loop does: the decoder and Batch are reused, so after the first
// round the steady state should not allocate.
func BenchmarkDecodeResource(b *testing.B) {
	for _, pods := range []int{30, 110} {
		body := kubeletBody(pods, 2)
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			d := NewResourceDecoder()
			var batch sample.Batch
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
	body := kubeletBody(110, 2)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var batch sample.Batch
		if err := NewResourceDecoder().Decode(body, &batch); err != nil || len(batch.Containers) != 220 {
			b.Fatalf("err %v, %d containers", err, len(batch.Containers))
		}
	}
}
