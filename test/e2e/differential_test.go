package e2e

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// TestDifferentialWithMetricsServer reads the same simulated kubelets through
// metrics-server and ringmetrics and requires the same numbers. Both take the
// CPU rate between two scrapes of exact counters, so the rates agree to a
// millicore whatever their windows; memory is the same gauge.
func TestDifferentialWithMetricsServer(t *testing.T) {
	tailOnFailure(t, env.metricsServer)
	tailOnFailure(t, env.ringmetrics)
	eventually(t, 60*time.Second, func() error {
		var msNodes, rmNodes metricsv1beta1.NodeMetricsList
		if err := adminDirect(t, env.metricsServer, "/apis/metrics.k8s.io/v1beta1/nodes", &msNodes); err != nil {
			return err
		}
		if err := adminDirect(t, env.ringmetrics, "/apis/metrics.k8s.io/v1beta1/nodes", &rmNodes); err != nil {
			return err
		}
		if err := sameUsage("node", nodeUsages(msNodes), nodeUsages(rmNodes)); err != nil {
			return err
		}
		var msPods, rmPods metricsv1beta1.PodMetricsList
		if err := adminDirect(t, env.metricsServer, "/apis/metrics.k8s.io/v1beta1/pods", &msPods); err != nil {
			return err
		}
		if err := adminDirect(t, env.ringmetrics, "/apis/metrics.k8s.io/v1beta1/pods", &rmPods); err != nil {
			return err
		}
		return sameUsage("container", containerUsages(msPods), containerUsages(rmPods))
	})
}

type usage struct{ cpuNano, memBytes int64 }

func nodeUsages(l metricsv1beta1.NodeMetricsList) map[string]usage {
	m := map[string]usage{}
	for _, n := range l.Items {
		m[n.Name] = toUsage(n.Usage.Cpu(), n.Usage.Memory())
	}
	return m
}

func containerUsages(l metricsv1beta1.PodMetricsList) map[string]usage {
	m := map[string]usage{}
	for _, p := range l.Items {
		for _, c := range p.Containers {
			m[p.Namespace+"/"+p.Name+"/"+c.Name] = toUsage(c.Usage.Cpu(), c.Usage.Memory())
		}
	}
	return m
}

func toUsage(cpu, mem *resource.Quantity) usage {
	return usage{cpuNano: cpu.ScaledValue(resource.Nano), memBytes: mem.Value()}
}

func sameUsage(kind string, want, got map[string]usage) error {
	if len(want) == 0 {
		return fmt.Errorf("metrics-server serves no %s yet", kind)
	}
	if len(got) != len(want) {
		return fmt.Errorf("ringmetrics serves %d %ss, metrics-server %d", len(got), kind, len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			return fmt.Errorf("%s %s: served by metrics-server, not by ringmetrics", kind, name)
		}
		if d := g.cpuNano - w.cpuNano; d < -1e6 || d > 1e6 {
			return fmt.Errorf("%s %s: cpu %dn from ringmetrics, %dn from metrics-server", kind, name, g.cpuNano, w.cpuNano)
		}
		if g.memBytes != w.memBytes {
			return fmt.Errorf("%s %s: memory %d from ringmetrics, %d from metrics-server", kind, name, g.memBytes, w.memBytes)
		}
	}
	return nil
}
