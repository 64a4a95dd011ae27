// Package sample holds the value types that flow from the kubelet decoders to
// the store and from the store to the API. It imports only the standard
// library so that no stage of the pipeline depends on another's internals.
package sample

// Point is one reading of one node or container, as the kubelet reported it.
type Point struct {
	// TimestampMs is when the kubelet took the CPU reading, in milliseconds
	// since the Unix epoch.
	TimestampMs int64
	// CPUNanos is the cumulative CPU time consumed, in nanoseconds. It is a
	// counter: it only goes down when the container or node restarts.
	CPUNanos uint64
	// MemoryBytes is the working set, in bytes.
	MemoryBytes uint64
}

// Container is one container's reading within a Batch.
type Container struct {
	Namespace string
	Pod       string
	Name      string
	// StartTimeMs is the container's start time in milliseconds since the
	// Unix epoch, or 0 when the kubelet did not report it. A change of start
	// time marks a restart even when the counter happens not to go down.
	StartTimeMs int64
	Point
}

// Batch is everything one scrape of one kubelet yielded after validation.
// Decoders reuse a Batch across scrapes: call Reset before decoding into it.
type Batch struct {
	// Node is the node's name; the scraper sets it, decoders leave it alone.
	Node string
	// HasNode reports whether NodePoint holds a complete node reading.
	HasNode   bool
	NodePoint Point
	// Containers holds every complete, valid container reading. A container
	// appears at most once.
	Containers []Container
	// Skipped counts the series or containers dropped, by reason.
	Skipped [NumSkipReasons]uint32
}

// Reset empties b for reuse, keeping its allocated capacity.
func (b *Batch) Reset() {
	containers := b.Containers[:0]
	*b = Batch{Containers: containers}
}

// Skip counts one dropped item under reason.
func (b *Batch) Skip(reason SkipReason) { b.Skipped[reason]++ }

// SkipReason says why a decoder dropped a sample. Each reason is exported as a
// metric label value, so the set is small and fixed.
type SkipReason uint8

const (
	// SkipMalformed: a line or field could not be parsed.
	SkipMalformed SkipReason = iota
	// SkipInvalidValue: NaN, infinite or negative value.
	SkipInvalidValue
	// SkipMissingTimestamp: a usage series came without a timestamp.
	SkipMissingTimestamp
	// SkipDuplicate: the same series appeared twice in one response.
	SkipDuplicate
	// SkipIncomplete: a container lacked its CPU or its memory reading.
	SkipIncomplete
	// SkipMissingLabel: a container series lacked its namespace, pod or
	// container label.
	SkipMissingLabel
	// SkipTooMany: the container would take the response past the
	// decoder's cap on containers per node, or belongs to a pod that lost a
	// container to that cap (pods are kept whole or not at all).
	SkipTooMany
	// SkipTooManyPods: the container's pod would take the response past the
	// decoder's cap on pods per node.
	SkipTooManyPods
	// SkipNameTooLong: a namespace, pod or container name is longer than the
	// decoder's cap on name length.
	SkipNameTooLong
	// NumSkipReasons is the number of reasons; not a reason itself.
	NumSkipReasons
)

var skipReasonNames = [NumSkipReasons]string{
	SkipMalformed:        "malformed",
	SkipInvalidValue:     "invalid_value",
	SkipMissingTimestamp: "missing_timestamp",
	SkipDuplicate:        "duplicate",
	SkipIncomplete:       "incomplete",
	SkipMissingLabel:     "missing_label",
	SkipTooMany:          "too_many_series",
	SkipTooManyPods:      "too_many_pods",
	SkipNameTooLong:      "name_too_long",
}

// String returns the reason's metric label value.
func (r SkipReason) String() string {
	if r < NumSkipReasons {
		return skipReasonNames[r]
	}
	return "unknown"
}

// Usage is what the API serves for one node or container: a CPU rate over a
// window and the latest memory reading.
type Usage struct {
	// TimestampMs is the end of the window: when the newest reading was taken.
	TimestampMs int64
	// WindowMs is the span the CPU rate was taken over.
	WindowMs int64
	// CPUNanoCores is the CPU rate in nanocores (1e9 = one core).
	CPUNanoCores uint64
	// MemoryBytes is the newest working set reading.
	MemoryBytes uint64
}

// ContainerUsage is one container's Usage within a pod.
type ContainerUsage struct {
	Name string
	Usage
}
