package bed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestRingmetricsBinaryFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	binary := filepath.Join(dir, "ringmetrics")
	writeExecutable(t, binary, "#!/bin/sh\n")
	t.Setenv("RINGMETRICS_BINARY", binary)
	if got, err := RingmetricsBinary(t.TempDir()); err != nil || got != binary {
		t.Errorf("RingmetricsBinary = %q, %v; want %q", got, err, binary)
	}
	t.Setenv("RINGMETRICS_BINARY", filepath.Join(dir, "missing"))
	if got, err := RingmetricsBinary(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "RINGMETRICS_BINARY: ") {
		t.Errorf("RingmetricsBinary with a missing $RINGMETRICS_BINARY = %q, %v; want an error naming it", got, err)
	}
}

func TestTool(t *testing.T) {
	dir := t.TempDir()
	writeExecutable(t, filepath.Join(dir, "helm"), "#!/bin/sh\n")
	t.Setenv("RINGMETRICS_BIN", dir)
	if got, err := Tool("helm"); err != nil || got != filepath.Join(dir, "helm") {
		t.Errorf("Tool(helm) = %q, %v", got, err)
	}
	if got, err := Tool("metrics-server-" + MetricsServerVersion); err == nil || !strings.Contains(err.Error(), "hack/tools.sh") {
		t.Errorf("Tool of a missing binary = %q, %v; want an error saying how to build it", got, err)
	}
}

// TestKubectlBinary lays out kubectl as the test machines do: a link on the
// PATH to a folder that also holds one kubectl per minor version, and the
// tools cache with the kubectl hack/tools.sh builds.
func TestKubectlBinary(t *testing.T) {
	real, onPath, tools := t.TempDir(), t.TempDir(), t.TempDir()
	writeExecutable(t, filepath.Join(real, "kubectl"), "#!/bin/sh\n")
	writeExecutable(t, filepath.Join(real, "kubectl.1.27"), "#!/bin/sh\n")
	writeExecutable(t, filepath.Join(tools, "kubectl.1.37"), "#!/bin/sh\n")
	// The machine's own kubectl.1.27 wins over one in the cache.
	writeExecutable(t, filepath.Join(tools, "kubectl.1.27"), "#!/bin/sh\n")
	if err := os.Symlink(filepath.Join(real, "kubectl"), filepath.Join(onPath, "kubectl")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", onPath)
	t.Setenv("RINGMETRICS_BIN", tools)
	f := func(minor, want, wantErr string) {
		t.Helper()
		got, err := KubectlBinary(minor)
		switch {
		case wantErr == "" && (err != nil || got != want):
			t.Errorf("KubectlBinary(%q) = %q, %v; want %q", minor, got, err, want)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("KubectlBinary(%q) = %q, %v; want an error with %q", minor, got, err, wantErr)
		}
	}
	f("", filepath.Join(onPath, "kubectl"), "")
	f("1.27", filepath.Join(real, "kubectl.1.27"), "")
	f("1.37", filepath.Join(tools, "kubectl.1.37"), "")
	f("1.99", "", "neither beside the kubectl on the PATH")
	t.Setenv("PATH", t.TempDir())
	f("", "", "kubectl is not on the PATH")
}

func TestCopyBinary(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
	writeExecutable(t, from, "#!/bin/sh\necho copied\n")
	writeExecutable(t, to, "an older, longer build to be replaced whole\n")
	if err := CopyBinary(from, to); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(to)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "#!/bin/sh\necho copied\n" {
		t.Errorf("copied %q", got)
	}
	if st, err := os.Stat(to); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Errorf("the copy is not executable: %v, %v", st.Mode(), err)
	}
	if err := CopyBinary(filepath.Join(dir, "missing"), to); err == nil {
		t.Error("copying a missing binary succeeded")
	}
}
