package kubeletsim

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
)

const contentTypeJSON = "application/json"

// ServeHTTP serves the node the request's local address belongs to.
func (f *Fleet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.nodeForRequest(r)
	if n == nil {
		// The node was deleted while a connection to it stayed open: drop
		// the connection as a vanished machine would.
		panic(http.ErrAbortHandler)
	}
	var subresource string
	switch r.URL.Path {
	case "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
		return
	case "/metrics/resource":
		subresource = "metrics"
	case "/stats/summary":
		subresource = "stats"
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	f.mu.RLock()
	fault := n.fault
	f.mu.RUnlock()
	if fault.Kind == FaultUnauthorized {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if f.auth != nil && !f.auth.check(w, r, subresource, n.name) {
		return
	}

	switch fault.Kind {
	case FaultSlow:
		t := f.cfg.Clock.NewTimer(fault.Delay)
		select {
		case <-t.C():
		case <-r.Context().Done():
			t.Stop()
			return
		case <-f.done:
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	case FaultHang:
		f.hanging.Add(1)
		defer f.hanging.Add(-1)
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
		panic(http.ErrAbortHandler)
	case FaultHTTP500:
		http.Error(w, "Internal Server Error: simulated failure", http.StatusInternalServerError)
		return
	case FaultGarbage:
		f.writeGarbage(w, r, n, subresource, fault.Bytes)
		return
	case FaultHuge:
		f.writeHuge(w, r, n, subresource, fault.Bytes)
		return
	}

	if subresource == "metrics" {
		f.serveResource(w, r, n)
	} else {
		f.serveSummary(w, r, n)
	}
}

func (f *Fleet) nodeForRequest(r *http.Request) *node {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok {
		return nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := f.byAddr[la.AddrPort().Addr().Unmap()]
	if n == nil || n.gone {
		return nil
	}
	return n
}

func (f *Fleet) serveResource(w http.ResponseWriter, r *http.Request, n *node) {
	if s, ok := f.cachedSample(n); ok {
		n.servedResource.Add(1)
		writeBody(w, r, ContentTypeResource, s.resource)
		return
	}
	bp := f.getBuf()
	defer f.bufs.Put(bp)
	f.mu.RLock()
	*bp = appendResource((*bp)[:0], n, f.nowMs(), f.relativeStarts.Load())
	f.mu.RUnlock()
	n.servedResource.Add(1)
	writeBody(w, r, ContentTypeResource, *bp)
}

func (f *Fleet) serveSummary(w http.ResponseWriter, r *http.Request, n *node) {
	if s, ok := f.cachedSample(n); ok {
		if s.summaryErr != nil {
			http.Error(w, s.summaryErr.Error(), http.StatusInternalServerError)
			return
		}
		n.servedSummary.Add(1)
		writeBody(w, r, contentTypeJSON, s.summary)
		return
	}
	f.mu.RLock()
	ms := f.nowMs() / 1000 * 1000
	s := buildSummary(n, ms, f.cfg.NodeMemory.Value())
	f.mu.RUnlock()
	body, err := json.Marshal(s)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n.servedSummary.Add(1)
	writeBody(w, r, contentTypeJSON, body)
}

func writeBody(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func (f *Fleet) getBuf() *[]byte {
	if bp, ok := f.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 32<<10)
	return &b
}

func contentTypeFor(subresource string) string {
	if subresource == "metrics" {
		return ContentTypeResource
	}
	return contentTypeJSON
}
