// Package usage serves usage.ringmetrics.dev/v1alpha1 (NodeUsage, PodUsage)
// from the store's histories through the same generic apiserver as the
// metrics API: the usage over a window per node and per container —
// percentiles of the CPU rates, memory average, p95 and maximum — beside
// each container's requests and limits (from the pod informer, as
// pods.Trim keeps them), a recommended request, and the ratios of usage to request, with
// a `kubectl get` table for right-sizing. The rules are documented with the
// types, in package v1alpha1.
//
// The store is read through HistoryReader; nothing here imports it.
package usage
