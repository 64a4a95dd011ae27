package e2e

import (
	"testing"
	"time"
)

// TestMetricsServerProof proves the bed with the system ringmetrics
// replaces: metrics-server, registered through the aggregation layer,
// shows the simulated usage in the real kubectl top.
func TestMetricsServerProof(t *testing.T) {
	use(t, env.metricsServer)
	tailOnFailure(t, env.metricsServer)
	kc := kubectlBinary(t, "")
	// metrics-server needs two scrapes at its 10s resolution before it serves.
	eventually(t, 60*time.Second, func() error {
		out, err := kubectl(t, kc, adminKubeconfig(), "top", "node")
		if err != nil {
			return err
		}
		return checkTopNodes(out)
	})
	eventually(t, 30*time.Second, func() error {
		out, err := kubectl(t, kc, adminKubeconfig(), "top", "pod", "-A")
		if err != nil {
			return err
		}
		return checkTopPods(out, simulatedPods(nil))
	})
}
