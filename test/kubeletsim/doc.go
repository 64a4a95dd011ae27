// Package kubeletsim simulates a fleet of kubelets in one process and creates
// the matching Node and Pod objects in a kube-apiserver.
//
// Each simulated node listens on its own loopback address (see [NodeAddr])
// and serves, over HTTPS with a certificate from the configured CA, the two
// endpoints a resource-metrics pipeline reads from a kubelet:
//
//   - /metrics/resource: Prometheus text format 0.0.4, the metric families,
//     label order, value formatting and millisecond sample timestamps of a
//     real kubelet;
//   - /stats/summary: the kubelet Summary API JSON;
//
// plus /healthz. Requests are authenticated and authorised as a kubelet does
// (client certificate or bearer token through TokenReview, then
// SubjectAccessReview on nodes/metrics or nodes/stats), unless
// Config.AuthDisabled is set.
//
// The workload is deterministic: Config.Seed fixes every container's CPU and
// memory usage, and cumulative CPU counters grow exactly at the configured
// rate, so the rate a reader takes between any two scrapes equals the value
// ExpectedContainer, ExpectedPod and ExpectedNode report. Time comes from
// Config.Clock, so unit tests drive it with a fake clock and never sleep.
//
// Usage, container restarts, hidden pods and per-node faults (slow, hung,
// garbage, huge, HTTP 500, 401) can be changed while the fleet runs. By
// default every request is a fresh sample; SetSampleInterval makes each node
// serve one sample for an interval instead, as a kubelet serves cadvisor's
// cached stats, so that two readers can read the very same sample.
//
// Typical use:
//
//	f, err := kubeletsim.New(kubeletsim.Config{Nodes: 3, PodsPerNode: 10, Seed: 1, CA: ca, CAKey: key, Client: cs})
//	if err := f.Start(); err != nil { … }
//	defer f.Close()
//	if _, err := f.Create(ctx); err != nil { … }
package kubeletsim
