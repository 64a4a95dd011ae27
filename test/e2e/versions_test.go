package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// auditPolicy records every request's metadata (URI, user agent), not its
// body: at RequestResponse ringmetrics would leave LISTs to the slow path,
// and the test should see the path users get.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// kubectlUserAgent is kubectl's user agent: its binary's name, then its
// release (kubectl.1.37/v1.37.2 (linux/amd64) kubernetes/…).
var kubectlUserAgent = regexp.MustCompile(`^(kubectl[^/]*)/v1\.(\d+)\.`)

// TestKubectlAPIVersions shows which metrics.k8s.io version each kubectl
// reads, from ringmetrics' own audit log: kubectl 1.37 reads v1 when both
// versions are registered, and falls back to v1beta1 when only v1beta1 is;
// kubectl 1.27 to 1.33 read v1beta1. Every one prints the simulated usage.
// The HPA test (TestHPA) runs with both APIServices registered as well.
func TestKubectlAPIVersions(t *testing.T) {
	dir := t.TempDir()
	policy, auditLog := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	s, err := env.bed.StartRingmetrics(ctx, env.binary, ringmetricsResolution,
		"--audit-policy-file="+policy, "--audit-log-path="+auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop() }()
	tailOnFailure(t, s)
	if got := s.APIVersions; !slices.Equal(got, []string{"v1", "v1beta1"}) {
		t.Fatalf("ringmetrics registers %v, want v1 and v1beta1", got)
	}
	use(t, s)

	minors := append([]string{"1.37"}, kubectlVersions...)
	runTop := func(t *testing.T, minor string) {
		t.Helper()
		kc := kubectlBinary(t, minor)
		eventuallyTopMatches(t, kc, 30*time.Second)
		out, err := kubectl(t, kc, adminKubeconfig(), "top", "pod", "-A", "--containers")
		if err != nil {
			t.Fatal(err)
		}
		if rows, err := parseTop(out); err != nil || len(rows) == 0 {
			t.Fatalf("top pod -A --containers: %v rows, %v", len(rows), err)
		}
	}

	t.Run("both registered", func(t *testing.T) {
		for _, minor := range minors {
			t.Run("kubectl-"+minor, func(t *testing.T) { runTop(t, minor) })
		}
		read := versionsRead(t, auditLog)
		for _, minor := range minors {
			want := []string{"v1beta1"}
			if minor == "1.37" {
				want = []string{"v1"}
			}
			if got := read[userAgentKey(t, minor)]; !slices.Equal(got, want) {
				t.Errorf("kubectl %s read metrics.k8s.io %v, want %v (all reads: %v)", minor, got, want, read)
			}
		}
	})

	t.Run("v1beta1 only registered", func(t *testing.T) {
		// As on a cluster whose aggregator knows no v1: the same server, only
		// v1beta1.metrics.k8s.io registered.
		if err := os.Truncate(auditLog, 0); err != nil {
			t.Fatal(err)
		}
		client := env.bed.Cluster.Client()
		if err := bed.Register(ctx, client, env.bed.Dynamic, bed.Registration{Port: s.Port, Versions: []string{"v1beta1"}}); err != nil {
			t.Fatal(err)
		}
		if err := bed.WaitAvailable(ctx, client, env.bed.Dynamic, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		// use() must register again for the next test.
		env.mu.Lock()
		env.current = nil
		env.mu.Unlock()
		runTop(t, "1.37")
		if got := versionsRead(t, auditLog)[userAgentKey(t, "1.37")]; !slices.Equal(got, []string{"v1beta1"}) {
			t.Errorf("kubectl 1.37 with v1beta1 alone registered read %v, want [v1beta1]", got)
		}
	})
}

// userAgentKey is how versionsRead names kubectl minor's requests: its
// binary's name and release, as its user agent gives them.
func userAgentKey(t *testing.T, minor string) string {
	return filepath.Base(kubectlBinary(t, minor)) + " " + minor
}

// versionsRead returns, per kubectl binary and release (userAgentKey), the
// metrics.k8s.io versions whose nodes and pods its requests read, from the
// audit log.
func versionsRead(t *testing.T, auditLog string) map[string][]string {
	t.Helper()
	f, err := os.Open(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := map[string][]string{}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		var event struct {
			RequestURI string `json:"requestURI"`
			UserAgent  string `json:"userAgent"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &event); err != nil {
			t.Fatalf("audit line %q: %v", scanner.Text(), err)
		}
		m := kubectlUserAgent.FindStringSubmatch(event.UserAgent)
		rest, ok := strings.CutPrefix(event.RequestURI, "/apis/metrics.k8s.io/")
		if m == nil || !ok {
			continue
		}
		// Discovery documents (/apis/metrics.k8s.io/v1) are not reads: an
		// older kubectl fetches every version's.
		version, resource, _ := strings.Cut(rest, "/")
		if resource == "" {
			continue
		}
		key := fmt.Sprintf("%s 1.%s", m[1], m[2])
		if !slices.Contains(read[key], version) {
			read[key] = append(read[key], version)
			slices.Sort(read[key])
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return read
}
