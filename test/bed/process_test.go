package bed

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProcess(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "tool")
	writeExecutable(t, script, "#!/bin/sh\necho started \"$@\"\nexec sleep 60\n")
	p, err := StartProcess("tool", script, []string{"--flag"}, filepath.Join(dir, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		if got := Tail(p.LogPath, 1); got != "started --flag" {
			return os.ErrNotExist
		}
		return nil
	})
	start := time.Now()
	if err := p.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v: SIGTERM was not enough", d)
	}
	select {
	case <-p.Exited():
	default:
		t.Error("Exited is open after Stop")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
	if _, err := StartProcess("missing", filepath.Join(dir, "missing"), nil, dir); err == nil || !strings.Contains(err.Error(), "hack/tools.sh") {
		t.Errorf("starting a missing binary: %v; want an error saying how to build it", err)
	}
}

type fakeLogger struct {
	failed  bool
	cleanup []func()
	logged  []string
}

func (f *fakeLogger) Cleanup(fn func()) { f.cleanup = append(f.cleanup, fn) }
func (f *fakeLogger) Failed() bool      { return f.failed }
func (f *fakeLogger) Logf(format string, args ...any) {
	f.logged = append(f.logged, fmt.Sprintf(format, args...))
}

func TestTailOnFailure(t *testing.T) {
	log := filepath.Join(t.TempDir(), "tool.log")
	if err := os.WriteFile(log, []byte("first\nlast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, failed := range []bool{false, true} {
		f := &fakeLogger{failed: failed}
		TailOnFailure(f, &Process{Name: "tool", LogPath: log})
		for _, fn := range f.cleanup {
			fn()
		}
		if got := len(f.logged) == 1 && strings.HasSuffix(f.logged[0], "first\nlast"); got != failed {
			t.Errorf("failed=%v: logged %q", failed, f.logged)
		}
	}
}

func TestProcessEnv(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "tool")
	writeExecutable(t, script, "#!/bin/sh\necho \"GOGC=$GOGC INHERITED=$BED_TEST_INHERITED\"\n")
	t.Setenv("BED_TEST_INHERITED", "yes")
	t.Setenv("GOGC", "400")
	p, err := StartProcessEnv("tool", script, nil, []string{"GOGC=100"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	if got, want := Tail(p.LogPath, 1), "GOGC=100 INHERITED=yes"; got != want {
		t.Errorf("the process printed %q, want %q", got, want)
	}
}

func TestParseEnv(t *testing.T) {
	f := func(in string, want []string, wantErr bool) {
		t.Helper()
		got, err := ParseEnv(in)
		if (err != nil) != wantErr || !slices.Equal(got, want) {
			t.Errorf("ParseEnv(%q) = %q, %v; want %q, error %v", in, got, err, want, wantErr)
		}
	}
	f("", nil, false)
	f("GOGC=100", []string{"GOGC=100"}, false)
	f("  GOGC=100   GOMEMLIMIT=1GiB ", []string{"GOGC=100", "GOMEMLIMIT=1GiB"}, false)
	f("EMPTY=", []string{"EMPTY="}, false)
	f("GOGC", nil, true)
	f("=100", nil, true)
}
