package kubeletsim

import (
	"math"
	"strconv"
)

// ContentTypeResource is the Content-Type of /metrics/resource.
const ContentTypeResource = "text/plain; version=0.0.4; charset=utf-8"

// The metric families of /metrics/resource, in the order a kubelet emits them
// (its registry sorts them by name). Series within a family are sorted by
// their label values, labels in the order container, namespace, pod.
const (
	helpContainerCPU = "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative CPU time used by the container, in core-seconds\n" +
		"# TYPE container_cpu_usage_seconds_total counter\n"
	helpContainerMem = "# HELP container_memory_working_set_bytes [STABLE] Current working set of the container, in bytes\n" +
		"# TYPE container_memory_working_set_bytes gauge\n"
	helpContainerStart = "# HELP container_start_time_seconds [STABLE] Start time of the container, in seconds since the Unix epoch\n" +
		"# TYPE container_start_time_seconds gauge\n"
	helpNodeCPU = "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative CPU time used by the node, in core-seconds\n" +
		"# TYPE node_cpu_usage_seconds_total counter\n"
	helpNodeMem = "# HELP node_memory_working_set_bytes [STABLE] Current working set of the node, in bytes\n" +
		"# TYPE node_memory_working_set_bytes gauge\n"
	helpPodCPU = "# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative CPU time used by the pod, in core-seconds\n" +
		"# TYPE pod_cpu_usage_seconds_total counter\n"
	helpPodMem = "# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod, in bytes\n" +
		"# TYPE pod_memory_working_set_bytes gauge\n"
	helpScrapeError = "# HELP resource_scrape_error [STABLE] 1 if collecting container metrics failed, 0 otherwise\n" +
		"# TYPE resource_scrape_error gauge\n"
)

// appendResource appends n's /metrics/resource body, every sample taken at
// ms. The caller holds the fleet's lock for reading.
//
// Values are float64 formatted as the Prometheus client formats them
// (shortest representation, with an exponent from 1e6 up and below 1e-4), so a
// decoder meets what a real kubelet sends, e.g. 1.6777216e+07. CPU counters
// are whole nanoseconds divided by 1e9; they stay below 2^51 ns (about 26
// core-days), so rounding value×1e9 to the nearest integer recovers them
// exactly.
//
// relativeStarts writes start times as seconds since the container started.
func appendResource(dst []byte, n *node, ms int64, relativeStarts bool) []byte {
	if len(n.series) > 0 {
		dst = append(dst, helpContainerCPU...)
		for _, c := range n.series {
			dst = appendSample(dst, "container_cpu_usage_seconds_total", c.series, seconds(c.cpu.at(ms)), ms)
		}
		dst = append(dst, helpContainerMem...)
		for _, c := range n.series {
			dst = appendSample(dst, "container_memory_working_set_bytes", c.series, float64(c.memBytes), ms)
		}
		dst = append(dst, helpContainerStart...)
		for _, c := range n.series {
			start := c.startMs
			if relativeStarts {
				start = ms - c.startMs
			}
			dst = appendSample(dst, "container_start_time_seconds", c.series, float64(start)/1e3, ms)
		}
	}
	_, nodeMem := n.usage()
	dst = append(dst, helpNodeCPU...)
	dst = appendSample(dst, "node_cpu_usage_seconds_total", "", seconds(n.cpu.at(ms)), ms)
	dst = append(dst, helpNodeMem...)
	dst = appendSample(dst, "node_memory_working_set_bytes", "", float64(nodeMem), ms)
	if len(n.visible) > 0 {
		dst = append(dst, helpPodCPU...)
		for _, p := range n.visible {
			dst = appendSample(dst, "pod_cpu_usage_seconds_total", p.series, seconds(p.cpu.at(ms)), ms)
		}
		dst = append(dst, helpPodMem...)
		for _, p := range n.visible {
			_, mem := p.usage()
			dst = appendSample(dst, "pod_memory_working_set_bytes", p.series, float64(mem), ms)
		}
	}
	dst = append(dst, helpScrapeError...)
	dst = append(dst, "resource_scrape_error 0\n"...)
	return dst
}

func seconds(ns uint64) float64 { return float64(ns) / 1e9 }

// appendSample appends `name{labels} value ms\n`.
func appendSample(dst []byte, name, labels string, v float64, ms int64) []byte {
	dst = append(dst, name...)
	if labels != "" {
		dst = append(dst, '{')
		dst = append(dst, labels...)
		dst = append(dst, '}')
	}
	dst = append(dst, ' ')
	dst = appendFloat(dst, v)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, ms, 10)
	return append(dst, '\n')
}

// appendFloat formats v as the Prometheus text exposition does.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case v == 0:
		return append(dst, '0')
	case v == 1:
		return append(dst, '1')
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
