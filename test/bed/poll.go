package bed

import (
	"fmt"
	"time"

	"k8s.io/utils/clock"
)

// Failer is the part of a *testing.T that Eventually uses.
type Failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Eventually calls f every interval until it returns nil, and fails t with
// f's last error once timeout has passed. The end-to-end suites bind their
// own interval: one that runs kubectl in f polls less often than one that
// reads a server's /metrics.
func Eventually(t Failer, timeout, interval time.Duration, f func() error) {
	t.Helper()
	eventually(t, clock.RealClock{}, timeout, interval, f)
}

func eventually(t Failer, clk clock.Clock, timeout, interval time.Duration, f func() error) {
	t.Helper()
	if err := poll(clk, timeout, interval, f); err != nil {
		t.Fatalf("%v", err)
	}
}

// poll is Eventually returning the failure instead of reporting it. f runs
// at least once, and once more after the deadline has passed.
func poll(clk clock.Clock, timeout, interval time.Duration, f func() error) error {
	deadline := clk.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if clk.Now().After(deadline) {
			return fmt.Errorf("not true after %v: %w", timeout, err)
		}
		clk.Sleep(interval)
	}
}
