package store

import (
	"sync/atomic"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// snapshot is everything the API may read about one node, computed once per
// write. Readers never see it change: the writer fills a snapshot no reader
// holds and then publishes it.
type snapshot struct {
	refs atomic.Int32

	node   sample.Usage
	nodeOK bool
	// pods is indexed by the shard's pod slot, so a reader that found the
	// slot in the store's index needs no further lookup.
	pods []snapPod
	// containers holds the usages of servable pods, each pod's run sorted
	// by container name.
	containers []sample.ContainerUsage
	stats      shardStats
}

// snapPod is one pod slot. gen tells the slot's successive pods apart, so a
// reader holding a stale location finds no match; it costs less than
// keeping the names in every snapshot.
type snapPod struct {
	gen      uint32
	first, n int32
	ok       bool
	// gap says why a live pod is not ok.
	gap Gap
}

type shardStats struct {
	pods, containers int
	points, bytes    int64
}

// maxSpare bounds the retired snapshots kept for reuse. Readers hold a
// snapshot for a lookup, writes come a resolution apart: the one retired at
// the last write is all but always free by the next.
const maxSpare = 1

// publisher hands readers the current snapshot without a lock and recycles
// retired snapshots, so that a steady write publishes without allocating.
//
// A reader pins a snapshot by raising its count and then checking it is
// still the current one; the writer only refills a retired snapshot whose
// count it sees at zero. Because the writer retires a snapshot (Swap) before
// it checks the count, and a reader raises the count before it re-checks
// the pointer, either the writer sees the reader's pin or the reader sees
// that the snapshot was retired and retries. A snapshot refilled and
// published again is simply current again, and complete.
type publisher struct {
	cur atomic.Pointer[snapshot]
	// spare is owned by the shard's writer.
	spare []*snapshot
}

func (p *publisher) acquire() *snapshot {
	for {
		s := p.cur.Load()
		s.refs.Add(1)
		if p.cur.Load() == s {
			return s
		}
		s.refs.Add(-1)
	}
}

func (p *publisher) release(s *snapshot) { s.refs.Add(-1) }

// next returns a snapshot that no reader holds, for the writer to fill.
func (p *publisher) next() *snapshot {
	for i, s := range p.spare {
		if s.refs.Load() == 0 {
			last := len(p.spare) - 1
			p.spare[i] = p.spare[last]
			p.spare[last] = nil
			p.spare = p.spare[:last]
			return s
		}
	}
	return &snapshot{}
}

func (p *publisher) publish(s *snapshot) {
	old := p.cur.Swap(s)
	if old != nil && len(p.spare) < maxSpare {
		p.spare = append(p.spare, old)
	}
}

// bytes approximates the memory the publisher holds.
func (p *publisher) bytes() int64 {
	n := p.cur.Load().bytes()
	for _, s := range p.spare {
		n += s.bytes()
	}
	return n
}

func (s *snapshot) bytes() int64 {
	return sizeofSnapshot +
		int64(cap(s.pods))*sizeofSnapPod +
		int64(cap(s.containers))*sizeofContainerUsage
}
