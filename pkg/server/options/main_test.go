package options

import (
	"os"
	"testing"

	logsapi "k8s.io/component-base/logs/api/v1"
)

func TestMain(m *testing.M) {
	// Options.Validate applies the logging flags, which by default may happen
	// once per process; the tests validate many options with the same
	// logging flags.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
	os.Exit(m.Run())
}
