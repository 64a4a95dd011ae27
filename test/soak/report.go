package soak

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bench"
)

// ReportFile is the report's name in docs/benchmarks.
const ReportFile = "SOAK.md"

var kindLabels = map[Kind]string{
	HPAList:     "HPA-like: namespaced LIST, label selector, protobuf, via aggregator",
	TopList:     "`kubectl top pod -A`-like: LIST of all pods, JSON, via aggregator",
	GetPod:      "GET one PodMetrics, JSON, via aggregator",
	NodeList:    "freshness probe: LIST NodeMetrics, JSON, direct (system:masters)",
	AbusiveList: "abusive: LIST of all pods, JSON, direct to ringmetrics",
}

// Report writes a run as Markdown.
func Report(w io.Writer, r *Result, command string, m bench.Machine) error {
	cfg := r.Config
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	verdict := "**PASSED**: every criterion held."
	if f := r.Failed(); len(f) > 0 {
		verdict = fmt.Sprintf("**FAILED**: %d of %d criteria broken.", len(f), len(r.Checks))
	}
	p("# ringmetrics under sustained load and overload\n\n")
	p("Written by the soak harness (`test/soak`, `test/cmd/soak`) on %s; the run took %v. %s\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Elapsed.Round(time.Second), verdict)
	p("Command:\n\n```sh\n%s\n```\n\n", command)

	p("## Setup\n\n| | |\n|---|---|\n")
	p("| machine | %d × %s, %.1f GiB, kernel %s, load average %.2f at start |\n", m.CPUs, m.CPUModel, float64(m.MemoryBytes)/(1<<30), m.Kernel, m.LoadAvg)
	for _, k := range slices.Sorted(maps.Keys(m.Versions)) {
		p("| %s | %s |\n", k, m.Versions[k])
	}
	p("| fleet | %d nodes × %d pods (%d pods, one container each) over %d namespaces; %s |\n", cfg.Nodes, cfg.PodsPerNode, r.Pods, cfg.Namespaces, r.FleetCreate)
	p("| ringmetrics flags | `%s` |\n", strings.Join(redactPaths(r.Args), " "))
	if len(r.Env) > 0 {
		p("| added to ringmetrics's environment | `%s` |\n", strings.Join(r.Env, " "))
	} else {
		p("| added to ringmetrics's environment | nothing |\n")
	}
	p("| time to Ready | %v |\n", r.Ready.Round(time.Millisecond))
	p("| soak phase | %v: HPA-like LISTs of %d namespaces every %v (%d at a time), a full LIST every %v, GETs at %.0f/s over %d pods |\n",
		cfg.Duration, cfg.HPANamespaces, cfg.HPAInterval, cfg.HPAWorkers, cfg.TopInterval, cfg.GetRate, cfg.GetPods)
	p("| overload phase | %v: %d concurrent full LISTs straight to ringmetrics, each repeated at once after an answer or %v after a 429 (Retry-After ignored), with the HPA-like client going on |\n",
		cfg.Overload.Duration, cfg.Overload.AbusiveClients, cfg.Overload.RetryAfter429)
	p("| memory request | chart default %s (charts/ringmetrics/values.yaml, sized for 3 000 containers × 240 points); for this fleet (%d containers × %d points) %s |\n\n",
		mibs(cfg.MemoryRequest), cfg.Containers(), int(cfg.history()/cfg.Resolution), mibs(r.MemoryBudget))
	p("The clients are ordinary users bound to the aggregated metrics reader role (`%s`, `%s`, `%s`, `%s`), not system:masters, which both in-flight limits exempt. "+
		"Requests through the aggregator go to the kube-apiserver, which proxies them to ringmetrics. Percentiles by nearest rank over the answered requests.\n\n",
		hpaUser, topUser, getUser, abusiveUser)
	p("The 429s come from ringmetrics's in-flight limits: `--max-requests-inflight=%s` over every request, "+
		"and `--max-cluster-list-requests-inflight=%s` over LISTs of every pod's or node's metrics, which cost about a thousand times an HPA's namespaced LIST. "+
		"One first-come-first-served pool would give the HPA-like client the abusive client's 429s; API Priority and Fairness would need the cluster's FlowSchemas "+
		"through informers, counts any LIST of an aggregated server as one seat, and queues before it rejects.\n\n",
		flagValue(r.Args, "--max-requests-inflight", "400 (default)"), flagValue(r.Args, "--max-cluster-list-requests-inflight", "2 (default)"))

	p("## Criteria\n\n| criterion | want | got | |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		mark := "ok"
		if !c.OK {
			mark = "**FAILED**"
		}
		p("| %s | %s | %s | %s |\n", c.Name, c.Want, escape(c.Got), mark)
	}

	p("\n## Soak phase: requests\n\n")
	statsTable(&b, r.Soak)
	p("\nFreshness: %d NodeMetrics LISTs, %d with a missing node or a point older than %v; oldest newest point seen %v (timestamps are whole seconds, so ages read up to 1 s high).\n",
		r.Freshness.Checks, r.Freshness.Violations, r.Freshness.Limit, r.Freshness.MaxAge.Round(time.Millisecond))

	p("\n## Soak phase: the ringmetrics process\n\n| at | RSS (MiB) | Go heap in use (MiB) | goroutines |\n|--:|--:|--:|--:|\n")
	for _, s := range r.Samples {
		p("| %v | %.1f | %.1f | %d |\n", s.At.Round(time.Second), mib(s.RSS), mib(s.Heap), s.Goroutines)
	}

	o := r.Overload
	p("\n## Overload phase\n\n")
	statsTable(&b, []Stats{o.HPA, o.Abusive})
	p("\nRSS %s before, %s at most (sampled each second); VmHWM at the end of the run %s. Memory request for this fleet %s.\n",
		mibs(o.RSSBefore), mibs(o.MaxRSS), mibs(r.PeakRSS), mibs(r.MemoryBudget))
	_, err := io.WriteString(w, b.String())
	return err
}

func statsTable(b *strings.Builder, stats []Stats) {
	fmt.Fprintf(b, "| request | requests | rate (/s) | 200 | other answers | errors | p50 | p99 | max |\n|---|--:|--:|--:|---|--:|--:|--:|--:|\n")
	for _, s := range stats {
		var other []string
		for _, code := range slices.Sorted(maps.Keys(s.Statuses)) {
			if code != 200 {
				other = append(other, fmt.Sprintf("%s: %d", statusName(code), s.Statuses[code]))
			}
		}
		fmt.Fprintf(b, "| %s | %d | %.1f | %d | %s | %d | %s | %s | %s |\n", kindLabels[s.Kind], s.Requests, s.Rate, s.Statuses[200],
			or(strings.Join(other, ", "), "none"), s.Errors, ms(s.P50), ms(s.P99), ms(s.Max))
	}
}

func statusName(code int) string {
	if code == 0 {
		return "no answer"
	}
	return fmt.Sprint(code)
}

// redactPaths keeps the report free of this machine's temporary paths.
func redactPaths(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, "/") {
			a = k + "=…"
		}
		out[i] = a
	}
	return out
}

func escape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// flagValue is the value of the last --name=value in args, or def.
func flagValue(args []string, name, def string) string {
	v := def
	for _, a := range args {
		if rest, ok := strings.CutPrefix(a, name+"="); ok {
			v = rest
		}
	}
	return v
}
