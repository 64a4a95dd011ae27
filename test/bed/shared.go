package bed

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// SetupTimeout bounds starting a shared bed and the servers its suite runs
// on it.
const SetupTimeout = 5 * time.Minute

// Shared is a bed that every test of a package shares, started by Main:
// a control plane per test would cost more than the tests themselves.
type Shared struct {
	Bed *Bed
	// Dir holds the bed's files; the cluster's are in Dir/cluster.
	Dir string
	// Binary is the ringmetrics to run (RingmetricsBinary).
	Binary string
	stops  []func()
}

// Defer has f run when the tests are done, or set-up failed, before the bed
// stops; the last deferred runs first.
func (s *Shared) Defer(f func()) { s.stops = append(s.stops, f) }

func (s *Shared) stop() {
	for _, f := range slices.Backward(s.stops) {
		f()
	}
	s.Bed.Stop()
}

// Main is the body of TestMain for a package whose tests share one bed, and
// returns the exit code. In a new temporary directory named for the suite it
// finds or builds ringmetrics, starts a bed with opts (Cluster.Dir is set,
// and Logf defaults to log.Printf), and calls setup to start the suite's
// servers, all within SetupTimeout; then it runs the tests and stops what
// setup deferred and the bed. The directory is removed when the tests pass
// and kept, its logs named on stderr, when anything fails.
func Main(m interface{ Run() int }, name string, opts Options, setup func(ctx context.Context, s *Shared) error) int {
	dir, err := os.MkdirTemp("", "ringmetrics-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	code := 1
	defer func() {
		if code == 0 {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "%s: failed; logs kept in %s\n", name, filepath.Join(dir, "cluster", "logs"))
		}
	}()
	s, err := startShared(name, dir, opts, setup)
	if s != nil {
		defer s.stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: setting up the %s bed: %v\n", name, err)
		return code
	}
	code = m.Run()
	return code
}

// startShared returns the Shared to stop whenever the bed started, even
// when setup then failed.
func startShared(name, dir string, opts Options, setup func(context.Context, *Shared) error) (*Shared, error) {
	ctx, cancel := context.WithTimeout(context.Background(), SetupTimeout)
	defer cancel()
	binary, err := RingmetricsBinary(dir)
	if err != nil {
		return nil, err
	}
	opts.Cluster.Dir = filepath.Join(dir, "cluster")
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	start := time.Now()
	b, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	opts.Logf("%s: bed up in %v (%s)", name, time.Since(start).Round(time.Millisecond), b.CreateStats)
	s := &Shared{Bed: b, Dir: dir, Binary: binary}
	return s, setup(ctx, s)
}
