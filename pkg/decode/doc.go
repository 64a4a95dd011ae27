// Package decode turns kubelet responses into sample batches.
//
// ResourceDecoder reads the kubelet's /metrics/resource endpoint (Prometheus
// text exposition format 0.0.4). It is strict about what it keeps and
// lenient about what it reads: a bad line or series is counted under a
// sample.SkipReason and decoding goes on with the next line, so one odd
// series never costs a whole node its readings, and nothing half-parsed ever
// reaches the store.
//
// SummaryDecoder reads /stats/summary (the Summary API's JSON) and yields
// the same batches from the same workload. It is a streaming reader over the
// body that skips what it does not need without building it; a dropped
// container is counted under a SkipReason as well, but a body that is not
// well-formed JSON is rejected whole.
//
// Both keep their names in an intern table of the same kind, which also
// holds the rules the two formats share: what a plausible name is, the
// Limits, when a CPU reading lacks its time, and when a reading is a
// duplicate or incomplete. So that, warm, neither allocates, each decoder
// keeps its table between calls: use one decoder of each kind per node.
package decode
