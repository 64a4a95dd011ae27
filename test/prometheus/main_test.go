// Package prometheus has a real Prometheus scrape ringmetrics on the bed as
// the chart's ServiceMonitor configures it, then runs every query of the
// shipped Grafana dashboards through Prometheus's HTTP API, and checks and
// evaluates any recording or alerting rule the chart ships.
package prometheus

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

const (
	// prometheusVersion is the Prometheus hack/tools.sh unpacks from
	// Debian's package.
	prometheusVersion = "v2.42.0"
	// resolution is ringmetrics' --metric-resolution; scrapeInterval is set
	// through the chart's serviceMonitor.interval (1m by default): short,
	// so that rate() windows fill in seconds.
	resolution     = 2 * time.Second
	scrapeInterval = 2 * time.Second
	// maxNameLength is ringmetrics' --kubelet-max-name-length, the
	// smallest it accepts; longName's pod is longer, so each scrape skips
	// it and counts the skip.
	maxNameLength = 63
)

var (
	longName = "a-workload-whose-pods-have-names-longer-than-ringmetrics-keeps-x"
	// faultyNode answers every scrape with a 500, so scrape errors count.
	faultyNode = "sim-node-2"
)

var env struct {
	bed         *bed.Bed
	ringmetrics *bed.Server
	prometheus  *Prometheus
	chart       renderedChart
	// tokens are the ServiceAccount token files, by ServiceAccount.
	tokens map[string]string
}

func TestMain(m *testing.M) {
	os.Exit(bed.Main(m, "prometheus", bed.Options{
		Fleet: kubeletsim.Config{Nodes: 3, PodsPerNode: 3, Seed: 1},
	}, setup))
}

// setup gives every dashboard panel something to show: a node whose
// kubelet fails, a pod whose name is over ringmetrics' limit, ringmetrics
// registered behind the aggregator; then it starts Prometheus.
func setup(ctx context.Context, s *bed.Shared) (err error) {
	env.bed = s.Bed
	if len(longName) <= maxNameLength {
		return fmt.Errorf("longName has %d bytes, not more than %d", len(longName), maxNameLength)
	}
	if _, err := s.Bed.Fleet.AddWorkload(ctx, kubeletsim.Workload{
		Namespace: "kubeletsim", Name: longName, Replicas: 1,
		Labels:     map[string]string{"app": "long-names"},
		Containers: []kubeletsim.ContainerSpec{{Name: "app", CPUMilli: 10, MemBytes: 32 << 20}},
	}); err != nil {
		return err
	}
	if err := s.Bed.Fleet.SetFault(faultyNode, kubeletsim.HTTP500()); err != nil {
		return err
	}
	if env.ringmetrics, err = s.Bed.StartRingmetrics(ctx, s.Binary, resolution,
		fmt.Sprintf("--kubelet-max-name-length=%d", maxNameLength)); err != nil {
		return err
	}
	s.Defer(func() { _ = env.ringmetrics.Stop() })
	if err := s.Bed.Use(ctx, env.ringmetrics); err != nil {
		return err
	}
	if env.chart, err = renderChart(s.Bed.Cluster.CAFile()); err != nil {
		return err
	}
	if env.prometheus, err = startPrometheus(ctx, s); err != nil {
		return err
	}
	s.Defer(func() { _ = env.prometheus.Stop() })
	return nil
}

// short cuts a long text for a failure message.
func short(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}
