package decode

import (
	"math/bits"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The members of the Summary API's objects, read one value at a time: the
// cpu and memory objects of a node or container, and the strings, times and
// counters within them. Each reader consumes its value whatever it holds
// and reports what is wrong with it as bad bits, so a reading can be judged
// once it is complete.

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

// firstReason returns the reason counted for a non-zero set of bad bits.
func firstReason(bad uint8) sample.SkipReason {
	return sample.SkipReason(bits.TrailingZeros8(bad))
}

// reading gathers the cpu and memory members of a node or container object.
type reading struct {
	p sample.Point
	// got holds a got* bit per value read.
	got uint8
	// keys holds a key* bit per member met, to catch a repeated key.
	keys uint8
	bad  uint8
}

const (
	gotTime uint8 = 1 << iota
	gotCounter
	gotMemory
)

// Member bits for repeated-key checks. JSON leaves the meaning of a repeated
// key open (encoding/json keeps the last, other decoders the first), so a
// reading or name given twice is malformed rather than guessed at.
const (
	keyCPU uint8 = 1 << iota
	keyMemory
	keyName
	keyNamespace
	keyStart
	keyPodRef
	keyContainers
	keyTime
	keyCounter = keyCPU // within a cpu object, which has no cpu member
)

// cpu reads a cpu object into r.
func (r *reading) cpu(s *scanner) {
	if r.keys&keyCPU != 0 {
		r.bad |= badMalformed
	}
	r.keys |= keyCPU
	if s.null() {
		return
	}
	if s.peek() != '{' {
		s.skip()
		r.bad |= badMalformed
		return
	}
	var keys uint8
	s.enter('}')
	for first := true; ; {
		key, ok := s.member(&first)
		if !ok {
			break
		}
		var bit uint8
		switch string(key) {
		case "time":
			bit = keyTime
		case "usageCoreNanoSeconds":
			bit = keyCounter
		default:
			s.skip()
			continue
		}
		if keys&bit != 0 {
			r.bad |= badMalformed
		}
		keys |= bit
		if bit == keyTime {
			ms, present, bad := timeValue(s)
			r.bad |= bad
			if present && bad == 0 {
				r.p.TimestampMs = ms
				r.got |= gotTime
			}
			continue
		}
		v, present, bad := uintValue(s)
		r.bad |= bad
		if present && bad == 0 {
			r.p.CPUNanos = v
			r.got |= gotCounter
		}
	}
}

// memory reads a memory object into r.
func (r *reading) memory(s *scanner) {
	if r.keys&keyMemory != 0 {
		r.bad |= badMalformed
	}
	r.keys |= keyMemory
	if s.null() {
		return
	}
	if s.peek() != '{' {
		s.skip()
		r.bad |= badMalformed
		return
	}
	repeated := false
	s.enter('}')
	for first := true; ; {
		key, ok := s.member(&first)
		if !ok {
			break
		}
		if string(key) != "workingSetBytes" {
			s.skip()
			continue
		}
		if repeated {
			r.bad |= badMalformed
		}
		repeated = true
		v, present, bad := uintValue(s)
		r.bad |= bad
		if present && bad == 0 {
			r.p.MemoryBytes = v
			r.got |= gotMemory
		}
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
