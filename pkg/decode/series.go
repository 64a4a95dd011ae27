package decode

import (
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// The first occurrence of a series decides, whatever its content: a later
// occurrence is a duplicate even when the first was rejected, so the result
// never depends on which of two conflicting readings came last.

// container returns the entry of the container ls names, or nil after
// counting why its series is dropped.
func (d *ResourceDecoder) container(ls *labelSet, b *sample.Batch) *entry {
	if string(ls.container) == pauseContainer {
		return nil
	}
	if len(ls.namespace) == 0 || len(ls.pod) == 0 || len(ls.container) == 0 {
		// An empty label value is an absent label in Prometheus.
		b.Skip(sample.SkipMissingLabel)
		return nil
	}
	e, reason := d.t.lookup(ls.namespace, ls.pod, ls.container)
	if e == nil {
		b.Skip(reason)
	}
	return e
}

// series keeps the value of one series of a kind the decoder reads in e,
// the node's entry or a container's, or counts why it is dropped.
func (d *ResourceDecoder) series(e *entry, kind metricKind, v float64, ts int64, hasTS bool, b *sample.Batch) {
	bit := kind.part()
	if e.seen&bit != 0 {
		b.Skip(sample.SkipDuplicate)
		return
	}
	e.seen |= bit
	p := &e.c.Point
	switch bit {
	case seenCPU:
		ns, ok := secondsToNanos(v)
		if !ok {
			b.Skip(sample.SkipInvalidValue)
			return
		}
		switch reason, ok := cpuTime(ts, hasTS); {
		case !hasTS && d.FallbackTimestampMs > 0:
			// Finish gives it the fallback time, or drops it when another
			// CPU series of the body had a timestamp.
			e.seen |= flagUntimed
		case !ok:
			b.Skip(reason)
			return
		}
		p.CPUNanos, p.TimestampMs = ns, ts
	case seenMemory:
		mem, ok := toBytes(v)
		if !ok {
			b.Skip(sample.SkipInvalidValue)
			return
		}
		p.MemoryBytes = mem
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
