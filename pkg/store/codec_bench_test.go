package store

import (
	"fmt"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// BenchmarkPoints pushes points of one profile into full series and reports
// what a point costs once the rings are full: "bytes/point" counts the
// chunks held (with their links) and the series' own bookkeeping over the
// points held; "record-bits/point" counts the records alone. The flat rings
// this replaced took 24 bytes a point plus 48 bytes a series.
func BenchmarkPoints(b *testing.B) {
	for _, p := range []profile{busy, idle, exact, worst} {
		for _, capacity := range []int{60, 240} {
			b.Run(fmt.Sprintf("%s/points=%d", p.name, capacity), func(b *testing.B) {
				const n = 64
				const rounds = 1024
				var a arena
				ss := make([]series, n)
				pts := make([][]sample.Point, n)
				for i := range ss {
					w := newWalk(p, uint64(i+1))
					for range capacity + 8 {
						ss[i].push(&a, capacity, w.next(), 0, 0)
					}
					pts[i] = make([]sample.Point, rounds)
					for r := range pts[i] {
						pts[i][r] = w.next()
					}
				}
				// Later laps are shifted past the last lap's timestamps.
				laps := make([]sample.Point, n)
				for i := range laps {
					laps[i].TimestampMs = pts[i][rounds-1].TimestampMs - ss[i].last.TimestampMs
					laps[i].CPUNanos = pts[i][rounds-1].CPUNanos - ss[i].last.CPUNanos
				}
				var bits, records int64
				b.ReportAllocs()
				k := 0
				for b.Loop() {
					i, r := k%n, k/n%rounds
					lap := k / n / rounds
					k++
					pt := pts[i][r]
					pt.TimestampMs += int64(lap) * laps[i].TimestampMs
					pt.CPUNanos += uint64(lap) * laps[i].CPUNanos
					if !ss[i].push(&a, capacity, pt, 0, 0) {
						b.Fatalf("push %+v after %+v refused", pt, ss[i].last)
					}
				}
				b.StopTimer()
				for i := range ss {
					r := ss[i].reader(&a)
					for range ss[i].count - 1 {
						from, chunk := r.cur.pos, r.chunk
						r.back()
						if r.chunk != chunk {
							from = end(r.cur.w)
						}
						bits += int64(from - r.cur.pos)
						records++
					}
				}
				held := int64(a.used)*(chunkBytes+4) + int64(n)*sizeofSeries
				b.ReportMetric(float64(held)/float64(n*capacity), "bytes/point")
				b.ReportMetric(float64(bits)/float64(records), "record-bits/point")
			})
		}
	}
}
