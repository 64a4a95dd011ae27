package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

const (
	// monitoringNamespace holds the ServiceAccounts Prometheus scrapes as.
	monitoringNamespace = "monitoring"
	// scraper may get /metrics, as kube-prometheus's prometheus-k8s may;
	// outsider may not.
	scraper  = "prometheus-k8s"
	outsider = "not-prometheus"
	// jobs of the scrape configuration: the ServiceMonitor's, and the same
	// with the outsider's token, which ringmetrics must refuse.
	monitorJob  = "serviceMonitor/" + releaseNamespace + "/" + releaseName + "/0"
	refusedJob  = "refused"
	readyTimout = 60 * time.Second
)

// Prometheus is a real Prometheus on loopback.
type Prometheus struct {
	*bed.Process
	URL    string
	client *http.Client
}

// startPrometheus writes the scrape configuration from the chart's
// ServiceMonitor (and its rules, if any), and starts Prometheus with it.
func startPrometheus(ctx context.Context, s *bed.Shared) (*Prometheus, error) {
	binary, err := bed.Tool("prometheus-" + prometheusVersion)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.Dir, "prometheus")
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		return nil, err
	}
	tokens, err := serviceAccountTokens(ctx, s.Bed.Cluster.Client(), env.chart, dir)
	if err != nil {
		return nil, err
	}
	env.tokens = tokens
	addr := "127.0.0.1:" + strconv.Itoa(env.ringmetrics.Port)
	monitor, err := env.chart.scrapeConfig(monitorJob, addr, tokens[scraper])
	if err != nil {
		return nil, err
	}
	refused, err := env.chart.scrapeConfig(refusedJob, addr, tokens[outsider])
	if err != nil {
		return nil, err
	}
	// Its job label is its own, so the dashboard's job variable sees only
	// the ServiceMonitor's job.
	refused["relabel_configs"] = []any{}
	var ruleFiles []any
	for name, rules := range env.chart.Rules {
		path := filepath.Join(dir, "rules", name)
		if err := os.WriteFile(path, rules, 0o644); err != nil {
			return nil, err
		}
		ruleFiles = append(ruleFiles, path)
	}
	config := map[string]any{
		"global": map[string]any{
			"scrape_interval":     scrapeInterval.String(),
			"evaluation_interval": scrapeInterval.String(),
		},
		"rule_files":     ruleFiles,
		"scrape_configs": []any{monitor, refused},
	}
	b, err := yaml.Marshal(config)
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, b, 0o644); err != nil {
		return nil, err
	}
	port, err := bed.FreePort()
	if err != nil {
		return nil, err
	}
	p, err := bed.StartProcess("prometheus", binary, []string{
		"--config.file=" + configPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(port),
	}, s.Bed.LogDir)
	if err != nil {
		return nil, err
	}
	prom := &Prometheus{Process: p, URL: "http://127.0.0.1:" + strconv.Itoa(port), client: &http.Client{Timeout: 30 * time.Second}}
	if err := prom.waitReady(ctx); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("%w\n--- %s ---\n%s", err, p.LogPath, bed.Tail(p.LogPath, 20))
	}
	return prom, nil
}

func (p *Prometheus) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimout)
	defer cancel()
	for {
		resp, err := p.client.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("prometheus exited")
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready after %v: %v", readyTimout, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// serviceAccountTokens creates the two ServiceAccounts, applies the chart's
// metrics-reader ClusterRole and its binding to scraper, as rendered, and
// writes a token of each to dir, as the kubelet would mount it.
func serviceAccountTokens(ctx context.Context, client kubernetes.Interface, chart renderedChart, dir string) (map[string]string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: monitoringNamespace}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, chart.Reader, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, chart.Binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	tokens := map[string]string{}
	for _, name := range []string{scraper, outsider} {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: monitoringNamespace}}
		if _, err := client.CoreV1().ServiceAccounts(monitoringNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
		tr, err := client.CoreV1().ServiceAccounts(monitoringNamespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("token of %s: %w", name, err)
		}
		path := filepath.Join(dir, name+".token")
		if err := os.WriteFile(path, []byte(tr.Status.Token), 0o600); err != nil {
			return nil, err
		}
		tokens[name] = path
	}
	return tokens, nil
}

func ptr[T any](v T) *T { return &v }

// apiResponse is the envelope of every Prometheus HTTP API answer.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

// get calls the HTTP API at path with query parameters and decodes its data
// into v.
func (p *Prometheus) get(ctx context.Context, path string, params url.Values, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("GET %s: %s: %w", path, resp.Status, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s?%s: %s: %s", path, params.Encode(), r.ErrorType, r.Error)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(r.Data, v)
}

// series is one element of an instant vector.
type series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query evaluates expr now and returns its series; a result that is not an
// instant vector is an error.
func (p *Prometheus) query(ctx context.Context, expr string) ([]series, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("%s is a %s, not an instant vector", expr, data.ResultType)
	}
	var out []series
	return out, json.Unmarshal(data.Result, &out)
}
