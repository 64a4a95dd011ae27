// Command demo is `make demo`: a local control plane, simulated kubelets,
// ringmetrics registered as v1.metrics.k8s.io and v1beta1.metrics.k8s.io, and
// kubectl top output, from the kubectl on the PATH and from kubectl 1.37.
// It keeps running until Ctrl-C so the cluster can be explored.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

func main() {
	binary := flag.String("ringmetrics", "bin/ringmetrics", "ringmetrics binary")
	nodes := flag.Int("nodes", 3, "simulated nodes")
	pods := flag.Int("pods-per-node", 10, "simulated pods per node")
	resolution := flag.Duration("metric-resolution", 5*time.Second, "ringmetrics --metric-resolution")
	exit := flag.Bool("exit", false, "stop after printing kubectl top (for scripts)")
	flag.Parse()
	if err := run(*binary, *nodes, *pods, *resolution, *exit); err != nil {
		log.Fatalf("demo: %v", err)
	}
}

func run(binary string, nodes, pods int, resolution time.Duration, exit bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	dir, err := os.MkdirTemp("", "ringmetrics-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	binary, err = filepath.Abs(binary)
	if err != nil {
		return err
	}

	log.Printf("starting a control plane, %d simulated kubelets and %d pods", nodes, nodes*pods)
	b, err := bed.Start(ctx, bed.Options{
		Cluster: cluster.Options{Dir: filepath.Join(dir, "cluster")},
		Fleet:   kubeletsim.Config{Nodes: nodes, PodsPerNode: pods, Seed: 1, Namespaces: []string{"default", "shop"}},
		Logf:    log.Printf,
	})
	if err != nil {
		return err
	}
	defer b.Stop()
	rm, err := b.StartRingmetrics(ctx, binary, resolution)
	if err != nil {
		return err
	}
	defer rm.Stop()
	if err := b.Use(ctx, rm); err != nil {
		return err
	}
	log.Printf("ringmetrics is Available as v1.metrics.k8s.io and v1beta1.metrics.k8s.io (%v after start)", time.Since(start).Round(time.Millisecond))

	kubeconfig := b.Cluster.AdminKubeconfig
	kubectl := func(args ...string) error {
		fmt.Printf("\n$ kubectl %s\n", joinArgs(args))
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl %s: %w", joinArgs(args), err)
		}
		return nil
	}
	for _, args := range [][]string{{"get", "apiservice", "v1.metrics.k8s.io", "v1beta1.metrics.k8s.io"}, {"top", "node"}, {"top", "pod", "-A"}} {
		if err := kubectl(args...); err != nil {
			return err
		}
	}
	if err := showV1(ctx, kubeconfig); err != nil {
		return err
	}
	if err := showHostileNode(ctx, b, rm, kubectl, resolution); err != nil {
		return err
	}
	if err := showRightSizing(ctx, b, kubectl, resolution); err != nil {
		return err
	}
	fmt.Printf("\nThe demo took %v. Try it yourself in another shell:\n\n  export KUBECONFIG=%s\n  kubectl top pod -A --containers\n  kubectl get podmetrics -A\n\n", time.Since(start).Round(time.Millisecond), kubeconfig)
	if pid := rm.PID(); pid > 0 {
		if rss, err := cluster.RSS(pid); err == nil {
			fmt.Printf("ringmetrics pid %d, RSS %.1f MiB, log %s\n", pid, float64(rss)/(1<<20), rm.LogPath)
		}
	}
	if exit {
		return nil
	}
	fmt.Println("Press Ctrl-C to stop.")
	select {
	case <-ctx.Done():
	case <-rm.Exited():
		return fmt.Errorf("ringmetrics exited; see %s", rm.LogPath)
	}
	return nil
}

func joinArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		out += a
	}
	return out
}

// showHostileNode has a node try to send the scrape, and ringmetrics'
// kubelet credentials, to another host through its path annotation:
// ringmetrics refuses, and says so only to an authorized caller.
func showHostileNode(ctx context.Context, b *bed.Bed, rm *bed.Server, kubectl func(...string) error, resolution time.Duration) error {
	node := b.Fleet.Nodes()[0].Name
	fmt.Printf("\nA node that tries to redirect the scrape to a host of its choosing:")
	if err := kubectl("annotate", "node", node, "--overwrite", "metrics.k8s.io/resource-metrics-path=@127.0.0.1:1/x"); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * resolution):
	}
	for _, who := range []struct{ name, user, group string }{{"anonymous", "", ""}, {"cluster-admin", "demo-admin", "system:masters"}} {
		client, err := bed.DirectClient(b.Cluster, who.user, who.group)
		if err != nil {
			return err
		}
		body, code, err := bed.GetText(client, rm.URL()+"/debug/scrapes")
		if err != nil {
			return err
		}
		fmt.Printf("\nGET %s/debug/scrapes as %s: %d\n%s", rm.URL(), who.name, code, body)
	}
	return kubectl("annotate", "node", node, "metrics.k8s.io/resource-metrics-path-")
}

// showV1 runs kubectl 1.37, which reads metrics.k8s.io/v1, and prints the
// requests it made beside its output: the kubectl on the PATH read v1beta1.
func showV1(ctx context.Context, kubeconfig string) error {
	binary, err := bed.KubectlBinary("1.37")
	if err != nil {
		return err
	}
	fmt.Printf("\n$ kubectl.1.37 top node -v=6   # only its metrics.k8s.io requests shown\n")
	cmd := exec.CommandContext(ctx, binary, "--kubeconfig="+kubeconfig, "top", "node", "-v=6")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = os.Stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl 1.37 top node: %w: %s", err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if i := strings.Index(line, "/apis/metrics.k8s.io/"); i >= 0 && strings.Contains(line, "GET") {
			fmt.Printf("  GET %s\n", strings.Trim(strings.Fields(line[i:])[0], `"`))
		}
	}
	return nil
}

// showRightSizing steps one pod's usage low, then a spike, then medium, and
// prints what usage.ringmetrics.dev makes of the history beside kubectl top.
func showRightSizing(ctx context.Context, b *bed.Bed, kubectl func(...string) error, resolution time.Duration) error {
	pod := b.Fleet.Pods()[0]
	fmt.Printf("\nRight-sizing from the ring: %s/%s runs low, spikes, then settles:\n", pod.Namespace, pod.Name)
	for _, step := range []struct {
		cpuMilli, memMi int64
		rounds          int
	}{{50, 64, 2}, {900, 200, 2}, {300, 128, 2}} {
		if err := b.Fleet.SetPodUsage(pod.Namespace, pod.Name, step.cpuMilli, step.memMi<<20); err != nil {
			return err
		}
		fmt.Printf("  %dm, %dMi for %v\n", step.cpuMilli, step.memMi, time.Duration(step.rounds)*resolution)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(step.rounds) * resolution):
		}
	}
	if err := kubectl("top", "pod", "-n", pod.Namespace, pod.Name); err != nil {
		return err
	}
	return kubectl("get", "podusage", "-A", "--sort-by=.total.cpu.max")
}
