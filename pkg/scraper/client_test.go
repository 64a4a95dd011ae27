package scraper

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestKubeletClientGet(t *testing.T) {
	const body = "node_cpu_usage_seconds_total 1 1000\n"
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) })
	mux.HandleFunc("/401", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	mux.HandleFunc("/403", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/500", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(bytes.Repeat([]byte("x"), 4096)) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		// Never let a hung request end as an empty 200.
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	trusted := NewKubeletClient(srv.Client().Transport, 1024)
	untrusted := NewKubeletClient(http.DefaultTransport, 1024)

	tests := []struct {
		name   string
		client *KubeletClient
		path   string
		want   Reason // empty: success
	}{
		{"ok", trusted, "/ok", ""},
		{"unauthorized", trusted, "/401", ReasonUnauthorized},
		{"forbidden", trusted, "/403", ReasonForbidden},
		{"not found", trusted, "/404", ReasonNotFound},
		{"server error", trusted, "/500", ReasonHTTPStatus},
		{"body over the cap", trusted, "/big", ReasonTooLarge},
		{"redirect is not followed", trusted, "/redirect", ReasonHTTPStatus},
		{"hang hits the timeout", trusted, "/hang", ReasonTimeout},
		{"unknown CA", untrusted, "/ok", ReasonTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the hang case should meet the deadline; the others get
			// room for a loaded machine or the race detector.
			timeout := 10 * time.Second
			if tt.want == ReasonTimeout {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			var buf bytes.Buffer
			err := tt.client.Get(ctx, srv.URL+tt.path, &buf)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Get() = %v, want success", err)
				}
				if buf.String() != body {
					t.Fatalf("body = %q, want %q", buf.String(), body)
				}
				return
			}
			var se *ScrapeError
			if !errors.As(err, &se) {
				t.Fatalf("Get() = %v, want a *ScrapeError", err)
			}
			if se.Reason != tt.want {
				t.Fatalf("reason = %q (%v), want %q", se.Reason, err, tt.want)
			}
		})
	}
}

func TestKubeletClientConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := NewKubeletClient(http.DefaultTransport, 1024)
	var buf bytes.Buffer
	err := c.Get(context.Background(), url, &buf)
	if got := reasonOf(err); got != ReasonConnection {
		t.Fatalf("reason = %q (%v), want %q", got, err, ReasonConnection)
	}
	if !strings.Contains(err.Error(), "connection") {
		t.Errorf("error %q does not say what failed", err)
	}
}
