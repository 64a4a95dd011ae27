// Command bed runs the ringmetrics test bed by hand.
//
//	go run ./test/cmd/bed up [-dir D] [-controller-manager] [-keep]
//
// starts etcd and kube-apiserver (and kube-controller-manager with the HPA
// controller) on 127.0.0.1, prints the admin KUBECONFIG, and runs until
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ringmetrics/ringmetrics/test/cluster"
)

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "bed: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		log.Fatalf("bed: %v", err)
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: bed up [-dir D] [-controller-manager] [-hpa-sync-period 5s] [-keep] [-bin-dir D]\n")
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	var opts cluster.Options
	fs.StringVar(&opts.Dir, "dir", "", "directory for certificates, etcd data, kubeconfigs and logs (default: a new temporary directory)")
	fs.StringVar(&opts.BinDir, "bin-dir", "", "directory holding etcd, kube-apiserver, kube-controller-manager (default: "+cluster.DefaultBinDir()+")")
	fs.BoolVar(&opts.ControllerManager, "controller-manager", false, "also run kube-controller-manager with the HPA controller")
	fs.DurationVar(&opts.HPASyncPeriod, "hpa-sync-period", 5*time.Second, "kube-controller-manager --horizontal-pod-autoscaler-sync-period")
	fs.BoolVar(&opts.KeepDir, "keep", false, "keep the temporary directory after stopping")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts.Logf = log.Printf

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		return err
	}
	log.Printf("logs in %s", c.LogDir())
	fmt.Printf("export KUBECONFIG=%s\n", c.AdminKubeconfig)
	<-ctx.Done()
	log.Printf("stopping")
	return c.Stop()
}
