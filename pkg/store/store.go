package store

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// MaxCapacity keeps a typo in a flag from reserving gigabytes per node, and
// a series' point counts in 16 bits.
const MaxCapacity = 1 << 14

// Config sets a Store's fixed parameters.
type Config struct {
	// Capacity is the number of points kept per series. The caller derives
	// it from its history and resolution; a rate needs two points, so it
	// must be at least 2.
	Capacity int
	// CPUWindowMs is the span the CPU rate is smoothed over: the rate is
	// taken from the oldest point of the current run at most this much
	// older than the newest. 0 means the last two points, as metrics-server.
	CPUWindowMs int64
	// MaxAgeMs is how long a series is served after it last gained a point,
	// and how long a node is kept after its last write. Pass a little over
	// twice the scrape resolution so one failed scrape does not blink.
	MaxAgeMs int64
}

type config struct {
	capacity  int
	cpuWindow int64
	maxAge    int64
}

// Store holds a short history of CPU and memory per node and container and
// serves the usage computed from it. One goroutine per node writes, any
// number read; see the package documentation for the layout.
type Store struct {
	cfg config

	// mu guards the index only. Writers take it exclusively when a node or
	// pod appears or goes; readers take it shared for one map lookup.
	mu    sync.RWMutex
	nodes map[string]*shard
	pods  map[podKey]podLoc

	// expireMu serialises Expire so its scratch slice can be reused.
	expireMu  sync.Mutex
	expireBuf []*shard
}

// podLoc is where a pod's usage is published: its node's shard and the pod
// slot within that shard's snapshots.
type podLoc struct {
	shard *shard
	slot  int32
	gen   uint32
}

// New returns an empty Store, or every problem with cfg.
func New(cfg Config) (*Store, error) {
	var errs []error
	if cfg.Capacity < 2 || cfg.Capacity > MaxCapacity {
		errs = append(errs, fmt.Errorf("capacity %d is outside [2, %d]", cfg.Capacity, MaxCapacity))
	}
	if cfg.CPUWindowMs < 0 {
		errs = append(errs, fmt.Errorf("cpu window %dms is negative", cfg.CPUWindowMs))
	}
	if cfg.MaxAgeMs <= 0 {
		errs = append(errs, fmt.Errorf("max age %dms is not positive", cfg.MaxAgeMs))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid store config: %w", errors.Join(errs...))
	}
	return &Store{
		cfg: config{
			capacity:  cfg.Capacity,
			cpuWindow: cfg.CPUWindowMs,
			maxAge:    cfg.MaxAgeMs,
		},
		nodes: make(map[string]*shard),
		pods:  make(map[podKey]podLoc),
	}, nil
}

// Write records one scrape of node b.Node taken at nowMs on the caller's
// clock, and makes the node's and its pods' new usage visible to readers.
// A batch is the node's whole truth: containers of the node absent from b
// are dropped, so a failed scrape must not be written. The store keeps the
// strings of b (the decoder interns them) but neither b nor its slices. A
// batch without a node name is ignored, as is one that races with
// DeleteNode of its node.
func (s *Store) Write(b *sample.Batch, nowMs int64) {
	if b == nil || b.Node == "" {
		return
	}
	sh := s.shardFor(b.Node)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.dead {
		return
	}
	sh.write(b, nowMs)
	s.syncIndex(sh)
}

func (s *Store) shardFor(node string) *shard {
	s.mu.RLock()
	sh := s.nodes[node]
	s.mu.RUnlock()
	if sh != nil {
		return sh
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh = s.nodes[node]; sh == nil {
		sh = newShard(node, &s.cfg)
		s.nodes[node] = sh
	}
	return sh
}

// syncIndex applies the pod slot changes of sh's last update to the index.
// It runs after publishing, so a reader never finds a pod in the index
// before its usage is in the snapshot. A pod new to this node takes the
// index entry even from another node: a pod runs on one node, and the node
// that reported it last is where it went. The caller holds sh.mu.
func (s *Store) syncIndex(sh *shard) {
	if len(sh.added) == 0 && len(sh.removed) == 0 {
		return
	}
	s.mu.Lock()
	for _, r := range sh.removed {
		if loc, ok := s.pods[r.key]; ok && loc == r.loc {
			delete(s.pods, r.key)
		}
	}
	for _, pi := range sh.added {
		if p := &sh.pods[pi]; p.live {
			s.pods[podKey{p.namespace, p.name}] = podLoc{sh, pi, p.gen}
		}
	}
	s.mu.Unlock()
	clear(sh.removed)
	sh.removed = sh.removed[:0]
	sh.added = sh.added[:0]
	// Scratch sized by a spike of pods is let go.
	if cap(sh.removed)+cap(sh.added) > 4*sh.livePods+seriesSlack {
		sh.removed, sh.added = nil, nil
	}
}

// DeleteNode forgets the node and all pods it holds, for an informer's
// deletion.
func (s *Store) DeleteNode(node string) {
	s.mu.RLock()
	sh := s.nodes[node]
	s.mu.RUnlock()
	if sh == nil {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.removeShard(sh)
}

// removeShard unlinks sh from the index and frees its memory. The caller
// holds sh.mu.
func (s *Store) removeShard(sh *shard) {
	if sh.dead {
		return
	}
	sh.dead = true
	s.mu.Lock()
	if s.nodes[sh.name] == sh {
		delete(s.nodes, sh.name)
	}
	for pi := range sh.pods {
		p := &sh.pods[pi]
		key := podKey{p.namespace, p.name}
		if loc, ok := s.pods[key]; p.live && ok && loc == (podLoc{sh, int32(pi), p.gen}) {
			delete(s.pods, key)
		}
	}
	s.mu.Unlock()
	// Readers that looked the shard up just before may still load its
	// snapshot: leave them an empty one. Everything else can go.
	sh.pub.publish(&snapshot{})
	sh.pub.spare = nil
	sh.release()
}

// DeletePod forgets the pod, for an informer's deletion. Should the
// kubelet still report it, the next write of its node adds it back as new.
func (s *Store) DeletePod(namespace, name string) {
	key := podKey{namespace, name}
	s.mu.RLock()
	loc, ok := s.pods[key]
	s.mu.RUnlock()
	if !ok {
		return
	}
	sh := loc.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.dead || int(loc.slot) >= len(sh.pods) {
		return
	}
	if p := &sh.pods[loc.slot]; !p.live || p.gen != loc.gen {
		return
	}
	sh.removePod(loc.slot)
	sh.publish(sh.lastNowMs)
	s.syncIndex(sh)
}

// Expire removes the nodes not written for longer than MaxAgeMs before
// nowMs and stops serving the series that gained no point for as long,
// and reports how many nodes it removed. Call it about once a resolution:
// until then, a node that stopped reporting is still served.
func (s *Store) Expire(nowMs int64) int {
	s.expireMu.Lock()
	defer s.expireMu.Unlock()
	s.mu.RLock()
	for _, sh := range s.nodes {
		s.expireBuf = append(s.expireBuf, sh)
	}
	s.mu.RUnlock()
	removed := 0
	for _, sh := range s.expireBuf {
		sh.mu.Lock()
		switch {
		case sh.dead:
		case nowMs-sh.lastWriteMs > s.cfg.maxAge:
			s.removeShard(sh)
			removed++
		case nowMs > sh.freshUntilMs:
			sh.lastNowMs = max(sh.lastNowMs, nowMs)
			sh.publish(nowMs)
		}
		sh.mu.Unlock()
	}
	clear(s.expireBuf)
	s.expireBuf = s.expireBuf[:0]
	return removed
}

// NodeUsage returns the node's usage, or false when the node is unknown or
// has no servable usage yet (a node needs two points).
func (s *Store) NodeUsage(node string) (sample.Usage, bool) {
	s.mu.RLock()
	sh := s.nodes[node]
	s.mu.RUnlock()
	if sh == nil {
		return sample.Usage{}, false
	}
	snap := sh.pub.acquire()
	u, ok := snap.node, snap.nodeOK
	sh.pub.release(snap)
	return u, ok
}

// PodUsage appends the usage of the pod's containers to dst, sorted by
// container name, and reports true when the pod is known and every one of
// its containers has a servable usage. Otherwise it returns dst unchanged
// and false: as in metrics-server, a pod is served whole or not at all.
func (s *Store) PodUsage(namespace, pod string, dst []sample.ContainerUsage) ([]sample.ContainerUsage, bool) {
	s.mu.RLock()
	loc, ok := s.pods[podKey{namespace, pod}]
	s.mu.RUnlock()
	if !ok {
		return dst, false
	}
	snap := loc.shard.pub.acquire()
	defer loc.shard.pub.release(snap)
	if int(loc.slot) >= len(snap.pods) {
		return dst, false
	}
	sp := &snap.pods[loc.slot]
	if !sp.ok || sp.gen != loc.gen {
		return dst, false
	}
	return append(dst, snap.containers[sp.first:sp.first+sp.n]...), true
}

// PodGap says why PodUsage has nothing for the pod, or GapNone when it has.
func (s *Store) PodGap(namespace, pod string) Gap {
	s.mu.RLock()
	loc, ok := s.pods[podKey{namespace, pod}]
	s.mu.RUnlock()
	if !ok {
		return GapNotReported
	}
	snap := loc.shard.pub.acquire()
	defer loc.shard.pub.release(snap)
	if int(loc.slot) >= len(snap.pods) || snap.pods[loc.slot].gen != loc.gen {
		// Known to the index but not yet in a published snapshot: the write
		// that added it is still being published.
		return GapNotReported
	}
	if sp := &snap.pods[loc.slot]; !sp.ok {
		return sp.gap
	}
	return GapNone
}

// NodeHistory appends the node's points to dst, oldest first, and reports
// whether the node is known. The points span restarts; a counter that goes
// down marks one.
func (s *Store) NodeHistory(node string, dst []sample.Point) ([]sample.Point, bool) {
	s.mu.RLock()
	sh := s.nodes[node]
	s.mu.RUnlock()
	if sh == nil {
		return dst, false
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.dead {
		return dst, false
	}
	return sh.node.history(&sh.arena, dst), true
}

// ContainerHistory appends the container's points to dst, oldest first,
// and reports whether the container is known. It briefly holds up the
// writer of the pod's node, for the copy only.
func (s *Store) ContainerHistory(namespace, pod, container string, dst []sample.Point) ([]sample.Point, bool) {
	s.mu.RLock()
	loc, ok := s.pods[podKey{namespace, pod}]
	s.mu.RUnlock()
	if !ok {
		return dst, false
	}
	sh := loc.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.dead || int(loc.slot) >= len(sh.pods) {
		return dst, false
	}
	p := &sh.pods[loc.slot]
	if !p.live || p.gen != loc.gen {
		return dst, false
	}
	for _, si := range p.containers {
		if sh.series[si].name == container {
			return sh.series[si].history(&sh.arena, dst), true
		}
	}
	return dst, false
}

// Stats describes what the store holds, for its self-metrics.
type Stats struct {
	// Nodes counts the nodes written and not yet expired or deleted.
	Nodes int
	// Pods and Containers count what the nodes hold; a pod that moved is
	// counted on both nodes until the old one's next write drops it.
	Pods       int
	Containers int
	// Points counts the points in all rings, nodes' included.
	Points int64
	// Bytes approximates the memory held, excluding the interned names.
	Bytes int64
}

// Stats returns the totals as of each node's last write, read from the
// published snapshots without taking any node's lock.
func (s *Store) Stats() Stats {
	var st Stats
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sh := range s.nodes {
		snap := sh.pub.acquire()
		st.Nodes++
		st.Pods += snap.stats.pods
		st.Containers += snap.stats.containers
		st.Points += snap.stats.points
		st.Bytes += snap.stats.bytes
		sh.pub.release(snap)
	}
	st.Bytes += sizeofStore +
		int64(len(s.nodes))*mapEntryBytes(sizeofString+8)
	return st
}
