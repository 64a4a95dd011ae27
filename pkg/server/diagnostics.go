package server

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/scraper"
)

// DiagnosticsPath lists the nodes whose latest scrape failed, and why. It is
// not among the always-allowed health paths: node names and kubelet errors
// are for callers the cluster authorizes (get on this non-resource URL;
// cluster-admin has it), never for anonymous probes. /readyz and /livez
// carry check names and pass/fail only.
const DiagnosticsPath = "/debug/scrapes"

// maxListedFailures bounds the report on a cluster where thousands of nodes
// fail at once; the count still says how many.
const maxListedFailures = 50

// scrapeDiagnostics serves DiagnosticsPath. A failing node must not make the
// replica unready (one bad kubelet would take the API away from everyone),
// so it cannot be a failing readiness check; this page is where an operator
// finds it instead.
func scrapeDiagnostics(failures func() []scraper.NodeFailure, nodes func() int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var buf bytes.Buffer
		writeFailures(&buf, failures(), nodes())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		_, _ = w.Write(buf.Bytes())
	})
}

func writeFailures(buf *bytes.Buffer, failures []scraper.NodeFailure, nodes int) {
	if len(failures) == 0 {
		fmt.Fprintf(buf, "kubelet scrapes: all %d nodes ok\n", nodes)
		return
	}
	fmt.Fprintf(buf, "kubelet scrapes: %d of %d nodes failing\n", len(failures), nodes)
	for i, f := range failures {
		if i == maxListedFailures {
			fmt.Fprintf(buf, "  … and %d more\n", len(failures)-i)
			break
		}
		fmt.Fprintf(buf, "  %s: %s since %s: %s\n", f.Node, f.Reason, f.Since.UTC().Format(time.RFC3339), f.Err)
	}
}
