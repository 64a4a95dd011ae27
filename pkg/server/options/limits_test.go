package options

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
)

func TestLimitOptions(t *testing.T) {
	d := decode.DefaultLimits()
	limits := func(containers, pods, names int) decode.Limits {
		return decode.Limits{MaxContainers: containers, MaxPods: pods, MaxNameLength: names}
	}
	for _, tc := range []struct {
		args []string
		want decode.Limits
		// errs lists the flags Validate must name.
		errs []string
	}{
		{args: nil, want: d},
		{
			args: []string{"--kubelet-max-containers-per-node=500", "--kubelet-max-pods-per-node=200", "--kubelet-max-name-length=63"},
			want: limits(500, 200, 63),
		},
		// Each bound passes, and one past it breaks only its own rule.
		{args: []string{"--kubelet-max-containers-per-node=1"}, want: limits(1, d.MaxPods, d.MaxNameLength)},
		{args: []string{"--kubelet-max-containers-per-node=1048576"}, want: limits(1<<20, d.MaxPods, d.MaxNameLength)},
		{args: []string{"--kubelet-max-pods-per-node=1"}, want: limits(d.MaxContainers, 1, d.MaxNameLength)},
		{args: []string{"--kubelet-max-pods-per-node=1048576"}, want: limits(d.MaxContainers, 1<<20, d.MaxNameLength)},
		{args: []string{"--kubelet-max-name-length=4096"}, want: limits(d.MaxContainers, d.MaxPods, 4096)},
		{args: []string{"--kubelet-max-containers-per-node=0"}, errs: []string{"--kubelet-max-containers-per-node"}},
		{args: []string{"--kubelet-max-containers-per-node=1048577"}, errs: []string{"--kubelet-max-containers-per-node"}},
		{args: []string{"--kubelet-max-pods-per-node=0"}, errs: []string{"--kubelet-max-pods-per-node"}},
		{args: []string{"--kubelet-max-pods-per-node=1048577"}, errs: []string{"--kubelet-max-pods-per-node"}},
		{args: []string{"--kubelet-max-name-length=62"}, errs: []string{"--kubelet-max-name-length"}},
		{args: []string{"--kubelet-max-name-length=4097"}, errs: []string{"--kubelet-max-name-length"}},
		{
			args: []string{"--kubelet-max-containers-per-node=0", "--kubelet-max-pods-per-node=-1", "--kubelet-max-name-length=62"},
			errs: []string{"--kubelet-max-containers-per-node", "--kubelet-max-pods-per-node", "--kubelet-max-name-length"},
		},
		{
			args: []string{"--kubelet-max-containers-per-node=1048577", "--kubelet-max-name-length=4097"},
			errs: []string{"--kubelet-max-containers-per-node", "--kubelet-max-name-length"},
		},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o := NewLimitOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			errs := o.Validate()
			if len(errs) != len(tc.errs) {
				t.Fatalf("Validate() = %v, want %d errors", errs, len(tc.errs))
			}
			for i, flag := range tc.errs {
				if !strings.Contains(errs[i].Error(), flag+" ") {
					t.Errorf("error %d = %q, want it to name %s", i, errs[i], flag)
				}
			}
			if len(tc.errs) == 0 && o.Limits() != tc.want {
				t.Errorf("Limits() = %+v, want %+v", o.Limits(), tc.want)
			}
		})
	}
	// The flags reach the server config through Options.
	o := NewOptions()
	if o.Limits == nil || *o.Limits != *NewLimitOptions() {
		t.Fatalf("NewOptions().Limits = %+v", o.Limits)
	}
	fss := o.Flags()
	if fs := fss.FlagSet("kubelet client"); fs.Lookup("kubelet-max-containers-per-node") == nil {
		t.Error("--kubelet-max-containers-per-node is not in the kubelet client section")
	}
}
