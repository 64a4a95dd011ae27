// Package decodeequiv checks that the two kubelet decoders agree on a
// simulated workload: the same usage must be served whether ringmetrics
// reads /metrics/resource or /stats/summary. It lives under test/ because it
// runs the kubelet simulator (test/kubeletsim), which no package under pkg/
// may import; pkg/decode's own tests compare the two formats on fixtures.
package decodeequiv
