package store

import (
	"math"
	"slices"
	"sync"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// shard holds one node's series. Only the node's writer and the store's
// maintenance calls (Expire, deletions, history reads) take its mutex, so
// nodes never contend with each other and API readers never take it.
type shard struct {
	name string
	cfg  *config

	mu sync.Mutex
	// dead is set when the node was removed; a writer that raced with the
	// removal drops its batch rather than resurrect the node.
	dead bool
	gen  uint32
	// lastWriteMs is the caller's clock at the last write: a node that has
	// not been written for maxAge is gone or unreachable.
	lastWriteMs int64
	// lastNowMs is the newest clock reading seen, for republishing after a
	// deletion, which comes without a clock.
	lastNowMs int64
	// freshUntilMs is when the first served series turns stale, so Expire
	// republishes only the shards whose served set would change.
	freshUntilMs int64

	node series
	// series are the container slots, len(series) of them in use or free.
	// Every series' points, the node's included, are in the arena.
	series     []series
	freeSeries []int32
	arena      arena

	pods     []podState
	freePods []int32
	podSlots map[podKey]int32
	// podSlotsPeak is the most entries podSlots has held since it was
	// made: a map never gives back its buckets, so shrink replaces it.
	podSlotsPeak int
	livePods     int
	liveCtrs     int

	// added and removed collect this write's pod slot changes for the
	// store's index; they are scratch, reused across writes.
	added   []int32
	removed []removedPod

	pub publisher
}

type podKey struct{ namespace, name string }

type podState struct {
	namespace, name string
	// containers are series slots, sorted by container name so readers get
	// them in order without sorting.
	containers []int32
	// gen counts the pods the slot has held; see snapPod.
	gen  uint32
	seen uint32
	live bool
}

type removedPod struct {
	key podKey
	loc podLoc
}

func newShard(name string, cfg *config) *shard {
	sh := &shard{
		name:     name,
		cfg:      cfg,
		podSlots: make(map[podKey]int32),
	}
	sh.pub.publish(&snapshot{})
	return sh
}

// release drops everything but the shard's identity and lock, for a
// removed node whose shard readers may still reach for a moment.
func (sh *shard) release() {
	sh.node = series{}
	sh.series, sh.freeSeries = nil, nil
	sh.arena = arena{}
	sh.pods, sh.freePods, sh.podSlots = nil, nil, nil
	sh.livePods, sh.liveCtrs = 0, 0
	sh.added, sh.removed = nil, nil
}

// write records one scrape and publishes the node's new snapshot. It keeps
// no reference to b or its slices, only to the (interned) strings in it.
func (sh *shard) write(b *sample.Batch, nowMs int64) {
	sh.gen++
	sh.lastWriteMs = nowMs
	sh.lastNowMs = max(sh.lastNowMs, nowMs)
	if b.HasNode {
		sh.node.push(&sh.arena, sh.cfg.capacity, b.NodePoint, 0, nowMs)
	}
	// The first batch sizes the slots exactly; most nodes keep about the
	// same pods, so later growth is rare.
	if cap(sh.series) < len(b.Containers) {
		sh.growSeries(len(b.Containers))
	}
	pi := int32(-1)
	for i := range b.Containers {
		c := &b.Containers[i]
		// A pod's containers usually arrive together: skip the map lookup.
		if pi < 0 || sh.pods[pi].name != c.Pod || sh.pods[pi].namespace != c.Namespace {
			pi = sh.podSlot(c.Namespace, c.Pod)
			sh.pods[pi].seen = sh.gen
		}
		si := sh.containerSlot(pi, c.Name, b.Containers[i+1:])
		sh.series[si].seen = sh.gen
		sh.series[si].push(&sh.arena, sh.cfg.capacity, c.Point, c.StartTimeMs, nowMs)
	}
	sh.dropUnseen()
	sh.shrink()
	sh.publish(nowMs)
}

// podSlot returns the slot of the pod, creating it when new.
func (sh *shard) podSlot(namespace, name string) int32 {
	key := podKey{namespace, name}
	if pi, ok := sh.podSlots[key]; ok {
		return pi
	}
	var pi int32
	if n := len(sh.freePods); n > 0 {
		pi = sh.freePods[n-1]
		sh.freePods = sh.freePods[:n-1]
	} else {
		pi = int32(len(sh.pods))
		sh.pods = append(sh.pods, podState{})
	}
	p := &sh.pods[pi]
	p.namespace, p.name, p.live = namespace, name, true
	p.gen++
	p.containers = p.containers[:0]
	sh.podSlots[key] = pi
	sh.podSlotsPeak = max(sh.podSlotsPeak, len(sh.podSlots))
	sh.livePods++
	sh.added = append(sh.added, pi)
	return pi
}

// containerSlot returns the series slot of the pod's container, creating it
// when new. rest is what follows the container in the batch being written.
func (sh *shard) containerSlot(pi int32, name string, rest []sample.Container) int32 {
	p := &sh.pods[pi]
	for _, si := range p.containers {
		if sh.series[si].name == name {
			return si
		}
	}
	si := sh.allocSeries(rest)
	sh.series[si] = series{name: name}
	at, _ := slices.BinarySearchFunc(p.containers, name, func(slot int32, name string) int {
		switch n := sh.series[slot].name; {
		case n < name:
			return -1
		case n > name:
			return 1
		}
		return 0
	})
	p.containers = slices.Insert(p.containers, at, si)
	sh.liveCtrs++
	return si
}

// allocSeries returns a free series slot. rest is what follows the new
// container in the batch being written.
func (sh *shard) allocSeries(rest []sample.Container) int32 {
	if len(sh.freeSeries) == 0 && len(sh.series) == cap(sh.series) {
		// write made room for the whole batch, so every slot taken means
		// some are held by containers the batch no longer has: free those
		// now rather than grow to hold the node's old and new containers
		// side by side. Without this, a kubelet that renames all of its
		// containers every scrape would keep twice its cap in rings.
		sh.reclaim(rest)
	}
	if n := len(sh.freeSeries); n > 0 {
		si := sh.freeSeries[n-1]
		sh.freeSeries = sh.freeSeries[:n-1]
		return si
	}
	if len(sh.series) == cap(sh.series) {
		n := len(sh.series)
		sh.growSeries(n + n/4 + 4)
	}
	sh.series = sh.series[:len(sh.series)+1]
	return int32(len(sh.series) - 1)
}

// growSeries makes room for slots series in total.
func (sh *shard) growSeries(slots int) {
	// The allocator rounds the array up to a size class or a page: use the
	// rounding as spare slots rather than leave it idle.
	s := slices.Grow([]series(nil), slots)
	s = s[:len(sh.series)]
	copy(s, sh.series)
	sh.series = s
}

// reclaim frees, in the middle of a write, the series of containers that
// are neither already written nor in rest, the remainder of the batch.
func (sh *shard) reclaim(rest []sample.Container) {
	for i := range rest {
		c := &rest[i]
		pi, ok := sh.podSlots[podKey{c.Namespace, c.Pod}]
		if !ok {
			continue
		}
		for _, si := range sh.pods[pi].containers {
			if sh.series[si].name == c.Name {
				sh.series[si].seen = sh.gen
				break
			}
		}
	}
	for pi := range sh.pods {
		if p := &sh.pods[pi]; p.live {
			sh.keepSeen(p)
		}
	}
}

// dropUnseen removes the pods and containers absent from the latest batch:
// the kubelet no longer runs them.
func (sh *shard) dropUnseen() {
	for pi := range sh.pods {
		p := &sh.pods[pi]
		if !p.live {
			continue
		}
		if p.seen != sh.gen {
			sh.removePod(int32(pi))
			continue
		}
		sh.keepSeen(p)
	}
}

// keepSeen frees the pod's series that the current write has not seen.
func (sh *shard) keepSeen(p *podState) {
	kept := p.containers[:0]
	for _, si := range p.containers {
		if sh.series[si].seen == sh.gen {
			kept = append(kept, si)
		} else {
			sh.freeSeriesSlot(si)
		}
	}
	if cap(kept) > 4*len(kept)+podSlack {
		// A pod that once reported many containers gives the room back.
		kept = slices.Clone(kept)
	}
	p.containers = kept
}

// Slack under which shrink and keepSeen leave spare room alone: reallocating
// would cost more than it frees.
const (
	podSlack    = 8
	seriesSlack = 64
	chunkSlack  = 4 * blockChunks
)

// shrink gives back what a spike left behind once the node holds far fewer
// containers or pods than its arrays and maps have room for: after one odd
// response, or a hostile kubelet that claimed thousands of containers and
// went quiet, the node would otherwise hold its peak for as long as it
// lives. Series slots and chunks are repacked (pod slots cannot move: the
// store's index points at them).
func (sh *shard) shrink() {
	if sh.arena.chunks() > 4*sh.arena.used+chunkSlack {
		var a arena
		sh.arena.moveTo(&a, &sh.node.chain)
		for pi := range sh.pods {
			if p := &sh.pods[pi]; p.live {
				for _, si := range p.containers {
					sh.arena.moveTo(&a, &sh.series[si].chain)
				}
			}
		}
		sh.arena = a
	}
	if sh.podSlotsPeak > 4*sh.livePods+seriesSlack {
		slots := make(map[podKey]int32, sh.livePods)
		for k, pi := range sh.podSlots {
			slots[k] = pi
		}
		sh.podSlots, sh.podSlotsPeak = slots, len(slots)
	}
	if cap(sh.series) <= 4*sh.liveCtrs+seriesSlack {
		return
	}
	series := slices.Grow([]series(nil), sh.liveCtrs+seriesSlack/4)
	for pi := range sh.pods {
		p := &sh.pods[pi]
		if !p.live {
			continue
		}
		for k, si := range p.containers {
			series = append(series, sh.series[si])
			p.containers[k] = int32(len(series) - 1)
		}
	}
	sh.series, sh.freeSeries = series, nil
}

func (sh *shard) removePod(pi int32) {
	p := &sh.pods[pi]
	for _, si := range p.containers {
		sh.freeSeriesSlot(si)
	}
	key := podKey{p.namespace, p.name}
	delete(sh.podSlots, key)
	sh.removed = append(sh.removed, removedPod{key, podLoc{sh, pi, p.gen}})
	p.namespace, p.name, p.live = "", "", false
	p.containers = p.containers[:0]
	if cap(p.containers) > podSlack {
		p.containers = nil
	}
	sh.freePods = append(sh.freePods, pi)
	sh.livePods--
}

func (sh *shard) freeSeriesSlot(si int32) {
	// Clearing drops the reference to the name and frees the points.
	sh.series[si].drop(&sh.arena)
	sh.freeSeries = append(sh.freeSeries, si)
	sh.liveCtrs--
}

// fresh reports whether s gained a point recently enough to be served.
func (sh *shard) fresh(s *series, nowMs int64) bool {
	return nowMs-s.advancedMs <= sh.cfg.maxAge
}

// publish computes every usage once and makes it the readers' view.
func (sh *shard) publish(nowMs int64) {
	cfg := sh.cfg
	snap := sh.pub.next()
	freshUntil := int64(math.MaxInt64)
	var points int64

	snap.node, snap.nodeOK = sh.node.usage(&sh.arena, cfg.cpuWindow, cfg.maxAge)
	if snap.nodeOK && !sh.fresh(&sh.node, nowMs) {
		snap.node, snap.nodeOK = sample.Usage{}, false
	}
	if snap.nodeOK {
		freshUntil = sh.node.advancedMs + cfg.maxAge
	}
	points += int64(sh.node.count)

	// A recycled snapshot sized for an earlier spike is let go.
	if cap(snap.pods) > 4*len(sh.pods)+seriesSlack {
		snap.pods = nil
	}
	if cap(snap.containers) > 4*sh.liveCtrs+seriesSlack {
		snap.containers = nil
	}
	snap.pods = slices.Grow(snap.pods[:0], len(sh.pods))[:len(sh.pods)]
	snap.containers = slices.Grow(snap.containers[:0], sh.liveCtrs)
	for pi := range sh.pods {
		p := &sh.pods[pi]
		sp := &snap.pods[pi]
		*sp = snapPod{}
		if !p.live {
			continue
		}
		sp.gen = p.gen
		first := len(snap.containers)
		podFresh := int64(math.MaxInt64)
		ok := len(p.containers) > 0
		if !ok {
			// A pod outlives its last container only until the write
			// that dropped the container drops the pod too.
			sp.gap = GapNotReported
		}
		for _, si := range p.containers {
			s := &sh.series[si]
			points += int64(s.count)
			if !ok {
				continue
			}
			u, servable := s.usage(&sh.arena, cfg.cpuWindow, cfg.maxAge)
			if !servable {
				ok, sp.gap = false, GapNoRate
				continue
			}
			if !sh.fresh(s, nowMs) {
				ok, sp.gap = false, GapStale
				continue
			}
			podFresh = min(podFresh, s.advancedMs+cfg.maxAge)
			snap.containers = append(snap.containers, sample.ContainerUsage{Name: s.name, Usage: u})
		}
		if !ok {
			snap.containers = snap.containers[:first]
			continue
		}
		sp.first, sp.n, sp.ok = int32(first), int32(len(snap.containers)-first), true
		freshUntil = min(freshUntil, podFresh)
	}
	// Usages past the end may name containers that are gone; clear them so
	// a recycled snapshot does not keep their names alive.
	clear(snap.containers[len(snap.containers):cap(snap.containers)])

	snap.stats = shardStats{
		pods:       sh.livePods,
		containers: sh.liveCtrs,
		points:     points,
		// The publisher does not hold snap yet.
		bytes: sh.bytes() + snap.bytes(),
	}
	sh.freshUntilMs = freshUntil
	sh.pub.publish(snap)
}

// bytes approximates the memory the shard holds, interned strings excluded
// (the decoder owns them).
func (sh *shard) bytes() int64 {
	n := sizeofShard +
		sh.arena.bytes() +
		int64(cap(sh.series))*sizeofSeries +
		int64(cap(sh.freeSeries)+cap(sh.freePods)+cap(sh.added))*4 +
		int64(cap(sh.removed))*sizeofRemovedPod +
		int64(cap(sh.pods))*sizeofPodState +
		int64(len(sh.podSlots))*mapEntryBytes(sizeofPodKey+4) +
		// The store's index entries for this shard's pods.
		int64(sh.livePods)*mapEntryBytes(sizeofPodKey+sizeofPodLoc) +
		sh.pub.bytes()
	for i := range sh.pods {
		n += int64(cap(sh.pods[i].containers)) * 4
	}
	return n
}

// mapEntryBytes approximates a map's cost per entry: Go's swiss tables
// keep a control byte per slot and at most 7/8 of the slots full, and
// tables grow by doubling, so the average table is about 3/4 full.
func mapEntryBytes(slot int64) int64 { return (slot + 1) * 4 / 3 }
