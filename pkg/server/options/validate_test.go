package options

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// validate parses args into new options, completes them and returns every
// error Validate reports.
func validate(t *testing.T, args ...string) []error {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("ringmetrics", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	o.Complete()
	err := o.Validate()
	if err == nil {
		return nil
	}
	agg, ok := err.(utilerrors.Aggregate)
	if !ok {
		t.Fatalf("Validate() = %T %v, want an aggregate", err, err)
	}
	return agg.Errors()
}

// TestOptionsValidate breaks each rule of Options.Validate alone, passes at
// each rule's boundary, and shows that the sub-options' errors are reported
// with the rest. The sub-options' own rules are covered beside them.
func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// errs are the beginnings of the errors Validate must report, in
		// order: each names its flag first.
		errs []string
	}{
		{name: "defaults"},

		{name: "resolution of exactly 1s", args: []string{"--metric-resolution=1s", "--kubelet-request-timeout=900ms"}},
		{name: "resolution under 1s", args: []string{"--metric-resolution=999ms", "--kubelet-request-timeout=500ms"}, errs: []string{"--metric-resolution"}},
		// A resolution that is not positive breaks no other rule through it.
		{name: "resolution 0", args: []string{"--metric-resolution=0"}, errs: []string{"--metric-resolution"}},
		{name: "negative resolution", args: []string{"--metric-resolution=-15s"}, errs: []string{"--metric-resolution"}},

		{name: "timeout of exactly 0.9 × resolution", args: []string{"--metric-resolution=10s", "--kubelet-request-timeout=9s"}},
		{name: "timeout over 0.9 × resolution", args: []string{"--metric-resolution=10s", "--kubelet-request-timeout=9000000001ns"}, errs: []string{"--kubelet-request-timeout"}},
		{name: "timeout equal to the resolution", args: []string{"--metric-resolution=10s", "--kubelet-request-timeout=10s"}, errs: []string{"--kubelet-request-timeout"}},

		{name: "history of exactly 2 × resolution", args: []string{"--history=30s"}},
		{name: "history under 2 × resolution", args: []string{"--history=29999999999ns"}, errs: []string{"--history"}},
		{name: "history of exactly the most points", args: []string{"--metric-resolution=1s", "--kubelet-request-timeout=900ms", "--history=16384s"}},
		{name: "history of one point too many", args: []string{"--metric-resolution=1s", "--kubelet-request-timeout=900ms", "--history=16385s"}, errs: []string{"--history"}},
		{name: "a day of history at 15s", args: []string{"--history=24h"}},

		{name: "cpu window equal to history", args: []string{"--history=5m", "--cpu-window=5m"}},
		{name: "cpu window under a resolution", args: []string{"--cpu-window=1ms"}},
		{name: "negative cpu window", args: []string{"--cpu-window=-1ns"}, errs: []string{"--cpu-window"}},
		{name: "cpu window over history", args: []string{"--history=5m", "--cpu-window=300000000001ns"}, errs: []string{"--cpu-window"}},

		{name: "set-based node selector", args: []string{"--node-selector=pool in (a, b),!gpu"}},
		{name: "node selector that does not parse", args: []string{"--node-selector=pool in (a"}, errs: []string{"--node-selector"}},
		{name: "node selector with a bad value", args: []string{"--node-selector=pool=a b"}, errs: []string{"--node-selector"}},

		// Each delegate's errors reach the aggregate.
		{name: "secure serving", args: []string{"--secure-port=70000"}, errs: []string{"--secure-port"}},
		{name: "authentication", args: []string{"--requestheader-username-headers= "}, errs: []string{`empty value in "requestheader-username-headers"`}},
		{name: "audit", args: []string{"--audit-log-path=/dev/null", "--audit-log-maxage=-1"}, errs: []string{"--audit-log-maxage"}},
		{name: "logging", args: []string{"--log-flush-frequency=0"}, errs: []string{"flushFrequency"}},
		{name: "kubelet", args: []string{"--kubelet-port=0"}, errs: []string{"--kubelet-port"}},
		{name: "limits", args: []string{"--kubelet-max-pods-per-node=0"}, errs: []string{"--kubelet-max-pods-per-node"}},
		{name: "in-flight", args: []string{"--max-requests-inflight=-1"}, errs: []string{"--max-requests-inflight"}},
		{name: "memory limit ratio off", args: []string{"--memory-limit-ratio=0"}},
		{name: "memory limit ratio just under 1", args: []string{"--memory-limit-ratio=0.999"}},
		{name: "memory limit ratio 1", args: []string{"--memory-limit-ratio=1"}, errs: []string{"--memory-limit-ratio"}},
		{name: "negative memory limit ratio", args: []string{"--memory-limit-ratio=-0.1"}, errs: []string{"--memory-limit-ratio"}},
		{name: "memory limit ratio NaN", args: []string{"--memory-limit-ratio=NaN"}, errs: []string{"--memory-limit-ratio"}},

		{
			name: "every error at once",
			args: []string{
				"--secure-port=70000", "--kubelet-port=0", "--kubelet-max-name-length=1", "--max-requests-inflight=-1",
				"--metric-resolution=10s", "--kubelet-request-timeout=10s", "--history=15s", "--cpu-window=-1s", "--node-selector=pool in (a",
				"--memory-limit-ratio=2",
			},
			errs: []string{
				"--secure-port", "--kubelet-port", "--kubelet-max-name-length", "--max-requests-inflight",
				"--kubelet-request-timeout", "--history", "--memory-limit-ratio", "--cpu-window", "--node-selector",
			},
		},
		{
			name: "history too long for the resolution and the cpu window",
			args: []string{"--metric-resolution=1s", "--kubelet-request-timeout=900ms", "--history=24h", "--cpu-window=25h"},
			errs: []string{"--history", "--cpu-window"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := validate(t, tt.args...)
			if len(errs) != len(tt.errs) {
				t.Fatalf("Validate(%q) = %v, want %d errors", tt.args, errs, len(tt.errs))
			}
			for i, want := range tt.errs {
				if !strings.HasPrefix(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to begin with %q", i, errs[i], want)
				}
			}
		})
	}
}

func TestValidateBeforeComplete(t *testing.T) {
	err := NewOptions().Validate()
	if err == nil || !strings.Contains(err.Error(), "Complete") {
		t.Errorf("Validate() before Complete = %v, want an error saying so", err)
	}
}
