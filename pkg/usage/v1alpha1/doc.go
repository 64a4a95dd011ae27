// Package v1alpha1 is usage.ringmetrics.dev/v1alpha1: the usage history
// ringmetrics holds for each node and container, summarised for right-sizing
// (NodeUsage, PodUsage). The types are read-only views computed on request
// from the server's memory; nothing is stored.
//
// # How the figures are computed
//
// Every figure is taken over the points the server holds for the series,
// narrowed by the request's window (?window=5m keeps the points at most 5
// minutes older than the newest one; without it, the whole history, at most
// --history).
//
// CPU: a rate is taken between each two consecutive points, the counter's
// growth over the time between them. A pair over which the counter went down
// (the container or node restarted) gives no rate, so a restart never
// yields a negative or spiked value; such pairs are counted in restarts. The
// average is the CPU time consumed over the time covered by rates; the
// percentiles and the maximum are those of the rates.
//
// Memory: the working set of each point; the average is their mean.
//
// Percentiles use the nearest-rank method, without interpolation: the p-th
// percentile of n values is the ⌈p·n/100⌉-th smallest. Of the values 1, 2,
// 3, 4 the 50th percentile is 2 and the 95th is 4; of a single value, every
// percentile is that value. This is the rank the VPA recommender's histogram
// walks to (it then answers the end of that value's bucket).
//
// # The recommendation
//
// VPA's target rule (k8s.io/autoscaler/vertical-pod-autoscaler v1.8.1,
// docs/flags.md: target-cpu-percentile 0.9, recommendation-margin-fraction
// 0.15, pod-recommendation-min-cpu-millicores 25,
// pod-recommendation-min-memory-mb 250; pkg/recommender/logic/recommender.go
// splits the pod minimum evenly between the pod's containers):
//
//	cpu    = max(p90(cpu) × 1.15, 25m / containers)      rounded up to 1m
//	memory = max(max(memory) × 1.15, 250Mi / containers)  rounded up to 1Mi
//
// VPA takes the 90th percentile of daily memory peaks
// (memory-aggregation-interval 24h); a history shorter than a day holds one
// peak, the maximum, hence max(memory). The recommendation is only as good
// as the window it is computed over: a window that missed the busy hour
// recommends too little.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=dev.ringmetrics.usage.v1alpha1
// +groupName=usage.ringmetrics.dev
package v1alpha1
