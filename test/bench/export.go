package bench

import (
	"context"
	"io"
	"net/http"
	"os"
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

// CopyBinary copies an executable, so that a make build elsewhere during a
// long run cannot swap the binary between its phases.
func CopyBinary(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
