package server

import (
	"fmt"
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
	var many []scraper.NodeFailure
	for i := range maxListedFailures + 7 {
		many = append(many, scraper.NodeFailure{Node: fmt.Sprintf("n%03d", i), Reason: scraper.ReasonBadTarget, Err: "bad", Since: since})
	}
	tests := []struct {
		name       string
		method     string
		failures   []scraper.NodeFailure
		nodes      int
		wantStatus int
		want       []string
		notWant    []string
	}{
		{name: "lists failing nodes", failures: failing, nodes: 3, wantStatus: http.StatusOK,
			want: []string{"kubelet scrapes: 1 of 3 nodes failing", "n2: timeout since 2026-11-25T10:00:00Z: context deadline exceeded"}},
		{name: "none failing", nodes: 3, wantStatus: http.StatusOK, want: []string{"kubelet scrapes: all 3 nodes ok"}},
		{name: "long lists are cut", failures: many, nodes: 100, wantStatus: http.StatusOK,
			want: []string{"57 of 100 nodes failing", "n049: bad_target", "… and 7 more"}, notWant: []string{"n050"}},
		{name: "read only", method: http.MethodPost, failures: failing, nodes: 3, wantStatus: http.StatusMethodNotAllowed, notWant: []string{"n2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := scrapeDiagnostics(func() []scraper.NodeFailure { return tt.failures }, func() int { return tt.nodes })
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, DiagnosticsPath, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
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
			if cl := rec.Header().Get("Content-Length"); tt.wantStatus == http.StatusOK && cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s for a %d-byte body", cl, len(body))
			}
		})
	}
}
