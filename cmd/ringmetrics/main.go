// Command ringmetrics serves the Kubernetes resource metrics API
// (metrics.k8s.io) from kubelet scrapes held in an in-memory ring store.
package main

import (
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"

	"github.com/ringmetrics/ringmetrics/cmd/ringmetrics/app"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	os.Exit(cli.Run(app.NewCommand(ctx)))
}
