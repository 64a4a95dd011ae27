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
	// metrics-server needs two scrapes at its 10s resolution before it serves.
	eventuallyTopMatches(t, kubectlBinary(t, ""), 60*time.Second)
}
