package decode

import (
	"bytes"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// metricKind names the series the decoder keeps; everything else is read
// only far enough to know it is a sample line.
type metricKind uint8

const (
	kindUnknown metricKind = iota
	kindNodeCPU
	kindNodeMemory
	kindContainerCPU
	kindContainerMemory
	kindContainerStart
)

func kindOf(name []byte) metricKind {
	// A switch on string(name) compares without allocating.
	switch string(name) {
	case "container_cpu_usage_seconds_total":
		return kindContainerCPU
	case "container_memory_working_set_bytes":
		return kindContainerMemory
	case "container_start_time_seconds":
		return kindContainerStart
	case "node_cpu_usage_seconds_total":
		return kindNodeCPU
	case "node_memory_working_set_bytes":
		return kindNodeMemory
	}
	return kindUnknown
}

// part returns the seen* bit of the part of a reading a series of kind k
// gives.
func (k metricKind) part() uint8 {
	switch k {
	case kindNodeCPU, kindContainerCPU:
		return seenCPU
	case kindNodeMemory, kindContainerMemory:
		return seenMemory
	}
	return seenStart
}

// labelSet holds the labels of one line that name a container. The slices
// alias the body or the table's scratch space and live until the next line.
type labelSet struct {
	namespace, pod, container []byte
	// has holds one bit per label above, so that a repeated label is caught
	// even when its first value was empty.
	has uint8
}

const (
	hasNamespace uint8 = 1 << iota
	hasPod
	hasContainer
)

// decodeLine decodes one line (without its '\n') into d's per-decode state.
// It reports whether the line was a well-formed sample line, or why it was
// malformed. terminal is set for a final line that lacked its newline.
func (d *ResourceDecoder) decodeLine(line []byte, terminal bool, b *sample.Batch) (isSample bool, malformed string) {
	line = trimBlank(line)
	if len(line) == 0 || line[0] == '#' {
		return false, ""
	}
	if terminal {
		return false, "unterminated final line (truncated body?)"
	}
	n := metricNameLen(line)
	if n == 0 {
		return false, "bad metric name"
	}
	kind := kindOf(line[:n])
	rest := line[n:]
	if kind == kindUnknown {
		// Unknown series are not parsed further: they cost one scan of
		// their name. The check below still tells text from garbage.
		if len(rest) == 0 || (rest[0] != '{' && !isBlank(rest[0])) {
			return false, "bad metric name"
		}
		return true, ""
	}

	var ls labelSet
	if len(rest) > 0 && rest[0] == '{' {
		d.t.scratch = d.t.scratch[:0]
		var why string
		if rest, why = d.labels(rest[1:], &ls); why != "" {
			return false, why
		}
	} else if len(rest) == 0 || !isBlank(rest[0]) {
		return false, "bad metric name"
	}

	rest = skipBlank(rest)
	valueTok, rest := token(rest)
	rest = skipBlank(rest)
	tsTok, rest := token(rest)
	if len(skipBlank(rest)) != 0 {
		return false, "trailing data after timestamp"
	}
	if len(valueTok) == 0 {
		return false, "missing value"
	}
	v, ok := parseFloat(valueTok)
	if !ok {
		return false, "bad value"
	}
	var ts int64
	hasTS := len(tsTok) > 0
	if hasTS {
		if ts, ok = parseInt64(tsTok); !ok {
			return false, "bad timestamp"
		}
		if kind == kindNodeCPU || kind == kindContainerCPU {
			d.cpuTimed = true
		}
	}

	e := &d.t.node
	if kind != kindNodeCPU && kind != kindNodeMemory {
		if e = d.container(&ls, b); e == nil {
			return true, ""
		}
	}
	d.series(e, kind, v, ts, hasTS, b)
	return true, ""
}

// labels parses a label set from just after its '{' and returns what follows
// its '}', or why it is malformed. Only the labels naming a container are
// kept; the rest are checked for syntax and dropped.
func (d *ResourceDecoder) labels(s []byte, ls *labelSet) ([]byte, string) {
	for {
		s = skipBlank(s)
		if len(s) == 0 {
			return nil, "unterminated label set"
		}
		if s[0] == '}' {
			return s[1:], ""
		}
		n := labelNameLen(s)
		if n == 0 {
			return nil, "bad label name"
		}
		name := s[:n]
		s = skipBlank(s[n:])
		if len(s) == 0 || s[0] != '=' {
			return nil, "missing '=' after label name"
		}
		s = skipBlank(s[1:])
		if len(s) == 0 || s[0] != '"' {
			return nil, "label value not quoted"
		}
		raw, escaped, rest, ok := scanQuoted(s[1:])
		if !ok {
			return nil, "bad label value"
		}
		s = rest

		var dst *[]byte
		var bit uint8
		switch string(name) {
		case "namespace":
			dst, bit = &ls.namespace, hasNamespace
		case "pod":
			dst, bit = &ls.pod, hasPod
		case "container":
			dst, bit = &ls.container, hasContainer
		}
		if dst != nil {
			if ls.has&bit != 0 {
				return nil, "repeated label"
			}
			ls.has |= bit
			// A value too long for a name however it unescapes (an escape
			// is two bytes for one) stays raw: lookup refuses it by its
			// length, without copying a hostile megabyte into scratch.
			if escaped && len(raw) <= 2*d.t.limits.MaxNameLength {
				raw = d.t.scratchName(raw, unescapeLabel)
			}
			*dst = raw
		}

		s = skipBlank(s)
		if len(s) == 0 {
			return nil, "unterminated label set"
		}
		switch s[0] {
		case ',':
			s = s[1:]
		case '}':
			return s[1:], ""
		default:
			return nil, "expected ',' or '}' after label value"
		}
	}
}

// scanQuoted finds the end of a label value that starts just after its
// opening quote. It returns the raw value, whether it holds escapes, and what
// follows the closing quote.
func scanQuoted(s []byte) (raw []byte, escaped bool, rest []byte, ok bool) {
	q := bytes.IndexByte(s, '"')
	if q < 0 {
		return nil, false, nil, false
	}
	if bytes.IndexByte(s[:q], '\\') < 0 {
		return s[:q], false, s[q+1:], true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			return s[:i], true, s[i+1:], true
		case '\\':
			i++
			if i == len(s) {
				return nil, false, nil, false
			}
			switch s[i] {
			case '\\', '"', 'n':
			default:
				// The format defines only these three escapes; anything
				// else means the writer was not a Prometheus encoder.
				return nil, false, nil, false
			}
		}
	}
	return nil, false, nil, false
}

// unescapeLabel appends raw, a label value already checked by scanQuoted,
// to dst with its escapes undone.
func unescapeLabel(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			i++
			c = raw[i]
			if c == 'n' {
				c = '\n'
			}
		}
		dst = append(dst, c)
	}
	return dst
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func skipBlank(s []byte) []byte {
	for len(s) > 0 && isBlank(s[0]) {
		s = s[1:]
	}
	return s
}

// trimBlank trims blanks at both ends and a '\r' at the end, which a CRLF
// body leaves before each '\n'.
func trimBlank(s []byte) []byte {
	s = skipBlank(s)
	for len(s) > 0 {
		if c := s[len(s)-1]; isBlank(c) || c == '\r' {
			s = s[:len(s)-1]
			continue
		}
		break
	}
	return s
}

// token splits s at its first blank.
func token(s []byte) (tok, rest []byte) {
	for i, c := range s {
		if isBlank(c) {
			return s[:i], s[i:]
		}
	}
	return s, nil
}

// metricNameLen returns the length of the metric name at the start of s
// ([a-zA-Z_:][a-zA-Z0-9_:]*), or 0 when s does not start with one.
func metricNameLen(s []byte) int {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return i
		}
	}
	return len(s)
}

// labelNameLen is metricNameLen for label names, which exclude ':'.
func labelNameLen(s []byte) int {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return i
		}
	}
	return len(s)
}
