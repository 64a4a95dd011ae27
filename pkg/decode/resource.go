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

// ResourceDecoder decodes the kubelet's /metrics/resource bodies. It keeps
// scratch space and an intern table for names between calls, so a
// ResourceDecoder reused for the scrapes of one node reaches a steady state
// that allocates nothing. The zero ResourceDecoder is ready to use. A
// ResourceDecoder must not be used by more than one goroutine at a time.
type ResourceDecoder struct {
	// Limits bound what one response may make the decoder keep; see Limits.
	// Zero fields take the defaults.
	Limits

	// FallbackTimestampMs, when positive, is the time Decode gives the CPU
	// readings of a body in which no CPU series has a timestamp, as some
	// proxies and old exporters write it. The scraper sets it to the time
	// the response arrived, in milliseconds since the Unix epoch. In a body
	// where some CPU series have timestamps, one without stays
	// SkipMissingTimestamp: mixing the kubelet's clock with the scraper's
	// within a series would distort its rate by the clocks' skew. Zero
	// turns the fallback off.
	FallbackTimestampMs int64

	t table
	// cpuTimed is set when a CPU series of the body had a timestamp: CPU
	// readings without one then miss it rather than take
	// FallbackTimestampMs.
	cpuTimed bool
}

// NewResourceDecoder returns a ResourceDecoder with the default limits.
func NewResourceDecoder() *ResourceDecoder {
	return &ResourceDecoder{Limits: DefaultLimits()}
}

// Reset drops everything d keeps between calls, as if d were new; Limits
// and FallbackTimestampMs stay. A scraper that has moved a node to the
// summary API resets the idle decoder, so that the node holds one intern
// table, not two.
func (d *ResourceDecoder) Reset() { d.t = table{} }

// Decode decodes a /metrics/resource body into b. It resets b first,
// keeping b.Node (which the scraper owns) and the capacity of b.Containers.
// The strings stored in b are owned by the decoder's intern table: they never
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
// Decode returns an error wrapping ErrNotText only when no line of
// body was a well-formed sample line and at least one was malformed; b then
// holds nothing but its skip counts. An empty body is not an error.
func (d *ResourceDecoder) Decode(body []byte, b *sample.Batch) error {
	d.t.begin(d.Limits, b)
	d.cpuTimed = false

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

	// Untimed CPU readings take the fallback time only when the whole body
	// lacks timestamps.
	fallback := d.FallbackTimestampMs
	if d.cpuTimed {
		fallback = 0
	}
	d.t.finish(b, fallback)
	if samples == 0 && bad > 0 {
		return fmt.Errorf("%w: no sample line, %d malformed; line %d: %s: %q",
			ErrNotText, bad, badNo, badWhy, clip(badLine))
	}
	return nil
}

// clip bounds the bad input quoted in an error message.
func clip(b []byte) []byte {
	const max = 64
	if len(b) > max {
		return b[:max]
	}
	return b
}
