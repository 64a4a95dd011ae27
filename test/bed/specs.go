package bed

import (
	"context"
	"path/filepath"
	"slices"
	"time"
)

// RingmetricsSpec is how StartRingmetrics runs the binary at path; callers
// that need another name (one log per run) or ready timeout pass it to
// StartServer themselves.
func (b *Bed) RingmetricsSpec(binary string, resolution time.Duration, extra ...string) ServerSpec {
	versions := []string{"v1", "v1beta1"}
	if slices.Contains(extra, "--serve-v1=false") {
		versions = []string{"v1beta1"}
	}
	return ServerSpec{
		Name:        "ringmetrics",
		Binary:      binary,
		Args:        append(b.RingmetricsArgs(resolution), extra...),
		LogDir:      b.LogDir,
		APIVersions: versions,
		Usage:       true,
	}
}

// MetricsServerArgs are the flags the pinned metrics-server runs with on
// the bed at the given resolution (metrics-server refuses less than 10s).
// Its kubelet timeout must stay below 0.9 × the resolution: it is half the
// resolution, at most metrics-server's default of 10s.
func (b *Bed) MetricsServerArgs(resolution time.Duration) []string {
	return []string{
		"--kubeconfig=" + b.ServerKubeconfig,
		"--authentication-kubeconfig=" + b.ServerKubeconfig,
		"--authorization-kubeconfig=" + b.ServerKubeconfig,
		"--cert-dir=" + filepath.Join(b.Cluster.Dir, "metrics-server-certs"),
		"--kubelet-certificate-authority=" + b.Cluster.CAFile(),
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-use-node-status-port",
		"--metric-resolution=" + resolution.String(),
		"--kubelet-request-timeout=" + min(resolution/2, 10*time.Second).String(),
	}
}

// MetricsServerSpec is how the pinned metrics-server runs on the bed at the
// given resolution.
func (b *Bed) MetricsServerSpec(resolution time.Duration, extra ...string) (ServerSpec, error) {
	binary, err := Tool("metrics-server-" + MetricsServerVersion)
	if err != nil {
		return ServerSpec{}, err
	}
	return ServerSpec{
		Name:   "metrics-server",
		Binary: binary,
		Args:   append(b.MetricsServerArgs(resolution), extra...),
		LogDir: b.LogDir,
	}, nil
}

// StartMetricsServerAt is StartMetricsServer at another resolution than
// its 10s.
func (b *Bed) StartMetricsServerAt(ctx context.Context, resolution time.Duration, extra ...string) (*Server, error) {
	spec, err := b.MetricsServerSpec(resolution, extra...)
	if err != nil {
		return nil, err
	}
	return StartServer(ctx, spec, 90*time.Second)
}
