package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// tableCells are a pod's cells as the API documents them, from its JSON.
func tableCells(p usagePod) map[string]string {
	t := p.Total
	req := func(list map[string]resource.Quantity, name string, cell func(resource.Quantity) string) string {
		q, ok := list[name]
		if !ok {
			return "<none>"
		}
		return cell(q)
	}
	return map[string]string{
		"NAME":        p.Metadata.Name,
		"CPU(P95)":    cpuCell(t.CPU.P95),
		"CPU(MAX)":    cpuCell(t.CPU.Max),
		"CPU REQ":     req(t.Requests, "cpu", cpuCell),
		"MEM(MAX)":    memCell(t.Memory.Max),
		"MEM REQ":     req(t.Requests, "memory", memCell),
		"RECOMMENDED": cpuCell(t.Recommendation["cpu"]) + "/" + memCell(t.Recommendation["memory"]),
	}
}

// checkTableAgrees asks for a table with the objects in one response and
// checks every row's cells against its own object.
func checkTableAgrees(t *testing.T, c *http.Client, url string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var table struct {
		Columns []struct{ Name string } `json:"columnDefinitions"`
		Rows    []struct {
			Cells  []any           `json:"cells"`
			Object json.RawMessage `json:"object"`
		} `json:"rows"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil || resp.StatusCode != http.StatusOK || len(table.Rows) == 0 {
		t.Fatalf("table: %d %v, %d rows", resp.StatusCode, err, len(table.Rows))
	}
	for _, row := range table.Rows {
		var p usagePod
		if err := json.Unmarshal(row.Object, &p); err != nil {
			t.Fatal(err)
		}
		want := tableCells(p)
		want["WINDOW"] = mustDuration(t, p.Window).Round(time.Second).String()
		for i, col := range table.Columns {
			name := strings.ToUpper(col.Name)
			if w, ok := want[name]; ok && fmt.Sprint(row.Cells[i]) != w {
				t.Errorf("%s: %s cell %v, its object says %s", p.Metadata.Name, name, row.Cells[i], w)
			}
		}
	}
}

// checkKubectlUsage runs kubectl get podusage -A (table, -o wide, -o json,
// --sort-by) and checks the stepped pod's row against its JSON, the columns,
// and the order.
func checkKubectlUsage(t *testing.T, kc, pod string) {
	run := func(args ...string) string {
		t.Helper()
		out, err := kubectl(t, kc, adminKubeconfig(), args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var list usagePodList
	if err := json.Unmarshal([]byte(run("get", "podusage", "-n", usageNamespace, "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list.Items, func(p usagePod) bool { return p.Metadata.Name == pod })
	if list.Kind != "List" && list.Kind != "PodUsageList" || i < 0 {
		t.Fatalf("kubectl get podusage -o json: kind %q, %d items without %s", list.Kind, len(list.Items), pod)
	}
	want := tableCells(list.Items[i])

	table := run("get", "podusage", "-A")
	rows, err := parseTable(table)
	if err != nil {
		t.Fatal(err)
	}
	if kc == kubectlBinary(t, kubectlVersions[len(kubectlVersions)-1]) {
		t.Logf("kubectl get podusage -A (the stepped pod and the fleet's):\n%s", table)
		// The API documents itself through the aggregated OpenAPI.
		if out := run("explain", "podusage.containers.recommendation"); !strings.Contains(out, "VPA's target rule") {
			t.Errorf("kubectl explain podusage.containers.recommendation does not state the rule:\n%s", out)
		}
	}
	header := []string{"NAMESPACE", "NAME", "CPU(P95)", "CPU(MAX)", "CPU REQ", "MEM(MAX)", "MEM REQ", "RECOMMENDED", "WINDOW"}
	if got := slices.Sorted(maps.Keys(rows[0])); !slices.Equal(got, slices.Sorted(slices.Values(header))) {
		t.Errorf("columns %v, want %v", got, header)
	}
	j := slices.IndexFunc(rows, func(r map[string]string) bool { return r["NAMESPACE"] == usageNamespace && r["NAME"] == pod })
	if j < 0 {
		t.Fatalf("kubectl get podusage -A has no row for %s/%s", usageNamespace, pod)
	}
	// The stepped phases are over: every column but the window is steady.
	for col, w := range want {
		if rows[j][col] != w {
			t.Errorf("kubectl get podusage -A: %s = %q, -o json says %q", col, rows[j][col], w)
		}
	}
	if len(rows) < nodes*podsPerNode {
		t.Errorf("kubectl get podusage -A: %d rows, want the fleet's %d pods at least", len(rows), nodes*podsPerNode)
	}

	wide, err := parseTable(run("get", "podusage", "-A", "-o", "wide"))
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"CPU(AVG)", "CPU(P50)", "CPU(P90)", "MEM(AVG)", "MEM(P95)", "CPU(P95)/REQ", "MEM(MAX)/REQ"} {
		if _, ok := wide[0][col]; !ok {
			t.Errorf("-o wide lacks %s: %v", col, slices.Sorted(maps.Keys(wide[0])))
		}
	}

	for _, sort := range []struct{ field, col string }{{".total.cpu.p95", "CPU(P95)"}, {".total.memory.max", "MEM(MAX)"}} {
		sorted, err := parseTable(run("get", "podusage", "-A", "--sort-by="+sort.field))
		if err != nil {
			t.Fatal(err)
		}
		var values []int64
		for _, r := range sorted {
			var v int64
			if _, err := fmt.Sscanf(strings.TrimRight(r[sort.col], "miM"), "%d", &v); err != nil {
				t.Fatalf("%s cell %q: %v", sort.col, r[sort.col], err)
			}
			values = append(values, v)
		}
		if !slices.IsSorted(values) || len(values) < 2 || values[0] == values[len(values)-1] {
			t.Errorf("--sort-by=%s: %s column %v, want ascending", sort.field, sort.col, values)
		}
	}
}

// checkPlotRecipe runs the kubectl get --raw | jq recipe of
// docs/right-sizing.md, as written there, and checks its lines against the
// samples of the JSON.
func checkPlotRecipe(t *testing.T, c *http.Client, podURL, pod string) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("no jq on this machine")
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "right-sizing.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "## Plotting the history")
	_, rest, _ = strings.Cut(rest, "```sh\n")
	recipe, _, ok := strings.Cut(rest, "```")
	if !ok || !strings.Contains(recipe, "kubectl get --raw") {
		t.Fatalf("no recipe under \"## Plotting the history\" in docs/right-sizing.md")
	}
	kc := kubectlBinary(t, "")
	env := []string{
		"PATH=" + filepath.Dir(kc) + string(os.PathListSeparator) + filepath.Dir(jq) + string(os.PathListSeparator) + "/usr/bin:/bin",
		"HOME=" + t.TempDir(), "KUBECONFIG=" + adminKubeconfig(), "NAMESPACE=" + usageNamespace, "POD=" + pod,
	}
	eventually(t, 20*time.Second, func() error {
		cmd := exec.Command("sh", "-c", recipe)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("recipe: %v\n%s", err, out)
		}
		p := getUsage(t, c, podURL+"?samples=true")
		var want []string
		for _, ct := range p.Containers {
			for _, s := range ct.Samples {
				cores := ""
				if s.CPU != nil {
					cores = strconv.FormatFloat(float64(s.CPU.ScaledValue(resource.Nano))/1e9, 'g', -1, 64)
				}
				want = append(want, strings.Join([]string{ct.Name, s.Timestamp.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), cores, strconv.FormatInt(s.Memory.Value(), 10)}, "\t"))
			}
		}
		got := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(got) != len(want) {
			return fmt.Errorf("recipe printed %d lines, the JSON has %d samples", len(got), len(want))
		}
		for i := range got {
			if !sameRecipeLine(got[i], want[i]) {
				return fmt.Errorf("recipe line %d: %q, the JSON says %q", i, got[i], want[i])
			}
		}
		return nil
	})
}

// sameRecipeLine compares two container, timestamp, cores, bytes lines, the
// numbers as numbers (jq prints them its own way).
func sameRecipeLine(a, b string) bool {
	fa, fb := strings.Split(a, "\t"), strings.Split(b, "\t")
	if len(fa) != 4 || len(fb) != 4 || fa[0] != fb[0] || fa[1] != fb[1] {
		return false
	}
	for i := 2; i < 4; i++ {
		if fa[i] == "" || fb[i] == "" {
			if fa[i] != fb[i] {
				return false
			}
			continue
		}
		x, errX := strconv.ParseFloat(fa[i], 64)
		y, errY := strconv.ParseFloat(fb[i], 64)
		if errX != nil || errY != nil || math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(y)) {
			return false
		}
	}
	return true
}
