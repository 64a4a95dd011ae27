package decode

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// kubeletExample is a whole /metrics/resource response for one pod, as the
// kubelet writes it.
const kubeletExample = `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web-1"} 12.345678 1732530000123
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web-1"} 1.234567e+07 1732530000123
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web-1"} 1.7325e+09 1732530000000
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 3456.78 1732530000111
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 2.5e+09 1732530000111
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="default",pod="web-1"} 12.4 1732530000123
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="default",pod="web-1"} 1.3e+07 1732530000123
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
`

// kubeletBody writes a response for pods pods of containers containers each,
// in the kubelet's order: families sorted by name, series sorted by label
// values (container, then namespace, then pod), swap and pod series included
// because a real kubelet sends them too.
func kubeletBody(pods, containers int) []byte {
	type ctr struct{ ns, pod, name string }
	var cs []ctr
	for p := range pods {
		ns := []string{"default", "kube-system", "monitoring", "shop-frontend"}[p%4]
		pod := fmt.Sprintf("deployment-%d-7d9f8c6b5-%05x", p, p*7919)
		for c := range containers {
			cs = append(cs, ctr{ns, pod, []string{"app", "istio-proxy", "log-shipper"}[c%3] + strconv.Itoa(c/3)})
		}
	}
	slices.SortFunc(cs, func(a, b ctr) int {
		return strings.Compare(a.name+"\x00"+a.ns+"\x00"+a.pod, b.name+"\x00"+b.ns+"\x00"+b.pod)
	})
	const ts = 1732530000123
	var sb strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&sb, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	perContainer := func(name, typ string, value func(i int) float64) {
		family(name, typ, "Generated for benchmarks")
		for i, c := range cs {
			fmt.Fprintf(&sb, "%s{container=%q,namespace=%q,pod=%q} %s %d\n",
				name, c.name, c.ns, c.pod, strconv.FormatFloat(value(i), 'g', -1, 64), ts+int64(i%7))
		}
	}
	perContainer("container_cpu_usage_seconds_total", "counter", func(i int) float64 { return 1234.5678901 + float64(i)*17.3 })
	perContainer("container_memory_working_set_bytes", "gauge", func(i int) float64 { return 12345678 + float64(i)*4096 })
	perContainer("container_start_time_seconds", "gauge", func(i int) float64 { return 1.7325e9 + float64(i) })
	perContainer("container_swap_usage_bytes", "gauge", func(int) float64 { return 0 })
	family("node_cpu_usage_seconds_total", "counter", "node cpu")
	fmt.Fprintf(&sb, "node_cpu_usage_seconds_total 98765.4321 %d\n", ts)
	family("node_memory_working_set_bytes", "gauge", "node memory")
	fmt.Fprintf(&sb, "node_memory_working_set_bytes 7.516192768e+09 %d\n", ts)
	family("node_swap_usage_bytes", "gauge", "node swap")
	fmt.Fprintf(&sb, "node_swap_usage_bytes 0 %d\n", ts)
	for _, f := range []string{"pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes", "pod_swap_usage_bytes"} {
		family(f, "gauge", "pod")
		for p := range pods {
			fmt.Fprintf(&sb, "%s{namespace=%q,pod=\"deployment-%d\"} 1234 %d\n", f, "default", p, ts)
		}
	}
	family("resource_scrape_error", "gauge", "scrape error")
	sb.WriteString("resource_scrape_error 0\n")
	return []byte(sb.String())
}
