// Package app builds the ringmetrics command.
package app

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	"k8s.io/component-base/term"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/pkg/redact"
	"github.com/ringmetrics/ringmetrics/pkg/server/options"
)

// NewCommand returns the ringmetrics command; it runs until ctx ends.
func NewCommand(ctx context.Context) *cobra.Command {
	o := options.NewOptions()
	cmd := &cobra.Command{
		Use:   "ringmetrics",
		Short: "Serve metrics.k8s.io from kubelet scrapes kept in a ring store",
		Long: `ringmetrics scrapes every kubelet's resource metrics, keeps a short history
of CPU and memory per node and container in memory, and serves the
metrics.k8s.io API that kubectl top and the HorizontalPodAutoscaler read.`,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ShowVersion {
				fmt.Fprintln(cmd.OutOrStdout(), version.Get().GitVersion)
				return nil
			}
			o.Complete()
			if err := o.Validate(); err != nil {
				return err
			}
			return run(cmd.Context(), o)
		},
		Args: cobra.NoArgs,
	}
	cmd.SetContext(ctx)
	fss := o.AddFlags(cmd.Flags())
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}

func run(ctx context.Context, o *options.Options) error {
	defer logs.FlushLogs()
	// From -v=8 client-go logs whole request bodies, and delegated
	// authentication posts every caller's bearer token in one.
	redact.Install()
	klog.InfoS("Starting ringmetrics", "version", version.Get().GitVersion)
	// Before the informers and rings allocate: from here on the heap is
	// held to what the container is given.
	mem, err := tuneMemory(os.DirFS("/"), o.MemoryLimitRatio, gcPercentDefault)
	if err != nil {
		klog.ErrorS(err, "Leaving the Go memory limit alone")
	}
	klog.InfoS("Go memory limit and GC target", "memoryLimit", mem.MemoryLimit, "cgroupLimit", mem.CgroupLimit,
		"source", mem.Source, "gcPercent", mem.GCPercent, "gomemlimitEnv", os.Getenv("GOMEMLIMIT"), "gogcEnv", os.Getenv("GOGC"))
	cfg, err := o.Config()
	if err != nil {
		return err
	}
	completed, err := cfg.Complete()
	if err != nil {
		return err
	}
	srv, err := completed.New()
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
