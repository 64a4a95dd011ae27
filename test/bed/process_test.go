package bed

import (
	"os"
	"path/filepath"
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
