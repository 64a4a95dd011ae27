// Command soak holds ringmetrics under sustained load and then overload on
// the test bed and writes docs/benchmarks/SOAK.md (see test/soak). It exits
// non-zero when a criterion is broken:
//
//	go run ./test/cmd/soak -ringmetrics bin/ringmetrics -nodes 1000 -pods 30 -duration 10m
//
// make soak runs it with the binary make builds.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/bench"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
	"github.com/ringmetrics/ringmetrics/test/soak"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := soak.Default()
	var (
		ringmetrics = flag.String("ringmetrics", "bin/ringmetrics", "ringmetrics binary")
		out         = flag.String("out", "docs/benchmarks", "directory for "+soak.ReportFile)
		values      = flag.String("chart-values", "charts/ringmetrics/values.yaml", "the chart values whose resources.requests.memory the overload phase is held to")
		command     = flag.String("command", "", "command line recorded in the report (default this process's)")
		firstIP     = flag.String("first-ip", "127.63.0.1", "loopback address of node 0, away from the other harnesses' ranges")
		extra       = flag.String("ringmetrics-args", "", "space-separated flags added to ringmetrics's, such as --max-cluster-list-requests-inflight=0")
		env         = flag.String("ringmetrics-env", "", "space-separated NAME=value pairs added to ringmetrics's environment, e.g. GOGC=100")
		short       = flag.Bool("short", false, "the short run make test runs (50 nodes × 10 pods, 2s, 60s + 20s)")
	)
	flag.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "simulated nodes")
	flag.IntVar(&cfg.PodsPerNode, "pods", cfg.PodsPerNode, "pods per node")
	flag.DurationVar(&cfg.Resolution, "resolution", cfg.Resolution, "ringmetrics --metric-resolution")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "the soak phase")
	flag.DurationVar(&cfg.Overload.Duration, "overload", cfg.Overload.Duration, "the overload phase")
	flag.DurationVar(&cfg.SampleEvery, "sample-every", cfg.SampleEvery, "how often RSS and goroutines are sampled")
	flag.DurationVar(&cfg.FlatWindow, "flat-window", cfg.FlatWindow, "the last part of the soak phase whose samples must be flat")
	flag.StringVar(&cfg.WorkDir, "work-dir", "", "directory for the bed's files (default a new temporary directory)")
	flag.BoolVar(&cfg.KeepWorkDir, "keep", false, "keep the bed's files (etcd data, logs)")
	flag.Parse()
	if *short {
		cfg = soak.Short()
	}
	cfg.ExtraArgs = strings.Fields(*extra)
	var err error
	if cfg.Env, err = bed.ParseEnv(*env); err != nil {
		return fmt.Errorf("-ringmetrics-env: %w", err)
	}
	log.SetFlags(log.Ltime)
	if _, err := bench.RaiseOpenFiles(); err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	if cfg.MemoryRequest, err = soak.ChartMemoryRequest(*values); err != nil {
		return err
	}
	if cfg.FirstIP, err = netip.ParseAddr(*firstIP); err != nil {
		return fmt.Errorf("-first-ip: %w", err)
	}
	cfg.KubeletPort = kubeletsim.AnyPort
	cfg.Logf = log.Printf
	if *command == "" {
		*command = strings.Join(os.Args, " ")
	}
	// A copy: a make build elsewhere during the run must not swap the
	// binary under it.
	dir, err := os.MkdirTemp("", "ringmetrics-soak-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.Ringmetrics = filepath.Join(dir, "ringmetrics")
	if err := bed.CopyBinary(*ringmetrics, cfg.Ringmetrics); err != nil {
		return fmt.Errorf("copying the ringmetrics binary: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	machine := bench.DescribeMachine()
	machine.Versions = bench.Versions(cfg.Ringmetrics)
	delete(machine.Versions, "metrics-server")
	res, err := soak.Run(ctx, cfg)
	if err != nil {
		return err
	}
	var report bytes.Buffer
	if err := soak.Report(&report, res, *command, machine); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	path := filepath.Join(*out, soak.ReportFile)
	if err := os.WriteFile(path, report.Bytes(), 0o644); err != nil {
		return err
	}
	log.Printf("soak: wrote %s", path)
	var errs []error
	for _, c := range res.Failed() {
		errs = append(errs, fmt.Errorf("%s: want %s, got %s", c.Name, c.Want, c.Got))
	}
	return errors.Join(errs...)
}
