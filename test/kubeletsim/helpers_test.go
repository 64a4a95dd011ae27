package kubeletsim

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// testEpoch is the fake clock's start: a whole second plus 250 ms, so that
// millisecond and second truncation both matter.
var testEpoch = time.Date(2026, 11, 25, 10, 0, 0, 250_000_000, time.UTC)

// testFirstIP keeps unit tests away from the default 127.1.0.0/16 range a
// running e2e fleet may be using.
var testFirstIP = netip.MustParseAddr("127.1.200.1")

// newTestFleet builds and starts a small fleet on free ports with a fake
// clock and auth disabled unless cfg says otherwise.
func newTestFleet(t testing.TB, cfg Config) (*Fleet, *testingclock.FakeClock) {
	t.Helper()
	clk := testingclock.NewFakeClock(testEpoch)
	if cfg.Clock == nil {
		cfg.Clock = clk
	}
	if !cfg.FirstIP.IsValid() {
		cfg.FirstIP = testFirstIP
	}
	if cfg.Port == 0 {
		cfg.Port = AnyPort
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := f.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f, clk
}

// testClient is an HTTPS client that trusts the fleet's CA and presents cert
// when it is not nil.
func testClient(f *Fleet, cert *tls.Certificate, http2 bool) *http.Client {
	conf := &tls.Config{RootCAs: f.CAPool()}
	if cert != nil {
		conf.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: http2}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

type response struct {
	status int
	header http.Header
	body   []byte
	proto  string
}

// get fetches path from node and fails the test on a transport error.
func get(t testing.TB, c *http.Client, f *Fleet, node, path string, header http.Header) response {
	t.Helper()
	r, err := tryGet(context.Background(), c, f, node, path, header)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", path, node, err)
	}
	return r
}

func tryGet(ctx context.Context, c *http.Client, f *Fleet, node, path string, header http.Header) (response, error) {
	info, ok := f.Node(node)
	if !ok {
		return response{}, ErrNotFound
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+info.Endpoint()+path, nil)
	if err != nil {
		return response{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body, proto: resp.Proto}, nil
}

// promSample is one parsed sample line.
type promSample struct {
	value float64
	ts    int64
	hasTS bool
}

// promDoc is a parsed /metrics/resource body.
type promDoc struct {
	families []string          // in order of their TYPE lines
	types    map[string]string // family → type
	help     map[string]bool
	samples  map[string]promSample // `name{labels}` → sample
	order    []string              // sample keys in body order
}

// parseProm parses the text format line by line, strictly: every line is a
// HELP, a TYPE or a sample of the family the last TYPE named.
func parseProm(t testing.TB, body []byte) promDoc {
	t.Helper()
	d := promDoc{types: map[string]string{}, help: map[string]bool{}, samples: map[string]promSample{}}
	sc := bufio.NewScanner(bytes.NewReader(body))
	current := ""
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		switch {
		case strings.HasPrefix(s, "# HELP "):
			name, text, ok := strings.Cut(strings.TrimPrefix(s, "# HELP "), " ")
			if !ok || text == "" {
				t.Fatalf("line %d: bad HELP %q", line, s)
			}
			d.help[name] = true
		case strings.HasPrefix(s, "# TYPE "):
			name, typ, ok := strings.Cut(strings.TrimPrefix(s, "# TYPE "), " ")
			if !ok || (typ != "counter" && typ != "gauge") {
				t.Fatalf("line %d: bad TYPE %q", line, s)
			}
			if !d.help[name] {
				t.Fatalf("line %d: TYPE for %s without a HELP before it", line, name)
			}
			d.types[name] = typ
			d.families = append(d.families, name)
			current = name
		default:
			fields := strings.Split(s, " ")
			if len(fields) < 2 || len(fields) > 3 {
				t.Fatalf("line %d: bad sample %q", line, s)
			}
			key := fields[0]
			name, _, _ := strings.Cut(key, "{")
			if name != current {
				t.Fatalf("line %d: sample of %s under TYPE %s", line, name, current)
			}
			v, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				t.Fatalf("line %d: value: %v", line, err)
			}
			ps := promSample{value: v}
			if len(fields) == 3 {
				if ps.ts, err = strconv.ParseInt(fields[2], 10, 64); err != nil {
					t.Fatalf("line %d: timestamp: %v", line, err)
				}
				ps.hasTS = true
			}
			if _, dup := d.samples[key]; dup {
				t.Fatalf("line %d: duplicate series %s", line, key)
			}
			d.samples[key] = ps
			d.order = append(d.order, key)
		}
	}
	return d
}

// nanos recovers the whole nanoseconds behind a seconds value.
func nanos(seconds float64) int64 { return int64(math.Round(seconds * 1e9)) }

func containerKey(metric, ns, pod, container string) string {
	return metric + `{container="` + container + `",namespace="` + ns + `",pod="` + pod + `"}`
}

func podSeriesKey(metric, ns, pod string) string {
	return metric + `{namespace="` + ns + `",pod="` + pod + `"}`
}

// issueClientCert makes a client certificate for user in groups, signed by
// ca.
func issueClientCert(t testing.TB, ca *x509.Certificate, caKey crypto.Signer, user string, groups ...string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: user, Organization: groups},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
