package options

import (
	"fmt"
	"net/http"

	"github.com/spf13/pflag"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/ringmetrics/ringmetrics/pkg/server"
)

// InFlightOptions bound how many requests are served at once; the rest get
// 429 Too Many Requests with Retry-After, which client-go honours.
//
// Max-in-flight rather than API Priority and Fairness: APF would need the
// cluster's FlowSchemas and PriorityLevelConfigurations through informers
// (more RBAC, more memory, more start-up dependencies), its per-request cost
// estimate cannot see what an aggregated server's LIST costs (every LIST is
// one seat), and it queues before it rejects. Two plain limits say what
// matters here: a LIST of every pod costs about a thousand times an HPA's
// namespaced LIST.
type InFlightOptions struct {
	// MaxRequestsInFlight bounds every non-long-running request (the generic
	// filter); 0 disables it.
	MaxRequestsInFlight int
	// MaxClusterListsInFlight bounds LISTs of all namespaces' PodMetrics and
	// of NodeMetrics (see server.WithClusterListLimit); 0 disables it.
	MaxClusterListsInFlight int
}

// NewInFlightOptions returns the defaults: the kube-apiserver's 400 for
// everything, and 2 cluster-wide LISTs. Each of those holds a whole
// response of every pod in memory while it is written and keeps a core
// busy: on the soak bed (1 000 nodes × 30 pods, two cores, 200 abusive
// clients) 2 kept the HPA-like client's p99 at 376 ms and RSS at 651 MiB,
// where 4 let it reach 1.13 s and 730 MiB (docs/benchmarks/SOAK*.md).
func NewInFlightOptions() *InFlightOptions {
	return &InFlightOptions{MaxRequestsInFlight: 400, MaxClusterListsInFlight: 2}
}

// AddFlags adds the flags to fs.
func (o *InFlightOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.MaxRequestsInFlight, "max-requests-inflight", o.MaxRequestsInFlight, "Requests served at once; more get 429 with Retry-After. 0 for no limit.")
	fs.IntVar(&o.MaxClusterListsInFlight, "max-cluster-list-requests-inflight", o.MaxClusterListsInFlight, "LISTs of all namespaces' PodMetrics or PodUsage, or of NodeMetrics or NodeUsage, served at once, within --max-requests-inflight; more get 429 with Retry-After. 0 for no limit.")
}

// Validate returns every problem found.
func (o *InFlightOptions) Validate() []error {
	var errs []error
	if o.MaxRequestsInFlight < 0 {
		errs = append(errs, fmt.Errorf("--max-requests-inflight must not be negative, got %d", o.MaxRequestsInFlight))
	}
	if o.MaxClusterListsInFlight < 0 {
		errs = append(errs, fmt.Errorf("--max-cluster-list-requests-inflight must not be negative, got %d", o.MaxClusterListsInFlight))
	}
	return errs
}

// ApplyTo sets the generic limit and puts the cluster-wide LIST limit
// innermost in the handler chain, where the request info and user are known.
func (o *InFlightOptions) ApplyTo(c *genericapiserver.Config) {
	c.MaxRequestsInFlight = o.MaxRequestsInFlight
	limit := o.MaxClusterListsInFlight
	build := c.BuildHandlerChainFunc
	c.BuildHandlerChainFunc = func(h http.Handler, conf *genericapiserver.Config) http.Handler {
		return build(server.WithClusterListLimit(h, limit), conf)
	}
}
