package install

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

const (
	// releaseName and releaseNamespace are what manifests/ are rendered
	// with, and what README tells helm users to install as.
	releaseName      = "ringmetrics"
	releaseNamespace = "kube-system"
	chartPath        = "charts/ringmetrics"
	haValuesPath     = "charts/ringmetrics/values-ha.yaml"
	// serviceAccountUser is the identity the default install runs as.
	serviceAccountUser = "system:serviceaccount:" + releaseNamespace + ":" + releaseName
)

// variant is one way of rendering the chart.
type variant struct {
	name string
	// args are helm template flags after the chart, paths relative to the
	// repository root.
	args []string
}

var (
	defaultVariant = variant{name: "default"}
	haVariant      = variant{name: "ha", args: []string{"-f", haValuesPath}}
)

// allVariant turns on every optional part of the chart: ServiceMonitor,
// dashboard, proxy mode, a TLS Secret with a caBundle, host network, extra
// volumes. caFile is a PEM CA for apiService.caBundle.
func allVariant(caFile string) variant {
	return variant{name: "all", args: []string{"-f", "test/install/testdata/values-all.yaml", "--set-file", "apiService.caBundle=" + caFile}}
}

// repoRoot is the repository's top directory (the tests run in test/install).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, chartPath, "Chart.yaml")); err != nil {
		t.Fatalf("repository root %s has no %s: %v", root, chartPath, err)
	}
	return root
}

// helmBinary is the pinned helm that hack/tools.sh builds. Its absence fails
// the test: the chart is part of the product.
func helmBinary(t testing.TB) string {
	t.Helper()
	path, err := bed.Tool("helm")
	if err != nil {
		t.Fatalf("helm is missing (test/tools/helm/go.mod pins it): %v", err)
	}
	return path
}

// helm runs the pinned helm in the repository root and returns its stdout.
func helm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return helmEnv(t, nil, args...)
}

// helmEnv is helm with extra environment variables, such as KUBECONFIG.
func helmEnv(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Dir = repoRoot(t)
	// Keep helm away from the user's repositories, plugins and caches.
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-cluster"),
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String(), nil
}

// templateArgs is the helm template command line for v, the one
// `make manifests` records in each generated file's header.
func templateArgs(v variant) []string {
	return append([]string{"template", releaseName, chartPath, "--namespace", releaseNamespace}, v.args...)
}

// render runs helm template for v.
func render(t testing.TB, v variant) string {
	t.Helper()
	out, err := helm(t, templateArgs(v)...)
	if err != nil {
		t.Fatalf("rendering the chart (%s): %v", v.name, err)
	}
	return out
}

// decodeObjects splits a multi-document YAML stream into objects, skipping
// empty documents. Integers decode as int64, as from the API.
func decodeObjects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("splitting rendered YAML: %v", err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "{}" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(js); err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		objs = append(objs, o)
	}
}

// find returns the one object of kind (and name, when not empty) or fails.
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s %q among the rendered objects, found %d", kind, name, len(found))
	}
	return found[0]
}

// kinds counts rendered objects by kind.
func kinds(objs []*unstructured.Unstructured) map[string]int {
	m := map[string]int{}
	for _, o := range objs {
		m[o.GetKind()]++
	}
	return m
}

// writeTestCA writes a throwaway self-signed CA certificate (no key kept)
// for apiService.caBundle and returns its path.
func writeTestCA(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ringmetrics test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
