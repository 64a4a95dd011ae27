package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLaunchRetriesOnPortClash runs a stand-in component that loses a port
// race on its first run: launch must start it again on new ports.
func TestLaunchRetriesOnPortClash(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran-once")
	script := filepath.Join(dir, "component.sh")
	body := "#!/bin/sh\nif [ ! -e " + marker + " ]; then touch " + marker +
		"; echo 'listen tcp 127.0.0.1:1: bind: address already in use'; exit 1; fi\nexec sleep 60\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var logs []string
	c := &Cluster{opts: Options{StartTimeout: 10 * time.Second, Logf: func(f string, a ...any) { logs = append(logs, f) }}}
	p := &process{name: "stand-in", bin: script, logPath: filepath.Join(dir, "stand-in.log")}
	var seen [][]int
	configure := func(ports []int) error { seen = append(seen, ports); return nil }
	// The first run is never ready: it must be seen to exit.
	ready := func(context.Context) error {
		if len(seen) < 2 {
			return errors.New("not yet")
		}
		return nil
	}
	err := c.launch(t.Context(), p, 2, configure, ready)
	defer p.stop(time.Second)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if len(seen) != 2 {
		t.Fatalf("configured %d times, want 2 (one retry): %v", len(seen), seen)
	}
	if p.pid() == 0 {
		t.Error("stand-in not running after launch")
	}
	if !strings.Contains(strings.Join(logs, "\n"), "port race") {
		t.Errorf("retry not logged: %q", logs)
	}
}
