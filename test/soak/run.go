package soak

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/bench"
	"github.com/ringmetrics/ringmetrics/test/cluster"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// The clients' identities: ordinary users that may read metrics, so that
// neither limit exempts them as it does system:masters.
const (
	hpaUser     = "soak-hpa"
	topUser     = "soak-top"
	getUser     = "soak-get"
	abusiveUser = "soak-abuser"
)

// Run brings up a bed, runs the soak and overload phases and judges them.
// An error means the run could not be carried out; a broken criterion is a
// failed Check in the result.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logf := cfg.Logf
	res = &Result{Config: cfg, Started: time.Now(), MemoryBudget: cfg.MemoryBudget()}
	namespaces := make([]string, cfg.Namespaces)
	for i := range namespaces {
		namespaces[i] = fmt.Sprintf("soak-%02d", i)
	}
	dir := cfg.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ringmetrics-soak-"); err != nil {
			return nil, err
		}
	}
	logf("soak: starting a bed of %d nodes × %d pods", cfg.Nodes, cfg.PodsPerNode)
	b, err := bed.Start(ctx, bed.Options{
		Cluster: cluster.Options{Dir: dir},
		Fleet: kubeletsim.Config{
			Nodes: cfg.Nodes, PodsPerNode: cfg.PodsPerNode, Namespaces: namespaces, Seed: 1,
			Workers: 64, FirstIP: cfg.FirstIP, Port: cfg.KubeletPort,
			// As in test/bench: the apiserver's authentication load for the
			// kubelets must not dominate at 1 000 nodes.
			AuthDisabled: true,
		},
		Logf: logf,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		b.Stop()
		if !cfg.KeepWorkDir && err == nil {
			os.RemoveAll(dir)
		}
	}()
	res.FleetCreate = b.CreateStats.String()
	if err := bindReaders(ctx, b); err != nil {
		return nil, err
	}

	var args []string
	if cfg.History > 0 {
		args = append(args, "--history="+cfg.History.String())
	}
	spec := b.RingmetricsSpec(cfg.Ringmetrics, cfg.Resolution, append(args, cfg.ExtraArgs...)...)
	spec.Env = cfg.Env
	res.Args, res.Env = spec.Args, spec.Env
	start := time.Now()
	s, err := bed.StartServer(ctx, spec, 2*time.Minute+time.Duration(cfg.Nodes)*60*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer s.Stop()
	res.Ready = time.Since(start)
	if err := b.Use(ctx, s); err != nil {
		return nil, fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, s.LogPath, bed.Tail(s.LogPath, 20))
	}
	logf("soak: ringmetrics Ready in %v, Available after %v", res.Ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	r := &runner{cfg: cfg, bed: b, server: s, res: res}
	if err := r.clients(); err != nil {
		return nil, err
	}
	if err := r.soak(ctx); err != nil {
		return nil, err
	}
	if err := r.overload(ctx); err != nil {
		return nil, err
	}
	select {
	case <-s.Exited():
		res.Exited = fmt.Sprintf("ringmetrics exited during the run; see %s", s.LogPath)
	default:
	}
	if peak, err := bench.StatusBytes(s.PID(), "VmHWM"); err == nil {
		res.PeakRSS = peak
	}
	res.Elapsed = time.Since(res.Started)
	res.judge()
	return res, nil
}

// bindReaders lets the soak's users read metrics.k8s.io through the role
// bed.ApplyRBAC aggregates to view.
func bindReaders(ctx context.Context, b *bed.Bed) error {
	var subjects []rbacv1.Subject
	for _, u := range []string{hpaUser, topUser, getUser, abusiveUser} {
		subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u})
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "soak-metrics-readers"},
		Subjects:   subjects,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:aggregated-metrics-reader"},
	}
	_, err := b.Cluster.Client().RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding the soak's users: %w", err)
	}
	return nil
}

// runner holds one run's bed, clients and targets.
type runner struct {
	cfg    Config
	bed    *bed.Bed
	server *bed.Server
	res    *Result

	admin                   *http.Client // system:masters, straight to ringmetrics
	hpa, top, get, abuser   *http.Client
	hpaURLs, getURLs        []string
	topURL, nodesURL, abuse string
}

func (r *runner) clients() error {
	var err error
	if r.admin, err = bench.AdminClient(r.bed, true); err != nil {
		return err
	}
	for _, c := range []struct {
		client **http.Client
		user   string
		direct bool
	}{{&r.hpa, hpaUser, false}, {&r.top, topUser, false}, {&r.get, getUser, false}, {&r.abuser, abusiveUser, true}} {
		newClient := bed.APIServerClient
		if c.direct {
			newClient = bed.DirectClient
		}
		if *c.client, err = newClient(r.bed.Cluster, c.user); err != nil {
			return err
		}
		(*c.client).Timeout = requestTimeout
		tr := (*c.client).Transport.(*http.Transport)
		tr.ForceAttemptHTTP2 = true
		tr.MaxIdleConnsPerHost = 64
	}

	agg := r.bed.Cluster.URL + bed.GroupVersionPath
	r.topURL = agg + "/pods"
	r.abuse = r.server.URL() + bed.GroupVersionPath + "/pods"
	r.nodesURL = r.server.URL() + bed.GroupVersionPath + "/nodes"
	// An HPA's query: a namespace and the app label of its first pod.
	pods := r.bed.Fleet.Pods()
	first := map[string]string{}
	for _, p := range pods {
		if _, ok := first[p.Namespace]; !ok {
			first[p.Namespace] = p.Labels["app"]
		}
	}
	for i := range r.cfg.HPANamespaces {
		ns := fmt.Sprintf("soak-%02d", i*r.cfg.Namespaces/r.cfg.HPANamespaces)
		app, ok := first[ns]
		if !ok {
			return fmt.Errorf("namespace %s has no pod", ns)
		}
		r.hpaURLs = append(r.hpaURLs, agg+"/namespaces/"+ns+"/pods?labelSelector="+url.QueryEscape("app="+app))
	}
	n := min(r.cfg.GetPods, len(pods))
	for i := range n {
		p := pods[i*len(pods)/n]
		r.getURLs = append(r.getURLs, agg+"/namespaces/"+p.Namespace+"/pods/"+p.Name)
	}
	r.res.Pods = len(pods)
	return nil
}

// soak runs the steady clients, samples the process and watches freshness
// for Duration.
func (r *runner) soak(ctx context.Context) error {
	cfg := r.cfg
	r.cfg.Logf("soak: %v of steady load", cfg.Duration)
	recs := map[Kind]*recorder{HPAList: newRecorder(), TopList: newRecorder(), GetPod: newRecorder(), NodeList: newRecorder()}
	var fresh freshness
	loadCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { hpaClient(loadCtx, r.hpa, r.hpaURLs, cfg.HPAInterval, cfg.HPAWorkers, recs[HPAList]) })
	wg.Go(func() { topClient(loadCtx, r.top, r.topURL, cfg.TopInterval, r.res.Pods, recs[TopList]) })
	wg.Go(func() { getClient(loadCtx, r.get, r.getURLs, cfg.GetRate, recs[GetPod]) })
	wg.Go(func() {
		limit := time.Duration(cfg.FreshnessLimit) * cfg.Resolution
		watchFreshness(loadCtx, r.admin, r.nodesURL, cfg.Resolution/2, limit, cfg.Nodes, recs[NodeList], &fresh)
	})

	start := time.Now()
	sampleErr := func() error {
		for i := 1; ; i++ {
			at := start.Add(time.Duration(i) * cfg.SampleEvery)
			if at.After(start.Add(cfg.Duration)) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-r.server.Exited():
				return nil
			case <-time.After(time.Until(at)):
			}
			smp, err := r.sample(ctx, time.Since(start))
			if err != nil {
				return err
			}
			r.res.Samples = append(r.res.Samples, smp)
			r.cfg.Logf("soak: %v: RSS %.1f MiB, heap %.1f MiB, %d goroutines", smp.At.Round(time.Second), mib(smp.RSS), mib(smp.Heap), smp.Goroutines)
		}
	}()
	stop()
	wg.Wait()
	if sampleErr != nil {
		return fmt.Errorf("sampling ringmetrics: %w", sampleErr)
	}
	for _, k := range []Kind{HPAList, TopList, GetPod, NodeList} {
		r.res.Soak = append(r.res.Soak, recs[k].stats(k, cfg.Duration))
	}
	r.res.Freshness = Freshness{Checks: fresh.Checks, Violations: fresh.Violations, MaxAge: fresh.MaxAge, FirstProblem: fresh.FirstProblem,
		Limit: time.Duration(cfg.FreshnessLimit) * cfg.Resolution}
	return nil
}

func (r *runner) sample(ctx context.Context, at time.Duration) (Sample, error) {
	rss, err := bench.StatusBytes(r.server.PID(), "VmRSS")
	if err != nil {
		return Sample{}, err
	}
	heap, goroutines, err := bench.ServerMetrics(ctx, r.admin, r.server.URL())
	if err != nil {
		return Sample{}, err
	}
	return Sample{At: at, RSS: rss, Heap: heap, Goroutines: goroutines}, nil
}

// overload runs the abusive clients straight at ringmetrics next to the
// HPA-like client through the aggregator, sampling RSS every second.
func (r *runner) overload(ctx context.Context) error {
	cfg := r.cfg
	o := cfg.Overload
	r.cfg.Logf("soak: %v of overload, %d abusive clients", o.Duration, o.AbusiveClients)
	hpa, abusive := newRecorder(), newRecorder()
	before, err := bench.StatusBytes(r.server.PID(), "VmRSS")
	if err != nil {
		return err
	}
	loadCtx, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { hpaClient(loadCtx, r.hpa, r.hpaURLs, cfg.HPAInterval, cfg.HPAWorkers, hpa) })
	for range o.AbusiveClients {
		wg.Go(func() { abusiveClient(loadCtx, r.abuser, r.abuse, o.RetryAfter429, abusive) })
	}
	var maxRSS int64
	tick := time.NewTicker(time.Second)
	for loadCtx.Err() == nil {
		select {
		case <-loadCtx.Done():
		case <-tick.C:
			if rss, err := bench.StatusBytes(r.server.PID(), "VmRSS"); err == nil {
				maxRSS = max(maxRSS, rss)
			}
		}
	}
	tick.Stop()
	wg.Wait()
	r.res.Overload = OverloadResult{
		HPA: hpa.stats(HPAList, o.Duration), Abusive: abusive.stats(AbusiveList, o.Duration),
		RSSBefore: before, MaxRSS: maxRSS,
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
