// Package bench measures ringmetrics side by side with the pinned
// metrics-server on the test bed: a real control plane, simulated kubelets,
// and each server in turn registered behind the aggregator.
//
// One bed is started per scale. The servers then run in alternating phases
// (ringmetrics, metrics-server, ringmetrics, metrics-server), only one at a
// time, so that a drift of the shared machine's load falls on both. In each
// phase the server is started, waited for until Ready, registered as the
// APIService, left to scrape a few rounds, and measured: resident memory
// and Go heap, CPU per scrape round, the freshness of what it serves, API
// latency through the aggregator and directly, JSON and protobuf, and the
// time it took to become Ready. Report and Chart render the medians over
// phases.
//
// The harness is a library so that a small run can be a test (see
// bench_test.go) and the full run a command (test/cmd/bench).
package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Server names one of the two servers under test.
type Server string

const (
	Ringmetrics   Server = "ringmetrics"
	MetricsServer Server = "metrics-server"
)

// Config is one harness run over several scales.
type Config struct {
	// Ringmetrics is the path of the ringmetrics binary.
	Ringmetrics string
	// KubeletAuth makes the simulated kubelets authenticate and authorize
	// every request (TokenReview and SubjectAccessReview against the
	// kube-apiserver, cached as a kubelet caches them), as real kubelets
	// do; off, they ask for nothing.
	KubeletAuth bool
	// RingmetricsEnv is added to ringmetrics's environment (NAME=value
	// pairs, such as GOGC=100); metrics-server's is left as inherited.
	RingmetricsEnv []string
	// Scales are run in order, each on a bed of its own.
	Scales []Scale
	// WorkDir receives one directory per scale (certificates, etcd data,
	// the servers' logs). It is removed after a scale that succeeded unless
	// KeepWorkDir is set.
	WorkDir     string
	KeepWorkDir bool
	// ProfileDir receives pprof profiles of the scales whose Profile is set;
	// empty takes none.
	ProfileDir string
	// Workers is the fleet's concurrency when creating objects. Default 64.
	Workers int
	// FirstIP is node 0's loopback address (see kubeletsim.Config.FirstIP).
	// A range of its own keeps the fleet clear of end-to-end tests that
	// other people run on the same machine on the default one.
	FirstIP netip.Addr
	// KubeletPort is every simulated kubelet's port: kubeletsim.AnyPort
	// gives each a free one, so that two runs on one machine never collide.
	// Default 10250.
	KubeletPort int
	// Logf receives progress. Default: discard.
	Logf func(format string, args ...any)
	// Done, when set, is called after every scale with the results so far,
	// so that a long run leaves its figures behind even if a later scale
	// fails.
	Done func(results []ScaleResult)
}

// Scale is one bed and the phases run on it.
type Scale struct {
	// Name identifies the scale in reports, file names and logs.
	Name        string
	Nodes       int
	PodsPerNode int
	// Namespaces the pods are spread over, round robin. Default 100.
	Namespaces int
	// Resolution is each server's --metric-resolution; a server without one
	// does not run at this scale.
	Resolution map[Server]time.Duration
	// PhasesPerServer is how many phases each server gets, alternating.
	PhasesPerServer int
	// SettleRounds is how many scrape rounds a server runs after Ready and
	// registration before anything is measured; at least MinSettle.
	SettleRounds int
	MinSettle    time.Duration
	// CPURounds is the span, in scrape rounds, CPU is measured over; at
	// least MinCPUSpan.
	CPURounds  int
	MinCPUSpan time.Duration
	// FreshnessNodes is how many nodes are sampled, FreshnessProbes times.
	FreshnessNodes  int
	FreshnessProbes int
	// Requests is the number of requests per endpoint, path and format.
	Requests map[Endpoint]int
	// Concurrency is the number of requests in flight.
	Concurrency int
	// ReadyTimeout bounds the wait for a server's /readyz.
	ReadyTimeout time.Duration
	// HistoryPoints, when positive, runs ringmetrics with --history of that
	// many resolutions and waits until the rings hold them all before
	// measuring (see FullHistory).
	HistoryPoints int
	// Profile takes pprof profiles of both servers in their last phase,
	// CPU ones over ProfileSeconds.
	Profile        bool
	ProfileSeconds int
}

// Endpoint is one kind of API request the harness times.
type Endpoint string

const (
	ListAllPods           Endpoint = "list-all-pods"
	ListNamespace         Endpoint = "list-namespace-pods"
	ListSelector          Endpoint = "list-selector-pods"
	GetPod                Endpoint = "get-pod"
	ListNodes             Endpoint = "list-nodes"
	Discovery             Endpoint = "discovery"
	defaultNamespace               = 100
	defaultPodsPerNode             = 30
	defaultResolution              = 15 * time.Second
	podsPerListAllRequest          = 100_000
)

// Endpoints in report order.
var Endpoints = []Endpoint{ListAllPods, ListNamespace, ListSelector, GetPod, ListNodes, Discovery}

// Servers in phase order: a scale alternates A B A B.
var Servers = []Server{Ringmetrics, MetricsServer}

// SideBySide is the standard scale: both servers at 15s, two phases each.
// LIST of all pods gets fewer requests at large scales (at least 50), the
// others 200 (100 NodeMetrics LISTs above 2 000 nodes).
func SideBySide(nodes int) Scale {
	s := base(fmt.Sprintf("%d", nodes), nodes)
	s.Resolution = map[Server]time.Duration{Ringmetrics: defaultResolution, MetricsServer: defaultResolution}
	return s
}

// FastRingmetrics is ringmetrics alone at 1s resolution (metrics-server
// refuses less than 10s). CPU is measured over at least 30s.
func FastRingmetrics(nodes int) Scale {
	s := base(fmt.Sprintf("%d@1s", nodes), nodes)
	s.Resolution = map[Server]time.Duration{Ringmetrics: time.Second}
	s.MinSettle = 10 * time.Second
	s.MinCPUSpan = 30 * time.Second
	return s
}

// FullHistoryPoints is what the default hour holds at 15s.
const FullHistoryPoints = 240

// FullHistory is ringmetrics alone with full rings: the side-by-side phases
// last a few rounds, so their rings hold a few points, not the default
// hour's 240. At 2s with --history=8m the rings hold 240 points after 8
// minutes instead of an hour; a point costs about the same at either
// cadence (store.BenchmarkPoints), so the RSS is that of the default
// history at 15s. One phase; the API is timed over full rings too.
func FullHistory(nodes int) Scale {
	s := base(fmt.Sprintf("%d-full", nodes), nodes)
	s.Resolution = map[Server]time.Duration{Ringmetrics: 2 * time.Second}
	s.HistoryPoints = FullHistoryPoints
	s.PhasesPerServer = 1
	// Every series full, and two rounds more.
	s.MinSettle = time.Duration(s.HistoryPoints+2) * s.Resolution[Ringmetrics]
	s.MinCPUSpan = 30 * time.Second
	return s
}

// Tiny is the smallest run that still produces every figure: 5 nodes × 3
// pods, one short phase each, ringmetrics at 2s and metrics-server at its
// 10s minimum. make test runs it.
func Tiny() Scale {
	s := base("tiny", 5)
	s.PodsPerNode = 3
	s.Namespaces = 3
	s.Resolution = map[Server]time.Duration{Ringmetrics: 2 * time.Second, MetricsServer: 10 * time.Second}
	s.PhasesPerServer = 1
	s.SettleRounds, s.CPURounds = 1, 1
	s.FreshnessNodes, s.FreshnessProbes = 5, 1
	for _, e := range Endpoints {
		s.Requests[e] = 5
	}
	s.Concurrency = 2
	s.ReadyTimeout = 90 * time.Second
	// A few more seconds than one round, so that an idle server's CPU
	// shows in 10 ms ticks.
	s.MinCPUSpan = 5 * time.Second
	s.Profile, s.ProfileSeconds = true, 2
	return s
}

func base(name string, nodes int) Scale {
	s := Scale{
		Name: name, Nodes: nodes, PodsPerNode: defaultPodsPerNode, Namespaces: defaultNamespace,
		PhasesPerServer: 2, SettleRounds: 3, CPURounds: 4,
		FreshnessNodes: 20, FreshnessProbes: 5,
		ProfileSeconds: 30,
		Requests:       map[Endpoint]int{},
		Concurrency:    4,
		// Ready needs informers synced over every pod and a full round.
		ReadyTimeout: 2*time.Minute + time.Duration(nodes)*60*time.Millisecond,
	}
	for _, e := range Endpoints {
		s.Requests[e] = 200
	}
	s.Requests[ListAllPods] = max(50, min(200, podsPerListAllRequest/max(nodes, 1)))
	if nodes > 2000 {
		s.Requests[ListNodes] = 100
	}
	return s
}

// servers lists the scale's servers in phase order.
func (s Scale) servers() []Server {
	var out []Server
	for _, srv := range Servers {
		if s.Resolution[srv] > 0 {
			out = append(out, srv)
		}
	}
	return out
}

// sideBySide says whether both servers run.
func (s Scale) sideBySide() bool { return len(s.servers()) == len(Servers) }

func (s Scale) settle(srv Server) time.Duration {
	return max(time.Duration(s.SettleRounds)*s.Resolution[srv], s.MinSettle)
}

func (s Scale) cpuSpan(srv Server) time.Duration {
	return max(time.Duration(s.CPURounds)*s.Resolution[srv], s.MinCPUSpan)
}

func (s Scale) validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("scale without a name"))
	}
	if s.Nodes < 1 || s.PodsPerNode < 1 || s.Namespaces < 1 {
		errs = append(errs, fmt.Errorf("scale %q: nodes %d, pods per node %d and namespaces %d must be positive", s.Name, s.Nodes, s.PodsPerNode, s.Namespaces))
	}
	if len(s.servers()) == 0 {
		errs = append(errs, fmt.Errorf("scale %q runs no server", s.Name))
	}
	if s.PhasesPerServer < 1 || s.SettleRounds < 0 || s.CPURounds < 1 || s.Concurrency < 1 || s.FreshnessNodes < 1 || s.FreshnessProbes < 1 {
		errs = append(errs, fmt.Errorf("scale %q: phases, CPU rounds, concurrency and freshness samples must be positive", s.Name))
	}
	for _, e := range Endpoints {
		if s.Requests[e] < 1 {
			errs = append(errs, fmt.Errorf("scale %q: no requests for %s", s.Name, e))
		}
	}
	return errors.Join(errs...)
}
