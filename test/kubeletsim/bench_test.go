package kubeletsim

import (
	"bytes"
	"testing"
)

// BenchmarkAppendResource renders /metrics/resource for a node with 30
// single-container pods, the body a scraper fetches most often.
func BenchmarkAppendResource(b *testing.B) {
	f, err := New(Config{Nodes: 1, PodsPerNode: 30, Seed: 1, Port: DefaultPort, AuthDisabled: true})
	if err != nil {
		b.Fatal(err)
	}
	n := f.nodes[0]
	ms := f.nowMs()
	buf := appendResource(nil, n, ms, false)
	want := len(buf)
	b.SetBytes(int64(want))
	b.ReportAllocs()
	for b.Loop() {
		ms++
		buf = appendResource(buf[:0], n, ms, false)
		if len(buf) < want-64 || !bytes.HasSuffix(buf, []byte("resource_scrape_error 0\n")) {
			b.Fatalf("bad body of %d bytes", len(buf))
		}
	}
}

// BenchmarkServeResource measures a full HTTPS request to one node over a
// kept-alive connection.
func BenchmarkServeResource(b *testing.B) {
	f, _ := newTestFleet(b, Config{Nodes: 1, PodsPerNode: 30, Seed: 1, AuthDisabled: true})
	c := testClient(f, nil, false)
	b.ReportAllocs()
	for b.Loop() {
		if r := get(b, c, f, "sim-node-0", "/metrics/resource", nil); r.status != 200 || len(r.body) < 1000 {
			b.Fatalf("status %d, %d bytes", r.status, len(r.body))
		}
	}
}
