// Command bench runs ringmetrics and metrics-server side by side on the test
// bed at several scales and writes RESULTS.md, scaling.svg and results.json
// (see test/bench):
//
//	go run ./test/cmd/bench -ringmetrics bin/ringmetrics -scales 100,1000,5000 -fast 500 -out docs/benchmarks
//
// make bench runs it with the binaries make builds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		ringmetrics = flag.String("ringmetrics", "bin/ringmetrics", "ringmetrics binary")
		scales      = flag.String("scales", "100,1000,5000", "comma-separated node counts run side by side (30 pods per node, 15s)")
		fast        = flag.Int("fast", 500, "node count of the ringmetrics-alone run at 1s resolution; 0 skips it")
		full        = flag.String("full", "1000", "comma-separated node counts of ringmetrics-alone runs measured with full rings (240 points a series, as the default hour at 15s: 2s, --history=8m); empty skips them")
		tiny        = flag.Bool("tiny", false, "run only the tiny scale make test runs (5 nodes × 3 pods)")
		out         = flag.String("out", "docs/benchmarks", "directory for RESULTS.md, scaling.svg and results.json")
		profileDir  = flag.String("profile-dir", "", "directory for pprof profiles of the largest scale (default <out>/profiles)")
		workDir     = flag.String("work-dir", "", "directory for the beds' files (default a new temporary directory)")
		keep        = flag.Bool("keep", false, "keep the beds' files (etcd data, logs) after each scale")
		command     = flag.String("command", "", "command line recorded in RESULTS.md (default this process's)")
		reportOnly  = flag.Bool("report-only", false, "render <out>/results.json again without measuring")
		firstIP     = flag.String("first-ip", "127.60.0.1", "loopback address of node 0, away from the end-to-end tests' 127.1.0.1")
		kubeletAuth = flag.Bool("kubelet-auth", false, "the simulated kubelets authenticate and authorize every request (TokenReview, SubjectAccessReview), as real kubelets do")
		envFlag     = flag.String("ringmetrics-env", "", "space-separated NAME=value pairs added to ringmetrics's environment, e.g. GOGC=100")
	)
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *reportOnly {
		r, err := bench.Load(filepath.Join(*out, bench.JSONFile))
		if err != nil {
			return err
		}
		return bench.Write(*out, r)
	}

	var plan []bench.Scale
	if *tiny {
		plan = append(plan, bench.Tiny())
	} else {
		sides, err := nodeCounts("-scales", *scales)
		if err != nil {
			return err
		}
		fulls, err := nodeCounts("-full", *full)
		if err != nil {
			return err
		}
		var biggest int
		for _, n := range sides {
			plan = append(plan, bench.SideBySide(n))
			if n > plan[biggest].Nodes {
				biggest = len(plan) - 1
			}
		}
		if len(plan) > 0 {
			plan[biggest].Profile = true
		}
		if *fast > 0 {
			plan = append(plan, bench.FastRingmetrics(*fast))
		}
		for _, n := range fulls {
			plan = append(plan, bench.FullHistory(n))
		}
	}
	if len(plan) == 0 {
		return errors.New("nothing to run")
	}

	limit, err := bench.RaiseOpenFiles()
	if err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	maxNodes := slices.MaxFunc(plan, func(a, b bench.Scale) int { return a.Nodes - b.Nodes }).Nodes
	if need := uint64(3*maxNodes + 1024); limit < need {
		return fmt.Errorf("open-file limit %d is below the %d that %d nodes need (ulimit -Hn)", limit, need, maxNodes)
	}
	if *workDir == "" {
		if *workDir, err = os.MkdirTemp("", "ringmetrics-bench-"); err != nil {
			return err
		}
	}
	if *profileDir == "" {
		*profileDir = filepath.Join(*out, "profiles")
	}
	if *command == "" {
		*command = strings.Join(os.Args, " ")
	}
	first, err := netip.ParseAddr(*firstIP)
	if err != nil {
		return fmt.Errorf("-first-ip: %w", err)
	}
	env, err := bed.ParseEnv(*envFlag)
	if err != nil {
		return fmt.Errorf("-ringmetrics-env: %w", err)
	}
	// A copy: a make build elsewhere during a run of an hour must not swap
	// the binary between phases.
	binary := filepath.Join(*workDir, "ringmetrics")
	if err := bed.CopyBinary(*ringmetrics, binary); err != nil {
		return fmt.Errorf("copying the ringmetrics binary: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	result := &bench.Run{Machine: bench.DescribeMachine(), Command: *command, KubeletAuth: *kubeletAuth, RingmetricsEnv: env, Started: time.Now()}
	result.Machine.Versions = bench.Versions(binary)
	log.Printf("bench: %d scales, open-file limit %d, beds in %s", len(plan), limit, *workDir)
	save := func(scales []bench.ScaleResult) {
		result.Scales = scales
		result.Elapsed = bench.Duration(time.Since(result.Started))
		if err := bench.Write(*out, result); err != nil {
			log.Printf("bench: writing results: %v", err)
			return
		}
		log.Printf("bench: wrote %s", filepath.Join(*out, bench.ResultsFile))
	}
	_, err = bench.Measure(ctx, bench.Config{
		Ringmetrics:    binary,
		KubeletAuth:    *kubeletAuth,
		RingmetricsEnv: env,
		Scales:         plan,
		WorkDir:        *workDir,
		KeepWorkDir:    *keep,
		ProfileDir:     *profileDir,
		FirstIP:        first,
		Logf:           log.Printf,
		Done:           save,
	})
	if err == nil && !*keep {
		os.Remove(binary)
		os.Remove(*workDir) // empty once every scale removed its own
	}
	return err
}

// nodeCounts parses a flag's comma-separated node counts; empty entries are
// skipped.
func nodeCounts(name, value string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(value, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a node count", name, f)
		}
		out = append(out, n)
	}
	return out, nil
}
