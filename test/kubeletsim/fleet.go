package kubeletsim

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// simLabel marks every object the fleet creates.
const simLabel = "kubeletsim.ringmetrics.dev/simulated"

// ErrNotFound is returned (wrapped) for an unknown node, pod or container.
var ErrNotFound = errors.New("not found")

// Fleet is a set of simulated kubelets and their workload. Its methods are
// safe for concurrent use.
type Fleet struct {
	cfg   Config
	ca    *x509.Certificate
	certs *certCache
	auth  *authorizer
	srv   *http.Server
	// relativeStarts writes container_start_time_seconds as seconds since
	// the container started, as one kubelet-compatible agent does, instead
	// of a Unix time.
	relativeStarts atomic.Bool
	// housekeeping caches each node's sample while SetSampleInterval is on.
	housekeeping housekeeping

	// mu guards everything below it and the nodes, pods and containers they
	// reach. Scrapes hold it for reading; changes hold it for writing.
	mu        sync.RWMutex
	nodes     []*node // by index; nil once deleted
	byName    map[string]*node
	byAddr    map[netip.Addr]*node
	pods      map[podKey]*pod
	workloads map[podKey]*workload
	nextNode  int // round-robin position for workload pods
	started   bool

	done      chan struct{}
	closeOnce sync.Once
	serving   sync.WaitGroup
	requests  atomic.Uint64 // seeds garbage bodies
	hanging   atomic.Int32  // requests held by FaultHang
	bufs      sync.Pool     // *[]byte
}

// NodeInfo describes one simulated node.
type NodeInfo struct {
	Name string
	Addr netip.Addr
	// Port is 0 until Start when Config.Port is AnyPort.
	Port int
}

// Endpoint is the node's host:port.
func (n NodeInfo) Endpoint() string { return net.JoinHostPort(n.Addr.String(), strconv.Itoa(n.Port)) }

// PodInfo describes one simulated pod.
type PodInfo struct {
	Namespace, Name, Node string
	UID                   string
	Labels                map[string]string
	Containers            []string
	Hidden                bool
}

// New builds the fleet's nodes and pods. It opens no listener and creates no
// API object: see Start and Create.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.complete(); err != nil {
		return nil, fmt.Errorf("invalid kubeletsim config: %w", err)
	}
	f := &Fleet{
		cfg:       cfg,
		byName:    make(map[string]*node, cfg.Nodes),
		byAddr:    make(map[netip.Addr]*node, cfg.Nodes),
		pods:      make(map[podKey]*pod, cfg.Nodes*cfg.PodsPerNode),
		workloads: make(map[podKey]*workload),
		done:      make(chan struct{}),
	}
	ca, caKey := cfg.CA, cfg.CAKey
	if ca == nil {
		var err error
		if ca, caKey, err = newCA(); err != nil {
			return nil, err
		}
	}
	f.ca = ca
	certs, err := newCertCache(ca, caKey, f.nodeNameByAddr)
	if err != nil {
		return nil, err
	}
	f.certs = certs
	if !cfg.AuthDisabled {
		if cfg.ClientCAs == nil {
			f.cfg.ClientCAs = x509.NewCertPool()
			f.cfg.ClientCAs.AddCert(ca)
		}
		f.auth = newAuthorizer(cfg.Client, cfg.Clock, authTTLs{token: cfg.AuthTokenTTL, allowed: cfg.AuthAllowedTTL, denied: cfg.AuthDeniedTTL}, cfg.Logf)
	}
	f.build()
	return f, nil
}

// build creates the nodes and the seeded pods.
func (f *Fleet) build() {
	cfg := &f.cfg
	nowMs := cfg.Clock.Now().UnixMilli()
	nodeStart := nowMs - cfg.NodeStartAge.Milliseconds()
	podStart := nowMs - cfg.PodStartAge.Milliseconds()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6b75626572736d))
	labelSets := make([]map[string]string, cfg.Workloads)
	for w := range labelSets {
		labelSets[w] = map[string]string{"app": fmt.Sprintf("sim-app-%d", w), simLabel: "true"}
	}
	specs := make([]ContainerSpec, cfg.ContainersPerPod)
	f.nodes = make([]*node, cfg.Nodes)
	for i := range cfg.Nodes {
		addr, _ := NodeAddr(cfg.FirstIP, i) // validated by complete
		n := &node{
			index:    i,
			name:     cfg.NodePrefix + strconv.Itoa(i),
			addr:     addr,
			port:     max(cfg.Port, 0),
			startMs:  nodeStart,
			sysMilli: cfg.SystemCPUMilli,
			sysMem:   cfg.SystemMemBytes,
			pods:     make([]*pod, 0, cfg.PodsPerNode),
		}
		for j := range cfg.PodsPerNode {
			for c := range specs {
				specs[c] = ContainerSpec{
					Name:       containerName(c),
					CPURequest: cfg.CPURequest,
					MemRequest: cfg.MemRequest,
					CPUMilli:   cfg.CPUMilliMin + rng.Int64N(cfg.CPUMilliMax-cfg.CPUMilliMin+1),
					MemBytes:   (cfg.MemBytesMin + rng.Int64N(cfg.MemBytesMax-cfg.MemBytesMin+1)) &^ 4095,
				}
			}
			ns := cfg.Namespaces[(i*cfg.PodsPerNode+j)%len(cfg.Namespaces)]
			labels := labelSets[j%cfg.Workloads]
			name := fmt.Sprintf("%s-n%d", labels["app"], i)
			if j >= cfg.Workloads {
				name += "-" + strconv.Itoa(j/cfg.Workloads)
			}
			p := newPod(n, ns, name, labels, specs, podStart, nowMs, cfg.Seed)
			n.pods = append(n.pods, p)
			f.pods[podKey{ns, name}] = p
		}
		nodeMilli, _ := n.usage()
		n.cpu = startedCounter(nodeStart, nowMs, nodeMilli)
		n.rebuild(nowMs)
		f.nodes[i] = n
		f.byName[n.name] = n
		f.byAddr[addr] = n
	}
}

func containerName(i int) string {
	if i == 0 {
		return "app"
	}
	return "sidecar-" + strconv.Itoa(i)
}

// Start opens one listener per node and serves them until Close. With
// Config.Port = AnyPort, every node gets a free port of its own.
func (f *Fleet) Start() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		return errors.New("kubeletsim: fleet already started")
	}
	f.started = true
	tlsConf := f.tlsConfig()
	f.srv = &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(logfWriter(f.cfg.Logf), "kubeletsim: ", 0),
	}
	if f.cfg.DisableHTTP2 {
		f.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	var opened []*node
	for _, n := range f.nodes {
		if n == nil || n.gone {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(n.addr.String(), strconv.Itoa(max(f.cfg.Port, 0))))
		if err != nil {
			for _, o := range opened {
				o.ln.Close()
				o.ln = nil
			}
			return fmt.Errorf("node %s: %w", n.name, err)
		}
		n.port = ln.Addr().(*net.TCPAddr).Port
		n.ln = ln
		opened = append(opened, n)
	}
	for _, n := range opened {
		f.serve(n.ln, tlsConf)
	}
	if len(opened) > 0 {
		f.cfg.Logf("kubeletsim: %d kubelets listening on %s to %s", len(opened), opened[0].Endpoint(), opened[len(opened)-1].Endpoint())
	}
	return nil
}

// logfWriter adapts Logf to the net/http server's error log.
type logfWriter func(format string, args ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (f *Fleet) serve(ln net.Listener, tlsConf *tls.Config) {
	f.serving.Add(1)
	go func() {
		defer f.serving.Done()
		_ = f.srv.Serve(tls.NewListener(ln, tlsConf)) // returns when ln closes
	}()
}

// Close stops every listener, aborts hung requests and closes all
// connections. It does not delete API objects.
func (f *Fleet) Close() error {
	f.closeOnce.Do(func() {
		close(f.done)
		f.mu.Lock()
		srv := f.srv
		f.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
		f.serving.Wait()
	})
	return nil
}

// CACert is the CA that signed the serving certificates: Config.CA, or the
// throwaway CA New made when Config.CA was nil.
func (f *Fleet) CACert() *x509.Certificate { return f.ca }

// CAPool is a pool holding CACert, for clients of the fleet.
func (f *Fleet) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(f.ca)
	return p
}

// Nodes lists the live nodes in index order.
func (f *Fleet) Nodes() []NodeInfo {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]NodeInfo, 0, len(f.byName))
	for _, n := range f.nodes {
		if n != nil && !n.gone {
			out = append(out, n.info())
		}
	}
	return out
}

// Node describes the named node.
func (f *Fleet) Node(name string) (NodeInfo, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := f.byName[name]
	if n == nil {
		return NodeInfo{}, false
	}
	return n.info(), true
}

func (n *node) info() NodeInfo { return NodeInfo{Name: n.name, Addr: n.addr, Port: n.port} }

// Endpoint is the node's host:port.
func (n *node) Endpoint() string { return n.info().Endpoint() }

// Pods lists every simulated pod, hidden ones included, by node then
// creation order.
func (f *Fleet) Pods() []PodInfo {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]PodInfo, 0, len(f.pods))
	for _, n := range f.nodes {
		if n == nil {
			continue
		}
		for _, p := range n.pods {
			out = append(out, p.info())
		}
	}
	return out
}

func (p *pod) info() PodInfo {
	pi := PodInfo{Namespace: p.namespace, Name: p.name, Node: p.node.name, UID: p.uid, Labels: maps.Clone(p.labels), Hidden: p.hidden}
	for _, c := range p.containers {
		pi.Containers = append(pi.Containers, c.name)
	}
	return pi
}

func (f *Fleet) nodeNameByAddr(a netip.Addr) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if n := f.byAddr[a]; n != nil {
		return n.name
	}
	return ""
}

// nowMs is the clock's time, in whole milliseconds: samples are taken at it
// and counters computed from it, so rates are exact.
func (f *Fleet) nowMs() int64 { return f.cfg.Clock.Now().UnixMilli() }
