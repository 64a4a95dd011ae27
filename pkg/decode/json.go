package decode

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects as encoding/json does,
// so that both accept the same documents and a hostile body cannot make the
// scanner's stack grow without limit.
const maxDepth = 10000

// scanner reads one JSON document (RFC 8259) from a byte slice without
// allocating: the summary decoder walks the members it knows and the scanner
// skips, but still checks, everything else. Its methods do nothing once a
// syntax error has been found, so callers check ok at the end of a loop
// rather than after every call.
type scanner struct {
	buf []byte
	pos int
	// stack holds the closing byte ('}' or ']') of every open object and
	// array, innermost last.
	stack []byte
	// key holds the unescaped key of the current member when its raw form
	// had escapes.
	key []byte
	// why is the first syntax error, "" while there is none; pos is then
	// where it was found.
	why string
}

func (s *scanner) ok() bool { return s.why == "" }

func (s *scanner) fail(why string) {
	if s.why == "" {
		s.why = why
	}
}

// eightSpaces is eight ' ' bytes read as one little-endian word.
const eightSpaces = 0x2020202020202020

// peek skips white space and returns the next byte, or 0 at the end of the
// input (a NUL byte is never valid between tokens either).
func (s *scanner) peek() byte {
	b, i := s.buf, s.pos
	for i < len(b) {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r':
			// The kubelet indents its JSON, so most of a body is runs of
			// spaces: skip them a word at a time.
			for i++; i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:]) == eightSpaces; i += 8 {
			}
		default:
			s.pos = i
			return c
		}
	}
	s.pos = i
	return 0
}

// failAt records why the byte at pos is wrong, telling a truncated body from
// a wrong one.
func (s *scanner) failAt(why string) {
	if s.pos >= len(s.buf) {
		s.fail("unexpected end of input")
		return
	}
	s.fail(why)
}

// enter consumes the '{' or '[' peek returned and opens its scope.
func (s *scanner) enter(closer byte) bool {
	if !s.ok() {
		return false
	}
	if len(s.stack) >= maxDepth {
		s.fail("nesting too deep")
		return false
	}
	s.stack = append(s.stack, closer)
	s.pos++
	return true
}

// member advances to the next member of the object entered last and
// returns its key, with any escapes undone. It returns false, having
// consumed the object's '}', when the object has no more members, and on a
// syntax error. first is true before the first call for an object.
func (s *scanner) member(first *bool) ([]byte, bool) {
	if !s.ok() {
		return nil, false
	}
	c := s.peek()
	switch {
	case c == '}':
		s.pos++
		s.stack = s.stack[:len(s.stack)-1]
		return nil, false
	case *first:
		*first = false
	case c == ',':
		s.pos++
		c = s.peek()
	default:
		s.failAt("expected ',' or '}' after object member")
		return nil, false
	}
	if c != '"' {
		s.failAt("expected a string as object key")
		return nil, false
	}
	s.pos++
	key, escaped := s.str()
	if escaped {
		s.key = unescape(s.key[:0], key)
		key = s.key
	}
	if s.peek() != ':' {
		s.failAt("expected ':' after object key")
		return nil, false
	}
	s.pos++
	return key, s.ok()
}

// element reports whether the array entered last has another element, and
// positions the scanner at it. It returns false, having consumed the
// array's ']', at the end of the array, and on a syntax error.
func (s *scanner) element(first *bool) bool {
	if !s.ok() {
		return false
	}
	switch c := s.peek(); {
	case c == ']':
		s.pos++
		s.stack = s.stack[:len(s.stack)-1]
		return false
	case *first:
		*first = false
	case c == ',':
		s.pos++
	default:
		s.failAt("expected ',' or ']' after array element")
		return false
	}
	return true
}

// str scans a string whose opening quote has been consumed, checking its
// escapes, and returns its raw content and whether that holds escapes. The
// content aliases buf.
func (s *scanner) str() (raw []byte, escaped bool) {
	if !s.ok() {
		return nil, false
	}
	b := s.buf
	start := s.pos
	for i := start; i < len(b); i++ {
		if !strSpecial[b[i]] {
			continue
		}
		switch c := b[i]; {
		case c == '"':
			s.pos = i + 1
			return b[start:i], escaped
		case c == '\\':
			n := escapeLen(b[i:])
			if n == 0 {
				s.pos = i
				s.fail("bad escape in string")
				return nil, false
			}
			escaped = true
			i += n - 1
		case c < 0x20:
			s.pos = i
			s.fail("control character in string")
			return nil, false
		}
	}
	s.pos = len(b)
	s.fail("unexpected end of input")
	return nil, false
}

// strSpecial marks the bytes that end a string's plain run: its closing
// quote, an escape, and the control characters JSON forbids in strings.
var strSpecial = [256]bool{'"': true, '\\': true,
	0x00: true, 0x01: true, 0x02: true, 0x03: true, 0x04: true, 0x05: true, 0x06: true, 0x07: true,
	0x08: true, 0x09: true, 0x0a: true, 0x0b: true, 0x0c: true, 0x0d: true, 0x0e: true, 0x0f: true,
	0x10: true, 0x11: true, 0x12: true, 0x13: true, 0x14: true, 0x15: true, 0x16: true, 0x17: true,
	0x18: true, 0x19: true, 0x1a: true, 0x1b: true, 0x1c: true, 0x1d: true, 0x1e: true, 0x1f: true,
}

// escapeLen returns the length of the escape sequence at the start of b, or
// 0 when it is not a valid one.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) >= 6 && hex4(b[2:6]) >= 0 {
			return 6
		}
	}
	return 0
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape appends raw, a string's content already checked by str, to dst
// with its escapes undone. A \u escape of half a surrogate pair becomes
// U+FFFD, as in encoding/json.
func unescape(dst, raw []byte) []byte {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\\')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		c := raw[1]
		switch c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r := hex4(raw[2:6])
			raw = raw[6:]
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(raw) >= 6 && raw[0] == '\\' && raw[1] == 'u' {
					r2 = hex4(raw[2:6])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					raw = raw[6:]
					r = dec
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		// '"', '\\' and '/' stand for themselves.
		dst = append(dst, c)
		raw = raw[2:]
	}
	return dst
}

// number scans a number and returns its text.
func (s *scanner) number() []byte {
	b := s.buf
	start, i := s.pos, s.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		s.pos = i
		s.failAt("bad number")
		return nil
	}
	if i < len(b) && b[i] == '.' {
		if i++; i == len(b) || b[i] < '0' || b[i] > '9' {
			s.pos = i
			s.failAt("bad number")
			return nil
		}
		i = skipDigits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			s.pos = i
			s.failAt("bad number")
			return nil
		}
		i = skipDigits(b, i)
	}
	s.pos = i
	return b[start:i]
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// literal consumes word (true, false or null) or fails.
func (s *scanner) literal(word string) {
	rest := s.buf[s.pos:]
	if len(rest) < len(word) && string(rest) == word[:len(rest)] {
		s.pos = len(s.buf)
		s.fail("unexpected end of input")
		return
	}
	if len(rest) < len(word) || string(rest[:len(word)]) != word {
		s.fail("bad literal")
		return
	}
	s.pos += len(word)
}

// null consumes a null if one comes next, and reports whether it did. The
// summary decoder reads null as an absent member, as encoding/json does for
// the kubelet's pointer fields and zero times.
func (s *scanner) null() bool {
	if s.ok() && s.peek() == 'n' {
		s.literal("null")
		return true
	}
	return false
}

// scalar consumes a string, number or literal.
func (s *scanner) scalar() {
	switch c := s.peek(); {
	case c == '"':
		s.pos++
		s.str()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		s.number()
	default:
		s.failAt("expected a value")
	}
}

// skip consumes one value of any kind, checking its syntax. It keeps its
// own stack rather than recursing, so a deeply nested value costs bytes, not
// goroutine stack.
func (s *scanner) skip() {
	base := len(s.stack)
	for s.ok() {
		// A value starts here.
		switch s.peek() {
		case '{':
			if !s.enter('}') {
				return
			}
			if s.peek() != '}' {
				s.memberKey()
				continue
			}
			s.pos++
			s.stack = s.stack[:len(s.stack)-1]
		case '[':
			if !s.enter(']') {
				return
			}
			if s.peek() != ']' {
				continue
			}
			s.pos++
			s.stack = s.stack[:len(s.stack)-1]
		default:
			s.scalar()
		}
		// A value ended: close the scopes it ends, then move on to the
		// next element or member, if any.
		for s.ok() && len(s.stack) > base {
			closer := s.stack[len(s.stack)-1]
			c := s.peek()
			if c == closer {
				s.pos++
				s.stack = s.stack[:len(s.stack)-1]
				continue
			}
			if c != ',' {
				s.failAt("expected ',' or a closing bracket")
				return
			}
			s.pos++
			if closer == '}' {
				s.memberKey()
			}
			break
		}
		if len(s.stack) == base {
			return
		}
	}
}

// memberKey consumes a key and its colon inside a skipped object.
func (s *scanner) memberKey() {
	if s.peek() != '"' {
		s.failAt("expected a string as object key")
		return
	}
	s.pos++
	s.str()
	if !s.ok() {
		return
	}
	if s.peek() != ':' {
		s.failAt("expected ':' after object key")
		return
	}
	s.pos++
}

// end checks that nothing but white space follows the document.
func (s *scanner) end() {
	if s.ok() && (s.peek() != 0 || s.pos < len(s.buf)) {
		s.fail("data after the top-level value")
	}
}
