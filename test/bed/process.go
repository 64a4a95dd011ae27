package bed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Process is a real process the bed runs, its output in a log file: an
// aggregated server (see Server), or a client beside it such as the VPA
// recommender or Prometheus.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// StartProcess starts binary with args, writing its stdout and stderr to
// logDir/name.log. The process is killed if the test binary dies first.
func StartProcess(name, binary string, args []string, logDir string) (*Process, error) {
	return StartProcessEnv(name, binary, args, nil, logDir)
}

// StartProcessEnv is StartProcess with env (NAME=value pairs) added to the
// environment the process inherits from this one; a name in both takes
// env's value.
func StartProcessEnv(name, binary string, args, env []string, logDir string) (*Process, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("%s binary: %w (run make build / hack/tools.sh)", name, err)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	p := &Process{Name: name, LogPath: filepath.Join(logDir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.LogPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if len(env) > 0 {
		// exec takes the last value of a name given twice.
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// ParseEnv splits space-separated NAME=value pairs, as the harnesses'
// -ringmetrics-env flags take them, and refuses a word without a name.
func ParseEnv(s string) ([]string, error) {
	env := strings.Fields(s)
	for _, kv := range env {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return nil, fmt.Errorf("%q is not NAME=value", kv)
		}
	}
	return env, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the process ends.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop terminates the process (SIGTERM, then SIGKILL after 10s) and waits
// for it. An exit status is not an error: a stopped process may report one.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	var exitErr *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &exitErr) {
		return p.waitErr
	}
	return nil
}

// TestLogger is the part of a *testing.T that TailOnFailure uses.
type TestLogger interface {
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
}

// TailOnFailure logs the last lines of p's log when t has failed by the time
// it ends.
func TailOnFailure(t TestLogger, p *Process) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of %s ---\n%s", p.LogPath, Tail(p.LogPath, 30))
		}
	})
}
