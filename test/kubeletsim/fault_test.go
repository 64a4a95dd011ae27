package kubeletsim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	f, clk := newTestFleet(t, Config{Nodes: 2, PodsPerNode: 2, Seed: 9, AuthDisabled: true})
	c := testClient(f, nil, false)
	const node = "sim-node-0"
	set := func(fault Fault) {
		t.Helper()
		if err := f.SetFault(node, fault); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("HTTP500", func(t *testing.T) {
		set(HTTP500())
		if r := get(t, c, f, node, "/metrics/resource", nil); r.status != 500 {
			t.Errorf("status %d", r.status)
		}
		if r := get(t, c, f, "sim-node-1", "/metrics/resource", nil); r.status != 200 {
			t.Errorf("other node: status %d", r.status)
		}
		if r := get(t, c, f, node, "/healthz", nil); r.status != 200 {
			t.Errorf("healthz: status %d", r.status)
		}
	})

	t.Run("Unauthorized", func(t *testing.T) {
		set(Unauthorized())
		if r := get(t, c, f, node, "/stats/summary", nil); r.status != 401 {
			t.Errorf("status %d", r.status)
		}
	})

	t.Run("Garbage", func(t *testing.T) {
		set(Garbage(10000))
		r := get(t, c, f, node, "/metrics/resource", nil)
		if r.status != 200 || len(r.body) != 10000 || r.header.Get("Content-Type") != ContentTypeResource {
			t.Fatalf("status %d, %d bytes, %q", r.status, len(r.body), r.header.Get("Content-Type"))
		}
		if bytes.HasPrefix(r.body, []byte("# HELP")) {
			t.Error("garbage looks like metrics")
		}
		r2 := get(t, c, f, node, "/stats/summary", nil)
		if bytes.Equal(r.body[:100], r2.body[:100]) || json.Valid(r2.body) {
			t.Error("garbage repeated or valid JSON")
		}
	})

	t.Run("HugeBounded", func(t *testing.T) {
		set(Huge(1 << 20))
		r := get(t, c, f, node, "/metrics/resource", nil)
		if r.status != 200 || len(r.body) < 1<<20 || len(r.body) > 1<<20+64<<10 {
			t.Fatalf("status %d, %d bytes", r.status, len(r.body))
		}
		d := parseProm(t, r.body) // every line well formed
		if len(d.samples) < 10000 {
			t.Errorf("only %d samples", len(d.samples))
		}
		r = get(t, c, f, node, "/stats/summary", nil)
		var s Summary
		if err := json.Unmarshal(r.body, &s); err != nil || len(s.Pods) < 1000 {
			t.Errorf("huge summary: %d pods, %v", len(s.Pods), err)
		}
	})

	t.Run("HugeEndless", func(t *testing.T) {
		set(Huge(0))
		info, _ := f.Node(node)
		resp, err := c.Get("https://" + info.Endpoint() + "/metrics/resource")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
		lines := 0
		for sc.Scan() {
			if lines > 0 && !strings.HasPrefix(sc.Text(), "container_cpu_usage_seconds_total{") && !strings.HasPrefix(sc.Text(), "#") {
				t.Fatalf("line %d: %q", lines, sc.Text())
			}
			lines++
		}
		resp.Body.Close() // the server notices and stops writing
		if lines < 50000 {
			t.Errorf("read %d lines of an endless body", lines)
		}
	})

	t.Run("Hang", func(t *testing.T) {
		set(Hang())
		// The client's timeout bounds the hang; this is the one place a test
		// waits on the real clock.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := tryGet(ctx, c, f, node, "/metrics/resource", nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("hang lasted %v", d)
		}
	})

	t.Run("Slow", func(t *testing.T) {
		set(Slow(7 * time.Second))
		done := make(chan response, 1)
		go func() {
			r, _ := tryGet(context.Background(), c, f, node, "/metrics/resource", nil)
			done <- r
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !clk.HasWaiters() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // wait for the handler to reach its timer
		}
		select {
		case r := <-done:
			t.Fatalf("answered before the delay: %d", r.status)
		default:
		}
		before := clk.Now()
		clk.Step(7 * time.Second)
		r := <-done
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		d := parseProm(t, r.body)
		if ts := d.samples["node_cpu_usage_seconds_total"].ts; ts != before.Add(7*time.Second).UnixMilli() {
			t.Errorf("sample taken at %d, want after the delay", ts)
		}
	})

	t.Run("None", func(t *testing.T) {
		set(Fault{})
		if r := get(t, c, f, node, "/metrics/resource", nil); r.status != 200 {
			t.Errorf("status %d", r.status)
		}
	})

	if err := f.SetFault("nope", HTTP500()); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetFault on unknown node: %v", err)
	}
	if err := f.SetFault(node, Fault{Kind: 99}); err == nil {
		t.Error("unknown fault kind accepted")
	}
}

// TestCloseEndsHang checks that Close does not wait for hung requests.
func TestCloseEndsHang(t *testing.T) {
	f, _ := newTestFleet(t, Config{Nodes: 1, PodsPerNode: 1, AuthDisabled: true})
	f.SetFault("sim-node-0", Hang())
	c := testClient(f, nil, false)
	errc := make(chan error, 1)
	go func() {
		_, err := tryGet(context.Background(), c, f, "sim-node-0", "/metrics/resource", nil)
		errc <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); f.hanging.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // wait for the request to reach the hang
	}
	if f.hanging.Load() != 1 {
		t.Fatal("request never hung")
	}
	f.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("hung request answered")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close left the request hanging")
	}
}
