package decode

import (
	"unicode/utf8"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// pauseContainer is the container name some runtimes give a pod's sandbox.
const pauseContainer = "POD"

// The first occurrence of a series decides, whatever its content: a later
// occurrence is a duplicate even when the first was rejected, so the result
// never depends on which of two conflicting readings came last.

func (d *Decoder) node(kind metricKind, v float64, ts int64, hasTS bool, b *sample.Batch) {
	bit := seenMemory
	if kind == kindNodeCPU {
		bit = seenCPU
	}
	if d.nodeSeen&bit != 0 {
		b.Skip(sample.SkipDuplicate)
		return
	}
	d.nodeSeen |= bit
	p := &b.NodePoint
	if kind == kindNodeCPU {
		ns, ok := secondsToNanos(v)
		if !ok {
			b.Skip(sample.SkipInvalidValue)
			return
		}
		untimed, ok := d.checkCPUTimestamp(hasTS, ts, b)
		if !ok {
			return
		}
		if untimed {
			d.nodeSeen |= flagUntimed
		}
		p.CPUNanos, p.TimestampMs = ns, ts
	} else {
		mem, ok := toBytes(v)
		if !ok {
			b.Skip(sample.SkipInvalidValue)
			return
		}
		p.MemoryBytes = mem
	}
	d.nodeOK |= bit
}

func (d *Decoder) container(kind metricKind, ls *labelSet, v float64, ts int64, hasTS bool, b *sample.Batch) {
	if string(ls.container) == pauseContainer {
		return
	}
	if len(ls.namespace) == 0 || len(ls.pod) == 0 || len(ls.container) == 0 {
		// An empty label value is an absent label in Prometheus.
		b.Skip(sample.SkipMissingLabel)
		return
	}
	e, reason := d.lookup(ls)
	if e == nil {
		b.Skip(reason)
		return
	}

	var bit uint8
	switch kind {
	case kindContainerCPU:
		bit = seenCPU
	case kindContainerMemory:
		bit = seenMemory
	default:
		bit = seenStart
	}
	if e.seen&bit != 0 {
		b.Skip(sample.SkipDuplicate)
		return
	}
	e.seen |= bit

	switch kind {
	case kindContainerCPU:
		ns, ok := secondsToNanos(v)
		if !ok {
			b.Skip(sample.SkipInvalidValue)
			return
		}
		untimed, ok := d.checkCPUTimestamp(hasTS, ts, b)
		if !ok {
			return
		}
		if untimed {
			e.seen |= flagUntimed
		}
		e.c.CPUNanos, e.c.TimestampMs = ns, ts
	case kindContainerMemory:
		mem, ok := toBytes(v)
		if !ok {
			b.Skip(sample.SkipInvalidValue)
			return
		}
		e.c.MemoryBytes = mem
	default:
		ms, ok := secondsToMillis(v)
		if !ok {
			b.Skip(sample.SkipInvalidValue)
			return
		}
		e.c.StartTimeMs = ms
	}
	e.ok |= bit
}

// lookup returns the entry of the container ls names, creating it on first
// sight, or nil and the reason the series must be skipped.
func (d *Decoder) lookup(ls *labelSet) (*entry, sample.SkipReason) {
	if d.cursor < len(d.entries) {
		e := &d.entries[d.cursor]
		if e.c.Name == string(ls.container) && e.c.Pod == string(ls.pod) && e.c.Namespace == string(ls.namespace) {
			d.cursor++
			return e, 0
		}
	}

	// Every name of an entry is in the intern table, so a name missing from
	// it means a new container, found without interning anything.
	ns, okNS := d.intern[string(ls.namespace)]
	pod, okPod := d.intern[string(ls.pod)]
	name, okName := d.intern[string(ls.container)]
	if okNS && okPod && okName {
		if i, ok := d.index[containerKey{ns, pod, name}]; ok {
			d.cursor = i + 1
			return &d.entries[i], 0
		}
	}

	// A name already interned was checked when it was first kept.
	maxLen := d.maxNameLength()
	if reason, ok := checkName(ls.namespace, okNS, maxLen); !ok {
		return nil, reason
	}
	if reason, ok := checkName(ls.pod, okPod, maxLen); !ok {
		return nil, reason
	}
	if reason, ok := checkName(ls.container, okName, maxLen); !ok {
		return nil, reason
	}
	if reason, ok := d.admit(ns, pod, okNS && okPod); !ok {
		return nil, reason
	}
	if !okNS {
		ns = d.internNew(ls.namespace)
	}
	if !okPod {
		pod = d.internNew(ls.pod)
	}
	if !okName {
		name = d.internNew(ls.container)
	}
	i := len(d.entries)
	d.entries = append(d.entries, entry{c: sample.Container{Namespace: ns, Pod: pod, Name: name}})
	d.index[containerKey{ns, pod, name}] = i
	d.added(&d.entries[i].c)
	d.cursor = i + 1
	return &d.entries[i], 0
}

func (d *Decoder) internNew(b []byte) string {
	s := string(b)
	d.intern[s] = s
	return s
}

// checkName accepts what could be a Kubernetes name, loosely: the API
// server validates names, the decoder only keeps out what would bloat or
// corrupt a table or a JSON response: a name longer than maxLen
// (SkipNameTooLong), control bytes or broken UTF-8 (SkipMalformed). A name
// already interned passed when it was first kept.
func checkName(b []byte, interned bool, maxLen int) (sample.SkipReason, bool) {
	if interned {
		return 0, true
	}
	if len(b) > maxLen {
		return sample.SkipNameTooLong, false
	}
	if len(b) == 0 {
		return sample.SkipMalformed, false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return sample.SkipMalformed, false
		}
	}
	if !utf8.Valid(b) {
		return sample.SkipMalformed, false
	}
	return 0, true
}

// checkCPUTimestamp applies the timestamp rules every CPU series shares. It
// reports untimed when the series has none and the fallback time will stand
// in, or !ok after counting why the series is dropped.
func (d *Decoder) checkCPUTimestamp(hasTS bool, ts int64, b *sample.Batch) (untimed, ok bool) {
	switch {
	case !hasTS && d.FallbackTimestampMs > 0:
		return true, true
	case !hasTS:
		b.Skip(sample.SkipMissingTimestamp)
		return false, false
	case ts <= 0:
		b.Skip(sample.SkipInvalidValue)
		return false, false
	}
	return false, true
}
