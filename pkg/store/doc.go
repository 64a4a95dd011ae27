// Package store is the ring store: a fixed number of points per node and
// per container, the CPU rates and memory readings computed from them, and
// the expiry of what stopped reporting.
//
// # Layout
//
// Each node has a shard. A series (the node's, or a container's) keeps its
// newest point whole and each older point as a record of a few bits that
// leads back from the point after it: the deviation of the interval from
// the next one's whole seconds, the change of the CPU increment, and the
// working-set change in pages (see codec.go). Records fill 64-byte chunks
// taken from the shard's arena, pointer-free 1 KiB blocks, and a series
// holds just the chunks its last capacity points need. A realistic busy
// container's point takes about 65 bits, an idle one's 43, a steady one's
// 3; with chunk links, partly used chunks and the series' own fields, a
// full ring of 60 such points costs 4-12 bytes a point where flat rings
// took 24, and the worst case, random numbers, 35.6 (MaxSeriesBytes).
//
// Reading goes backwards from the newest point: the usage over the last two
// points decodes nothing, a CPU window decodes the window's records, and a
// history decodes the ring once. Dropping the oldest point decodes nothing;
// a chunk is freed once all of its records lead to points dropped. Names
// are the decoder's interned strings, kept as they are.
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
