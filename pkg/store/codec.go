package store

import (
	"math/bits"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// A series' points are its newest point, kept whole in the series, and one
// record per older point in its chunks, read backwards from the newest: a
// record takes the reader from a point to the one before it. Reading only
// ever goes back from the newest point, so the usage of a CPU window decodes
// the window's few records and nothing older, and dropping the oldest point
// decodes nothing.
//
// A record is written when point j arrives and holds, as three variable-
// length fields read in this order:
//
//   - ts: the interval d(j-1) before the previous point, less the interval
//     d(j) rounded to the second. The cadence is nearly fixed, so this is the
//     jitter of two scrapes: ±400 ms in 14 bits, 0 in one bit when the
//     kubelet reports whole seconds. The series keeps d(newest).
//   - cpu: the previous CPU increment less this one. A steady rate costs a
//     bit; a noisy one about the bits of its noise. The series keeps the
//     newest increment. A restart is just a large value.
//   - mem: the working-set change m(j), divided by 4096 when it is a whole
//     number of pages, as the kernel counts it.
//
// All arithmetic is modulo 2^64, so any sequence of values round-trips, and
// signed quantities are zig-zag coded. Each field is
//
//	0                  the value 0
//	1 L p              a value of n = L+1 bits: L in six bits (cpu), or
//	                   four (ts, with 1111 followed by six bits for n > 15),
//	                   then the n-1 bits below the value's leading 1
//	1 S L p            (mem) S set when the change was divided by 4096
//
// A record never straddles chunks. It is stored with its first field at
// the highest bits, so a reader going backwards meets each field's length
// before its payload. Worst case: 74+70+71 = 215 bits.

const maxRecordBits = 74 + 70 + 71

// zig maps a signed value to an unsigned one of about its magnitude.
func zig(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzig(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// roundSecond is the expected step predicted from an interval: the nearest
// whole second, in modular arithmetic like the rest.
func roundSecond(d uint64) uint64 { return (d + 500) / 1000 * 1000 }

// field is one coded field: a header and a payload, written payload first
// so that the header sits above it.
type field struct {
	hdr, pay   uint64
	hdrN, payN uint
}

func (f field) bits() uint { return f.hdrN + f.payN }

// lengthField codes v with a length of lbits bits; v > 0.
func lengthField(v uint64, lbits uint) field {
	n := uint(bits.Len64(v))
	return field{
		hdr:  1<<lbits | uint64(n-1),
		hdrN: 1 + lbits,
		pay:  v &^ (1 << (n - 1)),
		payN: n - 1,
	}
}

func tsField(v uint64) field {
	switch n := bits.Len64(v); {
	case n == 0:
		return field{hdrN: 1}
	case n <= 15:
		return lengthField(v, 4)
	default:
		f := lengthField(v, 6)
		f.hdr |= 0b11111 << 6
		f.hdrN += 4
		return f
	}
}

func cpuField(v uint64) field {
	if v == 0 {
		return field{hdrN: 1}
	}
	return lengthField(v, 6)
}

func memField(m uint64) field {
	if m == 0 {
		return field{hdrN: 1}
	}
	v, s := zig(int64(m)), uint64(0)
	if m&4095 == 0 {
		v, s = zig(int64(m)>>12), 1
	}
	f := lengthField(v, 6)
	f.hdr = 1<<7 | s<<6 | f.hdr&63
	f.hdrN = 8
	return f
}

// record is one coded record's bits, lowest first.
type record struct {
	w [4]uint64
	n uint
}

func (r *record) put(v uint64, n uint) {
	if n == 0 {
		return
	}
	i, off := r.n/64%4, r.n%64
	r.w[i] |= v << off
	if off+n > 64 {
		r.w[(i+1)%4] |= v >> (64 - off)
	}
	r.n += n
}

// add appends a field, payload first so that the header sits above it.
func (r *record) add(f field) {
	r.put(f.pay, f.payN)
	r.put(f.hdr, f.hdrN)
}

// encode codes the record for point p after newest, whose interval and CPU
// increment were dts and dcpu (ignored when first, for a series' second
// point: its record's ts and cpu fields lead to nothing).
func encode(newest, p sample.Point, dts, dcpu uint64, first bool) record {
	d := uint64(p.TimestampMs - newest.TimestampMs)
	c := p.CPUNanos - newest.CPUNanos
	var zt, zc uint64
	if !first {
		zt = zig(int64(dts - roundSecond(d)))
		zc = zig(int64(dcpu - c))
	}
	var r record
	r.add(memField(p.MemoryBytes - newest.MemoryBytes))
	r.add(cpuField(zc))
	r.add(tsField(zt))
	return r
}

// put writes the low n bits of v (the rest zero) at bit pos of w, whose
// bits from pos up are zero. It returns the position past them.
func put(w *[chunkWords]uint64, pos uint, v uint64, n uint) uint {
	if n == 0 {
		return pos
	}
	i, off := pos/64, pos%64
	w[i] |= v << off
	if off+n > 64 {
		w[i+1] |= v >> (64 - off)
	}
	return pos + n
}

// write stores the record at bit pos of w and returns the position past it.
func (r *record) write(w *[chunkWords]uint64, pos uint) uint {
	for i, left := 0, r.n; left > 0; i++ {
		n := min(left, 64)
		pos = put(w, pos, r.w[i%4], n)
		left -= n
	}
	return pos
}

// peek returns the 64 bits below pos, the bit at pos-1 highest; bits below
// the chunk read as zero. pos > 0.
func peek(w *[chunkWords]uint64, pos uint) uint64 {
	i, off := pos/64, pos%64
	if off == 0 {
		return w[i-1]
	}
	x := w[i] << (64 - off)
	if i > 0 {
		x |= w[i-1] >> off
	}
	return x
}

// end returns where the data of a chunk that is not a series' newest ends:
// at its terminator, the highest bit set.
func end(w *[chunkWords]uint64) uint {
	for i := chunkWords - 1; i >= 0; i-- {
		if w[i] != 0 {
			return uint(i*64 + 63 - bits.LeadingZeros64(w[i]))
		}
	}
	return 0
}

// cursor reads a chunk's records backwards.
type cursor struct {
	w   *[chunkWords]uint64
	pos uint
}

// length reads the rest of a field whose first skip bits, its leading 1
// and flags, were peeked in x: a length of lbits bits, then the payload. It
// returns the value.
func (c *cursor) length(x uint64, skip, lbits uint) uint64 {
	l := uint(x << skip >> (64 - lbits))
	h := skip + lbits
	c.pos -= h
	if l == 0 {
		return 1
	}
	var p uint64
	if h+l <= 64 {
		p = x << h >> (64 - l)
	} else {
		p = peek(c.w, c.pos) >> (64 - l)
	}
	c.pos -= l
	return 1<<l | p
}

func (c *cursor) ts() uint64 {
	x := peek(c.w, c.pos)
	if x>>63 == 0 {
		c.pos--
		return 0
	}
	if x>>59 != 0b11111 {
		return c.length(x, 1, 4)
	}
	return c.length(x, 5, 6)
}

func (c *cursor) cpu() uint64 {
	x := peek(c.w, c.pos)
	if x>>63 == 0 {
		c.pos--
		return 0
	}
	return c.length(x, 1, 6)
}

func (c *cursor) mem() uint64 {
	x := peek(c.w, c.pos)
	if x>>63 == 0 {
		c.pos--
		return 0
	}
	v := unzig(c.length(x, 2, 6))
	if x>>62&1 != 0 {
		v <<= 12
	}
	return uint64(v)
}

// records counts the records below pos.
func (c *cursor) records() int {
	n := 0
	for c.pos > 0 {
		c.ts()
		c.cpu()
		c.mem()
		n++
	}
	return n
}
