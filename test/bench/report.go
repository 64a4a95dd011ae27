package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// figure is one row of a scale's summary table: a value per phase, shown as
// the median over a server's phases.
type figure struct {
	label string
	unit  string
	value func(p *PhaseResult) float64
	// digits after the point
	digits int
}

const mib = 1 << 20

var figures = []figure{
	{"RSS, steady state", "MiB", func(p *PhaseResult) float64 { return float64(p.RSSBytes) / mib }, 1},
	{"RSS, peak after the API load (VmHWM)", "MiB", func(p *PhaseResult) float64 { return float64(p.PeakRSSBytes) / mib }, 1},
	{"Go heap in use (go_memstats_heap_inuse_bytes)", "MiB", func(p *PhaseResult) float64 { return float64(p.HeapInuseBytes) / mib }, 1},
	{"goroutines", "", func(p *PhaseResult) float64 { return float64(p.Goroutines) }, 0},
	{"CPU per scrape round", "CPU-s", func(p *PhaseResult) float64 { return p.CPUPerRound }, 3},
	{"CPU while scraping, average", "cores", func(p *PhaseResult) float64 { return p.CPUSeconds / p.CPUSpan.Seconds() }, 3},
	{"time from start to Ready", "s", func(p *PhaseResult) float64 { return p.Ready.Seconds() }, 2},
	{"freshness: age of newest point, p50 of sampled nodes", "s", func(p *PhaseResult) float64 { return p.Freshness.P50.Seconds() }, 2},
	{"freshness: max age, sampled nodes", "s", func(p *PhaseResult) float64 { return p.Freshness.Max.Seconds() }, 2},
	{"freshness: max age, all nodes (NodeMetrics LIST)", "s", func(p *PhaseResult) float64 { return p.Freshness.AllMax.Seconds() }, 2},
	{"server CPU per LIST of all PodMetrics, direct, JSON", "CPU-ms", cpuPerRequest(ListAllPods, "direct", "json"), 1},
	{"server CPU per LIST of all PodMetrics, direct, protobuf", "CPU-ms", cpuPerRequest(ListAllPods, "direct", "protobuf"), 1},
}

func cpuPerRequest(e Endpoint, path, format string) func(p *PhaseResult) float64 {
	return func(p *PhaseResult) float64 {
		l, ok := p.latency(e, path, format)
		if !ok {
			return math.NaN()
		}
		return l.CPUPerRequest * 1000
	}
}

var endpointLabels = map[Endpoint]string{
	ListAllPods:   "LIST PodMetrics, all namespaces",
	ListNamespace: "LIST PodMetrics, one namespace",
	ListSelector:  "LIST PodMetrics, namespace + label selector",
	GetPod:        "GET one PodMetrics",
	ListNodes:     "LIST NodeMetrics",
	Discovery:     "discovery (GET /apis/metrics.k8s.io/v1beta1)",
}

// okPhases are a server's phases that completed.
func (r *ScaleResult) okPhases(srv Server) []*PhaseResult {
	var out []*PhaseResult
	for i := range r.Phases {
		if p := &r.Phases[i]; p.Server == srv && p.Error == "" {
			out = append(out, p)
		}
	}
	return out
}

// Median is a figure's median over a server's completed phases.
func (r *ScaleResult) median(srv Server, value func(p *PhaseResult) float64) float64 {
	var vs []float64
	for _, p := range r.okPhases(srv) {
		if v := value(p); !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	return median(vs)
}

// Report writes the results as Markdown: the machine and versions, the
// method, the chart (chartFile, relative to the report; empty for none),
// and a table per scale with each server's medians and their ratio.
func Report(w io.Writer, run *Run, chartFile string) error {
	var b strings.Builder
	m := run.Machine
	fmt.Fprintf(&b, "# ringmetrics and metrics-server, side by side\n\n")
	fmt.Fprintf(&b, "Written by the benchmark harness (`test/bench`, `test/cmd/bench`) on %s; the run took %v.\n\n",
		run.Started.UTC().Format("2006-01-02 15:04 MST"), time.Duration(run.Elapsed).Round(time.Second))
	fmt.Fprintf(&b, "Command:\n\n```sh\n%s\n```\n\n", run.Command)

	b.WriteString("## Machine and versions\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %d × %s |\n", m.CPUs, orDash(m.CPUModel))
	fmt.Fprintf(&b, "| memory | %.1f GiB |\n", float64(m.MemoryBytes)/(1<<30))
	fmt.Fprintf(&b, "| kernel | %s |\n", orDash(m.Kernel))
	fmt.Fprintf(&b, "| Go (harness) | %s |\n", m.GoVersion)
	fmt.Fprintf(&b, "| open-file limit (harness and its children) | %d |\n", m.OpenFiles)
	fmt.Fprintf(&b, "| load average (1 min) at start | %.2f |\n", m.LoadAvg)
	keys := make([]string, 0, len(m.Versions))
	for k := range m.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %s |\n", k, m.Versions[k])
	}
	b.WriteString("\n")
	writeMethod(&b, run)
	if chartFile != "" {
		fmt.Fprintf(&b, "![memory and CPU against node count](%s)\n\n", chartFile)
	}
	for i := range run.Scales {
		writeScale(&b, &run.Scales[i])
		writeFullHistoryRatio(&b, run, &run.Scales[i])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMethod(b *strings.Builder, run *Run) {
	b.WriteString("## Method\n\n")
	b.WriteString("- One bed per scale: etcd and kube-apiserver on loopback, and `test/kubeletsim` serving every node's " +
		"`/metrics/resource` over TLS (offering HTTP/2 and HTTP/1.1; ringmetrics picks HTTP/1.1, metrics-server HTTP/2) on its own loopback address, with seeded, steady usage. " +
		"Pods are spread round robin over the namespaces `bench-NN`; one container each.\n")
	if run.KubeletAuth {
		b.WriteString("- **The simulated kubelets authenticate and authorize every request** (`-kubelet-auth`), as real kubelets do: " +
			"a client certificate or a TokenReview, then a SubjectAccessReview against the kube-apiserver, each answer cached for " +
			"the kubelet's default TTLs.\n")
	} else {
		b.WriteString("- **The simulated kubelets run with authentication disabled** (`kubeletsim.Config.AuthDisabled`): they ask for no " +
			"client certificate and send no TokenReview or SubjectAccessReview, so the apiserver's authentication load does not " +
			"dominate at 5 000 nodes. TLS, connection reuse and the servers' own client set-up are unchanged.\n")
	}
	b.WriteString("- Only one server runs at a time. Phases alternate ringmetrics, metrics-server, ringmetrics, metrics-server " +
		"so that drift in the load of this shared machine falls on both; every figure is the **median over a server's phases**, " +
		"and the ratio is ringmetrics / metrics-server (below 1 is better for ringmetrics everywhere but in the counts).\n")
	b.WriteString("- A phase: start the server; wait for `/readyz` 200 (*time to Ready*); register it as `v1beta1.metrics.k8s.io` " +
		"(ExternalName Service to localhost) and wait until Available; let it scrape at least 3 rounds; then, with no request of " +
		"ours in flight, read utime + stime from `/proc/<pid>/stat` at the start and end of a fixed span (4 rounds = 60 s at 15 s) " +
		"and VmRSS every round (*CPU per scrape round* = CPU-seconds / span × resolution; *RSS* = median sample); then the Go heap " +
		"from the server's own `/metrics`; then freshness; then the API latencies; last VmHWM (*peak RSS*).\n")
	if len(run.RingmetricsEnv) > 0 {
		fmt.Fprintf(b, "- **ringmetrics ran with `%s` added to its environment**; metrics-server with the harness's environment unchanged.\n",
			strings.Join(run.RingmetricsEnv, " "))
	} else {
		b.WriteString("- Both servers ran with the harness's environment; nothing was added to either.\n")
	}
	b.WriteString("- Both servers scrape every 15 s (metrics-server's default). ringmetrics keeps its default `--history=1h`, " +
		"240 points per series at 15 s (3 600 at 1 s), though a phase lasts only a few rounds; metrics-server keeps 2.\n")
	b.WriteString("- *Freshness*: now − the `timestamp` of a NodeMetrics, for 20 nodes spread over the fleet, fetched directly " +
		"in 5 probes spread over one resolution (at least 1 s apart), and for every node of a NodeMetrics LIST at each probe. " +
		"The API carries whole seconds, so an age may read up to 1 s more than it is: the ages are upper bounds.\n")
	b.WriteString("- *Latency*: a fixed number of requests at a fixed concurrency (below each table) after one untimed warm-up, " +
		"each one read to its last byte, as a system:masters client certificate (`bench-admin`), through the kube-apiserver " +
		"aggregator (the real path) and directly to the server's port; `Accept: application/json` and " +
		"`application/vnd.kubernetes.protobuf`; HTTP/2 like client-go. Percentiles by nearest rank. *Server CPU per request* is " +
		"the server's CPU during the run, less its scraping CPU over the same time, per request.\n")
	b.WriteString("- Profiles of both servers at the largest scale are in `profiles/` (CPU while only scraping, CPU under a " +
		"LIST-all load, heap), with `go tool pprof -top` next to each.\n\n")
}

// writeFullHistoryRatio sets a full-rings scale's memory beside
// metrics-server's in the side-by-side scale of as many nodes, if the run
// has one: the comparison the side-by-side phases, with their few points a
// series, cannot make.
func writeFullHistoryRatio(b *strings.Builder, run *Run, full *ScaleResult) {
	if full.Scale.HistoryPoints == 0 {
		return
	}
	for i := range run.Scales {
		side := &run.Scales[i]
		if !side.Scale.sideBySide() || side.Scale.Nodes != full.Scale.Nodes || side.Scale.PodsPerNode != full.Scale.PodsPerNode {
			continue
		}
		for _, f := range figures[:3] {
			rm, ms := full.median(Ringmetrics, f.value), side.median(MetricsServer, f.value)
			fmt.Fprintf(b, "- %s: ringmetrics with full rings %s %s, metrics-server (%s nodes side by side) %s %s: **%s×**.\n",
				f.label, num(rm, f.digits), f.unit, thousands(side.Scale.Nodes), num(ms, f.digits), f.unit, ratio(rm, ms))
		}
		b.WriteString("\n")
		return
	}
}

func writeScale(b *strings.Builder, r *ScaleResult) {
	s := r.Scale
	servers := s.servers()
	title := fmt.Sprintf("%s nodes × %d pods (%s pods)", thousands(s.Nodes), s.PodsPerNode, thousands(r.Pods))
	if !s.sideBySide() {
		title += fmt.Sprintf(", %v resolution, %s alone", s.Resolution[servers[0]], servers[0])
	}
	if s.HistoryPoints > 0 {
		title += fmt.Sprintf(", rings full (%d points a series)", s.HistoryPoints)
	}
	fmt.Fprintf(b, "## %s\n\n", title)
	var res []string
	for _, srv := range servers {
		res = append(res, fmt.Sprintf("%s `--metric-resolution=%v`", srv, s.Resolution[srv]))
	}
	fmt.Fprintf(b, "%s; %d phases per server, %d namespaces; fleet created in %.0f s; %d requests per timing at concurrency %d "+
		"(LIST of all pods: %d); the namespace LIST reads %s pods, its selector matches %s.\n\n",
		strings.Join(res, ", "), s.PhasesPerServer, s.Namespaces, r.FleetCreateSeconds, s.Requests[GetPod], s.Concurrency,
		s.Requests[ListAllPods], thousands(r.NamespacePods), thousands(r.SelectorPods))

	side := s.sideBySide()
	if !side {
		var sampled, all time.Duration
		for _, p := range r.okPhases(servers[0]) {
			sampled, all = max(sampled, time.Duration(p.Freshness.Max)), max(all, time.Duration(p.Freshness.AllMax))
		}
		fmt.Fprintf(b, "Oldest point served in any phase: %.2f s among the sampled nodes, %.2f s over all nodes "+
			"(upper bounds; the resolution is %v).\n\n", sampled.Seconds(), all.Seconds(), s.Resolution[servers[0]])
	}
	header := func(first string) {
		b.WriteString("| " + first)
		for _, srv := range servers {
			b.WriteString(" | " + string(srv))
		}
		if side {
			b.WriteString(" | ringmetrics / metrics-server")
		}
		b.WriteString(" |\n|---")
		for range servers {
			b.WriteString("|--:")
		}
		if side {
			b.WriteString("|--:")
		}
		b.WriteString("|\n")
	}
	header("figure (median over phases)")
	for _, f := range figures {
		label := f.label
		if f.unit != "" {
			label += " (" + f.unit + ")"
		}
		b.WriteString("| " + label)
		vals := make([]float64, len(servers))
		for i, srv := range servers {
			vals[i] = r.median(srv, f.value)
			b.WriteString(" | " + num(vals[i], f.digits))
		}
		if side {
			b.WriteString(" | " + ratio(vals[0], vals[1]))
		}
		b.WriteString(" |\n")
	}
	b.WriteString("\n")

	fmt.Fprintf(b, "API latency, ms, p50 / p90 / p99 (median over phases):\n\n")
	b.WriteString("| request | path | format")
	for _, srv := range servers {
		b.WriteString(" | " + string(srv))
	}
	if side {
		b.WriteString(" | ratio")
	}
	b.WriteString(" |\n|---|---|---")
	for range servers {
		b.WriteString("|--:")
	}
	if side {
		b.WriteString("|--:")
	}
	b.WriteString("|\n")
	for _, e := range Endpoints {
		for _, path := range PathNames {
			for _, format := range Formats {
				fmt.Fprintf(b, "| %s | %s | %s", endpointLabels[e], path, format)
				var q [2][3]float64
				for i, srv := range servers {
					for j, get := range []func(Latency) Duration{
						func(l Latency) Duration { return l.P50 },
						func(l Latency) Duration { return l.P90 },
						func(l Latency) Duration { return l.P99 },
					} {
						q[i][j] = r.median(srv, func(p *PhaseResult) float64 {
							l, ok := p.latency(e, path, format)
							if !ok || l.Errors == l.Requests {
								return math.NaN()
							}
							return get(l).Seconds() * 1000
						})
					}
					errs := 0
					for _, p := range r.okPhases(srv) {
						if l, ok := p.latency(e, path, format); ok {
							errs += l.Errors
						}
					}
					cell := num(q[i][0], 2) + " / " + num(q[i][1], 2) + " / " + num(q[i][2], 2)
					if errs > 0 {
						cell += fmt.Sprintf(" (%d errors)", errs)
					}
					b.WriteString(" | " + cell)
				}
				if side {
					b.WriteString(" | " + ratio(q[0][0], q[1][0]) + " / " + ratio(q[0][1], q[1][1]) + " / " + ratio(q[0][2], q[1][2]))
				}
				b.WriteString(" |\n")
			}
		}
	}
	b.WriteString("\n")

	b.WriteString("<details><summary>Every phase</summary>\n\n")
	b.WriteString("| phase | server | Ready (s) | RSS (MiB) | heap (MiB) | CPU per round (s) | freshness p50 / max (s) | LIST all, direct JSON p50 (ms) | load avg start → end | error |\n")
	b.WriteString("|--:|---|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, p := range r.Phases {
		if p.Error != "" {
			fmt.Fprintf(b, "| %d | %s | — | — | — | — | — | — | %.2f → — | %s |\n", p.Index, p.Server, p.LoadAvg[0], oneLine(p.Error))
			continue
		}
		listAll := math.NaN()
		if l, ok := p.latency(ListAllPods, "direct", "json"); ok {
			listAll = time.Duration(l.P50).Seconds() * 1000
		}
		fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s / %s | %s | %.2f → %.2f | %s |\n",
			p.Index, p.Server, num(p.Ready.Seconds(), 2), num(float64(p.RSSBytes)/mib, 1), num(float64(p.HeapInuseBytes)/mib, 1),
			num(p.CPUPerRound, 3), num(p.Freshness.P50.Seconds(), 2), num(p.Freshness.Max.Seconds(), 2), num(listAll, 1),
			p.LoadAvg[0], p.LoadAvg[1], oneLine(p.Error))
	}
	b.WriteString("\n</details>\n\n")
}

func num(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.*f", digits, v)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ' ')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
