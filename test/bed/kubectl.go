package bed

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// KubectlTimeout bounds one kubectl run.
const KubectlTimeout = 60 * time.Second

// Kubectl runs a real kubectl against the bed.
type Kubectl struct {
	// Binary is the kubectl to run (see KubectlBinary).
	Binary     string
	Kubeconfig string
	// CacheDir is kubectl's discovery cache. One per test keeps an
	// APIService moved between servers from being served from a stale cache.
	CacheDir string
}

// Run runs kubectl with args and returns its stdout and stderr. err is set
// when kubectl cannot run or exits non-zero; it names the command and
// carries its stderr.
func (k Kubectl) Run(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), KubectlTimeout)
	defer cancel()
	all := append([]string{"--kubeconfig=" + k.Kubeconfig, "--cache-dir=" + k.CacheDir}, args...)
	cmd := exec.CommandContext(ctx, k.Binary, all...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), errOut.String(), fmt.Errorf("%s %s: %w\nstderr: %s", filepath.Base(k.Binary), strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), nil
}

// CanI runs kubectl auth can-i with args and returns its answer. kubectl
// exits 1 on no, which is not an error here; any answer but yes or no is.
func (k Kubectl) CanI(args ...string) (bool, error) {
	stdout, _, err := k.Run(append([]string{"auth", "can-i"}, args...)...)
	switch answer := strings.TrimSpace(stdout); answer {
	case "yes":
		return true, err
	case "no":
		return false, nil
	default:
		return false, fmt.Errorf("kubectl auth can-i %s answered %q: %v", strings.Join(args, " "), answer, err)
	}
}
