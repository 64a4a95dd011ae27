//go:build unix

package scraper

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// The scraper keeps one connection per kubelet for the kubelet's lifetime,
// so what a connection costs while idle, times the number of nodes, is part
// of the server's resident set. These benchmarks compare that cost, and the
// cost of a scrape, for the two protocols client-go can negotiate with a
// kubelet: HTTP/2 (its default, by ALPN) and HTTP/1.1 keep-alive.

// connProtocols are the kubelet transports compared, by the NextProtos the
// rest.Config asks for (nil: client-go's default, h2 then http/1.1).
var connProtocols = []struct {
	name       string
	nextProtos []string
	proto      string // what the kubelet sees
}{
	{"h2", nil, "HTTP/2.0"},
	{"http1", []string{"http/1.1"}, "HTTP/1.1"},
}

// kubeletTransport builds the transport as the server does (rest.TransportFor)
// for a kubelet whose serving certificate is caPEM.
func kubeletTransport(tb testing.TB, caPEM []byte, nextProtos []string) http.RoundTripper {
	tb.Helper()
	cfg := &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: caPEM, NextProtos: nextProtos}}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return rt
}

func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// resourceBody is a /metrics/resource response for pods pods of one
// container, in the families and order a kubelet writes; 30 pods make
// about 20 KB.
func resourceBody(pods int) []byte {
	const ts = 1732530000123
	var b bytes.Buffer
	family := func(name, typ string) {
		fmt.Fprintf(&b, "# HELP %s [STABLE] Generated for benchmarks\n# TYPE %s %s\n", name, name, typ)
	}
	perContainer := func(name, typ string, value func(i int) float64) {
		family(name, typ)
		for p := range pods {
			fmt.Fprintf(&b, "%s{container=\"app\",namespace=\"shop-frontend\",pod=\"deployment-%d-7d9f8c6b5-%05x\"} %g %d\n",
				name, p, p*7919, value(p), ts)
		}
	}
	perContainer("container_cpu_usage_seconds_total", "counter", func(i int) float64 { return 1234.5678901 + float64(i)*17.3 })
	perContainer("container_memory_working_set_bytes", "gauge", func(i int) float64 { return 12345678 + float64(i)*4096 })
	perContainer("container_start_time_seconds", "gauge", func(i int) float64 { return 1.7325e9 + float64(i) })
	family("node_cpu_usage_seconds_total", "counter")
	fmt.Fprintf(&b, "node_cpu_usage_seconds_total 98765.4321 %d\n", ts)
	family("node_memory_working_set_bytes", "gauge")
	fmt.Fprintf(&b, "node_memory_working_set_bytes 7.516192768e+09 %d\n", ts)
	for _, f := range []string{"pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes"} {
		family(f, "gauge")
		for p := range pods {
			fmt.Fprintf(&b, "%s{namespace=\"shop-frontend\",pod=\"deployment-%d-7d9f8c6b5-%05x\"} 1234 %d\n", f, p, p*7919, ts)
		}
	}
	family("resource_scrape_error", "gauge")
	b.WriteString("resource_scrape_error 0\n")
	return b.Bytes()
}

// TestKubeletConnectionReused: three scrapes of one kubelet open one
// connection, in the protocol asked for. A transport that redialled would
// pay a TLS handshake per node per scrape.
func TestKubeletConnectionReused(t *testing.T) {
	for _, p := range connProtocols {
		t.Run(p.name, func(t *testing.T) {
			var conns atomic.Int64
			var mu sync.Mutex
			var protos []string
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				protos = append(protos, r.Proto)
				mu.Unlock()
				_, _ = w.Write([]byte("node_cpu_usage_seconds_total 1 1000\n"))
			}))
			srv.EnableHTTP2 = true
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()

			c := NewKubeletClient(kubeletTransport(t, certPEM(srv), p.nextProtos), 1<<20)
			var buf bytes.Buffer
			for range 3 {
				if err := c.Get(context.Background(), srv.URL+DefaultResourceMetricsPath, &buf); err != nil {
					t.Fatal(err)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("3 scrapes opened %d connections, want 1", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(protos) != 3 {
				t.Errorf("kubelet saw %d requests, want 3", len(protos))
			}
			for _, got := range protos {
				if got != p.proto {
					t.Errorf("kubelet saw %s, want %s", got, p.proto)
				}
			}
		})
	}
}

// connBenchNodes is how many kubelets, so connections, each benchmark keeps.
const connBenchNodes = 200

// connKubeletEnv makes the test binary a fleet of kubelets (see
// TestConnKubeletProcess) instead of running tests.
const connKubeletEnv = "RINGMETRICS_CONN_KUBELETS"

// connFleet is what the kubelet process prints: its addresses and the CA
// that signed its serving certificate.
type connFleet struct {
	URLs  []string
	CAPEM []byte
}

// TestConnKubeletProcess is not a test: started by startConnFleet with
// connKubeletEnv set, it serves connBenchNodes TLS kubelets (HTTP/2
// enabled, as a kubelet is) until its stdin closes. The kubelets live in
// their own process so that the benchmark's heap, goroutine and CPU
// figures are the client's alone.
func TestConnKubeletProcess(t *testing.T) {
	if os.Getenv(connKubeletEnv) == "" {
		t.Skip("only run as the kubelet process of BenchmarkConn")
	}
	body := resourceBody(30)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(body)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	// One listener per kubelet: the client pools by host:port, so each is
	// a connection of its own, as each node is.
	fleet := connFleet{URLs: []string{srv.URL}, CAPEM: certPEM(srv)}
	for range connBenchNodes - 1 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Config.Serve(tls.NewListener(l, srv.TLS)) }()
		fleet.URLs = append(fleet.URLs, "https://"+l.Addr().String())
	}
	if err := json.NewEncoder(os.Stdout).Encode(fleet); err != nil {
		t.Fatal(err)
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString(0) // until the benchmark closes it
}

var (
	connFleetOnce sync.Once
	connFleetVal  connFleet
	connFleetErr  error
	// connFleetStdin is the kubelet process's stdin: it exits when this
	// process does and the pipe closes.
	connFleetStdin io.WriteCloser
)

// startConnFleet starts the kubelet process once per benchmark binary; it
// exits with the binary, when its stdin closes.
func startConnFleet(b *testing.B) connFleet {
	b.Helper()
	connFleetOnce.Do(func() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConnKubeletProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), connKubeletEnv+"=1", "GOMAXPROCS=1")
		cmd.Stderr = os.Stderr
		// Held open, in a global, for the life of this process.
		if connFleetStdin, connFleetErr = cmd.StdinPipe(); connFleetErr != nil {
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			connFleetErr = err
			return
		}
		if err := cmd.Start(); err != nil {
			connFleetErr = err
			return
		}
		connFleetErr = json.NewDecoder(out).Decode(&connFleetVal)
	})
	if connFleetErr != nil {
		b.Fatalf("starting the kubelet process: %v", connFleetErr)
	}
	return connFleetVal
}

// BenchmarkConn keeps connBenchNodes connections alive after one scrape
// each and reports what they hold on the client side:
//   - heap-B/conn: HeapInuse after minus before, over the nodes;
//   - stack-B/conn: StackInuse likewise (each connection's goroutines);
//   - goroutines/conn: runtime.NumGoroutine likewise.
//
// The kubelets run in another process, so nothing of the server side is in
// these figures. Then it times scrapes over the kept connections, round
// robin: ns/op, B/op and allocs/op as usual, and cpu-ns/op, this process's
// user+system CPU per scrape (ns/op also holds the kubelet's time on the
// same cores). Last it checks that no scrape dialled.
func BenchmarkConn(b *testing.B) {
	fleet := startConnFleet(b)
	for _, p := range connProtocols {
		b.Run("proto="+p.name, func(b *testing.B) {
			rt := kubeletTransport(b, fleet.CAPEM, p.nextProtos)
			// rest.TransportFor caches transports by config: start from none
			// kept, whatever an earlier run of this benchmark left.
			utilnet.CloseIdleConnectionsFor(rt)
			c := NewKubeletClient(rt, 1<<20)
			urls := make([]string, len(fleet.URLs))
			for i, u := range fleet.URLs {
				urls[i] = u + DefaultResourceMetricsPath
			}
			var buf bytes.Buffer
			buf.Grow(64 << 10)
			ctx := context.Background()

			g0 := settledGoroutines(b)
			m0 := memStats()
			for _, u := range urls {
				if err := c.Get(ctx, u, &buf); err != nil {
					b.Fatal(err)
				}
			}
			g1 := settledGoroutines(b)
			m1 := memStats()

			bodyLen := buf.Len()
			b.SetBytes(int64(bodyLen))
			b.ReportAllocs()
			cpu0 := processCPU(b)
			scrapes := 0
			for b.Loop() {
				if err := c.Get(ctx, urls[scrapes%len(urls)], &buf); err != nil {
					b.Fatal(err)
				}
				if buf.Len() != bodyLen {
					b.Fatalf("body of %d bytes, want %d", buf.Len(), bodyLen)
				}
				scrapes++
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(scrapes), "cpu-ns/op")
			// After the loop: its first b.Loop drops metrics reported before.
			n := float64(len(urls))
			b.ReportMetric(float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/n, "heap-B/conn")
			b.ReportMetric(float64(int64(m1.StackInuse)-int64(m0.StackInuse))/n, "stack-B/conn")
			b.ReportMetric(float64(g1-g0)/n, "goroutines/conn")

			var dials atomic.Int64
			traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				GotConn: func(i httptrace.GotConnInfo) {
					if !i.Reused {
						dials.Add(1)
					}
				},
			})
			for _, u := range urls {
				if err := c.Get(traced, u, &buf); err != nil {
					b.Fatal(err)
				}
			}
			if d := dials.Load(); d != 0 {
				b.Fatalf("%d of %d scrapes opened a new connection", d, len(urls))
			}
		})
	}
}

func memStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// settledGoroutines is the goroutine count once connections closed or opened
// just before have started or ended their goroutines: the same count for
// 50 ms in a row.
func settledGoroutines(b *testing.B) int {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, same := runtime.NumGoroutine(), 0
	for same < 10 {
		if time.Now().After(deadline) {
			b.Fatalf("goroutines did not settle: %d", last)
		}
		time.Sleep(5 * time.Millisecond)
		if n := runtime.NumGoroutine(); n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	return last
}

// processCPU is this process's user plus system CPU time, in ns.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
