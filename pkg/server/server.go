package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/api"
	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/scraper"
	"github.com/ringmetrics/ringmetrics/pkg/store"
	"github.com/ringmetrics/ringmetrics/pkg/usage"
)

// The store is both ends of the pipeline: written by scrapers, read by the API.
var (
	_ scraper.Writer      = (*store.Store)(nil)
	_ api.MetricsReader   = (*store.Store)(nil)
	_ usage.HistoryReader = (*store.Store)(nil)
)

// Server is a running ringmetrics: informers, scrape loops, store and API.
type Server struct {
	generic    *genericapiserver.GenericAPIServer
	scraper    *scraper.Scraper
	store      *store.Store
	nodes      informers.SharedInformerFactory
	pods       informers.SharedInformerFactory
	gaps       *gapWatch
	clock      clock.WithTicker
	resolution time.Duration
}

// New wires the server from what the completed config holds; nothing runs
// until Run. It builds nothing process-global, so a process (a test) may
// build several.
func (c CompletedConfig) New() (*Server, error) {
	kubeletConfig, resolver := c.Kubelet, c.Resolver
	if c.ViaAPIServer {
		kubeletConfig = c.Rest
		resolver.APIServerURL = c.Rest.Host
	} else {
		// One HTTP/1.1 keep-alive connection per kubelet rather than h2:
		// 35.5 KiB of heap and stack an idle connection against 58 KiB, and
		// 27% less client CPU a scrape (BenchmarkConn,
		// docs/benchmarks/issue-11-connections.txt) — 110 MiB less at 5 000
		// kubelets. Through the apiserver's proxy every scrape goes to one
		// host, where h2's one multiplexed connection is the better choice.
		kubeletConfig = rest.CopyConfig(kubeletConfig)
		kubeletConfig.NextProtos = []string{"http/1.1"}
	}
	transport, err := rest.TransportFor(kubeletConfig)
	if err != nil {
		return nil, fmt.Errorf("building the kubelet transport: %w", err)
	}

	nodeFactory := informers.NewSharedInformerFactoryWithOptions(c.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = c.NodeSelector }),
		informers.WithTransform(trimNode))
	nodeInformer := nodeFactory.Core().V1().Nodes()
	// Only running pods can have usage. One typed informer serves both
	// APIs: metrics.k8s.io reads a pod's name, namespace and labels, and
	// usage.ringmetrics.dev each container's requests and limits, which pod
	// metadata lacks. Its transform keeps only those (pods.Trim, a few
	// hundred bytes a pod), so 150 000 pods are decoded and held once.
	podFactory := informers.NewSharedInformerFactoryWithOptions(c.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "status.phase=Running" }),
		informers.WithTransform(pods.Trim))
	podInformer := podFactory.Core().V1().Pods().Informer()
	nodes := nodeInformer.Lister()
	podLister, err := pods.NewCache(podInformer)
	if err != nil {
		return nil, err
	}

	st, err := store.New(store.Config{
		Capacity:    c.capacity,
		CPUWindowMs: c.CPUWindow.Milliseconds(),
		MaxAgeMs:    c.maxAge.Milliseconds(),
	})
	if err != nil {
		return nil, err
	}
	s := &Server{store: st, nodes: nodeFactory, pods: podFactory, clock: c.Clock, resolution: c.Resolution,
		gaps: newGapWatch(st, podLister, c.Resolution)}
	var nodeHandler cache.ResourceEventHandlerRegistration
	scrapeMetrics := scraper.NewMetrics(func() float64 { return float64(s.scraper.NodeCount()) })
	s.scraper = scraper.New(scraper.Config{
		Resolution: c.Resolution,
		Timeout:    c.ScrapeTimeout,
		Endpoint:   c.Endpoint,
		Resolver:   resolver,
		Client:     scraper.NewKubeletClient(transport, c.MaxResponseBytes),
		Store:      st,
		Clock:      c.Clock,
		// The informer's own HasSynced turns true before its handlers have
		// seen the initial list; readiness must wait until the scraper has a
		// loop for every node, or it latches on an empty node set.
		HasSynced: func() bool {
			return nodeHandler != nil && nodeHandler.HasSynced()
		},
		Servable: func(node string) bool {
			_, ok := st.NodeUsage(node)
			return ok
		},
		Metrics: scrapeMetrics,
		Limits:  c.Limits,
	})
	if nodeHandler, err = nodeInformer.Informer().AddEventHandler(s.scraper.EventHandler()); err != nil {
		return nil, err
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: s.forgetPod}); err != nil {
		return nil, err
	}

	apiMetrics := api.NewMetrics()
	apiConfig := api.Config{Reader: st, Nodes: nodes, Pods: podLister, Clock: c.Clock, Versions: c.Versions, Metrics: apiMetrics}
	fastList := api.NewFastList(apiConfig)
	c.apiserver.BuildHandlerChainFunc = func(h http.Handler, conf *genericapiserver.Config) http.Handler {
		return c.baseChain(usage.WithQuery(fastList.Wrap(h)), conf)
	}
	s.generic, err = c.apiserver.New("ringmetrics", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	if err := api.Install(s.generic, apiConfig); err != nil {
		return nil, fmt.Errorf("installing metrics.k8s.io: %w", err)
	}
	if err := usage.Install(s.generic, usage.Config{Reader: st, Nodes: nodes, Pods: podLister,
		Clock: c.Clock, HasSynced: podInformer.HasSynced}); err != nil {
		return nil, err
	}
	// Behind the handler chain, so authentication and authorization apply.
	s.generic.Handler.NonGoRestfulMux.Handle(DiagnosticsPath, scrapeDiagnostics(s.scraper.Failures, s.scraper.NodeCount))
	if err := registerMetrics(c.Registerer, scrapeMetrics.Register, apiMetrics.Register, storeMetrics(st), s.gaps.Register); err != nil {
		return nil, err
	}
	if err := s.generic.AddReadyzChecks(
		healthz.NamedCheck("informer-sync", func(*http.Request) error {
			if !nodeInformer.Informer().HasSynced() || !podInformer.HasSynced() {
				return errors.New("node and pod informers have not synced")
			}
			return nil
		}),
		healthz.NamedCheck("metric-storage-ready", func(*http.Request) error { return s.scraper.CheckReady() }),
	); err != nil {
		return nil, err
	}
	if err := s.generic.AddPostStartHook("ringmetrics-start-informers-and-scrapers", s.start); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start(hook genericapiserver.PostStartHookContext) error {
	ctx := hook.Context
	s.nodes.Start(ctx.Done())
	s.pods.Start(ctx.Done())
	go s.scraper.Run(ctx)
	go s.expireLoop(ctx)
	return nil
}

// expireLoop drops expired data once per resolution, then looks for the
// pods that leaves out.
func (s *Server) expireLoop(ctx context.Context) {
	ticker := s.clock.NewTicker(s.resolution)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C():
			s.store.Expire(now.UnixMilli())
			s.gaps.check(now)
		}
	}
}

func (s *Server) forgetPod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*pods.Pod); ok {
		s.store.DeletePod(pod.Namespace, pod.Name)
	}
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	klog.InfoS("Serving metrics.k8s.io", "resolution", s.resolution)
	return s.generic.PrepareRun().RunWithContext(ctx)
}

// registerMetrics registers every package's metrics with reg, each
// through that package's own registration function.
func registerMetrics(reg prometheus.Registerer, register ...func(prometheus.Registerer) error) error {
	for _, r := range register {
		if err := r(reg); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}
