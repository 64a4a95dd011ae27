package bed

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// fakeT records what Eventually reports.
type fakeT struct{ fatal []string }

func (*fakeT) Helper() {}

func (t *fakeT) Fatalf(format string, args ...any) {
	t.fatal = append(t.fatal, fmt.Sprintf(format, args...))
}

func TestEventually(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	errNotYet := errors.New("not yet")
	f := func(name string, timeout, interval time.Duration, succeedOn int, wantCalls int, wantFatal string) {
		t.Helper()
		clk := testingclock.NewFakeClock(start)
		ft := &fakeT{}
		calls := 0
		eventually(ft, clk, timeout, interval, func() error {
			calls++
			if calls == succeedOn {
				return nil
			}
			return fmt.Errorf("attempt %d: %w", calls, errNotYet)
		})
		if calls != wantCalls {
			t.Errorf("%s: %d calls, want %d", name, calls, wantCalls)
		}
		switch {
		case wantFatal == "" && len(ft.fatal) > 0:
			t.Errorf("%s: failed with %q", name, ft.fatal)
		case wantFatal != "" && (len(ft.fatal) != 1 || ft.fatal[0] != wantFatal):
			t.Errorf("%s: failed with %q, want %q", name, ft.fatal, wantFatal)
		}
		if elapsed, want := clk.Since(start), time.Duration(calls-1)*interval; elapsed != want {
			t.Errorf("%s: slept %v, want %v (one interval between calls)", name, elapsed, want)
		}
	}
	f("at once", time.Second, 200*time.Millisecond, 1, 1, "")
	f("third try", time.Second, 200*time.Millisecond, 3, 3, "")
	// 0, 200ms … 1s are not after the deadline; 1.2s is.
	f("never", time.Second, 200*time.Millisecond, 0, 7, "not true after 1s: attempt 7: not yet")
	f("timeout zero: one more try at the deadline", 0, 500*time.Millisecond, 0, 2, "not true after 0s: attempt 2: not yet")
}

func TestPollWrapsLastError(t *testing.T) {
	errLast := errors.New("last")
	clk := testingclock.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	err := poll(clk, time.Second, 400*time.Millisecond, func() error { return errLast })
	if !errors.Is(err, errLast) || !strings.HasPrefix(err.Error(), "not true after 1s") {
		t.Errorf("poll = %v, want the last error wrapped", err)
	}
}
