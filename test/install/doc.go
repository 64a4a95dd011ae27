// Package install proves the install artifacts: the Helm chart in
// charts/ringmetrics, the manifests generated from it in manifests/, and the
// Dockerfile's static build.
//
// Its tests lint and render the chart with the pinned helm, check the
// rendered objects, fail when manifests/*.yaml drift from the chart, submit
// every rendered object to a real kube-apiserver (server-side dry run, then
// for real), check the ServiceAccount's rights with kubectl auth can-i, run
// ringmetrics with the rendered Deployment's own arguments until the
// aggregator reports it Available, and lint its live /metrics.
//
// `make manifests` regenerates manifests/ (go test -run TestManifestsUpToDate
// -args -update).
package install
