package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// checkTopNodes compares kubectl top node with the simulated workload.
func checkTopNodes(out string) error {
	rows, err := parseTop(out)
	if err != nil {
		return err
	}
	if len(rows) != nodes {
		return fmt.Errorf("kubectl top node printed %d nodes, want %d:\n%s", len(rows), nodes, out)
	}
	for _, r := range rows {
		cpu, mem := env.bed.Fleet.ExpectedNode(r.Name)
		if err := within(r, cpu, mem); err != nil {
			return fmt.Errorf("node %s: %w", r.Name, err)
		}
	}
	return nil
}

// eventuallyTopMatches waits until kc's top node, within timeout, and then
// its top pod -A, within 30s more, print the simulated usage.
func eventuallyTopMatches(t *testing.T, kc string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
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

// simulatedPods counts the fleet's visible pods that match keep; other
// tests add workloads, so the count is read live.
func simulatedPods(keep func(kubeletsim.PodInfo) bool) int {
	n := 0
	for _, p := range env.bed.Fleet.Pods() {
		if !p.Hidden && (keep == nil || keep(p)) {
			n++
		}
	}
	return n
}

// checkTopPods compares kubectl top pod rows with the simulated workload;
// want is the number of rows expected.
func checkTopPods(out string, want int) error {
	rows, err := parseTop(out)
	if err != nil {
		return err
	}
	if len(rows) != want {
		return fmt.Errorf("kubectl top pod printed %d pods, want %d:\n%s", len(rows), want, out)
	}
	for _, r := range rows {
		if r.Namespace == "" {
			return fmt.Errorf("row %+v has no namespace", r)
		}
		cpu, mem := env.bed.Fleet.ExpectedPod(r.Namespace, r.Name)
		if err := within(r, cpu, mem); err != nil {
			return fmt.Errorf("pod %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	return nil
}

// within allows kubectl's rounding: CPU is printed rounded up to whole
// millicores, memory rounded down to whole MiB.
func within(r topRow, cpuMilli, memBytes int64) error {
	if cpuMilli == 0 && memBytes == 0 {
		return fmt.Errorf("unknown to the simulator")
	}
	var problems []string
	if d := r.CPUMilli - cpuMilli; d < -1 || d > 1 {
		problems = append(problems, fmt.Sprintf("cpu %dm, simulated %dm", r.CPUMilli, cpuMilli))
	}
	if d := r.MemMi - memBytes>>20; d < -1 || d > 1 {
		problems = append(problems, fmt.Sprintf("memory %dMi, simulated %dMi", r.MemMi, memBytes>>20))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
