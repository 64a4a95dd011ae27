// Package cluster starts and stops a real Kubernetes control plane on
// 127.0.0.1 for end-to-end tests: etcd, kube-apiserver and, optionally,
// kube-controller-manager running only the horizontal pod autoscaler.
//
// There is no kubelet, scheduler or service-account controller: tests create
// nodes and pods directly and set their status through the status
// subresource, and Start creates the default ServiceAccounts itself.
//
// Every component listens on a free loopback port, so several clusters can
// run side by side. Each is killed by the kernel if the process that
// started it dies (Linux), so nothing outlives a test binary.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
)

// stopGrace is how long a component gets between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// portAttempts bounds the retries when another process takes a port between
// our probing it and the component binding it.
const portAttempts = 5

// Cluster is a running control plane. Its exported fields are read-only.
type Cluster struct {
	// Dir holds pki/, etcd/, kubeconfig/ and logs/.
	Dir string
	// URL is the apiserver's address, https://127.0.0.1:<port>.
	URL string
	// EtcdURL is etcd's client address, http://127.0.0.1:<port>.
	EtcdURL string
	// AdminKubeconfig is a kubeconfig for a system:masters user.
	AdminKubeconfig string
	// StartTimes says how long each phase of Start took.
	StartTimes StartTimes

	opts       Options
	createdDir bool

	ca           *authority
	frontProxyCA *authority
	adminCert    []byte
	adminKey     []byte
	client       kubernetes.Interface

	etcd      *process
	apiserver *process
	kcm       *process // nil unless Options.ControllerManager

	mu      sync.Mutex // serialises Stop and RestartAPIServer
	stopped bool
	keepDir bool // set by StartT when the test failed
}

// StartTimes is the measured duration of each phase of Start.
type StartTimes struct {
	PKI               time.Duration // CA, certificates, keys, kubeconfigs
	Etcd              time.Duration // until /health answers true
	APIServer         time.Duration // until /readyz answers ok
	Setup             time.Duration // namespaces present, default ServiceAccounts created
	ControllerManager time.Duration // until /healthz answers ok and its HPA ServiceAccount exists
	Total             time.Duration
}

func (s StartTimes) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	out := fmt.Sprintf("%v (pki %v, etcd %v, kube-apiserver %v, setup %v", r(s.Total), r(s.PKI), r(s.Etcd), r(s.APIServer), r(s.Setup))
	if s.ControllerManager > 0 {
		out += fmt.Sprintf(", kube-controller-manager %v", r(s.ControllerManager))
	}
	return out + ")"
}

// Start starts a control plane and returns when it is ready: kube-apiserver
// reports /readyz ok, the default and kube-system namespaces hold a default
// ServiceAccount, and (with ControllerManager) kube-controller-manager is
// healthy. ctx bounds the start only; the cluster runs until Stop.
//
// When a component does not come up, Start stops what it started, keeps
// Dir, and returns an error naming the component, its log file and the end
// of that log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	t0 := time.Now()
	if err := opts.complete(); err != nil {
		return nil, err
	}
	bins := map[string]string{}
	names := []string{"etcd", "kube-apiserver"}
	if opts.ControllerManager {
		names = append(names, "kube-controller-manager")
	}
	for _, name := range names {
		path, err := findBinary(opts.BinDir, name)
		if err != nil {
			return nil, err
		}
		bins[name] = path
	}

	c := &Cluster{opts: opts, Dir: opts.Dir}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	opts.Logf("cluster: starting control plane in %s", c.Dir)

	if err := c.writePKI(); err != nil {
		if c.createdDir {
			os.RemoveAll(c.Dir)
		}
		return nil, fmt.Errorf("writing certificates: %w", err)
	}
	c.StartTimes.PKI = time.Since(t0)

	c.etcd = &process{name: "etcd", bin: bins["etcd"], logPath: filepath.Join(c.LogDir(), "etcd.log")}
	c.apiserver = &process{name: "kube-apiserver", bin: bins["kube-apiserver"], logPath: filepath.Join(c.LogDir(), "kube-apiserver.log")}
	if opts.ControllerManager {
		c.kcm = &process{name: "kube-controller-manager", bin: bins["kube-controller-manager"], logPath: filepath.Join(c.LogDir(), "kube-controller-manager.log")}
	}

	if err := c.startAll(ctx); err != nil {
		_ = c.stopProcesses()
		return nil, fmt.Errorf("starting test cluster (files kept in %s): %w", c.Dir, err)
	}
	c.StartTimes.Total = time.Since(t0)
	opts.Logf("cluster: control plane ready at %s in %v", c.URL, c.StartTimes)
	return c, nil
}

func (c *Cluster) startAll(ctx context.Context) error {
	t := time.Now()
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	c.StartTimes.Etcd = time.Since(t)

	t = time.Now()
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	c.StartTimes.APIServer = time.Since(t)

	t = time.Now()
	if err := c.setup(ctx); err != nil {
		return err
	}
	c.StartTimes.Setup = time.Since(t)

	if c.kcm != nil {
		t = time.Now()
		if err := c.startControllerManager(ctx); err != nil {
			return err
		}
		c.StartTimes.ControllerManager = time.Since(t)
	}
	return nil
}

// prepareDir creates Dir (a temporary one when none was given) and its
// subdirectories, and removes etcd data from an earlier run so every Start
// begins with an empty cluster.
func (c *Cluster) prepareDir() error {
	if c.Dir == "" {
		dir, err := os.MkdirTemp("", "ringmetrics-cluster-")
		if err != nil {
			return fmt.Errorf("creating cluster directory: %w", err)
		}
		c.Dir, c.createdDir = dir, true
	} else {
		abs, err := filepath.Abs(c.Dir)
		if err != nil {
			return fmt.Errorf("cluster directory %q: %w", c.Dir, err)
		}
		c.Dir = abs
		if err := os.RemoveAll(filepath.Join(c.Dir, "etcd")); err != nil {
			return fmt.Errorf("removing old etcd data: %w", err)
		}
	}
	for _, sub := range []string{"pki", "logs", "kubeconfig", "etcd"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, sub), 0o700); err != nil {
			return fmt.Errorf("creating cluster directory: %w", err)
		}
	}
	return nil
}

// LogDir holds one <component>.log per component.
func (c *Cluster) LogDir() string { return filepath.Join(c.Dir, "logs") }

// LogFiles maps each component's name to its log file.
func (c *Cluster) LogFiles() map[string]string {
	out := map[string]string{}
	for _, p := range c.processes() {
		out[p.name] = p.logPath
	}
	return out
}

// APIServerPID is the process id of the running kube-apiserver, or 0. Read
// its memory with RSS.
func (c *Cluster) APIServerPID() int { return c.apiserver.pid() }

// EtcdPID is the process id of the running etcd, or 0.
func (c *Cluster) EtcdPID() int { return c.etcd.pid() }

// ControllerManagerPID is the process id of the running
// kube-controller-manager, or 0.
func (c *Cluster) ControllerManagerPID() int {
	if c.kcm == nil {
		return 0
	}
	return c.kcm.pid()
}

// processes lists the components in start order.
func (c *Cluster) processes() []*process {
	ps := []*process{c.etcd, c.apiserver}
	if c.kcm != nil {
		ps = append(ps, c.kcm)
	}
	return ps
}

// Stop stops every component (SIGTERM, then SIGKILL after 5s) in reverse
// start order and removes a temporary Dir unless it is to be kept. Calling it
// again does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	err := c.stopProcesses()
	if err == nil && c.createdDir && !c.opts.KeepDir && !c.keepDir {
		err = os.RemoveAll(c.Dir)
	} else {
		c.opts.Logf("cluster: files kept in %s", c.Dir)
	}
	return err
}

func (c *Cluster) stopProcesses() error {
	var errs []error
	ps := c.processes()
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i] == nil {
			continue
		}
		if err := ps[i].stop(stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// launch starts p on fresh ports and waits until ready reports nil. When
// the process dies because a port was taken meanwhile, it retries on new
// ports. configure receives the ports and sets p.args.
func (c *Cluster) launch(ctx context.Context, p *process, nports int, configure func(ports []int) error, ready func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(nports)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if err := configure(ports); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if err := p.start(false); err != nil {
			return p.failure(err)
		}
		err = c.waitReady(ctx, p, ready)
		if err == nil {
			c.opts.Logf("cluster: %s ready (pid %d, ports %v)", p.name, p.pid(), ports)
			return nil
		}
		_ = p.stop(stopGrace)
		if errors.Is(err, errExited) && p.addrInUse() && attempt < portAttempts {
			c.opts.Logf("cluster: %s lost a port race on %v, retrying on new ports", p.name, ports)
			continue
		}
		return p.failure(err)
	}
}

var errExited = errors.New("exited")

// waitReady polls ready until it succeeds, the process exits, the start
// timeout passes or ctx ends.
func (c *Cluster) waitReady(ctx context.Context, p *process, ready func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-p.exited():
			return fmt.Errorf("%w before becoming ready: %v", errExited, p.exitErr())
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("not ready after %v: %w", c.opts.StartTimeout, last)
		case <-tick.C:
		}
		probeCtx, cancelProbe := context.WithTimeout(ctx, 2*time.Second)
		last = ready(probeCtx)
		cancelProbe()
		if last == nil {
			return nil
		}
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// The listeners are held together so the kernel cannot hand out one port
// twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
