package prometheus

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

type target struct {
	ScrapePool string            `json:"scrapePool"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Labels     map[string]string `json:"labels"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
}

// TestScrapedAsServiceMonitor: Prometheus scrapes ringmetrics' /metrics
// over HTTPS with the token of a ServiceAccount allowed to get /metrics,
// under the ServiceMonitor's job label; with the token of one that is not
// allowed, ringmetrics refuses the scrape.
func TestScrapedAsServiceMonitor(t *testing.T) {
	bed.TailOnFailure(t, env.prometheus.Process)
	bed.TailOnFailure(t, env.ringmetrics.Process)
	ctx := t.Context()
	bed.Eventually(t, time.Minute, 500*time.Millisecond, func() error {
		var data struct {
			ActiveTargets []target `json:"activeTargets"`
		}
		if err := env.prometheus.get(ctx, "/api/v1/targets", url.Values{"state": {"active"}}, &data); err != nil {
			return err
		}
		pools := map[string]target{}
		for _, tg := range data.ActiveTargets {
			pools[tg.ScrapePool] = tg
		}
		m, ok := pools[monitorJob]
		switch {
		case !ok:
			return fmt.Errorf("no target in %s: %+v", monitorJob, data.ActiveTargets)
		case m.Health != "up":
			return fmt.Errorf("%s is %q: %s", m.ScrapeURL, m.Health, m.LastError)
		case m.Labels["job"] != env.chart.Job || !strings.HasPrefix(m.ScrapeURL, "https://"):
			return fmt.Errorf("target %s has labels %v; want job=%s over https", m.ScrapeURL, m.Labels, env.chart.Job)
		}
		r, ok := pools[refusedJob]
		switch {
		case !ok:
			return fmt.Errorf("no target in %s", refusedJob)
		case r.Health != "down" || !strings.Contains(r.LastError, "403"):
			return fmt.Errorf("the scrape with a token that may not get /metrics is %q (%s); want down with a 403", r.Health, r.LastError)
		}
		return nil
	})
	up, err := env.prometheus.query(ctx, fmt.Sprintf(`up{job=%q}`, env.chart.Job))
	if err != nil || len(up) != 1 || up[0].Value[1] != "1" {
		t.Errorf("up{job=%q} = %+v, %v; want one series at 1", env.chart.Job, up, err)
	}
}

// TestPromtoolCheckMetrics runs the real `promtool check metrics` on
// ringmetrics' own metric families, fetched as Prometheus fetches them.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := bed.Tool("promtool-" + prometheusVersion)
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(env.tokens[scraper])
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // as the ServiceMonitor's tlsConfig
	}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.ringmetrics.URL()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+string(token))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics with the scraper's token: %s, %v", resp.Status, err)
	}
	own := ownFamilies(string(body))
	if !strings.Contains(own, "# TYPE ringmetrics_") {
		t.Fatalf("/metrics has no ringmetrics_ families:\n%s", short(string(body)))
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(own)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// ownFamilies keeps the lines of an exposition that belong to ringmetrics_
// metric families.
func ownFamilies(exposition string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(exposition, "\n") {
		name := line
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			if f := strings.Fields(rest); len(f) >= 2 {
				name = f[1]
			}
		}
		if strings.HasPrefix(name, "ringmetrics_") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
