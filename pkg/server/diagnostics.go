package server

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/scraper"
)

// maxListedFailures bounds the /readyz?verbose report on a cluster where
// thousands of nodes fail at once; the count still says how many.
const maxListedFailures = 50

// withScrapeDiagnostics appends the nodes whose latest scrape failed, and
// why, to `/readyz?verbose`. A failing node must not make the replica
// unready (one bad kubelet would take the API away from everyone), so it
// cannot be a failing readiness check; but the operator reading readyz is
// exactly who needs to know.
func withScrapeDiagnostics(next http.Handler, failures func() []scraper.NodeFailure, nodes func() int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !r.URL.Query().Has("verbose") {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: w.Header(), status: http.StatusOK}
		next.ServeHTTP(rec, r)
		writeFailures(&rec.body, failures(), nodes())
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len()))
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
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

// recorder holds a handler's response so more can be appended to it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
