package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Versions of the binaries this package is written for. hack/tools.sh
// builds exactly these.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.6.16"
)

// ErrBinaryMissing is wrapped by the error Start returns when a component's
// binary is not in the bin directory.
var ErrBinaryMissing = errors.New("binary missing: run hack/tools.sh to build the pinned test-bed tools")

// Options configures a cluster. The zero value starts etcd and
// kube-apiserver in a new temporary directory.
type Options struct {
	// BinDir holds etcd, kube-apiserver and kube-controller-manager.
	// Default: $RINGMETRICS_BIN, else $RINGMETRICS_CACHE/bin, else
	// $HOME/.cache/ringmetrics/bin (where hack/tools.sh puts them).
	BinDir string

	// Dir holds certificates, etcd data, kubeconfigs and logs. Default: a new
	// temporary directory, removed by Stop unless KeepDir is set or the start
	// failed. A Dir given here is never removed; its etcd data, certificates
	// and logs are replaced on every Start.
	Dir string

	// KeepDir keeps a temporary Dir after Stop.
	KeepDir bool

	// ControllerManager also runs kube-controller-manager with only the
	// horizontal pod autoscaler controller.
	ControllerManager bool

	// HPASyncPeriod is the controller manager's
	// --horizontal-pod-autoscaler-sync-period. Default 5s.
	HPASyncPeriod time.Duration

	// StartTimeout bounds the wait for each component to become ready.
	// Default 60s.
	StartTimeout time.Duration

	// ExtraAPIServerArgs and ExtraControllerManagerArgs are appended to the
	// flags this package sets; a repeated flag overrides the earlier value.
	ExtraAPIServerArgs         []string
	ExtraControllerManagerArgs []string

	// Logf receives progress messages. Default: discard.
	Logf func(format string, args ...any)
}

func (o *Options) complete() error {
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir()
	}
	if o.HPASyncPeriod == 0 {
		o.HPASyncPeriod = 5 * time.Second
	}
	if o.HPASyncPeriod < 0 {
		return fmt.Errorf("HPASyncPeriod must be positive, got %v", o.HPASyncPeriod)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.StartTimeout < 0 {
		return fmt.Errorf("StartTimeout must be positive, got %v", o.StartTimeout)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return nil
}

// DefaultBinDir is where the pinned binaries are looked for when
// Options.BinDir is empty.
func DefaultBinDir() string {
	if d := os.Getenv("RINGMETRICS_BIN"); d != "" {
		return d
	}
	if d := os.Getenv("RINGMETRICS_CACHE"); d != "" {
		return filepath.Join(d, "bin")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ringmetrics", "bin")
	}
	return filepath.Join(home, ".cache", "ringmetrics", "bin")
}

// findBinary returns the path of an executable in dir.
func findBinary(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s not found at %s: %w", name, path, ErrBinaryMissing)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s at %s is not executable: %w", name, path, ErrBinaryMissing)
	}
	return path, nil
}
