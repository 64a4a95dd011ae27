package scraper

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Reason classifies a failed scrape. Each is a metric label value and the
// word an operator reads in the logs and in /readyz.
type Reason string

const (
	ReasonTimeout      Reason = "timeout"
	ReasonConnection   Reason = "connection"
	ReasonTLS          Reason = "tls"
	ReasonUnauthorized Reason = "unauthorized"
	ReasonForbidden    Reason = "forbidden"
	ReasonNotFound     Reason = "not_found"
	ReasonHTTPStatus   Reason = "http_status"
	ReasonTooLarge     Reason = "too_large"
	ReasonDecode       Reason = "decode"
	ReasonNoAddress    Reason = "no_address"
	// ReasonBadTarget is a node whose name, address, port or path annotation
	// would point the scrape somewhere other than its own kubelet.
	ReasonBadTarget Reason = "bad_target"
)

// allReasons lists every reason so their counters exist from the start, which
// lets rate() queries and alerts see a zero rather than no series.
var allReasons = []Reason{
	ReasonTimeout, ReasonConnection, ReasonTLS, ReasonUnauthorized, ReasonForbidden,
	ReasonNotFound, ReasonHTTPStatus, ReasonTooLarge, ReasonDecode, ReasonNoAddress, ReasonBadTarget,
}

// ScrapeError is a failed scrape with its classification.
type ScrapeError struct {
	Reason Reason
	Err    error
}

func (e *ScrapeError) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *ScrapeError) Unwrap() error { return e.Err }

// reasonOf returns the classification of err; errors not produced by the
// client are decode failures.
func reasonOf(err error) Reason {
	var se *ScrapeError
	if errors.As(err, &se) {
		return se.Reason
	}
	return ReasonDecode
}

// KubeletClient fetches kubelet endpoints over one shared, kept-alive
// transport, so a node costs one TLS handshake for its lifetime rather than
// one per scrape.
type KubeletClient struct {
	http *http.Client
	// MaxBodyBytes caps a response body; a kubelet that sends more is failed
	// rather than allowed to grow the server's memory.
	maxBodyBytes int64
}

// NewKubeletClient returns a client over transport. maxBodyBytes must be positive.
func NewKubeletClient(transport http.RoundTripper, maxBodyBytes int64) *KubeletClient {
	return &KubeletClient{
		http: &http.Client{
			Transport: transport,
			// A kubelet never redirects; following one would send our
			// credentials to wherever it pointed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		maxBodyBytes: maxBodyBytes,
	}
}

// Get reads url's body into buf (reset first). The context bounds the whole
// exchange, body included.
func (c *KubeletClient) Get(ctx context.Context, url string, buf *bytes.Buffer) error {
	buf.Reset()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &ScrapeError{Reason: ReasonConnection, Err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &ScrapeError{Reason: classifyTransportError(ctx, err), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		// The code only: the status text is the kubelet's to choose.
		return &ScrapeError{Reason: classifyStatus(resp.StatusCode), Err: fmt.Errorf("kubelet answered HTTP %d", resp.StatusCode)}
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxBodyBytes+1))
	if err != nil {
		return &ScrapeError{Reason: classifyTransportError(ctx, err), Err: fmt.Errorf("reading body: %w", err)}
	}
	if n > c.maxBodyBytes {
		return &ScrapeError{Reason: ReasonTooLarge, Err: fmt.Errorf("body exceeds %d bytes", c.maxBodyBytes)}
	}
	return nil
}

func classifyStatus(code int) Reason {
	switch code {
	case http.StatusUnauthorized:
		return ReasonUnauthorized
	case http.StatusForbidden:
		return ReasonForbidden
	case http.StatusNotFound:
		return ReasonNotFound
	}
	return ReasonHTTPStatus
}

func classifyTransportError(ctx context.Context, err error) Reason {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ReasonTimeout
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		record           tls.RecordHeaderError
		alert            tls.AlertError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &record) || errors.As(err, &alert) ||
		strings.Contains(err.Error(), "tls: ") {
		return ReasonTLS
	}
	return ReasonConnection
}
