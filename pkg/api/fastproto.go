package api

import (
	"math/bits"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/readonly"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// This file writes the v1beta1 lists in the Kubernetes protobuf encoding,
// as the apiserver's protobuf serializer and the generated marshalers do:
// the "k8s\x00" magic, then a runtime.Unknown whose raw bytes are the list.
// The generated marshalers write every singular string and int field, empty
// or not (proto2 without presence), fields in number order, and map entries
// in key order. Each message's length comes before it, so each item's sizes
// are computed first and its bytes written in one forward pass.
//
// Field numbers, from the generated.proto files:
//   runtime.Unknown: typeMeta 1, raw 2, contentEncoding 3, contentType 4
//   runtime.TypeMeta: apiVersion 1, kind 2
//   PodMetricsList, NodeMetricsList: metadata (ListMeta) 1, items 2
//   ListMeta: selfLink 1, resourceVersion 2, continue 3
//   PodMetrics: metadata 1, timestamp 2, window 3, containers 4
//   NodeMetrics: metadata 1, timestamp 2, window 3, usage 4
//   ContainerMetrics: name 1, usage 2
//   ObjectMeta: name 1, generateName 2, namespace 3, selfLink 4, uid 5,
//     resourceVersion 6, generation 7, creationTimestamp 8, labels 11
//   Timestamp (metav1.Time): seconds 1, nanos 2 (always 0: metav1.Time
//     travels with second precision)
//   Duration: duration 1
//   map entries: key 1, value 2; Quantity: string 1

// protoMagic opens every Kubernetes protobuf message.
const protoMagic = "k8s\x00"

// protoHeaderRoom is the room reserved before a list's items for the magic
// and the Unknown's fields up to raw's length, which is known only at the
// end: at most 4 + 1 + 1 + (2 + 22 + 2 + 15) + 1 + 10 = 58 bytes.
const protoHeaderRoom = 64

// emptyListMeta is the list's metadata field: an empty ListMeta still
// carries its three empty strings.
var emptyListMeta = []byte{0x0a, 6, 0x0a, 0, 0x12, 0, 0x1a, 0}

// sov is the size of v as a varint.
func sov(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// nested is the size of a length-delimited field whose payload is n bytes.
func nested(n int) int { return 1 + sov(uint64(n)) + n }

func appendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// appendField appends a length-delimited field's tag and length.
func appendField(dst []byte, tag byte, n int) []byte {
	return appendVarint(append(dst, tag), uint64(n))
}

func appendStringField(dst []byte, tag byte, s string) []byte {
	return append(appendField(dst, tag, len(s)), s...)
}

// protoListHead reserves the room for the header and writes the list's
// metadata; it returns where the list (Unknown.raw) starts.
func protoListHead(dst []byte) ([]byte, int) {
	for range protoHeaderRoom {
		dst = append(dst, 0)
	}
	raw := len(dst)
	return append(dst, emptyListMeta...), raw
}

// protoListFinish writes the header into the room before the list that
// starts at raw in buf, and the Unknown's trailing fields after the list. It
// returns buf and the message: a suffix of buf.
func protoListFinish(buf []byte, raw int, kind, apiVersion string) (all, message []byte) {
	rawLen := len(buf) - raw
	var room [protoHeaderRoom]byte
	h := append(room[:0], protoMagic...)
	h = appendField(h, 0x0a, nested(len(apiVersion))+nested(len(kind)))
	h = appendStringField(h, 0x0a, apiVersion)
	h = appendStringField(h, 0x12, kind)
	h = appendField(h, 0x12, rawLen)
	start := raw - len(h)
	copy(buf[start:], h)
	// contentEncoding and contentType, both empty.
	buf = append(buf, 0x1a, 0, 0x22, 0)
	return buf, buf[start:]
}

// timeSize is the size of a metav1.Time message: empty for the zero time.
func timeSize(t metav1.Time) int {
	if t.IsZero() {
		return 0
	}
	return 1 + sov(uint64(t.Unix())) + 2
}

func appendTime(dst []byte, t metav1.Time) []byte {
	if t.IsZero() {
		return dst
	}
	dst = append(dst, 0x08)
	dst = appendVarint(dst, uint64(t.Unix()))
	return append(dst, 0x10, 0)
}

// objectMetaSize is the size of an item's ObjectMeta with labels, sorted.
func (e *encoder) objectMetaSize(name, namespace string, labels pods.Labels) int {
	n := nested(len(name)) + 2 + nested(len(namespace)) + 2 + 2 + 2 + 2 + nested(e.nowSize)
	for _, l := range labels {
		n += nested(nested(len(l.Key)) + nested(len(l.Value)))
	}
	return n
}

func (e *encoder) appendObjectMeta(dst []byte, size int, name, namespace string, labels pods.Labels) []byte {
	dst = appendField(dst, 0x0a, size)
	dst = appendStringField(dst, 0x0a, name)
	dst = append(dst, 0x12, 0) // generateName
	dst = appendStringField(dst, 0x1a, namespace)
	dst = append(dst, 0x22, 0, 0x2a, 0, 0x32, 0, 0x38, 0) // selfLink, uid, resourceVersion, generation
	dst = appendField(dst, 0x42, e.nowSize)
	dst = appendTime(dst, e.nowTime)
	for _, l := range labels {
		dst = appendField(dst, 0x5a, nested(len(l.Key))+nested(len(l.Value)))
		dst = appendStringField(dst, 0x0a, l.Key)
		dst = appendStringField(dst, 0x12, l.Value)
	}
	return dst
}

// The usage map's entries, in key order.
const (
	keyCPU    = "cpu"
	keyMemory = "memory"
)

// usageEntrySize is the size of one ResourceList entry whose quantity text
// is n bytes long.
func usageEntrySize(key string, n int) int {
	return nested(len(key)) + nested(nested(n))
}

func appendUsageEntry(dst []byte, tag byte, key string, text []byte) []byte {
	dst = appendField(dst, tag, usageEntrySize(key, len(text)))
	dst = appendStringField(dst, 0x0a, key)
	dst = appendField(dst, 0x12, nested(len(text)))
	dst = appendField(dst, 0x0a, len(text))
	return append(dst, text...)
}

// quantityTexts writes the canonical text of each usage's cpu and memory to
// e.qtext; e.qends[2i] and e.qends[2i+1] end container i's two.
func (e *encoder) quantityTexts(usage []sample.ContainerUsage) {
	e.qtext, e.qends = e.qtext[:0], e.qends[:0]
	for i := range usage {
		e.qtext = e.appendCPU(e.qtext, usage[i].Usage)
		e.qends = append(e.qends, len(e.qtext))
		e.qtext = e.appendMemory(e.qtext, usage[i].Usage)
		e.qends = append(e.qends, len(e.qtext))
	}
}

// qtextAt returns the j-th quantity text written by quantityTexts.
func (e *encoder) qtextAt(j int) []byte {
	start := 0
	if j > 0 {
		start = e.qends[j-1]
	}
	return e.qtext[start:e.qends[j]]
}

// appendPodProto appends one PodMetrics as an item of a list (field 2);
// usage must not be empty.
func (e *encoder) appendPodProto(dst []byte, pod *pods.Pod, usage []sample.ContainerUsage) []byte {
	e.quantityTexts(usage)
	labels := pod.Labels
	meta := e.objectMetaSize(pod.Name, pod.Namespace, labels)
	oldest := &usage[oldestContainer(usage)]
	ts := readonly.MsTime(oldest.TimestampMs)
	window := uint64(readonly.MsDuration(oldest.WindowMs).Duration)
	size := nested(meta) + nested(timeSize(ts)) + nested(1+sov(window))
	e.sizes = e.sizes[:0]
	for i := range usage {
		c := nested(len(usage[i].Name)) +
			nested(usageEntrySize(keyCPU, len(e.qtextAt(2*i)))) +
			nested(usageEntrySize(keyMemory, len(e.qtextAt(2*i+1))))
		e.sizes = append(e.sizes, c)
		size += nested(c)
	}

	dst = appendField(dst, 0x12, size)
	dst = e.appendObjectMeta(dst, meta, pod.Name, pod.Namespace, labels)
	dst = appendField(dst, 0x12, timeSize(ts))
	dst = appendTime(dst, ts)
	dst = appendField(dst, 0x1a, 1+sov(window))
	dst = appendVarint(append(dst, 0x08), window)
	for i := range usage {
		dst = appendField(dst, 0x22, e.sizes[i])
		dst = appendStringField(dst, 0x0a, usage[i].Name)
		dst = appendUsageEntry(dst, 0x12, keyCPU, e.qtextAt(2*i))
		dst = appendUsageEntry(dst, 0x12, keyMemory, e.qtextAt(2*i+1))
	}
	return dst
}

// appendNodeProto appends one NodeMetrics as an item of a list (field 2).
func (e *encoder) appendNodeProto(dst []byte, node *corev1.Node, usage sample.Usage) []byte {
	e.qtext, e.qends = e.qtext[:0], e.qends[:0]
	e.qtext = e.appendCPU(e.qtext, usage)
	e.qends = append(e.qends, len(e.qtext))
	e.qtext = e.appendMemory(e.qtext, usage)
	e.qends = append(e.qends, len(e.qtext))
	cpu, memory := e.qtextAt(0), e.qtextAt(1)

	labels := e.sortedLabels(node.Labels)
	meta := e.objectMetaSize(node.Name, "", labels)
	ts := readonly.MsTime(usage.TimestampMs)
	window := uint64(readonly.MsDuration(usage.WindowMs).Duration)
	size := nested(meta) + nested(timeSize(ts)) + nested(1+sov(window)) +
		nested(usageEntrySize(keyCPU, len(cpu))) + nested(usageEntrySize(keyMemory, len(memory)))

	dst = appendField(dst, 0x12, size)
	dst = e.appendObjectMeta(dst, meta, node.Name, "", labels)
	dst = appendField(dst, 0x12, timeSize(ts))
	dst = appendTime(dst, ts)
	dst = appendField(dst, 0x1a, 1+sov(window))
	dst = appendVarint(append(dst, 0x08), window)
	dst = appendUsageEntry(dst, 0x22, keyCPU, cpu)
	return appendUsageEntry(dst, 0x22, keyMemory, memory)
}
