package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeFlags keeps README.md's table of flags true to the binary: every
// flag of the ringmetrics and kubelet client sections of --help is in it, and
// every flag it names exists.
func TestReadmeFlags(t *testing.T) {
	out, err := exec.Command(ringmetricsBinary(t), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("ringmetrics --help: %v\n%s", err, out)
	}
	help := string(out)
	flagRE := regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z0-9-]+)`)
	all := map[string]bool{}
	for _, m := range flagRE.FindAllStringSubmatch(help, -1) {
		all[m[1]] = true
	}
	if len(all) == 0 {
		t.Fatalf("no flags in --help:\n%s", help)
	}

	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	table := sectionOf(string(readme), "## Flags")
	if table == "" {
		t.Fatal("README.md has no ## Flags section")
	}
	for _, section := range []string{"Ringmetrics flags:", "Kubelet client flags:"} {
		body := sectionOf(help, section)
		if body == "" {
			t.Errorf("ringmetrics --help has no %q section", section)
			continue
		}
		for _, m := range flagRE.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(table, "`"+m[1]+"`") {
				t.Errorf("README.md's flag table lacks %s (%s)", m[1], strings.TrimSuffix(section, ":"))
			}
		}
	}
	for _, m := range regexp.MustCompile("`(--[a-z0-9-]+)`").FindAllStringSubmatch(table, -1) {
		if !all[m[1]] {
			t.Errorf("README.md's flag table names %s, which ringmetrics --help does not have", m[1])
		}
	}
}

// sectionOf returns the text after the line starting with heading, up to
// the next heading of the same kind (a "## " line, or an unindented line
// ending in ":").
func sectionOf(text, heading string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, heading) {
			continue
		}
		var b strings.Builder
		for _, l := range lines[i+1:] {
			if strings.HasPrefix(l, "## ") || (strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ")) {
				break
			}
			b.WriteString(l + "\n")
		}
		return b.String()
	}
	return ""
}
