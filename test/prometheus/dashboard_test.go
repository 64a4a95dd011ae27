package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// query is a panel query with where it comes from.
type query struct{ name, expr string }

func (d dashboard) queries() []query {
	var out []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				out = append(out, query{name: fmt.Sprintf("%s/%s/%d", d.Title, p.Title, i), expr: tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// TestDashboardQueries evaluates every query of every shipped dashboard
// through Prometheus, with its template variables resolved by their own
// queries, and requires at least one series from each.
func TestDashboardQueries(t *testing.T) {
	bed.TailOnFailure(t, env.prometheus.Process)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "charts", "ringmetrics", "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in charts/ringmetrics/dashboards: %v", err)
	}
	// The API request panels need requests: a client reading
	// metrics.k8s.io through the aggregator for as long as the test runs.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go readMetricsAPI(ctx)

	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(d.Title, func(t *testing.T) {
			vars := resolveVariables(t, d)
			qs := d.queries()
			if len(qs) == 0 {
				t.Fatalf("%s has no queries", file)
			}
			for _, q := range qs {
				expr, err := substitute(q.expr, vars)
				if err != nil {
					t.Errorf("%s: %v", q.name, err)
					continue
				}
				var got []series
				bed.Eventually(t, time.Minute, time.Second, func() error {
					got, err = env.prometheus.query(ctx, expr)
					if err != nil {
						return fmt.Errorf("%s: %w", q.name, err)
					}
					if len(got) == 0 {
						return fmt.Errorf("%s: %s returns no series", q.name, expr)
					}
					return nil
				})
				t.Logf("%s: %d series, first %v = %v", q.name, len(got), got[0].Metric, got[0].Value[1])
			}
		})
	}
}

// labelValuesRE is Grafana's label_values(selector, label) variable query.
var labelValuesRE = regexp.MustCompile(`^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// resolveVariables gives each template variable the values its own query
// finds in Prometheus, all of them selected, as a Grafana user choosing
// every value would; and Grafana's built-in intervals for this scrape
// interval.
func resolveVariables(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	vars := map[string]string{
		// Grafana's documented $__rate_interval is max($__interval + scrape
		// interval, 4 × scrape interval); $__interval here is one scrape.
		"__interval":      scrapeInterval.String(),
		"__interval_ms":   strconv.FormatInt(scrapeInterval.Milliseconds(), 10),
		"__rate_interval": (4 * scrapeInterval).String(),
		"__range":         "5m",
	}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			continue
		case "query":
		default:
			t.Fatalf("variable %s is of type %q, which the test does not resolve", v.Name, v.Type)
		}
		def := ""
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err == nil {
			def = q.Query
		} else if err := json.Unmarshal(v.Query, &def); err != nil {
			t.Fatalf("variable %s: query %s", v.Name, v.Query)
		}
		m := labelValuesRE.FindStringSubmatch(def)
		if m == nil {
			t.Fatalf("variable %s: %q is not label_values(selector, label)", v.Name, def)
		}
		selector, err := substitute(m[1], vars)
		if err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		var values []string
		bed.Eventually(t, time.Minute, time.Second, func() error {
			err := env.prometheus.get(t.Context(), "/api/v1/label/"+m[2]+"/values", url.Values{"match[]": {selector}}, &values)
			if err == nil && len(values) == 0 {
				err = fmt.Errorf("variable %s: %s finds no values", v.Name, def)
			}
			return err
		})
		slices.Sort(values)
		quoted := make([]string, len(values))
		for i, value := range values {
			quoted[i] = regexp.QuoteMeta(value)
		}
		// As Grafana formats a multi-value variable for Prometheus: a regex
		// alternation, its backslashes doubled inside the PromQL string.
		vars[v.Name] = strings.ReplaceAll("("+strings.Join(quoted, "|")+")", `\`, `\\`)
		t.Logf("$%s = %s (%s)", v.Name, vars[v.Name], def)
	}
	return vars
}

// variableRE finds Grafana's three variable syntaxes: ${name} (with an
// optional :format), [[name]] and $name.
var variableRE = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[a-zA-Z]+)?\}|\[\[([a-zA-Z0-9_]+)\]\]|\$([a-zA-Z0-9_]+)`)

// substitute replaces every variable in expr; an unknown one is an error.
func substitute(expr string, vars map[string]string) (string, error) {
	var unknown []string
	out := variableRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := variableRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("%q uses variables the dashboard does not define: %v", expr, unknown)
	}
	return out, nil
}

// readMetricsAPI lists node and pod metrics through the aggregator every
// 200ms until ctx ends.
func readMetricsAPI(ctx context.Context) {
	rest := env.bed.Cluster.Client().Discovery().RESTClient()
	for ctx.Err() == nil {
		for _, path := range []string{"/apis/metrics.k8s.io/v1beta1/nodes", "/apis/metrics.k8s.io/v1beta1/pods"} {
			_ = rest.Get().AbsPath(path).Do(ctx).Error()
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"job": `(a\\.b)`, "__rate_interval": "8s", "__range": "5m"}
	f := func(in, want, wantErr string) {
		t.Helper()
		got, err := substitute(in, vars)
		if got != want || (err == nil) != (wantErr == "") || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("substitute(%q) = %q, %v; want %q, error %q", in, got, err, want, wantErr)
		}
	}
	f(`rate(x{job=~"$job"}[$__rate_interval])`, `rate(x{job=~"(a\\.b)"}[8s])`, "")
	f(`x{job=~"${job}"}[${__range}]`, `x{job=~"(a\\.b)"}[5m]`, "")
	f(`x{job=~"[[job]]"}`, `x{job=~"(a\\.b)"}`, "")
	f(`x{job=~"${job:regex}"}`, `x{job=~"(a\\.b)"}`, "")
	f(`x{instance=~"$instance"}`, "", "instance")
}
