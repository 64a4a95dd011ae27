package bed

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ringmetrics/ringmetrics/test/cluster"
)

// RingmetricsBinary is $RINGMETRICS_BINARY (make e2e and make bench set it
// to the binary make built), or a fresh build into dir when a test package
// runs on its own.
func RingmetricsBinary(dir string) (string, error) {
	if path := os.Getenv("RINGMETRICS_BINARY"); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("RINGMETRICS_BINARY: %w", err)
		}
		return path, nil
	}
	out := filepath.Join(dir, "ringmetrics")
	cmd := exec.Command("go", "build", "-o", out, "github.com/ringmetrics/ringmetrics/cmd/ringmetrics")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building ringmetrics: %w\n%s", err, b)
	}
	return out, nil
}

// Tool is the path of a pinned tool that hack/tools.sh builds into
// cluster.DefaultBinDir, such as helm or metrics-server-v0.9.0.
func Tool(name string) (string, error) {
	path := filepath.Join(cluster.DefaultBinDir(), name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: %w (build it with hack/tools.sh, which make test runs, or set RINGMETRICS_BIN to a directory holding it)", name, err)
	}
	return path, nil
}

// KubectlBinary is the kubectl on the PATH for minor "", or else the
// kubectl.<minor> in the folder that kubectl really lives in, links followed
// (the machine's kubectl.1.27 … kubectl.1.33), or else the one hack/tools.sh
// builds into cluster.DefaultBinDir (kubectl.1.37).
func KubectlBinary(minor string) (string, error) {
	path, err := exec.LookPath("kubectl")
	if err != nil {
		return "", fmt.Errorf("kubectl is not on the PATH: %w", err)
	}
	if minor == "" {
		return path, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	versioned := filepath.Join(filepath.Dir(real), "kubectl."+minor)
	_, errBeside := os.Stat(versioned)
	if errBeside == nil {
		return versioned, nil
	}
	pinned := filepath.Join(cluster.DefaultBinDir(), "kubectl."+minor)
	if _, err := os.Stat(pinned); err != nil {
		return "", fmt.Errorf("kubectl %s: neither beside the kubectl on the PATH (%w) nor built by hack/tools.sh (%w)", minor, errBeside, err)
	}
	return pinned, nil
}

// CopyBinary copies an executable, so that a make build elsewhere during a
// long run cannot swap the binary between its phases.
func CopyBinary(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
