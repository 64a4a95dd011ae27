package bed

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Server is an aggregated metrics server running as a real process.
type Server struct {
	*Process
	// Host and Port are where it listens.
	Host string
	Port int
	// APIVersions are the metrics.k8s.io versions it serves, as its spec
	// says; Bed.Use registers exactly these.
	APIVersions []string
	// Usage says it serves usage.ringmetrics.dev/v1alpha1 (ringmetrics
	// does); Bed.Use registers that group too.
	Usage bool
}

// ServerSpec says how to start one.
type ServerSpec struct {
	Name   string
	Binary string
	// Args, without --secure-port and --bind-address, which StartServer sets.
	Args []string
	// Env is added to the environment the server inherits, as NAME=value
	// pairs.
	Env    []string
	LogDir string
	// Host and Port are its --bind-address and --secure-port: by default
	// 127.0.0.1 and a free port. Replicas standing for pods on the host
	// network of different nodes each take a loopback address of their own
	// and the same port.
	Host string
	Port int
	// WaitPath is polled until it answers 200; default /readyz. A test that
	// expects the server never to become ready waits for /livez instead.
	WaitPath string
	// APIVersions are the metrics.k8s.io versions the server serves,
	// preferred first; empty means v1beta1 alone, as metrics-server.
	APIVersions []string
	// Usage says the server serves usage.ringmetrics.dev/v1alpha1.
	Usage bool
}

// StartServer starts the binary on a loopback port (a free one unless the
// spec names it) and waits until its /readyz answers 200, or fails with the
// tail of its log.
func StartServer(ctx context.Context, spec ServerSpec, readyTimeout time.Duration) (*Server, error) {
	if _, err := os.Stat(spec.Binary); err != nil {
		return nil, fmt.Errorf("%s binary: %w (run make build / hack/tools.sh)", spec.Name, err)
	}
	host, port := spec.Host, spec.Port
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		var err error
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := append([]string{"--bind-address=" + host, "--secure-port=" + strconv.Itoa(port)}, spec.Args...)
	p, err := StartProcessEnv(spec.Name, spec.Binary, args, spec.Env, spec.LogDir)
	if err != nil {
		return nil, err
	}
	s := &Server{Process: p, Host: host, Port: port, APIVersions: spec.APIVersions, Usage: spec.Usage}
	waitPath := spec.WaitPath
	if waitPath == "" {
		waitPath = "/readyz"
	}
	if err := s.waitReady(ctx, waitPath, readyTimeout); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("%s did not become ready: %w\n--- last lines of %s ---\n%s", spec.Name, err, s.LogPath, Tail(s.LogPath, 25))
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, path string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no answer"
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("process exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %s", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := client.Get(s.URL() + path)
		if err != nil {
			last = err.Error()
			continue
		}
		body := make([]byte, 2048)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body[:n])))
	}
}

// URL is the server's own address, bypassing the aggregator.
func (s *Server) URL() string { return "https://" + s.Addr() }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// FreePort is a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail returns the last n lines of a file, for failure messages.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
