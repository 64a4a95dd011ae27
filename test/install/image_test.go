package install

import (
	"bytes"
	"context"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd   string // upper case: FROM, RUN, COPY, ...
	args  string
	stage int // index of the FROM it belongs to
}

func parseDockerfile(t testing.TB, text string) []instruction {
	t.Helper()
	var out []instruction
	stage := -1
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{cmd: cmd, args: strings.TrimSpace(args), stage: stage})
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return out
}

// dockerfile reads and parses the repository's Dockerfile.
func dockerfile(t testing.TB) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return parseDockerfile(t, string(data))
}

// builderStage describes the stage that runs make build-static.
type builderStage struct {
	name    string
	workdir string
	copies  [][2]string // source, destination relative to workdir
}

// TestDockerfile checks the image's shape: a Go builder stage running
// `make build-static`, and a distroless non-root final stage holding only
// that binary, run without a shell.
func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	stages := 0
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages++
		}
	}
	if stages < 2 {
		t.Fatalf("Dockerfile has %d stages, want a builder and a final stage", stages)
	}
	b := builder(t, ins)
	goVersion := goDirective(t)
	for _, in := range ins {
		if in.cmd == "FROM" && in.stage == 0 && !regexp.MustCompile(`golang:`+regexp.QuoteMeta(goVersion)+`\b`).MatchString(in.args) {
			t.Errorf("builder FROM %q, want golang:%s (go.mod's go version)", in.args, goVersion)
		}
	}

	last := stages - 1
	var final []instruction
	for _, in := range ins {
		if in.stage == last {
			final = append(final, in)
		}
	}
	base := final[0].args
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("final stage FROM %q, want a distroless static image or scratch", base)
	}
	if strings.HasPrefix(base, "gcr.io/distroless/") && !strings.HasSuffix(base, ":nonroot") {
		t.Errorf("final stage FROM %q, want the :nonroot variant", base)
	}
	var copies, entrypoints []string
	user := ""
	for _, in := range final[1:] {
		switch in.cmd {
		case "RUN", "ADD", "SHELL", "CMD":
			t.Errorf("final stage has %s %s: it must hold one binary and run it without a shell", in.cmd, in.args)
		case "COPY":
			copies = append(copies, in.args)
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, in.args)
		case "USER":
			user = in.args
		}
	}
	wantCopy := "--from=" + b.name + " " + path.Join(b.workdir, "bin", "ringmetrics-static") + " /ringmetrics"
	if !slices.Equal(copies, []string{wantCopy}) {
		t.Errorf("final stage copies %q, want only %q (the output of make build-static)", copies, wantCopy)
	}
	if !slices.Equal(entrypoints, []string{`["/ringmetrics"]`}) {
		t.Errorf("ENTRYPOINT %s, want the exec form [\"/ringmetrics\"] (there is no shell)", strings.Join(entrypoints, "; "))
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(user) {
		t.Errorf("USER %q, want a numeric non-root user (runAsNonRoot can only check a number)", user)
	}

	// The Makefile target the builder runs is the static, trimmed build.
	mk, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	recipe := regexp.MustCompile(`(?m)^build-static:.*\n\t(.*)`).FindSubmatch(mk)
	if recipe == nil {
		t.Fatal("Makefile has no build-static target")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "$(LDFLAGS)", "-o $(BIN)/ringmetrics-static"} {
		if !bytes.Contains(recipe[1], []byte(want)) {
			t.Errorf("make build-static runs %q, which lacks %s", recipe[1], want)
		}
	}
}

// builder finds the stage that runs make build-static, its WORKDIR and what
// it copies in.
func builder(t testing.TB, ins []instruction) builderStage {
	t.Helper()
	var b builderStage
	stage := -1
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "make build-static") {
			stage = in.stage
		}
	}
	if stage < 0 {
		t.Fatal("no Dockerfile stage runs make build-static")
	}
	for _, in := range ins {
		if in.stage != stage {
			continue
		}
		switch in.cmd {
		case "FROM":
			f := strings.Fields(in.args)
			if len(f) < 3 || !strings.EqualFold(f[len(f)-2], "AS") {
				t.Fatalf("builder stage %q has no name", in.args)
			}
			b.name = f[len(f)-1]
		case "WORKDIR":
			b.workdir = in.args
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) < 2 || strings.HasPrefix(f[0], "--") {
				t.Fatalf("unexpected builder COPY %q", in.args)
			}
			dst := f[len(f)-1]
			for _, src := range f[:len(f)-1] {
				b.copies = append(b.copies, [2]string{src, dst})
			}
		}
	}
	if b.workdir == "" || len(b.copies) == 0 {
		t.Fatalf("builder stage: WORKDIR %q, COPY %v", b.workdir, b.copies)
	}
	return b
}

func goDirective(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// TestBuildStatic does what the Dockerfile's builder stage does, without a
// Docker engine: it copies exactly what the builder's COPY instructions copy
// (after .dockerignore) into an empty directory, runs the same
// `make build-static` there, and checks the binary is static, stripped,
// trimmed of local paths and stamped with the version.
func TestBuildStatic(t *testing.T) {
	root := repoRoot(t)
	b := builder(t, dockerfile(t))
	ignore := readDockerignore(t, filepath.Join(root, ".dockerignore"))
	ctxDir := t.TempDir()
	copied := 0
	for _, c := range b.copies {
		src := filepath.Clean(c[0])
		err := filepath.WalkDir(filepath.Join(root, src), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if ignore.excluded(filepath.ToSlash(rel)) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			dst := filepath.Join(ctxDir, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			copied++
			return os.WriteFile(dst, data, 0o644)
		})
		if err != nil {
			t.Fatalf("copying %s as the Dockerfile does: %v", src, err)
		}
	}
	t.Logf("build context: %d files from %d COPY sources", copied, len(b.copies))

	const version = "v9.8.7-install-test"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "make", "build-static", "VERSION="+version, "GIT_COMMIT=0123456789abcdef")
	cmd.Dir = ctxDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-static in the Dockerfile's build context: %v\n%s", err, out)
	}
	t.Logf("make build-static took %v", time.Since(start).Round(time.Millisecond))

	bin := filepath.Join(ctxDir, "bin", "ringmetrics-static")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: it is not static (distroless/static has no libc)", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary links %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("binary keeps its symbol table: want -s -w")
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, local := range []string{ctxDir, root} {
		if bytes.Contains(data, []byte(local)) {
			t.Errorf("binary contains the local path %s: want -trimpath", local)
		}
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), version) {
		t.Errorf("%s --version = %q, %v; want %s stamped in", bin, out, err, version)
	}
}

// dockerignore is a .dockerignore: patterns in order, the last match wins,
// "!" re-includes, "**/" matches at any depth, and a pattern matching a
// directory matches everything in it.
type dockerignore []struct {
	pattern string
	negate  bool
}

func readDockerignore(t testing.TB, file string) dockerignore {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerignore
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := path.Clean(strings.TrimPrefix(strings.TrimPrefix(line, "!"), "/"))
		d = append(d, struct {
			pattern string
			negate  bool
		}{p, neg})
	}
	return d
}

func (d dockerignore) excluded(rel string) bool {
	excluded := false
	for _, p := range d {
		if matchIgnore(p.pattern, rel) {
			excluded = !p.negate
		}
	}
	return excluded
}

// matchIgnore matches rel or any of its parent directories.
func matchIgnore(pattern, rel string) bool {
	parts := strings.Split(rel, "/")
	for n := len(parts); n >= 1; n-- {
		p := strings.Join(parts[:n], "/")
		if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
			for i := range n {
				if ok, _ := path.Match(rest, strings.Join(parts[i:n], "/")); ok {
					return true
				}
			}
			continue
		}
		if ok, _ := path.Match(pattern, p); ok {
			return true
		}
	}
	return false
}
