package decode

import (
	"errors"
	"math"
	"strconv"
)

const (
	// twoTo64 and twoTo63 are the first values uint64 and int64 cannot hold.
	// Converting a float at or beyond them is implementation-defined in Go,
	// so it must be refused before it silently corrupts a reading.
	twoTo64 = 1 << 64
	twoTo63 = 1 << 63
)

// parseFloat parses a sample value in any form strconv accepts, including
// NaN and ±Inf, which the caller then rejects with a clearer reason.
func parseFloat(b []byte) (float64, bool) {
	// string(b) does not escape, so the conversion uses a stack buffer for
	// the short tokens values are (checked by BenchmarkDecodeResource).
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		// Out of range is well-formed text meaning ±Inf: an invalid value
		// rather than a malformed line.
		return v, errors.Is(err, strconv.ErrRange)
	}
	return v, true
}

// parseInt64 parses a decimal timestamp. It is hand-written because
// timestamps are on every usage series and the format allows nothing but an
// optional sign and digits.
func parseInt64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	// 19 digits cannot overflow a uint64, and hold every int64.
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > twoTo63 {
			return 0, false
		}
		return int64(-n), true
	}
	if n >= twoTo63 {
		return 0, false
	}
	return int64(n), true
}

// secondsToNanos converts a CPU counter in seconds to whole nanoseconds,
// rounding to nearest so that 12.345678 s does not become 12345677999 ns.
func secondsToNanos(v float64) (uint64, bool) {
	if !(v >= 0) { // also refuses NaN
		return 0, false
	}
	n := math.Round(v * 1e9)
	if n >= twoTo64 { // also refuses +Inf
		return 0, false
	}
	return uint64(n), true
}

// toBytes converts a memory gauge to whole bytes.
func toBytes(v float64) (uint64, bool) {
	if !(v >= 0) {
		return 0, false
	}
	n := math.Round(v)
	if n >= twoTo64 {
		return 0, false
	}
	return uint64(n), true
}

// secondsToMillis converts a start time in seconds since the epoch to
// milliseconds.
func secondsToMillis(v float64) (int64, bool) {
	if !(v >= 0) {
		return 0, false
	}
	n := math.Round(v * 1e3)
	if n >= twoTo63 {
		return 0, false
	}
	return int64(n), true
}
