package options

import (
	"os"
	"testing"

	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	// Options.Validate applies the logging flags, which may happen once per
	// process unless later applications change nothing. Apply the defaults
	// once here, as the command would, then give klog back its own outputs
	// (applying installs a logger that bypasses them) so captureWarnings can
	// redirect them: Validate with the default logging flags leaves klog be.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
	if err := logsapi.ValidateAndApply(logs.NewOptions(), nil); err != nil {
		panic(err)
	}
	klog.ClearLogger()
	os.Exit(m.Run())
}
