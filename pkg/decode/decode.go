// Package decode turns kubelet responses into sample batches.
//
// The decoder for the kubelet's /metrics/resource endpoint (Prometheus text
// exposition format 0.0.4) is strict about what it keeps and lenient about
// what it reads: a bad line or series is counted under a sample.SkipReason and
// decoding goes on with the next line, so one odd series never costs a whole
// node its readings, and nothing half-parsed ever reaches the store.
//
// The decoder for /stats/summary (the Summary API's JSON) yields the same
// batches from the same workload. It is a streaming reader over the body
// that skips what it does not need without building it, so that, like the
// text decoder, it allocates nothing once warm; a dropped container is
// counted under a SkipReason as well, but a body that is not well-formed
// JSON is rejected whole.
package decode

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// ErrNotText reports a body in which not a single line was a well-formed
// sample line but some were malformed: an HTML error page, JSON from
// /stats/summary, binary garbage. A body that is merely partly bad is not an
// error; its bad lines are counted as sample.SkipMalformed.
var ErrNotText = errors.New("body is not Prometheus text exposition")

const (
	// internSlack keeps a small table from being rebuilt over a handful of
	// churned names.
	internSlack = 256
	// tableSlack is the size under which the per-decode tables are never
	// shrunk: reallocating them would cost more than they hold.
	tableSlack = 1024
)

// Decoder decodes kubelet responses. It keeps scratch space and an intern
// table for names between calls, so a Decoder reused for the scrapes of one
// node reaches a steady state that allocates nothing. The zero Decoder is
// ready to use. A Decoder must not be used by more than one goroutine at a
// time.
type Decoder struct {
	// Limits bound what one response may make the Decoder keep; see Limits.
	// Zero fields take the defaults.
	Limits

	// FallbackTimestampMs, when positive, is the time DecodeResource gives
	// the CPU readings of a body in which no CPU series has a timestamp, as
	// some proxies and old exporters write it. The scraper sets it to the
	// time the response arrived, in milliseconds since the Unix epoch. In a
	// body where some CPU series have timestamps, one without stays
	// SkipMissingTimestamp: mixing the kubelet's clock with the scraper's
	// within a series would distort its rate by the clocks' skew. Zero
	// turns the fallback off.
	FallbackTimestampMs int64

	// intern maps each name ever kept to one shared copy. Batch strings come
	// from here, so they never alias a body and repeat scrapes of the same
	// pods allocate nothing.
	intern map[string]string
	// index finds a container's entry by its interned names; entries holds
	// the containers in the order they first appeared.
	index   map[containerKey]int
	entries []entry
	// cursor is the entry expected next. The kubelet writes every metric
	// family in the same container order, so checking the expected entry
	// first skips the intern and index look-ups for most series.
	cursor int
	// indexPeak is the most entries index has held since it was made; index
	// is replaced when it has become much larger than what a scrape needs.
	indexPeak int
	// pods holds the pods kept so far, but only once podsOn: a response
	// large enough to reach a cap (see admit). truncated is set when a pod
	// in it lost a container to MaxContainers.
	pods      map[containerKey]podTrack
	podsOn    bool
	truncated bool
	// scratch holds unescaped label values of the current line.
	scratch []byte
	// nodeSeen and nodeOK hold a seen* bit per node series: seen on its
	// first occurrence, ok when that occurrence was kept. nodeSeen holds the
	// flag* bits too.
	nodeSeen, nodeOK uint8
	// cpuTimed is set when a CPU series of the body had a timestamp: CPU
	// readings without one then miss it rather than take
	// FallbackTimestampMs.
	cpuTimed bool

	// stack and key are the JSON scanner's, and pending holds one pod's
	// containers, kept between calls for their capacity.
	stack   []byte
	key     []byte
	pending []pendingContainer
}

// NewDecoder returns a Decoder with the default limits.
func NewDecoder() *Decoder {
	return &Decoder{Limits: DefaultLimits()}
}

type containerKey struct {
	namespace, pod, name string
}

// entry gathers one container's series until the whole body is read.
type entry struct {
	c sample.Container
	// seen and ok hold a seen* bit per series kind: seen on the series'
	// first occurrence, ok when that occurrence was kept.
	seen, ok uint8
}

const (
	seenCPU uint8 = 1 << iota
	seenMemory
	seenStart
	seenUsage = seenCPU | seenMemory
)

// Flags kept beside the seen* bits in entry.seen and Decoder.nodeSeen.
const (
	// flagCounted marks a reading whose skip, if any, was counted when it
	// was read: finish must not count it again as incomplete.
	flagCounted uint8 = 1 << (iota + 4)
	// flagUntimed marks a CPU reading without a timestamp, kept until
	// finish knows whether FallbackTimestampMs applies.
	flagUntimed
)

// DecodeResource decodes a /metrics/resource body into b. It resets b first,
// keeping b.Node (which the scraper owns) and the capacity of b.Containers.
// The strings stored in b are owned by the Decoder's intern table: they never
// alias body and stay valid after body is reused.
//
// What is kept:
//   - the node reading, when node_cpu_usage_seconds_total (with a timestamp,
//     which becomes NodePoint.TimestampMs) and node_memory_working_set_bytes
//     are both valid; a node with only one of them counts as SkipIncomplete;
//   - each container, keyed by its namespace, pod and container labels, that
//     has valid container_cpu_usage_seconds_total (with a timestamp) and
//     container_memory_working_set_bytes series, zero values included;
//     container_start_time_seconds is optional. A container lacking either
//     usage series counts once as SkipIncomplete. Containers appear in the
//     order their first series did.
//
// Every other series (pod_*, swap, scrape errors) is skipped uncounted after a
// look at its name. A kept series is skipped and counted when its value is
// NaN, infinite, negative or too large for its unit (SkipInvalidValue), its
// CPU timestamp is missing (SkipMissingTimestamp) or not positive
// (SkipInvalidValue), a naming label is missing or empty (SkipMissingLabel),
// a name is longer than MaxNameLength (SkipNameTooLong) or otherwise not a
// plausible Kubernetes name (SkipMalformed), its pod would exceed MaxPods
// (SkipTooManyPods), its container would exceed MaxContainers or belongs to
// a pod that lost a container to it (SkipTooMany: pods are kept whole, see
// Limits), or it repeats an earlier series (SkipDuplicate: the first
// occurrence decides, even when it was rejected).
// A line that is not valid text format counts as SkipMalformed, and decoding
// goes on with the next line. Timestamps of memory and start-time series are
// checked for syntax and otherwise ignored.
//
// A series naming the container "POD" is skipped uncounted: it is a pod
// sandbox that some runtimes report (Kubernetes container names are
// lower-case, so no real container has that name). The kubelet leaves
// sandboxes out of this endpoint, but a runtime that leaks one should not
// keep a skip counter climbing. An empty container label, which is how
// other runtimes name the sandbox, is still SkipMissingLabel: it is just as
// likely a broken series.
//
// When FallbackTimestampMs is set and no CPU series of the body has a
// timestamp, every CPU reading takes that time instead of counting as
// SkipMissingTimestamp.
//
// The text format ends every line with a newline, so a final line without one
// is taken for a truncated body and counted as malformed rather than trusted
// with a value that may have lost digits.
//
// DecodeResource returns an error wrapping ErrNotText only when no line of
// body was a well-formed sample line and at least one was malformed; b then
// holds nothing but its skip counts. An empty body is not an error.
func (d *Decoder) DecodeResource(body []byte, b *sample.Batch) error {
	node := b.Node
	b.Reset()
	b.Node = node
	d.begin()

	var (
		samples  int
		bad      int
		badLine  []byte
		badNo    int
		badWhy   string
		terminal bool
	)
	for lineNo := 1; len(body) > 0; lineNo++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body, terminal = nil, true
		}
		isSample, why := d.decodeLine(line, terminal, b)
		switch {
		case why != "":
			b.Skip(sample.SkipMalformed)
			if bad == 0 {
				badLine, badNo, badWhy = line, lineNo, why
			}
			bad++
		case isSample:
			samples++
		}
	}

	d.finish(b)
	if samples == 0 && bad > 0 {
		return fmt.Errorf("%w: no sample line, %d malformed; line %d: %s: %q",
			ErrNotText, bad, badNo, badWhy, clip(badLine))
	}
	return nil
}

// begin readies the per-decode state, keeping every allocation.
func (d *Decoder) begin() {
	if d.intern == nil {
		d.intern = make(map[string]string)
	}
	if d.index == nil {
		d.index = make(map[containerKey]int, len(d.entries))
	}
	clear(d.index)
	d.entries = d.entries[:0]
	d.cursor = 0
	d.nodeSeen, d.nodeOK = 0, 0
	d.cpuTimed = false
	d.pending = d.pending[:0]
	if d.podsOn {
		clear(d.pods)
		d.podsOn, d.truncated = false, false
	}
}

// finish moves complete readings into b and bounds what the Decoder keeps
// for the next call.
func (d *Decoder) finish(b *sample.Batch) {
	// Untimed CPU readings take the fallback time only when the whole body
	// lacks timestamps.
	fallback := !d.cpuTimed
	if d.nodeSeen&flagUntimed != 0 {
		if fallback {
			b.NodePoint.TimestampMs = d.FallbackTimestampMs
		} else {
			d.nodeOK &^= seenCPU
			b.Skip(sample.SkipMissingTimestamp)
		}
	}
	b.HasNode = d.nodeOK&seenUsage == seenUsage
	if d.nodeSeen != 0 && !b.HasNode && d.nodeSeen&flagCounted == 0 {
		// The node's half-reading is dropped like a container's would be:
		// without the count it would vanish from the skip metrics.
		b.Skip(sample.SkipIncomplete)
	}
	if !b.HasNode {
		b.NodePoint = sample.Point{}
	}
	for i := range d.entries {
		e := &d.entries[i]
		if e.seen&flagUntimed != 0 {
			if fallback {
				e.c.TimestampMs = d.FallbackTimestampMs
			} else {
				e.ok &^= seenCPU
				b.Skip(sample.SkipMissingTimestamp)
			}
		}
		switch {
		case d.cut(&e.c):
			b.Skip(sample.SkipTooMany)
		case e.ok&seenUsage == seenUsage:
			b.Containers = append(b.Containers, e.c)
		case e.seen&flagCounted == 0:
			b.Skip(sample.SkipIncomplete)
		}
	}
	d.compact()
}

// compact drops the tables' excess after a scrape much smaller than earlier
// ones, so that pod churn or one odd response cannot pin memory for the life
// of the scrape loop.
func (d *Decoder) compact() {
	live := len(d.entries)
	if len(d.intern) > 2*3*live+internSlack {
		// Keep the names still in use, so the next scrape of the same pods
		// stays allocation-free.
		fresh := make(map[string]string, 3*live)
		for i := range d.entries {
			c := &d.entries[i].c
			fresh[c.Namespace] = c.Namespace
			fresh[c.Pod] = c.Pod
			fresh[c.Name] = c.Name
		}
		d.intern = fresh
	}
	if len(d.index) > d.indexPeak {
		d.indexPeak = len(d.index)
	}
	if d.indexPeak > 4*live+tableSlack {
		d.index, d.indexPeak = nil, 0
	}
	if cap(d.entries) > 4*live+tableSlack {
		d.entries = nil
	}
	if cap(d.scratch) > 64<<10 {
		d.scratch = nil
	}
	if cap(d.stack) > 4<<10 {
		d.stack = nil
	}
	if cap(d.key) > 4<<10 {
		d.key = nil
	}
	if cap(d.pending) > 4*live+tableSlack {
		d.pending = nil
	}
	if !d.podsOn {
		// Only responses near a cap count pods; the set was built for an
		// odd one.
		d.pods = nil
	}
}

// clip bounds the bad input quoted in an error message.
func clip(b []byte) []byte {
	const max = 64
	if len(b) > max {
		return b[:max]
	}
	return b
}
