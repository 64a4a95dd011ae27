package decode

import (
	"unicode/utf8"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

const (
	// internSlack keeps a small table from being rebuilt over a handful of
	// churned names.
	internSlack = 256
	// tableSlack is the size under which the per-decode tables are never
	// shrunk: reallocating them would cost more than they hold.
	tableSlack = 1024
)

// pauseContainer is the container name some runtimes give a pod's sandbox.
// Kubernetes container names are lower-case, so no real container has it:
// both decoders drop it without a count.
const pauseContainer = "POD"

// table is what the two decoders share: the intern table that gives every
// string of a batch one copy owned by the decoder, the node's and the
// containers' readings while a body is read, and the rules both formats
// follow for them: names, limits (see limits.go), duplicates, CPU
// timestamps and completeness. Each decoder keeps its table between calls,
// so that the scrapes of one node reach a steady state that allocates
// nothing.
type table struct {
	// limits are the decoder's Limits with the defaults filled in.
	limits Limits
	// intern maps each name ever kept to one shared copy. Batch strings come
	// from here, so they never alias a body and repeat scrapes of the same
	// pods allocate nothing.
	intern map[string]string
	// index finds a container's entry by its interned names; entries holds
	// the containers in the order they first appeared.
	index   map[containerKey]int
	entries []entry
	// cursor is the entry expected next. The kubelet writes the containers
	// in the same order every time (in the text, in every metric family),
	// so checking the expected entry first skips the intern and index
	// look-ups for most readings.
	cursor int
	// indexPeak is the most entries index has held since it was made; index
	// is replaced when it has become much larger than what a scrape needs.
	indexPeak int
	// node is the node's reading; its names stay empty.
	node entry
	// pods holds the pods kept so far, but only once podsOn: a response
	// large enough to reach a cap (see admit). truncated is set when a pod
	// in it lost a container to MaxContainers.
	pods      map[containerKey]podTrack
	podsOn    bool
	truncated bool
	// scratch holds the unescaped names of the current line or pod until
	// lookup has interned them.
	scratch []byte
}

type containerKey struct {
	namespace, pod, name string
}

// entry gathers the node's or one container's reading until the whole body
// is read.
type entry struct {
	c sample.Container
	// seen and ok hold a seen* bit per part of the reading: seen when the
	// part first occurs, ok when that occurrence was kept.
	seen, ok uint8
}

const (
	seenCPU uint8 = 1 << iota
	seenMemory
	seenStart
	seenUsage = seenCPU | seenMemory
)

// Flags kept beside the seen* bits in entry.seen.
const (
	// flagCounted marks a reading whose skip, if any, was counted when it
	// was read: finish must not count it again as incomplete.
	flagCounted uint8 = 1 << (iota + 4)
	// flagUntimed marks a CPU reading without a timestamp, kept until
	// finish knows whether a fallback time applies.
	flagUntimed
)

// begin readies the table for a body, keeping every allocation, and resets
// b but for b.Node (which the scraper owns) and the capacity of
// b.Containers.
func (t *table) begin(limits Limits, b *sample.Batch) {
	node := b.Node
	b.Reset()
	b.Node = node
	t.limits = limits.WithDefaults()
	if t.intern == nil {
		t.intern = make(map[string]string)
	}
	if t.index == nil {
		t.index = make(map[containerKey]int, len(t.entries))
	}
	clear(t.index)
	t.entries = t.entries[:0]
	t.cursor = 0
	t.node = entry{}
	if t.podsOn {
		clear(t.pods)
		t.podsOn, t.truncated = false, false
	}
}

// finish moves the complete readings into b and bounds what the table keeps
// for the next call. Untimed CPU readings take fallbackMs when it is
// positive, and are dropped as SkipMissingTimestamp otherwise.
func (t *table) finish(b *sample.Batch, fallbackMs int64) {
	if settle(&t.node, fallbackMs, false, b) {
		b.HasNode, b.NodePoint = true, t.node.c.Point
	}
	for i := range t.entries {
		e := &t.entries[i]
		if settle(e, fallbackMs, t.cut(&e.c), b) {
			b.Containers = append(b.Containers, e.c)
		}
	}
	t.compact()
}

// settle decides what becomes of a reading once the body is read, and
// reports whether it is kept. cut marks a container whose pod lost another
// to MaxContainers: it is SkipTooMany whatever it holds, as pods are kept
// whole. A reading lacking its CPU or memory part is SkipIncomplete, unless
// its skip was counted when it was read; a node that was never mentioned is
// not counted at all.
func settle(e *entry, fallbackMs int64, cut bool, b *sample.Batch) bool {
	if e.seen&flagUntimed != 0 {
		if fallbackMs > 0 {
			e.c.TimestampMs = fallbackMs
		} else {
			e.ok &^= seenCPU
			b.Skip(sample.SkipMissingTimestamp)
		}
	}
	switch {
	case cut:
		b.Skip(sample.SkipTooMany)
	case e.ok&seenUsage == seenUsage:
		return true
	case e.seen != 0 && e.seen&flagCounted == 0:
		b.Skip(sample.SkipIncomplete)
	}
	return false
}

// cpuTime applies the rule both formats share to the time of a CPU
// reading: a counter is worth nothing without the instant it was read, and
// an instant not after the epoch is no more plausible than a missing one.
// It returns the reason to drop the reading, or ok.
func cpuTime(ms int64, present bool) (sample.SkipReason, bool) {
	switch {
	case !present:
		return sample.SkipMissingTimestamp, false
	case ms <= 0:
		return sample.SkipInvalidValue, false
	}
	return 0, true
}

// lookup returns the entry of the container namespace/pod/name, creating it
// on first sight, or nil and the reason the reading must be skipped. The
// names may alias a body or the scratch space: a new entry holds interned
// copies.
func (t *table) lookup(namespace, pod, name []byte) (*entry, sample.SkipReason) {
	if t.cursor < len(t.entries) {
		e := &t.entries[t.cursor]
		if e.c.Name == string(name) && e.c.Pod == string(pod) && e.c.Namespace == string(namespace) {
			t.cursor++
			return e, 0
		}
	}

	// Every name of an entry is in the intern table, so a name missing from
	// it means a new container, found without interning anything.
	ns, okNS := t.intern[string(namespace)]
	po, okPod := t.intern[string(pod)]
	n, okName := t.intern[string(name)]
	if okNS && okPod && okName {
		if i, ok := t.index[containerKey{ns, po, n}]; ok {
			t.cursor = i + 1
			return &t.entries[i], 0
		}
	}

	// A name already interned was checked when it was first kept.
	maxLen := t.limits.MaxNameLength
	if reason, ok := checkName(namespace, okNS, maxLen); !ok {
		return nil, reason
	}
	if reason, ok := checkName(pod, okPod, maxLen); !ok {
		return nil, reason
	}
	if reason, ok := checkName(name, okName, maxLen); !ok {
		return nil, reason
	}
	if reason, ok := t.admit(ns, po, okNS && okPod); !ok {
		return nil, reason
	}
	if !okNS {
		ns = t.internNew(namespace)
	}
	if !okPod {
		po = t.internNew(pod)
	}
	if !okName {
		n = t.internNew(name)
	}
	i := len(t.entries)
	t.entries = append(t.entries, entry{c: sample.Container{Namespace: ns, Pod: po, Name: n}})
	t.index[containerKey{ns, po, n}] = i
	t.added(&t.entries[i].c)
	t.cursor = i + 1
	return &t.entries[i], 0
}

func (t *table) internNew(b []byte) string {
	s := string(b)
	t.intern[s] = s
	return s
}

// checkName accepts what could be a Kubernetes name, loosely: the API
// server validates names, the decoders only keep out what would bloat or
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

// compact drops the tables' excess after a scrape much smaller than earlier
// ones, so that pod churn or one odd response cannot pin memory for the life
// of the scrape loop.
func (t *table) compact() {
	live := len(t.entries)
	if len(t.intern) > 2*3*live+internSlack {
		// Keep the names still in use, so the next scrape of the same pods
		// stays allocation-free.
		fresh := make(map[string]string, 3*live)
		for i := range t.entries {
			c := &t.entries[i].c
			fresh[c.Namespace] = c.Namespace
			fresh[c.Pod] = c.Pod
			fresh[c.Name] = c.Name
		}
		t.intern = fresh
	}
	if len(t.index) > t.indexPeak {
		t.indexPeak = len(t.index)
	}
	if t.indexPeak > 4*live+tableSlack {
		t.index, t.indexPeak = nil, 0
	}
	if cap(t.entries) > 4*live+tableSlack {
		t.entries = nil
	}
	if cap(t.scratch) > 64<<10 {
		t.scratch = nil
	}
	if !t.podsOn {
		// Only responses near a cap count pods; the set was built for an
		// odd one.
		t.pods = nil
	}
}

// scratchName appends raw, a name whose escapes the format's unescape undoes,
// to the scratch space and returns it, capped so that later appends cannot
// overwrite it.
func (t *table) scratchName(raw []byte, unescape func(dst, raw []byte) []byte) []byte {
	start := len(t.scratch)
	t.scratch = unescape(t.scratch, raw)
	end := len(t.scratch)
	return t.scratch[start:end:end]
}
