package options

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
)

// LimitOptions bound what one kubelet's response can make ringmetrics keep:
// a kubelet is not trusted to be honest about its size. The defaults (see
// decode.Limits) are far above any real node. With the default hour of
// history at 15 s (240 points), a container costs at most 8.3 KB of rings
// whatever the kubelet sends (store.MaxSeriesBytes; real containers take
// 1-3 KB), under 1 KiB of bookkeeping in the decoder and the store, and its
// three names (twice over while a churning kubelet's old names wait for the
// decoder to compact its intern table), so the defaults bound one node to
// about 104 MiB (test/bounds; the worst bodies it builds hold 14 MiB).
type LimitOptions struct {
	MaxContainers int
	MaxPods       int
	MaxNameLength int
}

// Bounds on the flags, so that a typo cannot switch a limit off.
const (
	maxLimitContainers = 1 << 20
	// Below a DNS label's 63 bytes real namespaces and container names
	// would be refused; above a few kilobytes the cap bounds nothing.
	minLimitNameLength = 63
	maxLimitNameLength = 4096
)

// NewLimitOptions returns the defaults.
func NewLimitOptions() *LimitOptions {
	d := decode.DefaultLimits()
	return &LimitOptions{MaxContainers: d.MaxContainers, MaxPods: d.MaxPods, MaxNameLength: d.MaxNameLength}
}

// AddFlags adds the flags to fs.
func (o *LimitOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.MaxContainers, "kubelet-max-containers-per-node", o.MaxContainers, "Containers kept from one kubelet response, in whole pods; the rest are skipped and counted as ringmetrics_scraper_samples_skipped_total{reason=\"too_many_series\"}.")
	fs.IntVar(&o.MaxPods, "kubelet-max-pods-per-node", o.MaxPods, "Pods kept from one kubelet response; the rest are skipped and counted as reason=\"too_many_pods\".")
	fs.IntVar(&o.MaxNameLength, "kubelet-max-name-length", o.MaxNameLength, "Longest namespace, pod or container name kept, in bytes; longer ones are skipped and counted as reason=\"name_too_long\".")
}

// Validate returns every problem found.
func (o *LimitOptions) Validate() []error {
	var errs []error
	check := func(flag string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("--%s %d is outside [%d, %d]", flag, v, lo, hi))
		}
	}
	check("kubelet-max-containers-per-node", o.MaxContainers, 1, maxLimitContainers)
	check("kubelet-max-pods-per-node", o.MaxPods, 1, maxLimitContainers)
	check("kubelet-max-name-length", o.MaxNameLength, minLimitNameLength, maxLimitNameLength)
	return errs
}

// Limits returns the decoder limits the flags describe.
func (o *LimitOptions) Limits() decode.Limits {
	return decode.Limits{MaxContainers: o.MaxContainers, MaxPods: o.MaxPods, MaxNameLength: o.MaxNameLength}
}
