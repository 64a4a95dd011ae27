package bed

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// MetricsServerVersion is the release of the reference server hack/tools.sh builds.
const MetricsServerVersion = "v0.9.0"

// Options describe a bed.
type Options struct {
	Cluster cluster.Options
	// Fleet is the simulated kubelets' config; the bed fills in the CA and client.
	Fleet kubeletsim.Config
	Logf  func(format string, args ...any)
}

// Bed is a control plane, a simulated kubelet fleet with its API objects, and
// the RBAC and identity an aggregated metrics server needs.
type Bed struct {
	Cluster *cluster.Cluster
	Fleet   *kubeletsim.Fleet
	Dynamic dynamic.Interface
	// ServerKubeconfig authenticates as the metrics server's ServiceAccount.
	ServerKubeconfig string
	LogDir           string
	// CreateStats says how long creating the fleet's objects took.
	CreateStats kubeletsim.CreateStats
	logf        func(format string, args ...any)
}

// Start brings up a bed. On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Bed, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if opts.Cluster.Logf == nil {
		opts.Cluster.Logf = logf
	}
	c, err := cluster.Start(ctx, opts.Cluster)
	if err != nil {
		return nil, err
	}
	b := &Bed{Cluster: c, LogDir: c.LogDir(), logf: logf}
	defer func() {
		if err != nil {
			b.Stop()
		}
	}()
	b.Dynamic, err = dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, err
	}
	if err := ApplyRBAC(ctx, c.Client()); err != nil {
		return nil, fmt.Errorf("applying metrics server RBAC: %w", err)
	}
	b.ServerKubeconfig, err = c.WriteKubeconfig("metrics-server", ServiceAccountUser,
		"system:serviceaccounts", "system:serviceaccounts:"+Namespace)
	if err != nil {
		return nil, err
	}

	fc := opts.Fleet
	if !fc.FirstIP.IsValid() {
		if fc.FirstIP, err = freeAddressBlock(fc.Port); err != nil {
			return nil, err
		}
	}
	fc.CA, fc.CAKey = c.CA()
	fc.Client = c.Client()
	if fc.Logf == nil {
		fc.Logf = logf
	}
	b.Fleet, err = kubeletsim.New(fc)
	if err != nil {
		return nil, err
	}
	if err := b.Fleet.Start(); err != nil {
		return nil, fmt.Errorf("starting simulated kubelets: %w", err)
	}
	b.CreateStats, err = b.Fleet.Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating simulated nodes and pods: %w", err)
	}
	logf("bed: %s", b.CreateStats)
	return b, nil
}

// Stop stops the servers' control plane and fleet.
func (b *Bed) Stop() {
	if b.Fleet != nil {
		_ = b.Fleet.Close()
	}
	if b.Cluster != nil {
		_ = b.Cluster.Stop()
	}
}

// RingmetricsArgs are the flags ringmetrics runs with on the bed.
func (b *Bed) RingmetricsArgs(resolution time.Duration) []string {
	return []string{
		"--kubeconfig=" + b.ServerKubeconfig,
		"--cert-dir=" + filepath.Join(b.Cluster.Dir, "ringmetrics-certs"),
		"--kubelet-certificate-authority=" + b.Cluster.CAFile(),
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-use-node-status-port",
		"--metric-resolution=" + resolution.String(),
		"--kubelet-request-timeout=" + (resolution * 8 / 10).String(),
	}
}

// StartRingmetrics runs the ringmetrics binary at path against the bed.
func (b *Bed) StartRingmetrics(ctx context.Context, binary string, resolution time.Duration, extra ...string) (*Server, error) {
	return StartServer(ctx, b.RingmetricsSpec(binary, resolution, extra...), 60*time.Second)
}

// StartMetricsServer runs the pinned metrics-server against the bed at a
// 10s resolution, with the flags TESTBED-NOTES.md records as working.
func (b *Bed) StartMetricsServer(ctx context.Context, extra ...string) (*Server, error) {
	return b.StartMetricsServerAt(ctx, 10*time.Second, extra...)
}

// Use registers s for each metrics.k8s.io version it serves (and no other),
// and for the usage group when it serves it, and waits until the aggregator
// reports them all Available.
func (b *Bed) Use(ctx context.Context, s *Server) error {
	if err := Register(ctx, b.Cluster.Client(), b.Dynamic, Registration{Port: s.Port, Versions: s.APIVersions, Usage: s.Usage}); err != nil {
		return err
	}
	return WaitAvailable(ctx, b.Cluster.Client(), b.Dynamic, 60*time.Second)
}

// freeAddressBlock picks a 127.X.0.1 whose kubelet port is free, so beds
// started side by side (tests, benchmarks, a demo) do not collide. Each bed
// owns 127.X.0.0/16: room for 65 000 nodes.
func freeAddressBlock(port int) (netip.Addr, error) {
	if port <= 0 {
		port = kubeletsim.DefaultPort
	}
	start := os.Getpid()
	for i := range 240 {
		x := byte(10 + (start+i)%240)
		addr := netip.AddrFrom4([4]byte{127, x, 0, 1})
		l, err := net.Listen("tcp", netip.AddrPortFrom(addr, uint16(port)).String())
		if err != nil {
			continue
		}
		l.Close()
		return addr, nil
	}
	return netip.Addr{}, fmt.Errorf("no free 127.X.0.1:%d for simulated kubelets", port)
}
