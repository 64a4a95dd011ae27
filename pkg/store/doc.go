// Package store is the ring store: a fixed number of points per node and
// per container, the CPU rates and memory readings computed from them, and
// the expiry of what stopped reporting.
//
// # Layout
//
// Each node has a shard. A shard keeps its containers' points in one flat,
// pointer-free array: per container a fixed stretch of capacity timestamps
// (ms), then as many cumulative CPU readings (ns), then as many memory
// readings (bytes), so a point costs 24 bytes. Names are the decoder's
// interned strings, kept as they are.
//
// # Concurrency
//
// One goroutine per node writes; any number of API requests read. A write
// locks only its own shard, so nodes never contend. At the end of a write
// the shard computes every usage once and publishes an immutable snapshot
// through an atomic pointer: readers never take a lock a writer holds, and
// a pod's containers are always read from one write. Snapshots are recycled
// once no reader holds them, so a steady write does not allocate.
//
// A small index, under a read-write mutex, maps each node to its shard and
// each pod to its shard and slot. Readers hold it for one map lookup;
// writers take it exclusively only when a pod or node appears or goes.
// Lock order: a shard's mutex, then the index's.
//
// # Rates
//
// A counter that goes down or a container start time that changes starts a
// new run: rates use only the points of the current run, so a restart never
// yields a negative rate or a spike. A run's first point is served when the
// container's start time is known, as the counter's growth since the start;
// otherwise a run needs two points. All times are passed in by the caller.
package store
