package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/pkg/scraper"
)

func TestScrapeDiagnostics(t *testing.T) {
	since := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	failing := []scraper.NodeFailure{{Node: "n2", Reason: scraper.ReasonTimeout, Err: "context deadline exceeded", Since: since}}
	readyz := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "99")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "[-]metric-storage-ready failed\nreadyz check failed\n")
	})
	tests := []struct {
		name     string
		path     string
		failures []scraper.NodeFailure
		want     []string
		notWant  []string
	}{
		{name: "verbose lists failing nodes", path: "/readyz?verbose", failures: failing,
			want: []string{"readyz check failed", "kubelet scrapes: 1 of 3 nodes failing", "n2: timeout since 2026-11-25T10:00:00Z: context deadline exceeded"}},
		{name: "verbose with none failing", path: "/readyz?verbose", want: []string{"kubelet scrapes: all 3 nodes ok"}},
		{name: "terse readyz untouched", path: "/readyz", failures: failing, notWant: []string{"kubelet scrapes"}},
		{name: "other paths untouched", path: "/livez?verbose", failures: failing, notWant: []string{"kubelet scrapes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := withScrapeDiagnostics(readyz, func() []scraper.NodeFailure { return tt.failures }, func() int { return 3 })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("status %d, want the wrapped handler's 503", rec.Code)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("body has %q:\n%s", w, body)
				}
			}
			if cl := rec.Header().Get("Content-Length"); cl != "" && cl != "99" && cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s for a %d-byte body", cl, len(body))
			}
		})
	}
}

func TestWriteFailuresBounded(t *testing.T) {
	var many []scraper.NodeFailure
	for i := range 200 {
		many = append(many, scraper.NodeFailure{Node: "n" + strconv.Itoa(i), Reason: scraper.ReasonTLS})
	}
	h := withScrapeDiagnostics(http.NotFoundHandler(), func() []scraper.NodeFailure { return many }, func() int { return 500 })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz?verbose", nil))
	body := rec.Body.String()
	if !strings.Contains(body, "200 of 500 nodes failing") || !strings.Contains(body, "and 150 more") {
		t.Fatalf("report not bounded as expected:\n%s", body)
	}
}
