package install

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// serviceLB stands in, on the bed, for what the chart's ClusterIP Service
// gives the aggregator in a cluster: one address in front of the replicas,
// connections only to those whose readiness probe passes. It forwards TCP
// (TLS passes through) from a port on 127.0.0.1 to each replica's own
// address, probes every replica's readiness path as a kubelet would, and
// spreads connections over the ready ones, as kube-proxy does.
//
// Where it differs from a cluster: it probes every lbProbeInterval instead
// of the chart's readinessProbe period (10 s, three failures), so it notices
// a stopped replica at once; and when a dial fails it tries the next ready
// replica, where kube-proxy would fail that connection. A test removes a
// replica before stopping it (remove), as the EndpointSlice controller drops
// a terminating pod.
type serviceLB struct {
	t         testing.TB
	ln        net.Listener
	probePath string
	backends  []*lbBackend
	next      atomic.Uint64
	done      chan struct{}
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// lbBackend is one replica: an endpoint of the Service.
type lbBackend struct {
	addr string
	// ready is its last probe's verdict; removed marks a terminating pod,
	// which gets no new connections whatever its probe says.
	ready, removed atomic.Bool
	// served counts the bytes it answered with through the stand-in.
	served atomic.Int64
}

const lbProbeInterval = 250 * time.Millisecond

// newServiceLB starts the stand-in in front of addrs (host:port), probing
// probePath on each over HTTPS without credentials.
func newServiceLB(t testing.TB, probePath string, addrs ...string) *serviceLB {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &serviceLB{t: t, ln: ln, probePath: probePath, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	for _, a := range addrs {
		lb.backends = append(lb.backends, &lbBackend{addr: a})
	}
	lb.wg.Add(2)
	go lb.accept()
	go lb.probe()
	t.Cleanup(lb.close)
	return lb
}

// Port is the port the aggregator dials.
func (lb *serviceLB) Port() int { return lb.ln.Addr().(*net.TCPAddr).Port }

func (lb *serviceLB) backend(addr string) *lbBackend {
	for _, b := range lb.backends {
		if b.addr == addr {
			return b
		}
	}
	lb.t.Fatalf("no backend %s", addr)
	return nil
}

// remove takes the replica at addr out of the Service, as for a terminating
// pod; add puts it back (a new pod), taking connections once its probe passes.
func (lb *serviceLB) remove(addr string) { lb.backend(addr).removed.Store(true) }
func (lb *serviceLB) add(addr string) {
	b := lb.backend(addr)
	b.ready.Store(false)
	b.removed.Store(false)
}

// served is how many bytes the replica at addr has answered with through the
// stand-in.
func (lb *serviceLB) served(addr string) int64 { return lb.backend(addr).served.Load() }

func (lb *serviceLB) probe() {
	defer lb.wg.Done()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives: true,
	}}
	tick := time.NewTicker(lbProbeInterval)
	defer tick.Stop()
	for {
		for _, b := range lb.backends {
			resp, err := client.Get("https://" + b.addr + lb.probePath)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				resp.Body.Close()
			}
			b.ready.Store(ok)
		}
		select {
		case <-lb.done:
			return
		case <-tick.C:
		}
	}
}

func (lb *serviceLB) accept() {
	defer lb.wg.Done()
	for {
		c, err := lb.ln.Accept()
		if err != nil {
			return
		}
		lb.wg.Add(1)
		go lb.forward(c)
	}
}

// forward connects c to a ready replica, trying each in turn from the next
// in rotation, and copies both ways until either side closes.
func (lb *serviceLB) forward(c net.Conn) {
	defer lb.wg.Done()
	if !lb.track(c) {
		return
	}
	defer lb.untrack(c)
	n := uint64(len(lb.backends))
	first := lb.next.Add(1)
	for i := range n {
		b := lb.backends[(first+i)%n]
		if !b.ready.Load() || b.removed.Load() {
			continue
		}
		up, err := net.DialTimeout("tcp", b.addr, time.Second)
		if err != nil {
			b.ready.Store(false)
			continue
		}
		if !lb.track(up) {
			return
		}
		defer lb.untrack(up)
		copied := make(chan struct{})
		go func() {
			_, _ = io.Copy(up, c)
			close(copied)
		}()
		_, _ = io.Copy(countingWriter{c, &b.served}, up)
		c.Close()
		up.Close()
		<-copied
		return
	}
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n.Add(int64(n))
	return n, err
}

// track records an open connection so close can end it; false means the
// stand-in is closing and c has been closed.
func (lb *serviceLB) track(c net.Conn) bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.conns == nil {
		c.Close()
		return false
	}
	lb.conns[c] = struct{}{}
	return true
}

func (lb *serviceLB) untrack(c net.Conn) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	c.Close()
	delete(lb.conns, c)
}

func (lb *serviceLB) close() {
	if err := lb.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		lb.t.Logf("closing the Service stand-in: %v", err)
	}
	close(lb.done)
	lb.mu.Lock()
	for c := range lb.conns {
		c.Close()
	}
	lb.conns = nil
	lb.mu.Unlock()
	lb.wg.Wait()
}

// TestServiceLB checks the stand-in itself: connections reach only replicas
// that are ready and not removed, spread over them, and none when there are
// none.
func TestServiceLB(t *testing.T) {
	type backend struct {
		srv   *httptest.Server
		ready atomic.Bool
	}
	newBackend := func(name string) *backend {
		b := &backend{}
		b.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/readyz" && !b.ready.Load() {
				http.Error(w, "not ready", http.StatusInternalServerError)
				return
			}
			io.WriteString(w, name)
		}))
		t.Cleanup(b.srv.Close)
		return b
	}
	a, b := newBackend("a"), newBackend("b")
	addrA, addrB := a.srv.Listener.Addr().String(), b.srv.Listener.Addr().String()
	a.ready.Store(true)
	lb := newServiceLB(t, "/readyz", addrA, addrB)

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true,
	}}
	// answers asks six times, a connection each, and counts who answered.
	answers := func() map[string]int {
		got := map[string]int{}
		for range 6 {
			resp, err := client.Get("https://127.0.0.1:" + strconv.Itoa(lb.Port()) + "/")
			if err != nil {
				got["no answer"]++
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[string(body)]++
		}
		return got
	}
	expect := func(want map[string]int) {
		t.Helper()
		bed.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
			if got := answers(); !maps.Equal(got, want) {
				return fmt.Errorf("answers %v, want %v", got, want)
			}
			return nil
		})
	}
	expect(map[string]int{"a": 6})
	b.ready.Store(true)
	expect(map[string]int{"a": 3, "b": 3})
	lb.remove(addrA)
	expect(map[string]int{"b": 6})
	if lb.served(addrB) == 0 {
		t.Error("served counts nothing for b")
	}
	b.ready.Store(false)
	expect(map[string]int{"no answer": 6})
	lb.add(addrA)
	expect(map[string]int{"a": 6})
}
