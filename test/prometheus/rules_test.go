package prometheus

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// TestChartRules passes every rule group of every PrometheusRule the chart
// renders (with every option on) through `promtool check rules`, and has
// each rule evaluated: by the Prometheus that loaded them (health ok), and
// once more through the HTTP API.
func TestChartRules(t *testing.T) {
	if len(env.chart.Rules) == 0 {
		t.Log("the chart renders no PrometheusRule, even with every option on: no recording or alerting rule to check")
		return
	}
	promtool, err := bed.Tool("promtool-" + prometheusVersion)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for name := range env.chart.Rules {
		files = append(files, filepath.Join(dir, name))
	}
	slices.Sort(files)
	// The same files startPrometheus wrote for Prometheus to load.
	for _, f := range files {
		if err := os.WriteFile(f, env.chart.Rules[filepath.Base(f)], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, promtool, append([]string{"check", "rules"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	type rule struct {
		Name           string `json:"name"`
		Query          string `json:"query"`
		Health         string `json:"health"`
		LastError      string `json:"lastError"`
		LastEvaluation string `json:"lastEvaluation"`
	}
	var loaded []rule
	bed.Eventually(t, time.Minute, time.Second, func() error {
		var data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []rule `json:"rules"`
			} `json:"groups"`
		}
		if err := env.prometheus.get(ctx, "/api/v1/rules", nil, &data); err != nil {
			return err
		}
		loaded = loaded[:0]
		for _, g := range data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return fmt.Errorf("rule %s/%s: health %q %s", g.Name, r.Name, r.Health, r.LastError)
				}
				loaded = append(loaded, r)
			}
		}
		if len(loaded) == 0 {
			return fmt.Errorf("Prometheus loaded no rules from %d files", len(files))
		}
		return nil
	})
	for _, r := range loaded {
		got, err := env.prometheus.query(ctx, r.Query)
		if err != nil {
			t.Errorf("rule %s: %v", r.Name, err)
			continue
		}
		t.Logf("rule %s: %d series now", r.Name, len(got))
	}
}
