package decode

import (
	"math/bits"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The members of the Summary API's objects, read one value at a time: the
// walk over an object or array, the cpu and memory objects of a node or
// container, and the strings, times and counters within them. Each reader
// consumes its value whatever it holds and reports what is wrong with it as
// bad bits, so a reading can be judged once it is complete.

// Bits of reading.bad and pendingContainer.idBad, one per sample.SkipReason.
// When several apply, the lowest reason is counted: a broken member before a
// bad value, a bad value before a missing timestamp, and all of them before
// a merely incomplete reading.
const (
	badMalformed    = 1 << sample.SkipMalformed
	badInvalid      = 1 << sample.SkipInvalidValue
	badIncomplete   = 1 << sample.SkipIncomplete
	badMissingLabel = 1 << sample.SkipMissingLabel
)

// count counts the first reason of a set of bad bits, if there is one.
func count(b *sample.Batch, bad uint8) {
	if bad != 0 {
		b.Skip(sample.SkipReason(bits.TrailingZeros8(bad)))
	}
}

// reading gathers the cpu and memory members of a node or container object.
type reading struct {
	p sample.Point
	// got holds a got* bit per value read.
	got uint8
	bad uint8
}

const (
	gotTime uint8 = 1 << iota
	gotCounter
	gotMemory
)

// Member bits for walk.once, distinct within each kind of object.
const (
	keyCPU uint8 = 1 << iota
	keyMemory
	keyName
	keyNamespace
	keyStart
	keyPodRef
	keyContainers
	keyTime
	keyCounter    = keyCPU    // within a cpu object, which has no cpu member
	keyWorkingSet = keyMemory // within a memory object
)

// walk goes through the members of one object, or the elements of one
// array, that open has entered; the walk of a value it did not enter is
// empty.
type walk struct {
	s *scanner
	// in is set when the object or array was entered.
	in bool
	// first is set until the first member or element.
	first bool
	// met holds the key* bit of every member passed to once.
	met uint8
}

// open enters the object ('}') or array (']') that comes next as a member's
// value and returns the walk over it. null stands for an absent member: it
// is consumed, and the walk is empty. Any other value is skipped, the walk
// is empty, and bad reports it malformed.
func open(s *scanner, closer byte) (w walk, bad uint8) {
	w = walk{s: s, first: true}
	opener := byte('{')
	if closer == ']' {
		opener = '['
	}
	switch {
	case s.null():
	case s.peek() != opener:
		s.skip()
		bad = badMalformed
	default:
		w.in = s.enter(closer)
	}
	return w, bad
}

// member advances to the next member of the object and returns its key. It
// returns false at the end of the object and on a syntax error.
func (w *walk) member() ([]byte, bool) {
	if !w.in {
		return nil, false
	}
	return w.s.member(&w.first)
}

// element reports whether the array has another element, and positions the
// scanner at it.
func (w *walk) element() bool {
	return w.in && w.s.element(&w.first)
}

// once returns badMalformed when the member key has been met before in the
// object. JSON leaves the meaning of a repeated key open (encoding/json
// keeps the last, other decoders the first), so a reading or name given
// twice is malformed rather than guessed at.
func (w *walk) once(key uint8) uint8 {
	again := w.met & key
	w.met |= key
	if again != 0 {
		return badMalformed
	}
	return 0
}

// cpu reads a cpu object into r.
func (r *reading) cpu(s *scanner) {
	w, bad := open(s, '}')
	r.bad |= bad
	for key, ok := w.member(); ok; key, ok = w.member() {
		switch string(key) {
		case "time":
			r.bad |= w.once(keyTime)
			ms, present, bad := timeValue(s)
			r.bad |= bad
			if present && bad == 0 {
				r.p.TimestampMs = ms
				r.got |= gotTime
			}
		case "usageCoreNanoSeconds":
			r.uintMember(&w, keyCounter, &r.p.CPUNanos, gotCounter)
		default:
			s.skip()
		}
	}
}

// memory reads a memory object into r.
func (r *reading) memory(s *scanner) {
	w, bad := open(s, '}')
	r.bad |= bad
	for key, ok := w.member(); ok; key, ok = w.member() {
		switch string(key) {
		case "workingSetBytes":
			r.uintMember(&w, keyWorkingSet, &r.p.MemoryBytes, gotMemory)
		default:
			s.skip()
		}
	}
}

// uintMember reads the value of the member key, a counter or gauge, into
// *dst, and marks it got.
func (r *reading) uintMember(w *walk, key uint8, dst *uint64, got uint8) {
	r.bad |= w.once(key)
	v, present, bad := uintValue(w.s)
	r.bad |= bad
	if present && bad == 0 {
		*dst = v
		r.got |= got
	}
}

// verdict returns the bad bits that drop the reading, or 0 to keep it.
func (r *reading) verdict() uint8 {
	bad := r.bad
	// A time without a counter is checked too: a bad one is the reason the
	// reading is dropped, before its missing counter.
	if r.got&(gotCounter|gotTime) != 0 {
		if reason, ok := cpuTime(r.p.TimestampMs, r.got&gotTime != 0); !ok {
			bad |= 1 << reason
		}
	}
	if r.got&(gotCounter|gotMemory) != gotCounter|gotMemory {
		bad |= badIncomplete
	}
	return bad
}

// stringValue reads a string member into a slice of the body or, when it
// holds escapes, of the table's scratch space; null reads as empty.
func (d *SummaryDecoder) stringValue(s *scanner) ([]byte, uint8) {
	if s.null() {
		return nil, 0
	}
	if s.peek() != '"' {
		s.skip()
		return nil, badMalformed
	}
	s.pos++
	raw, escaped := s.str()
	if !escaped {
		return raw, 0
	}
	if len(raw) > 6*d.t.limits.MaxNameLength {
		// Too long for a name however it unescapes (no escape is longer
		// than six bytes): lookup refuses it without the copy.
		return raw, 0
	}
	return d.t.scratchName(raw, unescape), 0
}

// timeValue reads a time member: an RFC 3339 string, or null for a missing
// time (metav1.Time writes its zero value so).
func timeValue(s *scanner) (ms int64, present bool, bad uint8) {
	if s.null() {
		return 0, false, 0
	}
	if s.peek() != '"' {
		s.skip()
		return 0, true, badMalformed
	}
	s.pos++
	raw, escaped := s.str()
	if escaped {
		s.key = unescape(s.key[:0], raw)
		raw = s.key
	}
	ms, ok := parseTime(raw)
	if !ok {
		return 0, true, badMalformed
	}
	return ms, true, 0
}

// uintValue reads an unsigned integer member, as the kubelet writes its
// uint64 counters and gauges: digits only. Any other number is an invalid
// value; null is a missing one.
func uintValue(s *scanner) (v uint64, present bool, bad uint8) {
	if s.null() {
		return 0, false, 0
	}
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		s.skip()
		return 0, true, badMalformed
	}
	num := s.number()
	if len(num) == 0 || len(num) > 20 {
		return 0, true, badInvalid
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, true, badInvalid
		}
		hi, lo := bits.Mul64(v, 10)
		sum, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 {
			return 0, true, badInvalid
		}
		v = sum
	}
	return v, true, 0
}
