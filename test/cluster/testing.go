package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// StartT starts a cluster for a test and registers its Stop with t.Cleanup.
// A missing binary or a component that does not come up fails the test with
// t.Fatal (never a skip): the message names the component and its log.
// When the test fails, the cleanup prints where the files are, the end of
// each component's log, and keeps them.
func StartT(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	c, err := Start(t.Context(), opts)
	if err != nil {
		hint := ""
		if errors.Is(err, ErrBinaryMissing) {
			hint = "\n(or set RINGMETRICS_BIN to a directory holding etcd, kube-apiserver and kube-controller-manager " + KubernetesVersion + ")"
		}
		t.Fatalf("cannot start the test cluster: %v%s", err, hint)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.keepDir = true
			t.Log(c.failureReport())
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stopping test cluster: %v", err)
		}
	})
	return c
}

// failureReport says where a failed test's cluster files are and shows the
// end of each component log.
func (c *Cluster) failureReport() string {
	var b strings.Builder
	fmt.Fprintf(&b, "test cluster files kept in %s (logs in %s)\n", c.Dir, c.LogDir())
	logs := c.LogFiles()
	names := make([]string, 0, len(logs))
	for name := range logs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, "--- last lines of %s (%s):\n%s", name, logs[name], indent(tailFile(logs[name], 20)))
	}
	return b.String()
}
