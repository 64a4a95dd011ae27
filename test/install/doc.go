// Package install proves the install artifacts: the Helm chart in
// charts/ringmetrics, the manifests generated from it in manifests/, and the
// Dockerfile's static build.
//
// Its tests lint and render the chart with the pinned helm, check the
// rendered objects, fail when manifests/*.yaml drift from the chart, submit
// every rendered object to a real kube-apiserver (server-side dry run, then
// for real), check the ServiceAccount's rights with kubectl auth can-i, run
// ringmetrics with the rendered Deployment's own arguments until the
// aggregator reports it Available, and lint its live /metrics. Two
// ringmetrics with the rendered DaemonSet's arguments stand for two
// control-plane nodes, on two loopback addresses behind a stand-in for the
// Service (serviceLB): both scrape every node and serve, the aggregator
// answers through either while the other is stopped, the kubelet requests
// each adds are counted, and a restarted one is Ready only after its own
// first full round.
//
// `make manifests` regenerates manifests/ (go test -run TestManifestsUpToDate
// -args -update): components.yaml, high-availability.yaml and daemonset.yaml.
package install
