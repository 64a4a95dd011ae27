// Package faults runs the scraper fault matrix end to end: a real control
// plane, simulated kubelets misbehaving one way at a time, and the real
// ringmetrics binary, observed through its API, logs and /metrics.
package faults

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/server"
	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

const (
	nodes       = 5
	podsPerNode = 3
	resolution  = time.Second
	timeout     = 500 * time.Millisecond
	// maxBody keeps the endless-body case short.
	maxBody = 1 << 20
)

// maxAge is how long the server keeps serving a node after its last good
// scrape with these flags.
var maxAge = server.MaxAge(resolution, timeout)

var env struct {
	bed  *bed.Bed
	rm   *bed.Server
	dir  string
	args []string
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ringmetrics-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	env.dir = dir
	code := 1
	defer func() {
		if code == 0 {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "faults: failed; logs kept in %s\n", filepath.Join(dir, "cluster", "logs"))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	binary, err := bed.RingmetricsBinary(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	b, err := bed.Start(ctx, bed.Options{
		Cluster: cluster.Options{Dir: filepath.Join(dir, "cluster")},
		Fleet:   kubeletsim.Config{Nodes: nodes, PodsPerNode: podsPerNode, Seed: 7, Namespaces: []string{"faults"}},
		Logf:    log.Printf,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting the bed:", err)
		return 1
	}
	env.bed = b
	defer b.Stop()
	env.args = []string{
		"--kubelet-request-timeout=" + timeout.String(),
		fmt.Sprintf("--kubelet-max-response-bytes=%d", maxBody),
		"--v=2",
	}
	rm, err := b.StartRingmetrics(ctx, binary, resolution, env.args...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting ringmetrics:", err)
		return 1
	}
	env.rm = rm
	defer rm.Stop()
	code = m.Run()
	if late != nil {
		late.Close()
	}
	return code
}
