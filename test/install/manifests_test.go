package install

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite manifests/*.yaml from the chart (make manifests)")

// generated are the checked-in manifests and the renderings they hold.
var generated = []struct {
	file string
	v    variant
}{
	{"manifests/components.yaml", defaultVariant},
	{"manifests/high-availability.yaml", haVariant},
	{"manifests/daemonset.yaml", daemonSetVariant},
}

// manifestHeader says where a generated file comes from.
func manifestHeader(v variant) string {
	return fmt.Sprintf("# Generated from %s by `make manifests`; do not edit.\n#   helm %s\n",
		chartPath, strings.Join(templateArgs(v), " "))
}

// TestManifestsUpToDate fails when manifests/*.yaml differ by one byte from
// the chart rendered with the committed values; with -update it rewrites
// them instead.
func TestManifestsUpToDate(t *testing.T) {
	root := repoRoot(t)
	for _, g := range generated {
		t.Run(filepath.Base(g.file), func(t *testing.T) {
			want := manifestHeader(g.v) + render(t, g.v)
			path := filepath.Join(root, g.file)
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", g.file)
				return
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run make manifests)", err)
			}
			if string(got) != want {
				t.Fatalf("%s is not the chart's rendering; run make manifests.\n%s", g.file, firstDifference(string(got), want))
			}
		})
	}
}

// firstDifference shows the first differing line of two texts.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  file:  %q\n  chart: %q", i+1, gl, wl)
		}
	}
	return "(same lines; the files differ in line endings)"
}
