package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// kubectlBinary returns the kubectl of the given minor version ("" for the
// one on the PATH); see bed.KubectlBinary.
func kubectlBinary(t testing.TB, minor string) string {
	t.Helper()
	path, err := bed.KubectlBinary(minor)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectl runs a real kubectl against the bed with a fresh discovery cache,
// so an APIService switched between servers is never served from a stale one.
func kubectl(t testing.TB, binary, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	stdout, _, err := bed.Kubectl{Binary: binary, Kubeconfig: kubeconfig, CacheDir: t.TempDir()}.Run(args...)
	return stdout, err
}

// topRow is one line of kubectl top output: CPU in millicores, memory in MiB.
type topRow struct {
	Namespace, Name string
	Container       string
	CPUMilli        int64
	MemMi           int64
}

// parseTop reads kubectl top output. Columns are found by header name so
// the parser fits top node, top pod, -A and --containers alike.
func parseTop(out string) ([]topRow, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("kubectl top printed no rows: %q", out)
	}
	header := strings.Fields(lines[0])
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	cpuCol, ok := col["CPU(cores)"]
	if !ok {
		cpuCol, ok = col["CPU"]
	}
	if !ok {
		return nil, fmt.Errorf("no CPU column in %q", lines[0])
	}
	memCol, ok := col["MEMORY(bytes)"]
	if !ok {
		return nil, fmt.Errorf("no MEMORY(bytes) column in %q", lines[0])
	}
	var rows []topRow
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != len(header) {
			return nil, fmt.Errorf("row %q does not match header %q", line, lines[0])
		}
		r := topRow{Name: f[col["NAME"]]}
		if i, ok := col["NAMESPACE"]; ok {
			r.Namespace = f[i]
		}
		if i, ok := col["POD"]; ok {
			r.Name = f[i]
		}
		if i, ok := col["NAME"]; ok && r.Name != f[i] {
			r.Container = f[i]
		}
		var err error
		if r.CPUMilli, err = strconv.ParseInt(strings.TrimSuffix(f[cpuCol], "m"), 10, 64); err != nil {
			return nil, fmt.Errorf("cpu %q in %q: %w", f[cpuCol], line, err)
		}
		if r.MemMi, err = strconv.ParseInt(strings.TrimSuffix(f[memCol], "Mi"), 10, 64); err != nil {
			return nil, fmt.Errorf("memory %q in %q: %w", f[memCol], line, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func TestParseTop(t *testing.T) {
	f := func(out string, want ...topRow) {
		t.Helper()
		got, err := parseTop(out)
		if err != nil {
			t.Fatalf("parseTop(%q): %v", out, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("parseTop(%q) = %+v, want %+v", out, got, want)
		}
	}
	f("NAME   CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%\nn1     250m         1%     512Mi           0%\n",
		topRow{Name: "n1", CPUMilli: 250, MemMi: 512})
	f("NAMESPACE   NAME   CPU(cores)   MEMORY(bytes)\nns          p      5m           12Mi\n",
		topRow{Namespace: "ns", Name: "p", CPUMilli: 5, MemMi: 12})
	f("POD   NAME   CPU(cores)   MEMORY(bytes)\np     c      0m           1Mi\n",
		topRow{Name: "p", Container: "c", CPUMilli: 0, MemMi: 1})
	if _, err := parseTop("No resources found\n"); err == nil {
		t.Fatal("parseTop accepted output without rows")
	}
}
