package prometheus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

const (
	releaseName      = "ringmetrics"
	releaseNamespace = "kube-system"
)

// renderedChart is what the test takes from the chart as helm renders it.
type renderedChart struct {
	// Endpoint is the ServiceMonitor's one endpoint.
	Endpoint map[string]any
	// Job is the job label Prometheus Operator gives its targets: the value
	// of the Service's label that the ServiceMonitor's jobLabel names.
	Job string
	// Rules are the spec of every PrometheusRule, as rule files.
	Rules map[string][]byte
	// Reader are the chart's ClusterRole granting get on /metrics and its
	// binding to the test's Prometheus ServiceAccount.
	Reader  *rbacv1.ClusterRole
	Binding *rbacv1.ClusterRoleBinding
}

// repoRoot is the repository's top directory (tests run in test/prometheus).
func repoRoot() (string, error) { return filepath.Abs(filepath.Join("..", "..")) }

// renderChart renders the chart with the pinned helm twice: with the
// ServiceMonitor on, at the test's scrape interval, for the scrape
// configuration; and with test/install's every-option values, for any
// PrometheusRule. caFile is a PEM CA those values need.
func renderChart(caFile string) (renderedChart, error) {
	var rc renderedChart
	docs, err := helmTemplate("--set", "serviceMonitor.enabled=true",
		"--set", "serviceMonitor.interval="+scrapeInterval.String(),
		"--set", "serviceMonitor.scrapeTimeout="+scrapeInterval.String(),
		"--set", "serviceMonitor.prometheusServiceAccount.name="+scraper,
		"--set", "serviceMonitor.prometheusServiceAccount.namespace="+monitoringNamespace)
	if err != nil {
		return rc, err
	}
	var monitor, service *unstructured.Unstructured
	for _, d := range docs {
		switch {
		case d.GetKind() == "ServiceMonitor":
			monitor = d
		case d.GetKind() == "Service":
			service = d
		case d.GetName() == releaseName+"-metrics-reader" && d.GetKind() == "ClusterRole":
			rc.Reader = &rbacv1.ClusterRole{}
			err = runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(d.Object, rc.Reader, true)
		case d.GetName() == releaseName+"-metrics-reader" && d.GetKind() == "ClusterRoleBinding":
			rc.Binding = &rbacv1.ClusterRoleBinding{}
			err = runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(d.Object, rc.Binding, true)
		}
		if err != nil {
			return rc, fmt.Errorf("%s %s: %w", d.GetKind(), d.GetName(), err)
		}
	}
	if rc.Reader == nil || rc.Binding == nil {
		return rc, fmt.Errorf("the chart with serviceMonitor.prometheusServiceAccount set renders no %s-metrics-reader ClusterRole and binding", releaseName)
	}
	if monitor == nil || service == nil {
		return rc, fmt.Errorf("the chart with serviceMonitor.enabled=true renders no ServiceMonitor or no Service")
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		return rc, fmt.Errorf("the ServiceMonitor has %d endpoints; the test knows how to scrape one", len(endpoints))
	}
	rc.Endpoint, _ = endpoints[0].(map[string]any)
	jobLabel, _, _ := unstructured.NestedString(monitor.Object, "spec", "jobLabel")
	if rc.Job = service.GetLabels()[jobLabel]; rc.Job == "" {
		return rc, fmt.Errorf("the Service has no label %q, the ServiceMonitor's jobLabel", jobLabel)
	}

	root, err := repoRoot()
	if err != nil {
		return rc, err
	}
	all, err := helmTemplate("-f", filepath.Join(root, "test", "install", "testdata", "values-all.yaml"),
		"--set-file", "apiService.caBundle="+caFile)
	if err != nil {
		return rc, err
	}
	rc.Rules = map[string][]byte{}
	for _, d := range all {
		if d.GetKind() != "PrometheusRule" {
			continue
		}
		spec, _, _ := unstructured.NestedMap(d.Object, "spec")
		b, err := yaml.Marshal(spec)
		if err != nil {
			return rc, err
		}
		rc.Rules[d.GetName()+".yaml"] = b
	}
	return rc, nil
}

// helmTemplate renders the chart as the release README installs, with
// extra helm template flags, and decodes every object.
func helmTemplate(args ...string) ([]*unstructured.Unstructured, error) {
	helm, err := bed.Tool("helm")
	if err != nil {
		return nil, err
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	all := append([]string{"template", releaseName, filepath.Join(root, "charts", "ringmetrics"), "--namespace", releaseNamespace}, args...)
	cmd := exec.Command(helm, all...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm %s: %w\n%s", strings.Join(all, " "), err, stderr.String())
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	var docs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, fmt.Errorf("decoding helm template output: %w", err)
		}
		if len(u.Object) > 0 {
			docs = append(docs, u)
		}
	}
}

// endpointKeys are the ServiceMonitor endpoint fields scrapeConfig turns
// into Prometheus configuration; any other fails the test rather than be
// ignored.
var endpointKeys = []string{"port", "scheme", "path", "interval", "scrapeTimeout", "bearerTokenFile", "tlsConfig"}

// scrapeConfig is the Prometheus scrape configuration Prometheus Operator
// generates for the endpoint, for a target at addr: scheme, path, interval
// and timeout as written; the bearer token file (in a pod, the Prometheus
// ServiceAccount's token) is tokenFile here; the target labels the operator
// sets (job from jobLabel, namespace, service, endpoint).
func (rc renderedChart) scrapeConfig(name, addr, tokenFile string) (map[string]any, error) {
	ep := rc.Endpoint
	for k := range ep {
		if !slices.Contains(endpointKeys, k) {
			return nil, fmt.Errorf("the ServiceMonitor's endpoint sets %q, which this test does not translate to Prometheus configuration", k)
		}
	}
	cfg := map[string]any{
		"job_name":        name,
		"scheme":          ep["scheme"],
		"metrics_path":    ep["path"],
		"scrape_interval": ep["interval"],
		"scrape_timeout":  ep["scrapeTimeout"],
		"static_configs": []any{map[string]any{
			"targets": []any{addr},
			"labels":  map[string]any{"namespace": releaseNamespace, "service": releaseName, "endpoint": ep["port"]},
		}},
		"relabel_configs": []any{map[string]any{"target_label": "job", "replacement": rc.Job}},
	}
	if _, ok := ep["bearerTokenFile"]; ok {
		cfg["bearer_token_file"] = tokenFile
	}
	if tls, ok := ep["tlsConfig"].(map[string]any); ok {
		out := map[string]any{}
		for k, v := range tls {
			if k != "insecureSkipVerify" {
				return nil, fmt.Errorf("the ServiceMonitor's tlsConfig sets %q, which this test does not translate", k)
			}
			out["insecure_skip_verify"] = v
		}
		cfg["tls_config"] = out
	}
	return cfg, nil
}
