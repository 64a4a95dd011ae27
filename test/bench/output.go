package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/cluster"
)

// Output file names inside the output directory.
const (
	ResultsFile = "RESULTS.md"
	ChartFile   = "scaling.svg"
	JSONFile    = "results.json"
)

// Write renders run into dir: the Markdown report, the chart and the raw
// figures as JSON (from which `-report-only` renders again).
func Write(dir string, run *Run) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := run.Save(filepath.Join(dir, JSONFile)); err != nil {
		return err
	}
	var chart, report bytes.Buffer
	if err := Chart(&chart, run); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ChartFile), chart.Bytes(), 0o644); err != nil {
		return err
	}
	if err := Report(&report, run, ChartFile); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ResultsFile), report.Bytes(), 0o644)
}

// Versions names what ran: the ringmetrics binary's own --version, the
// pinned metrics-server and control plane.
func Versions(ringmetrics string) map[string]string {
	v := map[string]string{
		"metrics-server": bed.MetricsServerVersion + " (pinned, test/tools/metrics-server)",
		"kube-apiserver": cluster.KubernetesVersion,
		"etcd":           cluster.EtcdVersion,
		"ringmetrics":    "unknown",
		"kubelet (sim.)": "test/kubeletsim, /metrics/resource",
		"metrics API":    "metrics.k8s.io/v1beta1",
	}
	if out, err := exec.Command(ringmetrics, "--version").Output(); err == nil {
		v["ringmetrics"] = strings.TrimSpace(string(out))
	}
	return v
}
