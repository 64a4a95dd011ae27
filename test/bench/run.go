package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// adminUser is the identity of every measurement request: system:masters
// passes both servers' delegated authorization without a
// SubjectAccessReview.
const adminUser = "bench-admin"

// requestTimeout bounds one API request; a LIST of 150 000 pods through the
// aggregator at concurrency 4 on two cores takes seconds, not minutes.
const requestTimeout = 5 * time.Minute

// Measure runs every scale of cfg in order and returns what it measured.
// A scale that fails ends the run with an error, after the scales before it
// were passed to cfg.Done. A phase that fails (a server that does not
// become Ready, or exits) is recorded with its error and the run goes on.
func Measure(ctx context.Context, cfg Config) ([]ScaleResult, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Workers == 0 {
		cfg.Workers = 64
	}
	if _, err := os.Stat(cfg.Ringmetrics); err != nil {
		return nil, fmt.Errorf("ringmetrics binary: %w", err)
	}
	var errs []error
	for _, s := range cfg.Scales {
		errs = append(errs, s.validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var results []ScaleResult
	for _, s := range cfg.Scales {
		r, err := measureScale(ctx, cfg, s)
		if err != nil {
			return results, fmt.Errorf("scale %s: %w", s.Name, err)
		}
		results = append(results, r)
		if cfg.Done != nil {
			cfg.Done(results)
		}
	}
	return results, nil
}

// scaleRun is one scale's bed and clients.
type scaleRun struct {
	cfg        Config
	scale      Scale
	bed        *bed.Bed
	direct     *http.Client
	aggregator *http.Client
	paths      Paths
	sample     []string
	logf       func(format string, args ...any)
}

func measureScale(ctx context.Context, cfg Config, s Scale) (res ScaleResult, err error) {
	res = ScaleResult{Scale: s, Pods: s.Nodes * s.PodsPerNode, Started: time.Now()}
	logf := func(format string, args ...any) { cfg.Logf("[%s] "+format, append([]any{s.Name}, args...)...) }
	dir := filepath.Join(cfg.WorkDir, s.Name)
	namespaces := make([]string, s.Namespaces)
	for i := range namespaces {
		namespaces[i] = fmt.Sprintf("bench-%02d", i)
	}
	logf("starting a bed of %d nodes × %d pods", s.Nodes, s.PodsPerNode)
	b, err := bed.Start(ctx, bed.Options{
		Cluster: cluster.Options{Dir: dir},
		Fleet: kubeletsim.Config{
			Nodes: s.Nodes, PodsPerNode: s.PodsPerNode, Namespaces: namespaces, Seed: 1,
			Workers: cfg.Workers, FirstIP: cfg.FirstIP, Port: cfg.KubeletPort,
			// Unless asked, the simulated kubelets neither ask for client
			// certificates nor send TokenReviews and SubjectAccessReviews,
			// so that the apiserver's authentication load does not
			// dominate at scale.
			AuthDisabled: !cfg.KubeletAuth,
		},
		Logf: logf,
	})
	if err != nil {
		return res, err
	}
	defer func() {
		b.Stop()
		if !cfg.KeepWorkDir && err == nil {
			os.RemoveAll(dir)
		}
	}()
	res.FleetCreate = b.CreateStats.String()
	res.FleetCreateSeconds = b.CreateStats.Elapsed.Seconds()

	r := &scaleRun{cfg: cfg, scale: s, bed: b, logf: logf}
	if r.direct, err = adminClient(b, bed.DirectClient); err != nil {
		return res, err
	}
	if r.aggregator, err = adminClient(b, bed.APIServerClient); err != nil {
		return res, err
	}
	r.choose(&res)

	phase := 0
	for round := range s.PhasesPerServer {
		for _, srv := range s.servers() {
			phase++
			last := round == s.PhasesPerServer-1
			p, perr := r.phase(ctx, srv, phase, last)
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if perr != nil {
				p.Error = perr.Error()
				logf("phase %d (%s) failed: %v", phase, srv, perr)
			}
			res.Phases = append(res.Phases, p)
		}
	}
	res.Elapsed = Duration(time.Since(res.Started))
	logf("done in %v", time.Duration(res.Elapsed).Round(time.Second))
	return res, nil
}

// adminClient is a system:masters client with the harness's timeout, HTTP/2
// as client-go uses it, and room for the concurrent requests.
func adminClient(b *bed.Bed, newClient func(*cluster.Cluster, string, ...string) (*http.Client, error)) (*http.Client, error) {
	c, err := newClient(b.Cluster, adminUser, "system:masters")
	if err != nil {
		return nil, err
	}
	c.Timeout = requestTimeout
	if tr, ok := c.Transport.(*http.Transport); ok {
		tr.ForceAttemptHTTP2 = true
		tr.MaxIdleConnsPerHost = 16
	}
	return c, nil
}

// choose picks the requests' targets from the fleet: a namespace, the app
// label of its first pod as the selector (an HPA's query), that pod for the
// GET, and FreshnessNodes nodes spread evenly.
func (r *scaleRun) choose(res *ScaleResult) {
	pods := r.bed.Fleet.Pods()
	ns := fmt.Sprintf("bench-%02d", 7%r.scale.Namespaces)
	var first *kubeletsim.PodInfo
	for i := range pods {
		if pods[i].Namespace != ns {
			continue
		}
		if first == nil {
			first = &pods[i]
		}
		res.NamespacePods++
		if pods[i].Labels["app"] == first.Labels["app"] {
			res.SelectorPods++
		}
	}
	r.paths = Paths{
		ListAllPods:   bed.GroupVersionPath + "/pods",
		ListNamespace: bed.GroupVersionPath + "/namespaces/" + ns + "/pods",
		ListSelector:  bed.GroupVersionPath + "/namespaces/" + ns + "/pods?labelSelector=app%3D" + first.Labels["app"],
		GetPod:        bed.GroupVersionPath + "/namespaces/" + ns + "/pods/" + first.Name,
		ListNodes:     bed.GroupVersionPath + "/nodes",
		Discovery:     bed.GroupVersionPath,
	}
	res.Paths = r.paths
	nodes := r.bed.Fleet.Nodes()
	n := min(r.scale.FreshnessNodes, len(nodes))
	for i := range n {
		r.sample = append(r.sample, nodes[i*len(nodes)/n].Name)
	}
}

func (r *scaleRun) spec(srv Server, index int) (bed.ServerSpec, error) {
	var spec bed.ServerSpec
	resolution := r.scale.Resolution[srv]
	switch srv {
	case Ringmetrics:
		args := []string{"--profiling"}
		if r.scale.HistoryPoints > 0 {
			args = append(args, fmt.Sprintf("--history=%v", time.Duration(r.scale.HistoryPoints)*resolution))
		}
		spec = r.bed.RingmetricsSpec(r.cfg.Ringmetrics, resolution, args...)
		spec.Env = r.cfg.RingmetricsEnv
	case MetricsServer:
		var err error
		if spec, err = r.bed.MetricsServerSpec(resolution, "--profiling"); err != nil {
			return spec, err
		}
	default:
		return spec, fmt.Errorf("unknown server %q", srv)
	}
	spec.Name = fmt.Sprintf("%s-phase%d", srv, index)
	return spec, nil
}

// phase runs one server through one phase; see the package comment.
func (r *scaleRun) phase(ctx context.Context, srv Server, index int, last bool) (p PhaseResult, err error) {
	p = PhaseResult{Server: srv, Index: index}
	p.LoadAvg[0] = loadAvg()
	resolution := r.scale.Resolution[srv]
	spec, err := r.spec(srv, index)
	if err != nil {
		return p, err
	}
	r.logf("phase %d: starting %s at %v", index, srv, resolution)
	start := time.Now()
	s, err := bed.StartServer(ctx, spec, r.scale.ReadyTimeout)
	if err != nil {
		return p, err
	}
	readyAt := time.Now()
	p.Ready = Duration(readyAt.Sub(start))
	defer func() {
		if stopErr := s.Stop(); stopErr != nil && err == nil {
			err = stopErr
		}
		r.direct.CloseIdleConnections()
	}()
	alive := func() error {
		select {
		case <-s.Exited():
			return fmt.Errorf("%s exited during the phase\n--- last lines of %s ---\n%s", srv, s.LogPath, bed.Tail(s.LogPath, 20))
		default:
			return nil
		}
	}
	// The aggregator's availability controller writes the APIService's
	// status while Register updates its spec: retry the conflict.
	if err := retry.OnError(retry.DefaultRetry, apierrors.IsConflict, func() error { return r.bed.Use(ctx, s) }); err != nil {
		return p, err
	}
	p.Available = Duration(time.Since(readyAt))
	r.logf("phase %d: %s Ready in %v, Available after %v more; settling", index, srv, time.Duration(p.Ready).Round(time.Millisecond), time.Duration(p.Available).Round(time.Millisecond))
	if err := sleep(ctx, r.scale.settle(srv)-time.Since(readyAt)); err != nil {
		return p, err
	}
	pid := s.PID()

	// CPU and RSS first, with no request of ours in flight.
	span := r.scale.cpuSpan(srv)
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return p, err
	}
	spanStart := time.Now()
	var rss []float64
	for time.Since(spanStart) < span {
		if err := sleep(ctx, min(resolution, span-time.Since(spanStart))); err != nil {
			return p, err
		}
		v, err := statusBytes(pid, "VmRSS")
		if err != nil {
			return p, errors.Join(err, alive())
		}
		rss = append(rss, float64(v))
	}
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return p, errors.Join(err, alive())
	}
	elapsed := time.Since(spanStart)
	p.CPUSeconds, p.CPUSpan = cpu1-cpu0, Duration(elapsed)
	p.CPUPerRound = p.CPUSeconds / elapsed.Seconds() * resolution.Seconds()
	p.RSSBytes = int64(median(rss))
	r.logf("phase %d: %s RSS %.1f MiB, CPU %.3fs per round", index, srv, float64(p.RSSBytes)/(1<<20), p.CPUPerRound)

	if p.HeapInuseBytes, p.Goroutines, err = serverMetrics(ctx, r.direct, s.URL()); err != nil {
		return p, fmt.Errorf("reading %s /metrics: %w", srv, err)
	}
	interval := max(resolution/time.Duration(r.scale.FreshnessProbes), time.Second)
	if p.Freshness, err = probeFreshness(ctx, r.direct, s.URL(), r.sample, r.scale.Nodes, r.scale.FreshnessProbes, interval); err != nil {
		return p, errors.Join(err, alive())
	}

	scrapeCPU := p.CPUSeconds / elapsed.Seconds()
	bases := map[string]string{"aggregator": r.bed.Cluster.URL, "direct": s.URL()}
	clients := map[string]*http.Client{"aggregator": r.aggregator, "direct": r.direct}
	for _, e := range Endpoints {
		for _, path := range PathNames {
			for _, format := range Formats {
				l := load(ctx, clients[path], bases[path]+r.paths[e], format, r.scale.Requests[e], r.scale.Concurrency, pid, scrapeCPU)
				l.Endpoint, l.Path = e, path
				p.Latency = append(p.Latency, l)
				r.logf("phase %d: %s %s %s %s: p50 %v p90 %v p99 %v, %d bytes, %d errors%s", index, srv, e, path, format,
					ms(l.P50), ms(l.P90), ms(l.P99), l.Bytes, l.Errors, errSuffix(l.FirstError))
			}
		}
		if err := alive(); err != nil {
			return p, err
		}
	}

	if r.scale.Profile && last && r.cfg.ProfileDir != "" {
		seconds := max(r.scale.ProfileSeconds, 1)
		dir := filepath.Join(r.cfg.ProfileDir, r.scale.Name)
		p.Profiles, err = profiles(ctx, r.direct, s.URL(), s.URL()+r.paths[ListAllPods], dir, string(srv), seconds)
		if err != nil {
			// Profiles are a by-product: say so, keep the figures.
			r.logf("phase %d: profiling %s: %v", index, srv, err)
		}
	}
	if p.PeakRSSBytes, err = statusBytes(pid, "VmHWM"); err != nil {
		return p, errors.Join(err, alive())
	}
	p.LoadAvg[1] = loadAvg()
	return p, alive()
}

func ms(d Duration) string { return time.Duration(d).Round(10 * time.Microsecond).String() }

func errSuffix(s string) string {
	if s == "" {
		return ""
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return " (first: " + s + ")"
}
