// Package faults runs the scraper fault matrix end to end: a real control
// plane, simulated kubelets misbehaving one way at a time, and the real
// ringmetrics binary, observed through its API, logs and /metrics.
package faults

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/server"
	"github.com/ringmetrics/ringmetrics/test/bed"
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
	bed *bed.Bed
	rm  *bed.Server
}

func TestMain(m *testing.M) {
	os.Exit(bed.Main(m, "faults", bed.Options{
		Fleet: kubeletsim.Config{Nodes: nodes, PodsPerNode: podsPerNode, Seed: 7, Namespaces: []string{"faults"}},
	}, func(ctx context.Context, s *bed.Shared) error {
		env.bed = s.Bed
		rm, err := s.Bed.StartRingmetrics(ctx, s.Binary, resolution,
			"--kubelet-request-timeout="+timeout.String(),
			fmt.Sprintf("--kubelet-max-response-bytes=%d", maxBody),
			"--v=2",
		)
		if err != nil {
			return err
		}
		env.rm = rm
		s.Defer(func() { _ = rm.Stop() })
		// testNodeAdded's fleet: later cases still scrape it.
		s.Defer(func() {
			if late != nil {
				late.Close()
			}
		})
		return nil
	}))
}
