package api

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// This file writes the v1beta1 lists as the apiserver's JSON serializer does
// (encoding/json over the typed objects): fields in struct order, empty
// optional fields omitted, map keys sorted, strings escaped as encoding/json
// escapes them with HTML escaping on, one trailing newline. Every choice
// here is checked byte for byte against the generic apiserver in
// fastlist_server_test.go.

// encoder holds one response's reusable state: the creation timestamp all
// items share and caches of the few distinct timestamps and windows a list
// repeats. An encoder serves one request at a time.
type encoder struct {
	// nowTime is the creationTimestamp; nowSize its protobuf size and
	// nowJSON its JSON, quotes included.
	nowTime metav1.Time
	nowSize int
	nowJSON []byte
	times   timeCache
	windows windowCache
	// labels is scratch for sorting an item's labels.
	labels pods.Labels
	// qbuf is scratch for a quantity's canonical text.
	qbuf [48]byte
	// qtext, qends and sizes are scratch for an item's protobuf sizes.
	qtext []byte
	qends []int
	sizes []int
}

// reset prepares e for a response created at now, which must not be zero.
func (e *encoder) reset(now time.Time) {
	e.nowTime = metav1.NewTime(now)
	e.nowSize = timeSize(e.nowTime)
	e.nowJSON = appendJSONTime(e.nowJSON[:0], &e.times, now.Unix())
}

// jsonListHead and jsonListTail frame a list; the items go in between,
// separated by commas.
func jsonListHead(dst []byte, kind, apiVersion string) []byte {
	dst = append(dst, `{"kind":"`...)
	dst = append(dst, kind...)
	dst = append(dst, `","apiVersion":"`...)
	dst = append(dst, apiVersion...)
	dst = append(dst, `","metadata":{},"items":[`...)
	return dst
}

func jsonListTail(dst []byte) []byte { return append(dst, "]}\n"...) }

// appendPodJSON appends one PodMetrics; usage must not be empty.
func (e *encoder) appendPodJSON(dst []byte, pod *pods.Pod, usage []sample.ContainerUsage) []byte {
	dst = e.appendObjectMetaJSON(dst, pod.Name, pod.Namespace, pod.Labels)
	oldest := &usage[oldestContainer(usage)]
	dst = e.appendTimeWindowJSON(dst, oldest.TimestampMs, oldest.WindowMs)
	dst = append(dst, `,"containers":[`...)
	for i := range usage {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = appendJSONString(dst, usage[i].Name)
		dst = append(dst, `,"usage":`...)
		dst = e.appendUsageJSON(dst, usage[i].Usage)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// appendNodeJSON appends one NodeMetrics.
func (e *encoder) appendNodeJSON(dst []byte, node *corev1.Node, usage sample.Usage) []byte {
	dst = e.appendObjectMetaJSON(dst, node.Name, "", e.sortedLabels(node.Labels))
	dst = e.appendTimeWindowJSON(dst, usage.TimestampMs, usage.WindowMs)
	dst = append(dst, `,"usage":`...)
	dst = e.appendUsageJSON(dst, usage)
	return append(dst, '}')
}

// appendObjectMetaJSON opens an item and writes its metadata: name,
// namespace, creationTimestamp and labels, the fields the items set, in
// ObjectMeta's order.
func (e *encoder) appendObjectMetaJSON(dst []byte, name, namespace string, labels pods.Labels) []byte {
	dst = append(dst, `{"metadata":{`...)
	if name != "" {
		dst = append(dst, `"name":`...)
		dst = appendJSONString(dst, name)
		dst = append(dst, ',')
	}
	if namespace != "" {
		dst = append(dst, `"namespace":`...)
		dst = appendJSONString(dst, namespace)
		dst = append(dst, ',')
	}
	dst = append(dst, `"creationTimestamp":`...)
	dst = append(dst, e.nowJSON...)
	if len(labels) > 0 {
		dst = append(dst, `,"labels":{`...)
		for i, l := range labels {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, l.Key)
			dst = append(dst, ':')
			dst = appendJSONString(dst, l.Value)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func (e *encoder) appendTimeWindowJSON(dst []byte, timestampMs, windowMs int64) []byte {
	dst = append(dst, `,"timestamp":`...)
	if t := readonly.MsTime(timestampMs); t.IsZero() {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONTime(dst, &e.times, t.Unix())
	}
	dst = append(dst, `,"window":`...)
	return appendJSONString(dst, e.windows.text(windowMs))
}

// appendUsageJSON writes a ResourceList of cpu and memory; encoding/json
// sorts map keys, and "cpu" < "memory".
func (e *encoder) appendUsageJSON(dst []byte, u sample.Usage) []byte {
	dst = append(dst, `{"cpu":"`...)
	dst = e.appendCPU(dst, u)
	dst = append(dst, `","memory":"`...)
	dst = e.appendMemory(dst, u)
	return append(dst, `"}`...)
}

// appendCPU appends the canonical text of the usage's cpu quantity.
func (e *encoder) appendCPU(dst []byte, u sample.Usage) []byte {
	q := cpuQuantity(u)
	return e.appendQuantity(dst, &q)
}

// binarySuffixes are BinarySI's suffixes by power of 1024.
var binarySuffixes = [...]string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// appendMemory appends the canonical text of the usage's memory quantity
// (BinarySI, scale 0). From 1024 up, Quantity writes the value divided by
// the largest power of 1024 that divides it, with that power's suffix, but
// finds the power through an allocating interface conversion: done here
// for those values, and checked against String in TestFastQuantityText.
func (e *encoder) appendMemory(dst []byte, u sample.Usage) []byte {
	v := u.MemoryBytes
	if v < 1024 || v > math.MaxInt64 {
		q := memoryQuantity(u)
		return e.appendQuantity(dst, &q)
	}
	power := 0
	for v%1024 == 0 && power < len(binarySuffixes)-1 {
		v /= 1024
		power++
	}
	dst = strconv.AppendUint(dst, v, 10)
	return append(dst, binarySuffixes[power]...)
}

// appendQuantity appends q's canonical text, as String and MarshalJSON
// write it. The canonical forms hold only digits, signs, '.', 'e' and SI
// suffixes: nothing JSON escapes.
func (e *encoder) appendQuantity(dst []byte, q *resource.Quantity) []byte {
	number, suffix := q.CanonicalizeBytes(e.qbuf[:0])
	dst = append(dst, number...)
	return append(dst, suffix...)
}

// sortedLabels returns m's entries in the order encoding/json (and the
// protobuf marshalers) write them: by key, byte-wise. The slice is reused
// by the next call.
func (e *encoder) sortedLabels(m map[string]string) pods.Labels {
	labels := e.labels[:0]
	for k, v := range m {
		labels = append(labels, pods.Label{Key: k, Value: v})
	}
	// Labels are few: an insertion sort beats the generic sort here.
	for i := 1; i < len(labels); i++ {
		for j := i; j > 0 && labels[j].Key < labels[j-1].Key; j-- {
			labels[j], labels[j-1] = labels[j-1], labels[j]
		}
	}
	e.labels = labels
	return labels
}

// timeCache remembers the RFC 3339 text of recently formatted seconds. The
// items of one list carry a few dozen distinct timestamps at most (one per
// scrape of each node), so a small direct-mapped table catches nearly all.
type timeCache struct {
	sec  [64]int64
	set  [64]bool
	text [64][len("2006-01-02T15:04:05Z")]byte
}

// appendJSONTime appends sec as metav1.Time marshals a non-zero time:
// quoted RFC 3339 in UTC, whole seconds.
func appendJSONTime(dst []byte, c *timeCache, sec int64) []byte {
	dst = append(dst, '"')
	dst = c.append(dst, sec)
	return append(dst, '"')
}

func (c *timeCache) append(dst []byte, sec int64) []byte {
	i := uint64(sec) % uint64(len(c.sec))
	if c.set[i] && c.sec[i] == sec {
		return append(dst, c.text[i][:]...)
	}
	start := len(dst)
	dst = time.Unix(sec, 0).UTC().AppendFormat(dst, time.RFC3339)
	// Years outside 0000-9999 format longer: not cached, still correct.
	if len(dst)-start == len(c.text[i]) {
		copy(c.text[i][:], dst[start:])
		c.sec[i], c.set[i] = sec, true
	}
	return dst
}

// windowCache remembers the last windows' Go duration text
// (metav1.Duration's JSON): a list holds very few distinct windows.
type windowCache struct {
	ms  [8]int64
	set [8]bool
	s   [8]string
}

func (c *windowCache) text(windowMs int64) string {
	i := uint64(windowMs) % uint64(len(c.ms))
	if !c.set[i] || c.ms[i] != windowMs {
		c.ms[i], c.set[i], c.s[i] = windowMs, true, readonly.MsDuration(windowMs).Duration.String()
	}
	return c.s[i]
}

// jsonSafe reports the ASCII bytes encoding/json copies unescaped with HTML
// escaping on: printable, but not '"', '\\', '<', '>' or '&'.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		safe[b] = true
	}
	for _, b := range `"\<>&` {
		safe[b] = false
	}
	return safe
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it with HTML escaping on: '"' and '\\' backslashed; \b, \f, \n,
// \r and \t short; other control characters, '<', '>', '&', U+2028 and
// U+2029 as \u00xx or \u20xx; each byte of invalid UTF-8 as \ufffd; all
// else verbatim.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
