package install

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// upstreamLintProblems are what promlint (the lint of `promtool check
// metrics`) reports about metrics that k8s.io/apiserver registers and
// ringmetrics cannot rename. Any other problem fails the test, and so does
// any problem with a ringmetrics_ metric.
var upstreamLintProblems = map[string]string{
	"authenticated_user_requests": `counter metrics should have "_total" suffix`,
	"authentication_attempts":     `counter metrics should have "_total" suffix`,
}

// testMetrics scrapes the live /metrics as a Prometheus would (a user with
// get on the non-resource URL /metrics), lints it, and runs every dashboard
// query's metric and label references against it.
func testMetrics(t *testing.T, b *bed.Bed, s *bed.Server) {
	body := scrapeMetrics(t, b, s)

	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "ringmetrics_") || upstreamLintProblems[p.Metric] != p.Text {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	if !t.Failed() {
		t.Logf("promlint: %d problems, all known ones in k8s.io/apiserver's own metrics: %v", len(problems), problems)
	}

	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	own := 0
	for name := range families {
		if strings.HasPrefix(name, "ringmetrics_") {
			own++
			if !regexp.MustCompile(`^ringmetrics_(scraper|store|api)_[a-z0-9_]+$`).MatchString(name) {
				t.Errorf("metric %s: want ringmetrics_<subsystem>_<name>_<unit>", name)
			}
		}
	}
	if own == 0 {
		t.Fatal("/metrics has no ringmetrics_ metrics")
	}
	exprs := loadDashboard(t).exprs()
	for _, p := range dashboardQueryProblems(exprs, families) {
		t.Errorf("dashboard query %s", p)
	}
	t.Logf("%d dashboard queries answered by the live /metrics", len(exprs))
}

// scrapeMetrics fetches /metrics with the credentials of a user bound to a
// ClusterRole granting get /metrics and nothing else, after checking that a
// user without it is refused.
func scrapeMetrics(t *testing.T, b *bed.Bed, s *bed.Server) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	client := b.Cluster.Client()
	const scraper = "install-test-prometheus"
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: scraper},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: scraper},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: scraper}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: scraper},
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// As the ServiceMonitor's tlsConfig: a client certificate, and the
	// self-signed serving certificate not verified.
	get := func(user string) (int, string, error) {
		hc, err := bed.DirectClient(b.Cluster, user)
		if err != nil {
			return 0, "", err
		}
		hc.Timeout = 10 * time.Second
		body, code, err := bed.GetText(hc, s.URL()+"/metrics")
		return code, body, err
	}
	if code, _, err := get("install-test-nobody"); err != nil || code != http.StatusForbidden {
		t.Errorf("GET /metrics as a user without the role: %d, %v; want 403", code, err)
	}
	code, body, err := get(scraper)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics as a user with get /metrics: %d, %v\n%s", code, err, body)
	}
	return []byte(body)
}

var (
	// selectorRE finds metric{matchers} in a PromQL expression.
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)
	// equalityRE finds label="value" (not =~, != or !~).
	equalityRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"`)
	byRE       = regexp.MustCompile(`by\s*\(([^)]*)\)`)
)

// dashboardQueryProblems lists the dashboard queries that would return
// nothing: a metric /metrics does not have, a label="value" matcher no series
// satisfies, or a by (label) the metric has not got. job and instance are
// Prometheus's target labels and are not checked.
func dashboardQueryProblems(exprs []string, families map[string]*dto.MetricFamily) []string {
	var problems []string
	for _, expr := range exprs {
		sels := selectorRE.FindAllStringSubmatch(expr, -1)
		if len(sels) == 0 {
			problems = append(problems, fmt.Sprintf("%q selects no metric", expr))
			continue
		}
		var used []*dto.MetricFamily
		for _, sel := range sels {
			fam := familyOf(families, sel[1])
			if fam == nil {
				problems = append(problems, fmt.Sprintf("%q: /metrics has no %s", expr, sel[1]))
				continue
			}
			used = append(used, fam)
			want := map[string]string{}
			for _, m := range equalityRE.FindAllStringSubmatch(sel[2], -1) {
				want[m[1]] = m[2]
			}
			if !slices.ContainsFunc(fam.Metric, func(m *dto.Metric) bool { return hasLabels(m, want) }) {
				problems = append(problems, fmt.Sprintf("%q: no %s series has %v", expr, sel[1], want))
			}
		}
		for _, by := range byRE.FindAllStringSubmatch(expr, -1) {
			for _, label := range strings.Split(by[1], ",") {
				label = strings.TrimSpace(label)
				if label == "" || label == "job" || label == "instance" {
					continue
				}
				if !slices.ContainsFunc(used, func(f *dto.MetricFamily) bool { return familyHasLabel(f, label) }) {
					problems = append(problems, fmt.Sprintf("%q groups by %s, which its metrics lack", expr, label))
				}
			}
		}
	}
	return problems
}

// familyOf finds the family of a series name, histogram suffixes included.
func familyOf(families map[string]*dto.MetricFamily, name string) *dto.MetricFamily {
	if f := families[name]; f != nil {
		return f
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f := families[base]; f != nil && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY) {
				return f
			}
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func familyHasLabel(f *dto.MetricFamily, label string) bool {
	if label == model.BucketLabel && f.GetType() == dto.MetricType_HISTOGRAM {
		return true
	}
	for _, m := range f.Metric {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				return true
			}
		}
	}
	return false
}

// TestDashboardQueryProblems checks the dashboard checker itself on a small
// exposition.
func TestDashboardQueryProblems(t *testing.T) {
	const exposition = `# TYPE ringmetrics_scraper_errors_total counter
ringmetrics_scraper_errors_total{reason="timeout"} 0
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{group="metrics.k8s.io",resource="pods",verb="LIST",le="1"} 1
apiserver_request_duration_seconds_bucket{group="metrics.k8s.io",resource="pods",verb="LIST",le="+Inf"} 1
apiserver_request_duration_seconds_sum{group="metrics.k8s.io",resource="pods",verb="LIST"} 0.1
apiserver_request_duration_seconds_count{group="metrics.k8s.io",resource="pods",verb="LIST"} 1
`
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		expr string
		bad  bool
	}{
		{`sum by (reason) (rate(ringmetrics_scraper_errors_total{job=~"$job"}[5m]))`, false},
		{`histogram_quantile(0.99, sum by (le, resource, verb) (rate(apiserver_request_duration_seconds_bucket{group="metrics.k8s.io"}[5m])))`, false},
		{`ringmetrics_scraper_errorz_total{job=~"$job"}`, true},
		{`sum by (cause) (rate(ringmetrics_scraper_errors_total{job=~"$job"}[5m]))`, true},
		{`rate(apiserver_request_duration_seconds_count{group="custom.metrics.k8s.io"}[5m])`, true},
		{`vector(1)`, true},
	} {
		if got := dashboardQueryProblems([]string{c.expr}, families); (len(got) > 0) != c.bad {
			t.Errorf("%s: problems %q, want bad=%v", c.expr, got, c.bad)
		}
	}
}

// gaugeValue and counterValue return the value of the family's series with
// the given labels, or -1.
func gaugeValue(f *dto.MetricFamily, labels map[string]string) float64 {
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

func counterValue(f *dto.MetricFamily, labels map[string]string) float64 {
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			return m.GetCounter().GetValue()
		}
	}
	return -1
}
