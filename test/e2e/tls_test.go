package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

// startTLSRingmetrics runs one more ringmetrics on the shared bed with the
// bed's flags minus those starting with a prefix in drop, plus extra. It
// waits for /readyz unless waitPath says otherwise.
func startTLSRingmetrics(t *testing.T, name, waitPath string, drop []string, extra ...string) *bed.Server {
	t.Helper()
	var args []string
	for _, a := range env.bed.RingmetricsArgs(ringmetricsResolution) {
		if !slices.ContainsFunc(drop, func(p string) bool { return strings.HasPrefix(a, p) }) {
			args = append(args, a)
		}
	}
	args = append(append(args, "--cert-dir="+t.TempDir()), extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := bed.StartServer(ctx, bed.ServerSpec{Name: name, Binary: env.binary, Args: args, LogDir: env.bed.LogDir, WaitPath: waitPath}, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	tailOnFailure(t, s)
	return s
}

// servedLeaf does a TLS handshake with s, verifying its certificate against
// the cluster CA as a client of 127.0.0.1 would, and returns the leaf.
func servedLeaf(s *bed.Server, cfg *tls.Config) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func clusterCAPool(t *testing.T) *x509.CertPool {
	t.Helper()
	caPEM, err := os.ReadFile(env.bed.Cluster.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in %s", env.bed.Cluster.CAFile())
	}
	return pool
}

// TestTLSServingCertRotation serves --tls-cert-file/--tls-private-key-file
// laid out as a Kubernetes Secret volume (files are symlinks through ..data)
// and replaces the pair twice without restarting ringmetrics: once as the
// kubelet updates a Secret (a new directory, ..data swapped atomically, the
// old directory removed) and once by overwriting the files in place, key
// first, as a hand-run cp does. Each time a TLS handshake must see the new
// leaf certificate, verified against the cluster CA.
func TestTLSServingCertRotation(t *testing.T) {
	dir := t.TempDir()
	issue := func() (certPEM, keyPEM []byte, leaf *x509.Certificate) {
		t.Helper()
		certPEM, keyPEM, err := env.bed.Cluster.IssueServingCert([]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(certPEM)
		if block == nil {
			t.Fatal("issued certificate is not PEM")
		}
		leaf, err = x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return certPEM, keyPEM, leaf
	}
	write := func(path string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// version writes a pair into a new ..<n> directory and points ..data at
	// it by renaming a fresh symlink over the old one, as the kubelet's
	// atomic writer does; the previous directory is then removed.
	version := func(n int, certPEM, keyPEM []byte) {
		t.Helper()
		vdir := filepath.Join(dir, fmt.Sprintf("..v%d", n))
		if err := os.Mkdir(vdir, 0o700); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(vdir, "tls.crt"), certPEM)
		write(filepath.Join(vdir, "tls.key"), keyPEM)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(vdir), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if n > 1 {
			if err := os.RemoveAll(filepath.Join(dir, fmt.Sprintf("..v%d", n-1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	firstCert, firstKey, first := issue()
	version(1, firstCert, firstKey)
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}

	s := startTLSRingmetrics(t, "ringmetrics-tls-rotation", "", nil,
		"--tls-cert-file="+filepath.Join(dir, "tls.crt"), "--tls-private-key-file="+filepath.Join(dir, "tls.key"))
	pid := s.PID()
	cfg := &tls.Config{RootCAs: clusterCAPool(t), ServerName: "127.0.0.1"}
	got, err := servedLeaf(s, cfg)
	if err != nil {
		t.Fatalf("handshake before rotation: %v", err)
	}
	if !got.Equal(first) {
		t.Fatalf("served certificate serial %v, want the configured one %v", got.SerialNumber, first.SerialNumber)
	}

	// waitServed waits for want to be served; the dynamic serving
	// certificate controller reacts to file events and rechecks every minute,
	// so a missed event shows as a pick-up time near a minute.
	waitServed := func(how string, want *x509.Certificate) {
		t.Helper()
		start := time.Now()
		var last string
		for time.Since(start) < 75*time.Second {
			got, err := servedLeaf(s, cfg)
			switch {
			case err != nil:
				last = err.Error()
			case got.Equal(want):
				t.Logf("%s: new certificate served after %v", how, time.Since(start).Round(10*time.Millisecond))
				return
			default:
				last = fmt.Sprintf("still serving serial %v", got.SerialNumber)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: certificate serial %v not served after 75s: %s", how, want.SerialNumber, last)
	}

	secondCert, secondKey, second := issue()
	version(2, secondCert, secondKey)
	waitServed("secret volume update", second)

	thirdCert, thirdKey, third := issue()
	write(filepath.Join(dir, "..v2", "tls.key"), thirdKey)
	write(filepath.Join(dir, "..v2", "tls.crt"), thirdCert)
	waitServed("in-place overwrite", third)

	select {
	case <-s.Exited():
		t.Fatal("ringmetrics exited during rotation")
	default:
	}
	if s.PID() != pid {
		t.Fatalf("ringmetrics restarted: pid %d, was %d", s.PID(), pid)
	}
	// The API is served under the new certificate, to verifying clients.
	client := directClient(t, "e2e-admin", "system:masters")
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{
		RootCAs: cfg.RootCAs, ServerName: "127.0.0.1", Certificates: client.Transport.(*http.Transport).TLSClientConfig.Certificates,
	}
	if code := getJSON(t, client, s.URL()+"/apis/metrics.k8s.io/v1beta1/nodes", nil); code != http.StatusOK {
		t.Fatalf("GET nodes after rotation: %d", code)
	}
}

// TestTLSMinVersion checks the serving side's protocol floor: TLS 1.2 by
// default, raised by --tls-min-version.
func TestTLSMinVersion(t *testing.T) {
	tls13 := startTLSRingmetrics(t, "ringmetrics-tls13", "", nil, "--tls-min-version=VersionTLS13")
	tests := []struct {
		name    string
		server  *bed.Server
		version uint16
		refused bool
	}{
		{"default refuses TLS 1.0", env.ringmetrics, tls.VersionTLS10, true},
		{"default refuses TLS 1.1", env.ringmetrics, tls.VersionTLS11, true},
		{"default accepts TLS 1.2", env.ringmetrics, tls.VersionTLS12, false},
		{"default accepts TLS 1.3", env.ringmetrics, tls.VersionTLS13, false},
		{"--tls-min-version=VersionTLS13 refuses TLS 1.2", tls13, tls.VersionTLS12, true},
		{"--tls-min-version=VersionTLS13 accepts TLS 1.3", tls13, tls.VersionTLS13, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(tt.server.Port)), &tls.Config{
				InsecureSkipVerify: true, // the version is under test here, not the chain
				MinVersion:         tt.version,
				MaxVersion:         tt.version,
			})
			if tt.refused {
				if err == nil {
					v := conn.ConnectionState().Version
					conn.Close()
					t.Fatalf("handshake offering only %s succeeded (negotiated %s)", tls.VersionName(tt.version), tls.VersionName(v))
				}
				// The server's refusal, not some other failure.
				if !strings.Contains(err.Error(), "protocol version") {
					t.Fatalf("handshake offering only %s failed, but not for its version: %v", tls.VersionName(tt.version), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake offering only %s: %v", tls.VersionName(tt.version), err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().Version; got != tt.version {
				t.Fatalf("negotiated %s, want %s", tls.VersionName(got), tls.VersionName(tt.version))
			}
		})
	}
}

// scraperCounter sums the samples of a ringmetrics metric whose line starts
// with prefix, read from s's /metrics as cluster-admin.
func scraperCounter(t *testing.T, s *bed.Server, prefix string) float64 {
	t.Helper()
	v, err := tryScraperCounter(t, s, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tryScraperCounter is scraperCounter for a server that may not yet know
// the cluster's client CA (started live, not ready): a refusal is an error.
func tryScraperCounter(t *testing.T, s *bed.Server, prefix string) (float64, error) {
	t.Helper()
	body, code, err := bed.GetText(directClient(t, "e2e-admin", "system:masters"), s.URL()+"/metrics")
	if err != nil || code != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %d %v", code, err)
	}
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
	}
	return sum, nil
}

// TestTLSKubeletVerification shows that kubelet serving certificates are
// verified unless --kubelet-insecure-tls is given, and that the flag is
// announced with exactly one warning.
func TestTLSKubeletVerification(t *testing.T) {
	// A kubeconfig that trusts the apiserver blindly: it must not make
	// ringmetrics trust kubelets blindly too.
	certPEM, keyPEM, err := env.bed.Cluster.IssueClientCert(bed.ServiceAccountUser, "system:serviceaccounts", "system:serviceaccounts:"+bed.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	insecureKubeconfig := writeTLSKubeconfig(t, &clientcmdapi.Cluster{Server: env.bed.Cluster.URL, InsecureSkipTLSVerify: true},
		&clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM})
	const caFlag = "--kubelet-certificate-authority="
	tests := []struct {
		name    string
		drop    []string
		extra   []string
		served  bool
		warning int
	}{
		{name: "kubelets signed by another CA fail", extra: []string{caFlag + env.bed.Cluster.FrontProxyCAFile()}},
		{name: "an insecure kubeconfig still verifies kubelets", drop: []string{caFlag, "--kubeconfig="}, extra: []string{"--kubeconfig=" + insecureKubeconfig}},
		{name: "--kubelet-insecure-tls skips verification, warned once", drop: []string{caFlag}, extra: []string{"--kubelet-insecure-tls"}, served: true, warning: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// With every scrape failing it never becomes ready: it is
			// started once live and watched through its metrics.
			wait := "/livez"
			if tt.served {
				wait = "/readyz"
			}
			s := startTLSRingmetrics(t, fmt.Sprintf("ringmetrics-tls-kubelet-%d", i), wait, tt.drop, tt.extra...)
			if tt.served {
				checkServesFleet(t, s)
			} else {
				eventually(t, 30*time.Second, func() error {
					n, err := tryScraperCounter(t, s, `ringmetrics_scraper_errors_total{reason="tls"}`)
					if err != nil {
						return err
					}
					if n < nodes {
						return fmt.Errorf("%v TLS scrape failures, want at least one per node (%d)", n, nodes)
					}
					return nil
				})
				var nl metricsv1beta1.NodeMetricsList
				if err := adminDirect(t, s, "/apis/metrics.k8s.io/v1beta1/nodes", &nl); err != nil {
					t.Fatal(err)
				}
				if len(nl.Items) != 0 {
					t.Fatalf("%d nodes served from kubelets whose certificates do not verify", len(nl.Items))
				}
			}
			if n := scraperCounter(t, s, `ringmetrics_scraper_errors_total{reason="tls"}`); tt.served && n != 0 {
				t.Errorf("%v TLS scrape failures with --kubelet-insecure-tls", n)
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			log, err := os.ReadFile(s.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			for _, line := range strings.Split(string(log), "\n") {
				if strings.HasPrefix(line, "W") && strings.Contains(line, "--kubelet-insecure-tls") {
					warnings = append(warnings, line)
				}
			}
			if len(warnings) != tt.warning {
				t.Fatalf("%d warnings about --kubelet-insecure-tls, want %d:\n%s", len(warnings), tt.warning, strings.Join(warnings, "\n"))
			}
		})
	}
}

// writeTLSKubeconfig writes a kubeconfig with one cluster and one user.
func writeTLSKubeconfig(t *testing.T, cluster *clientcmdapi.Cluster, user *clientcmdapi.AuthInfo) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["bed"] = cluster
	cfg.AuthInfos["ringmetrics"] = user
	cfg.Contexts["bed"] = &clientcmdapi.Context{Cluster: "bed", AuthInfo: "ringmetrics"}
	cfg.CurrentContext = "bed"
	path := filepath.Join(t.TempDir(), "ringmetrics.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// secret is something ringmetrics holds that no log line may contain, in
// the forms a careless log call would print it.
type secret struct {
	name string
	// exact strings, each of which must not appear.
	exact []string
	// windows of the secret's random part: no run of windowLen characters
	// of it may appear, which also catches it wrapped, truncated or in a
	// hex dump's text column (16 characters a line).
	random string
}

const windowLen = 12

// tokenSecret covers a bearer token: the token, and its signature (the part
// unique to it; a JWT's header is shared by every token of the issuer).
func tokenSecret(name, token string) secret {
	sig := token[strings.LastIndexByte(token, '.')+1:]
	return secret{name: name, exact: []string{token}, random: sig}
}

// keySecret covers a PEM private key: the block, each base64 line, the
// private scalar as base64 (PEM body windows), hex and a Go byte slice.
func keySecret(t *testing.T, name string, keyPEM []byte) secret {
	t.Helper()
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatalf("%s: not PEM", name)
	}
	s := secret{name: name, exact: []string{strings.TrimSpace(string(keyPEM))}}
	body := base64.StdEncoding.EncodeToString(block.Bytes)
	for line := range strings.Lines(string(keyPEM)) {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "-----") {
			s.exact = append(s.exact, line)
		}
	}
	s.exact = append(s.exact, body)
	key, err := parsePrivateKey(block)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	d := key.D.FillBytes(make([]byte, 32))
	s.exact = append(s.exact, hex.EncodeToString(d), strings.Trim(fmt.Sprint(d[:8]), "[]"), base64.StdEncoding.EncodeToString(d))
	// The DER's framing is the same in every P-256 key, and its tail is the
	// public key, which the certificate carries openly: the windows come
	// from the base64 groups of the body that encode d alone.
	off := bytes.Index(block.Bytes, d)
	if off < 0 {
		t.Fatalf("%s: private scalar not found in its DER", name)
	}
	s.random = body[(off+2)/3*4 : (off+len(d))/3*4]
	return s
}

func parsePrivateKey(block *pem.Block) (*ecdsa.PrivateKey, error) {
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, the scan expects ECDSA", k)
	}
	return ec, nil
}

// kubeletBody are strings only a kubelet response carries: metric lines of
// /metrics/resource and field names of /stats/summary.
var kubeletBody = []string{
	"container_cpu_usage_seconds_total{",
	"container_memory_working_set_bytes{",
	"node_cpu_usage_seconds_total ",
	"node_memory_working_set_bytes ",
	"# HELP container_",
	"# TYPE node_",
	`"usageNanoCores"`,
	`"usageCoreNanoSeconds"`,
	`"workingSetBytes"`,
	`"podRef"`,
}

// leaks returns where in log any secret or kubelet body appears.
func leaks(log []byte, secrets []secret) []string {
	var found []string
	for _, s := range secrets {
		for _, e := range s.exact {
			if i := bytes.Index(log, []byte(e)); i >= 0 {
				found = append(found, fmt.Sprintf("%s at byte %d: line %q", s.name, i, lineAt(log, i)))
			}
		}
		windows := make(map[string]bool, len(s.random))
		for i := 0; i+windowLen <= len(s.random); i++ {
			windows[s.random[i:i+windowLen]] = true
		}
		for i := 0; i+windowLen <= len(log); i++ {
			if windows[string(log[i:i+windowLen])] {
				found = append(found, fmt.Sprintf("%s (a %d-character piece) at byte %d: line %q", s.name, windowLen, i, lineAt(log, i)))
				break
			}
		}
	}
	for _, b := range kubeletBody {
		if i := bytes.Index(log, []byte(b)); i >= 0 {
			found = append(found, fmt.Sprintf("kubelet body %q at byte %d: line %q", b, i, lineAt(log, i)))
		}
	}
	return found
}

func lineAt(log []byte, i int) string {
	start := bytes.LastIndexByte(log[:i], '\n') + 1
	end := bytes.IndexByte(log[i:], '\n')
	if end < 0 {
		end = len(log) - i
	}
	line := string(log[start : i+end])
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	return line
}

// TestTLSLogsLeakNothing runs ringmetrics at -v=10, the most client-go and
// the generic apiserver will log, lets it scrape and serve kubectl top and
// GETs through the aggregator, and scans its whole log for its credentials
// and for kubelet response bodies. Two runs cover both kinds of kubelet
// credential: the kubeconfig's bearer token (sent to the apiserver and to
// every kubelet), and client certificates (the kubeconfig's for the
// apiserver, --kubelet-client-certificate for kubelets, scraping
// /stats/summary so both body formats pass through).
func TestTLSLogsLeakNothing(t *testing.T) {
	ctx := context.Background()
	client := env.bed.Cluster.Client()
	newToken := func(sa string) string {
		t.Helper()
		tr, err := client.CoreV1().ServiceAccounts(bed.Namespace).CreateToken(ctx, sa,
			&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("token for %s: %v", sa, err)
		}
		return tr.Status.Token
	}
	token := newToken(bed.ServiceAccountName)
	// A client that calls ringmetrics with its own token, as Prometheus
	// does for /metrics: ringmetrics sends it to the apiserver in a
	// TokenReview, and must not log it either.
	const caller = "e2e-tls-caller"
	if _, err := client.CoreV1().ServiceAccounts(bed.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: caller}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	callerToken := newToken(caller)
	tokenKubeconfig := writeTLSKubeconfig(t, &clientcmdapi.Cluster{Server: env.bed.Cluster.URL, CertificateAuthority: env.bed.Cluster.CAFile()},
		&clientcmdapi.AuthInfo{Token: token})

	// The kubeconfig's client key, and a separate kubelet client pair.
	certKubeconfig, err := clientcmd.LoadFromFile(env.bed.ServerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var kubeconfigKey []byte
	for _, u := range certKubeconfig.AuthInfos {
		kubeconfigKey = u.ClientKeyData
	}
	kubeletCert, kubeletKey, err := env.bed.Cluster.IssueClientCert(bed.ServiceAccountUser, "system:serviceaccounts", "system:serviceaccounts:"+bed.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeletCertFile, kubeletKeyFile := filepath.Join(dir, "kubelet-client.crt"), filepath.Join(dir, "kubelet-client.key")
	for path, data := range map[string][]byte{kubeletCertFile: kubeletCert, kubeletKeyFile: kubeletKey} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name    string
		extra   []string
		secrets []secret
	}{
		{
			name:    "bearer token",
			extra:   []string{"--kubeconfig=" + tokenKubeconfig},
			secrets: []secret{tokenSecret("the kubeconfig's bearer token", token), tokenSecret("a caller's bearer token", callerToken)},
		},
		{
			name: "client certificates",
			extra: []string{"--kubelet-client-certificate=" + kubeletCertFile, "--kubelet-client-key=" + kubeletKeyFile,
				"--kubelet-endpoint=summary"},
			secrets: []secret{
				keySecret(t, "the kubeconfig's client key", kubeconfigKey),
				keySecret(t, "the kubelet client key", kubeletKey),
				tokenSecret("a caller's bearer token", callerToken),
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The scan must be able to see a leak: each secret planted in a
			// log-like text is found.
			for _, s := range tt.secrets {
				planted := []byte("I1130 10:00:00.000000 1 round_trippers.go:1] \"Request\" header=\"" + s.random[3:3+windowLen+2] + "\"\n")
				if len(leaks(planted, []secret{s})) == 0 {
					t.Fatalf("the scan does not find %s planted in a line", s.name)
				}
			}
			if len(leaks([]byte(`{"usageNanoCores":1}`), nil)) == 0 {
				t.Fatal("the scan does not find a summary body")
			}

			s := startTLSRingmetrics(t, fmt.Sprintf("ringmetrics-tls-v10-%d", i), "", nil, append([]string{"--v=10"}, tt.extra...)...)
			use(t, s)
			kc := kubectlBinary(t, "")
			for _, args := range [][]string{
				{"top", "node"},
				{"top", "pod", "-A"},
				{"top", "pod", "-n", namespaces[0], "--containers"},
				{"get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/sim-node-0"},
				{"get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/" + namespaces[1] + "/pods"},
			} {
				if out, err := kubectl(t, kc, adminKubeconfig(), args...); err != nil {
					t.Fatal(err)
				} else if strings.TrimSpace(out) == "" {
					t.Fatalf("kubectl %s: empty output", strings.Join(args, " "))
				}
			}
			checkServesFleet(t, s)
			// A caller with a token: authenticated by TokenReview, then
			// forbidden (it has no RBAC), but not refused as unknown.
			tokenClient := directClient(t, "")
			tokenClient.Transport = bearer{token: callerToken, next: tokenClient.Transport}
			for _, path := range []string{"/metrics", "/apis/metrics.k8s.io/v1beta1/nodes"} {
				if code := getJSON(t, tokenClient, s.URL()+path, nil); code != http.StatusForbidden {
					t.Fatalf("GET %s with a caller's token: %d, want 403", path, code)
				}
			}
			// A few full rounds of every node.
			eventually(t, 30*time.Second, func() error {
				if n := scraperCounter(t, s, `ringmetrics_scraper_duration_seconds_count{result="success"}`); n < 4*nodes {
					return fmt.Errorf("%v successful scrapes, want %d", n, 4*nodes)
				}
				return nil
			})
			if n := scraperCounter(t, s, `ringmetrics_scraper_duration_seconds_count{result="error"}`); n != 0 {
				t.Errorf("%v failed scrapes; the scan wants every body to have flowed", n)
			}
			// Stopping flushes klog's buffer: the whole log is on disk.
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			log, err := os.ReadFile(s.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			// The log is the one of a -v=10 run that scraped and served.
			for _, want := range []string{
				"First kubelet scrape succeeded",
				`"Response Body"`,                    // client-go at V(8): the scan sees bodies are logged at all
				"/apis/metrics.k8s.io/v1beta1/nodes", // requests served
				"/apis/metrics.k8s.io/v1beta1/pods",  // (httplog, V(3))
				"Serving metrics.k8s.io",
			} {
				if !bytes.Contains(log, []byte(want)) {
					t.Errorf("log of %d bytes lacks %q: not the run the scan is meant to read", len(log), want)
				}
			}
			if n := bytes.Count(log, []byte("First kubelet scrape succeeded")); n != nodes {
				t.Errorf("%d first scrapes logged, want %d", n, nodes)
			}
			found := leaks(log, tt.secrets)
			t.Logf("scanned %d bytes, %d lines of %s for %d secrets and %d kubelet body markers: %d found",
				len(log), bytes.Count(log, []byte("\n")), s.LogPath, len(tt.secrets), len(kubeletBody), len(found))
			for _, f := range found {
				t.Error(f)
			}
		})
	}
}
