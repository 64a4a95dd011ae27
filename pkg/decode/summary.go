package decode

import (
	"errors"
	"fmt"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// ErrNotJSON reports a /stats/summary body that is not one well-formed JSON
// object: an HTML error page, Prometheus text, a truncated response. Unlike
// the text format, JSON is all or nothing: past a syntax error nothing says
// which pod a reading belongs to, so no reading of the body is kept.
var ErrNotJSON = errors.New("body is not Summary API JSON")

// pendingContainer is a container read from a pod object. It waits for the
// end of the pod because the pod's podRef may come after its containers:
// JSON members come in any order. The node object is read into one too.
type pendingContainer struct {
	// name aliases the body or the table's scratch space.
	name  []byte
	idBad uint8
	r     reading
	// startMs is the start time; startBad says why it was dropped.
	startMs  int64
	startBad uint8
}

// SummaryDecoder decodes the kubelet's /stats/summary bodies. Like
// ResourceDecoder, it keeps scratch space and an intern table between calls
// and, reused for the scrapes of one node, allocates nothing once warm. The
// zero SummaryDecoder is ready to use. A SummaryDecoder must not be used by
// more than one goroutine at a time.
type SummaryDecoder struct {
	// Limits bound what one response may make the decoder keep; see Limits.
	// Zero fields take the defaults.
	Limits

	t table
	// stack and key are the JSON scanner's, and pending holds one pod's
	// containers, kept between calls for their capacity.
	stack   []byte
	key     []byte
	pending []pendingContainer
}

// NewSummaryDecoder returns a SummaryDecoder with the default limits.
func NewSummaryDecoder() *SummaryDecoder {
	return &SummaryDecoder{Limits: DefaultLimits()}
}

// Reset drops everything d keeps between calls, as if d were new; Limits
// stay. A scraper that has moved a node to /metrics/resource resets the
// idle decoder, so that the node holds one intern table, not two.
func (d *SummaryDecoder) Reset() {
	limits := d.Limits
	*d = SummaryDecoder{Limits: limits}
}

// Decode decodes a kubelet /stats/summary body (the Summary API,
// stats/v1alpha1) into b. It resets b first, keeping b.Node and the capacity
// of b.Containers. Strings in b are interned by the decoder, as with
// ResourceDecoder, and never alias body.
//
// What is kept:
//   - the node reading, from node.cpu (time → NodePoint.TimestampMs,
//     usageCoreNanoSeconds → CPUNanos) and node.memory (workingSetBytes →
//     MemoryBytes);
//   - each container of each pod, keyed by the pod's podRef namespace and
//     name and the container's name, from the same members, plus its
//     startTime → StartTimeMs (optional).
//
// Everything else (usageNanoCores, pod totals, system containers, file
// systems, networks, volumes, swap) is skipped after a syntax check. Times
// are RFC 3339, fractions of a millisecond truncated. The kubelet writes
// them in whole seconds while it reads the counters at any instant, so a
// window between two summaries can be off by up to a second: up to about
// 7 % of a rate over the default 15 s resolution. /metrics/resource, with
// millisecond timestamps, is the better source when the kubelet has it.
//
// Each dropped node or container counts once, under the first that applies
// of: a name missing or empty (SkipMissingLabel, or SkipMalformed when it is
// not a string), a name longer than MaxNameLength (SkipNameTooLong), a name
// that is not otherwise a plausible Kubernetes name (SkipMalformed), a pod
// past MaxPods (SkipTooManyPods), a container past MaxContainers or of a pod
// that lost one to it (SkipTooMany: pods are kept whole, see Limits), a
// container met before in the body (SkipDuplicate: the first occurrence
// decides, even when it was dropped), then its reading: a member of the wrong
// JSON type or a key given twice (SkipMalformed), a value that is negative,
// not an integer, out of range or a time not after 1970 (SkipInvalidValue),
// a CPU counter without its time (SkipMissingTimestamp), a cpu, memory,
// usageCoreNanoSeconds or workingSetBytes member missing (SkipIncomplete).
// A container with a bad startTime is kept without it and counts the
// startTime's reason. A second node object counts as SkipDuplicate. JSON
// null stands for a missing member, as encoding/json reads the kubelet's
// optional fields. Keys are matched exactly, not case-insensitively as
// encoding/json would. A container named "POD" (the name some runtimes give
// the pod sandbox; no real container can have it, as container names are
// lower-case) is dropped without a count.
//
// Decode returns an error wrapping ErrNotJSON when body is not one
// well-formed JSON object (an empty body included); b then holds nothing
// but one SkipMalformed. There is no FallbackTimestampMs: the Summary API
// always gives a reading its time, so one without it is broken, not a
// dialect.
func (d *SummaryDecoder) Decode(body []byte, b *sample.Batch) error {
	d.t.begin(d.Limits, b)
	d.pending = d.pending[:0]

	s := scanner{buf: body, stack: d.stack[:0], key: d.key[:0]}
	if s.peek() != '{' {
		s.failAt("expected a JSON object")
	} else {
		w, _ := open(&s, '}')
		for key, ok := w.member(); ok; key, ok = w.member() {
			switch string(key) {
			case "node":
				d.node(&s, b)
			case "pods":
				d.pods(&s, b)
			default:
				s.skip()
			}
		}
		s.end()
	}
	d.stack, d.key = s.stack[:0], s.key[:0]
	// Pending names alias the body: dropping them lets the body go, however
	// large it was, rather than have the decoder pin it until the slots are
	// overwritten.
	clear(d.pending[:cap(d.pending)])

	d.t.finish(b, 0)
	d.compact()
	if !s.ok() {
		node := b.Node
		b.Reset()
		b.Node = node
		b.Skip(sample.SkipMalformed)
		return fmt.Errorf("%w: byte %d: %s: %q", ErrNotJSON, s.pos, s.why, around(body, s.pos))
	}
	return nil
}

// node reads the node object. The Summary API's node and container objects
// hold their readings in the same members, so the node is read as a
// container is, its name and start time unused.
func (d *SummaryDecoder) node(s *scanner, b *sample.Batch) {
	var stats pendingContainer
	w, bad := open(s, '}')
	if !w.in && bad == 0 {
		return
	}
	stats.r.bad |= bad
	d.stats(&w, &stats)
	keep(&d.t.node, &stats.r, b)
}

// pods reads the pods array.
func (d *SummaryDecoder) pods(s *scanner, b *sample.Batch) {
	w, bad := open(s, ']')
	count(b, bad)
	for w.element() {
		d.pod(s, b)
	}
}

// pod reads one pod object and then resolves its containers.
func (d *SummaryDecoder) pod(s *scanner, b *sample.Batch) {
	w, bad := open(s, '}')
	if !w.in {
		count(b, bad)
		return
	}
	// The names of the previous pod's containers are in the store's
	// intern table by now: the scratch space can be reused.
	d.t.scratch = d.t.scratch[:0]
	d.pending = d.pending[:0]
	var namespace, name []byte
	var podBad uint8
	overflow := false
	for key, ok := w.member(); ok; key, ok = w.member() {
		switch string(key) {
		case "podRef":
			podBad |= w.once(keyPodRef) | d.podRef(s, &namespace, &name)
		case "containers":
			// A repeated containers member is still read, so that its
			// containers are counted.
			podBad |= w.once(keyContainers)
			if !d.containers(s, b) {
				overflow = true
			}
		default:
			s.skip()
		}
	}
	if !s.ok() {
		return
	}
	if overflow {
		// The pod has more containers than a whole response may keep, so
		// it cannot be kept whole: none of it is.
		for i := range d.pending {
			if string(d.pending[i].name) != pauseContainer {
				b.Skip(sample.SkipTooMany)
			}
		}
		return
	}
	if len(namespace) == 0 || len(name) == 0 {
		podBad |= badMissingLabel
	}
	for i := range d.pending {
		d.resolve(&d.pending[i], namespace, name, podBad, b)
	}
}

// podRef reads a pod's podRef object into namespace and name, and returns
// what is wrong with it.
func (d *SummaryDecoder) podRef(s *scanner, namespace, name *[]byte) uint8 {
	w, bad := open(s, '}')
	for key, ok := w.member(); ok; key, ok = w.member() {
		var dst *[]byte
		switch string(key) {
		case "name":
			dst = name
			bad |= w.once(keyName)
		case "namespace":
			dst = namespace
			bad |= w.once(keyNamespace)
		default:
			s.skip()
			continue
		}
		v, vBad := d.stringValue(s)
		*dst = v
		bad |= vBad
	}
	return bad
}

// containers reads a pod's containers array into d.pending. It reports
// false when some did not fit under MaxContainers.
func (d *SummaryDecoder) containers(s *scanner, b *sample.Batch) (fit bool) {
	fit = true
	w, bad := open(s, ']')
	count(b, bad)
	for w.element() {
		if len(d.pending) >= d.t.limits.MaxContainers && s.peek() == '{' {
			// No pod can keep more containers than a whole response:
			// bound what waits for the pod's end.
			s.skip()
			b.Skip(sample.SkipTooMany)
			fit = false
			continue
		}
		c, bad := open(s, '}')
		count(b, bad)
		if c.in {
			d.pending = append(d.pending, pendingContainer{})
			d.stats(&c, &d.pending[len(d.pending)-1])
		}
	}
	return fit
}

// stats reads the members of a node or container object, entered by w,
// into pc.
func (d *SummaryDecoder) stats(w *walk, pc *pendingContainer) {
	s := w.s
	for key, ok := w.member(); ok; key, ok = w.member() {
		switch string(key) {
		case "name":
			var bad uint8
			pc.name, bad = d.stringValue(s)
			pc.idBad |= bad | w.once(keyName)
		case "startTime":
			ms, _, bad := timeValue(s)
			if ms < 0 {
				bad |= badInvalid
			}
			// Zero, for null or the epoch, is an unknown start time.
			pc.startMs = ms
			pc.startBad |= bad | w.once(keyStart)
		case "cpu":
			pc.r.bad |= w.once(keyCPU)
			pc.r.cpu(s)
		case "memory":
			pc.r.bad |= w.once(keyMemory)
			pc.r.memory(s)
		default:
			s.skip()
		}
	}
	if len(pc.name) == 0 {
		pc.idBad |= badMissingLabel
	}
}

// resolve keeps or counts one container of the pod namespace/pod, whose
// naming problems are podBad.
func (d *SummaryDecoder) resolve(pc *pendingContainer, namespace, pod []byte, podBad uint8, b *sample.Batch) {
	if string(pc.name) == pauseContainer {
		return
	}
	if bad := podBad | pc.idBad; bad != 0 {
		count(b, bad)
		return
	}
	e, reason := d.t.lookup(namespace, pod, pc.name)
	if e == nil {
		b.Skip(reason)
		return
	}
	if !keep(e, &pc.r, b) {
		return
	}
	if pc.startBad != 0 {
		count(b, pc.startBad)
		return
	}
	e.c.StartTimeMs = pc.startMs
}

// keep stores a reading read whole in e, the node's entry or a container's,
// and reports true, or counts why it is dropped: the first occurrence
// decides, so an entry met before makes the reading a duplicate. Either way
// e's fate is counted here, never by finish.
func keep(e *entry, r *reading, b *sample.Batch) bool {
	if e.seen != 0 {
		b.Skip(sample.SkipDuplicate)
		return false
	}
	e.seen = seenUsage | seenStart | flagCounted
	if bad := r.verdict(); bad != 0 {
		count(b, bad)
		return false
	}
	e.c.Point = r.p
	e.ok = seenUsage
	return true
}

// compact bounds what the decoder keeps beside its table for the next call.
func (d *SummaryDecoder) compact() {
	if cap(d.stack) > 4<<10 {
		d.stack = nil
	}
	if cap(d.key) > 4<<10 {
		d.key = nil
	}
	if cap(d.pending) > 4*len(d.t.entries)+tableSlack {
		d.pending = nil
	}
}

// around returns the bytes around pos, to quote in an error.
func around(b []byte, pos int) []byte {
	start := max(0, pos-24)
	return b[start:min(len(b), start+64)]
}
