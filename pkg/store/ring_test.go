package store

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// obsPoint is one scrape of a series: the point, the start time the kubelet
// reported with it, and the store's clock.
type obsPoint struct {
	p       sample.Point
	startMs int64
}

// checkChain checks a series' bookkeeping against its chunks: the records
// lead to every point held, the oldest chunk's count is right, and no chunk
// is held whose records all lead to points gone.
func checkChain(t *testing.T, a *arena, s *series) {
	t.Helper()
	if s.count < 2 {
		if s.chain != (chain{}) {
			t.Fatalf("%d points hold chunks %+v", s.count, s.chain)
		}
		return
	}
	total, chunks := 0, 0
	newer := uint32(0)
	for i := s.chain.newest; ; {
		w := a.chunk(i)
		c := cursor{w, end(w)}
		if i == s.chain.newest {
			c.pos = uint(s.chain.pos)
		}
		n := c.records()
		total += n
		chunks++
		if i == s.chain.oldest {
			if n != int(s.oldRecs) {
				t.Fatalf("oldest chunk has %d records, bookkept %d", n, s.oldRecs)
			}
			break
		}
		i, newer = a.older(i, newer), i
		if i == 0 || chunks > a.chunks() {
			t.Fatal("chain does not reach its oldest chunk")
		}
	}
	if total-int(s.dead) != int(s.count)-1 {
		t.Fatalf("%d records, %d dead, for %d points", total, s.dead, s.count)
	}
	if s.chain.oldest != s.chain.newest && s.dead >= s.oldRecs {
		t.Fatalf("oldest chunk's %d records are all dead (%d) but it is held", s.oldRecs, s.dead)
	}
}

// compareWithFlat pushes obs into a compressed series and into the flat
// reference, and checks after each push that both keep and serve the same.
func compareWithFlat(t *testing.T, capacity int, windowMs, freshMs int64, obs []obsPoint) {
	t.Helper()
	var a arena
	var s series
	ref, rs := newFlatRing(capacity), &flatSeries{}
	var got, want []sample.Point
	for i, o := range obs {
		now := int64(i)
		if g, w := s.push(&a, capacity, o.p, o.startMs, now), ref.push(rs, o.p, o.startMs, now); g != w {
			t.Fatalf("push %d (%+v): %v, reference %v", i, o, g, w)
		}
		if int(s.count) != int(rs.count) || int(s.run) != int(rs.run) || s.startMs != rs.startMs || s.advancedMs != rs.advancedMs {
			t.Fatalf("push %d: count %d run %d start %d advanced %d, reference %+v", i, s.count, s.run, s.startMs, s.advancedMs, *rs)
		}
		gu, gok := s.usage(&a, windowMs, freshMs)
		wu, wok := ref.usage(rs, windowMs, freshMs)
		if gu != wu || gok != wok {
			t.Fatalf("push %d: usage %+v %v, reference %+v %v", i, gu, gok, wu, wok)
		}
		got, want = s.history(&a, got[:0]), ref.history(rs, want[:0])
		if !slices.Equal(got, want) {
			t.Fatalf("push %d: history (-reference +got):\n%s", i, cmp.Diff(want, got))
		}
		checkChain(t, &a, &s)
	}
	s.drop(&a)
	if a.used != 0 {
		t.Fatalf("%d chunks still used after the series was dropped", a.used)
	}
}

// scrapes generates n scrapes of a profile with, every so often, a
// restart, a repeated reading, a start time that moves, or a missed scrape.
func scrapes(p profile, n int, seed uint64) []obsPoint {
	w := newWalk(p, seed)
	r := rand.New(rand.NewPCG(seed, 7))
	start := t0 - res
	out := make([]obsPoint, 0, n)
	for range n {
		pt := w.next()
		switch r.IntN(20) {
		case 0: // restart: the counter starts again, with a new start time
			start = pt.TimestampMs - 1000
			w.pt.CPUNanos = uint64(r.Int64N(1e9))
			pt.CPUNanos = w.pt.CPUNanos
		case 1: // a cached reading served twice
			if len(out) > 0 {
				out = append(out, out[len(out)-1])
			}
		case 2: // a missed scrape
			pt = w.next()
		case 3: // a start time jittered by a kubelet
			out = append(out, obsPoint{pt, start + 1000})
			continue
		}
		out = append(out, obsPoint{pt, start})
	}
	return out
}

func TestSeriesMatchesFlatRing(t *testing.T) {
	for _, p := range []profile{busy, idle, exact, worst} {
		for _, capacity := range []int{2, 3, 7, 60, 240} {
			for _, window := range []int64{0, 30 * sec, 60 * sec, 1000 * sec} {
				obs := scrapes(p, 3*capacity+50, uint64(capacity)*31+uint64(window))
				compareWithFlat(t, capacity, window, maxAge, obs)
			}
		}
	}
}

// FuzzSeries holds the compressed series to the flat reference on series
// of any values: the fuzzer's bytes are read as a capacity, a window and
// then scrapes, each a kind byte choosing how the point moves.
func FuzzSeries(f *testing.F) {
	f.Add([]byte{3, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte{0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(make([]byte, 200))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		capacity := 2 + int(data[0]%64)
		window := int64(data[1]%8) * 10 * sec
		data = data[2:]
		pt := sample.Point{TimestampMs: t0, CPUNanos: 1e12, MemoryBytes: 1 << 30}
		start := int64(0)
		var obs []obsPoint
		for len(data) >= 9 {
			kind, v := data[0], binary.LittleEndian.Uint64(data[1:9])
			data = data[9:]
			switch kind % 8 {
			case 0: // a scrape near the cadence
				pt.TimestampMs += res + int64(v%401) - 200
				pt.CPUNanos += v >> 20
				pt.MemoryBytes += (v & 0xff) << 12
			case 1: // anything at all
				pt.TimestampMs = int64(v)
				pt.CPUNanos = v * 0x9e3779b97f4a7c15
				pt.MemoryBytes = ^v
			case 2: // a step in time of any size
				pt.TimestampMs += int64(v)
			case 3:
				pt.CPUNanos = v
			case 4:
				pt.MemoryBytes = v
			case 5:
				start = int64(v)
			case 6:
				start = pt.TimestampMs - int64(v%uint64(2*res))
			case 7: // the same reading again
			}
			obs = append(obs, obsPoint{pt, start})
		}
		compareWithFlat(t, capacity, window, maxAge, obs)
	})
}

// FuzzPointsRoundTrip stores any sequence of points, ordered or not, and
// reads it back: the encoder and decoder are exact for every value.
func FuzzPointsRoundTrip(f *testing.F) {
	f.Add(uint8(5), []byte{})
	f.Add(uint8(0), make([]byte, 24*10))
	seed := make([]byte, 0, 24*20)
	for i := range uint64(20) {
		seed = binary.LittleEndian.AppendUint64(seed, uint64(t0)+i*15000)
		seed = binary.LittleEndian.AppendUint64(seed, i*3e9)
		seed = binary.LittleEndian.AppendUint64(seed, 1<<30+i<<12)
	}
	f.Add(uint8(7), seed)
	f.Fuzz(func(t *testing.T, c uint8, data []byte) {
		capacity := 2 + int(c)
		var a arena
		var s series
		var pts, got []sample.Point
		for len(data) >= 24 {
			p := sample.Point{
				TimestampMs: int64(binary.LittleEndian.Uint64(data)),
				CPUNanos:    binary.LittleEndian.Uint64(data[8:]),
				MemoryBytes: binary.LittleEndian.Uint64(data[16:]),
			}
			data = data[24:]
			s.add(&a, capacity, p)
			pts = append(pts, p)
			want := pts[max(0, len(pts)-capacity):]
			got = s.history(&a, got[:0])
			if !slices.Equal(got, want) {
				t.Fatalf("after %d points (-want +got):\n%s", len(pts), cmp.Diff(want, got))
			}
			checkChain(t, &a, &s)
		}
	})
}

func TestFieldsRoundTrip(t *testing.T) {
	values := []uint64{0, 1, 2, 3, 4095, 4096, 1 << 14, 1<<15 - 1, 1 << 15, 1<<16 - 1, 1 << 32, 1<<63 - 1, 1 << 63, math.MaxUint64, 0xfff000, ^uint64(0xfff)}
	for _, v := range values {
		for name, c := range map[string]struct {
			f    field
			read func(*cursor) uint64
		}{
			"ts":  {tsField(v), (*cursor).ts},
			"cpu": {cpuField(v), (*cursor).cpu},
			"mem": {memField(v), (*cursor).mem},
		} {
			// Below the field, ones, so a reader that reads too far shows.
			var w [chunkWords]uint64
			pos := put(&w, 0, math.MaxUint64, 64)
			pos = put(&w, pos, 1, 1)
			pos = put(&w, put(&w, pos, c.f.pay, c.f.payN), c.f.hdr, c.f.hdrN)
			cur := cursor{&w, pos}
			if got := c.read(&cur); got != v || cur.pos != 65 {
				t.Errorf("%s field of %#x (%d bits): read %#x, %d bits", name, v, c.f.bits(), got, pos-cur.pos)
			}
		}
	}
}

func TestRecordBits(t *testing.T) {
	tests := []struct {
		name       string
		newest, p  sample.Point
		dts, dcpu  uint64
		first      bool
		wantBits   uint
		wantRecord string
	}{
		{
			name:   "steady: on the cadence, steady rate and memory",
			newest: sample.Point{TimestampMs: t0, CPUNanos: 3e9, MemoryBytes: 1 << 30},
			p:      sample.Point{TimestampMs: t0 + res, CPUNanos: 6e9, MemoryBytes: 1 << 30},
			dts:    uint64(res), dcpu: 3e9, wantBits: 3,
		},
		{
			name:   "first record",
			newest: sample.Point{TimestampMs: t0, CPUNanos: 3e9, MemoryBytes: 1 << 30},
			p:      sample.Point{TimestampMs: t0 + res + 117, CPUNanos: 9e9, MemoryBytes: 1<<30 + 4096},
			first:  true,
			// 1 + 1 + (8 + 1): the memory change is one page, zig-zagged to 2.
			wantBits: 11,
		},
		{
			name:     "worst",
			newest:   sample.Point{TimestampMs: math.MinInt64, CPUNanos: 0, MemoryBytes: 0},
			p:        sample.Point{TimestampMs: math.MaxInt64, CPUNanos: 1 << 63, MemoryBytes: 1<<63 + 1},
			dts:      1 << 63,
			dcpu:     0,
			wantBits: maxRecordBits,
		},
	}
	for _, tt := range tests {
		rec := encode(tt.newest, tt.p, tt.dts, tt.dcpu, tt.first)
		if rec.n != tt.wantBits {
			t.Errorf("%s: %d bits, want %d", tt.name, rec.n, tt.wantBits)
		}
		// The record reads back as the fields it was made of.
		var w [chunkWords]uint64
		cur := cursor{&w, rec.write(&w, 0)}
		d := uint64(tt.p.TimestampMs - tt.newest.TimestampMs)
		c := tt.p.CPUNanos - tt.newest.CPUNanos
		wantTs, wantCPU := zig(int64(tt.dts-roundSecond(d))), zig(int64(tt.dcpu-c))
		if tt.first {
			wantTs, wantCPU = 0, 0
		}
		if ts, cpu, mem := cur.ts(), cur.cpu(), cur.mem(); ts != wantTs || cpu != wantCPU || mem != tt.p.MemoryBytes-tt.newest.MemoryBytes || cur.pos != 0 {
			t.Errorf("%s: read ts %#x cpu %#x mem %#x, %d bits left", tt.name, ts, cpu, mem, cur.pos)
		}
	}
}

// TestMaxSeriesBytes holds series of random numbers, the costliest points
// there are, to the documented bound.
func TestMaxSeriesBytes(t *testing.T) {
	for _, capacity := range []int{2, 3, 4, 60, 240} {
		var a arena
		var s series
		w := newWalk(worst, uint64(capacity))
		most := 0
		for range 5 * capacity {
			s.push(&a, capacity, w.next(), 0, 0)
			most = max(most, a.used)
		}
		got, bound := int64(most)*(chunkBytes+4)+sizeofSeries, MaxSeriesBytes(capacity)
		if got > bound {
			t.Errorf("capacity %d: %d bytes held, over the bound of %d", capacity, got, bound)
		}
		t.Logf("capacity %d: at most %d bytes held (%.1f a point), bound %d (%.1f a point)",
			capacity, got, float64(got)/float64(capacity), bound, float64(bound)/float64(capacity))
	}
}
