// Package vpa runs the Vertical Pod Autoscaler's recommender, a real client
// of metrics.k8s.io that lists every pod's metrics each round, out of cluster
// against the bed: once reading ringmetrics, once metrics-server. Each must
// lead it to the recommendation that VPA's documented rules give for the
// simulator's usage (expect_test.go), and both to the same one.
package vpa

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

const (
	// ringmetricsResolution and the recommender's interval are chosen so
	// that every round of the recommender reads a newer timestamp for every
	// pod from either server (metrics-server cannot go below 10s): it drops
	// a CPU sample that is not strictly newer than the last, and a dropped
	// sample would weigh one pod less than the others.
	ringmetricsResolution = 5 * time.Second
	recommenderInterval   = 15 * time.Second
)

var env struct {
	bed           *bed.Bed
	ringmetrics   *bed.Server
	metricsServer *bed.Server
	vpa           vpaModule
	// kubeconfig authenticates as the recommender's ServiceAccount, bound
	// to the roles VPA's own deploy/vpa-rbac.yaml grants it.
	kubeconfig string
}

func TestMain(m *testing.M) {
	os.Exit(bed.Main(m, "vpa", bed.Options{
		Cluster: cluster.Options{},
		// Pods of other workloads, which the recommender lists too.
		Fleet: kubeletsim.Config{Nodes: 3, PodsPerNode: 2, Seed: 1},
	}, setup))
}

func setup(ctx context.Context, s *bed.Shared) (err error) {
	env.bed = s.Bed
	if env.vpa, err = findVPA(); err != nil {
		return err
	}
	if err := env.vpa.installCRDs(ctx, s.Bed.Dynamic); err != nil {
		return err
	}
	if err := env.vpa.applyRBAC(ctx, s.Bed.Dynamic); err != nil {
		return err
	}
	if env.kubeconfig, err = s.Bed.Cluster.WriteKubeconfig("vpa-recommender", recommenderUser,
		"system:serviceaccounts", "system:serviceaccounts:kube-system"); err != nil {
		return err
	}
	if env.metricsServer, err = s.Bed.StartMetricsServer(ctx); err != nil {
		return err
	}
	s.Defer(func() { _ = env.metricsServer.Stop() })
	if env.ringmetrics, err = s.Bed.StartRingmetrics(ctx, s.Binary, ringmetricsResolution); err != nil {
		return err
	}
	s.Defer(func() { _ = env.ringmetrics.Stop() })
	return nil
}
