package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// The helpers below let other harnesses on the bed (test/soak) measure the
// same way this one does.

// Percentile is the nearest-rank q-quantile of sorted (see percentile).
func Percentile(sorted []time.Duration, q float64) time.Duration { return percentile(sorted, q) }

// StatusBytes reads a "<key>: <n> kB" line of /proc/<pid>/status (VmRSS,
// VmHWM) in bytes.
func StatusBytes(pid int, key string) (int64, error) { return statusBytes(pid, key) }

// ServerMetrics reads go_memstats_heap_inuse_bytes and go_goroutines from a
// server's own /metrics at base.
func ServerMetrics(ctx context.Context, client *http.Client, base string) (heap, goroutines int64, err error) {
	return serverMetrics(ctx, client, base)
}

// AdminClient is a system:masters client with the harness's timeout and
// HTTP/2, to the server directly (bed.DirectClient) or to the kube-apiserver
// (bed.APIServerClient).
func AdminClient(b *bed.Bed, direct bool) (*http.Client, error) {
	if direct {
		return adminClient(b, bed.DirectClient)
	}
	return adminClient(b, bed.APIServerClient)
}
