package kubeletsim

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// The kubelet's webhook cache TTLs, which the simulator keeps by default.
const (
	DefaultAuthTokenTTL   = 2 * time.Minute
	DefaultAuthAllowedTTL = 5 * time.Minute
	DefaultAuthDeniedTTL  = 30 * time.Second
)

// DefaultFirstIP is the address of node 0 unless Config.FirstIP says
// otherwise. 127.0.0.1 is left to the control plane.
var DefaultFirstIP = netip.AddrFrom4([4]byte{127, 1, 0, 1})

const (
	// DefaultPort is the kubelet's secure port.
	DefaultPort = 10250
	// AnyPort as Config.Port gives every node a free port of its own.
	AnyPort = -1
)

// Config describes a fleet. The zero value of every field but the ones marked
// required has a usable default, filled in by New.
type Config struct {
	// Nodes is the number of simulated nodes.
	Nodes int
	// PodsPerNode is the number of pods New places on every node.
	PodsPerNode int
	// ContainersPerPod is the number of containers in each of those pods.
	// Default 1.
	ContainersPerPod int
	// NodePrefix names node i NodePrefix+i. Default "sim-node-".
	NodePrefix string
	// Namespaces receive the pods in turn. Default ["kubeletsim"].
	Namespaces []string
	// Workloads is how many distinct app=<name> labels the pods New creates
	// are spread over (pod j of every node gets app=sim-app-<j%Workloads>).
	// Default PodsPerNode.
	Workloads int

	// Seed seeds the usage of every container New creates.
	Seed uint64
	// CPUMilliMin and CPUMilliMax bound each container's CPU usage, in
	// millicores, inclusive. Default 5 and 500.
	CPUMilliMin, CPUMilliMax int64
	// MemBytesMin and MemBytesMax bound each container's working set, in
	// bytes, inclusive; values are rounded down to whole 4 KiB pages.
	// Default 32 MiB and 512 MiB.
	MemBytesMin, MemBytesMax int64
	// SystemCPUMilli and SystemMemBytes are each node's usage beyond its
	// pods (kubelet, runtime, system daemons). Default 100m and 512 MiB.
	SystemCPUMilli, SystemMemBytes int64

	// CPURequest and MemRequest are every container's requests.
	// Default 100m and 128Mi.
	CPURequest, MemRequest resource.Quantity
	// NodeCPU, NodeMemory and NodePods are each node's capacity (and
	// allocatable). Default 32 cores, 128Gi and max(110, PodsPerNode).
	NodeCPU, NodeMemory resource.Quantity
	NodePods            int
	// NodeLabels are added to every node's labels.
	NodeLabels map[string]string

	// PodStartAge is how long before New the pods started. Default 10
	// minutes: the HPA ignores the CPU of pods started less than 5 minutes
	// ago.
	PodStartAge time.Duration
	// NodeStartAge is how long before New the nodes started. Default 1 hour.
	NodeStartAge time.Duration

	// FirstIP is node 0's address; node i gets the i-th address after it,
	// skipping x.y.z.0 and x.y.z.255. It must lie in 127.0.0.0/8 above
	// 127.0.0.1. Default 127.1.0.1.
	FirstIP netip.Addr
	// Port is the port every node listens on, and the one published in
	// Node.status.daemonEndpoints. AnyPort picks a free port per node at
	// Start (handy in unit tests). Default DefaultPort.
	Port int
	// DisableHTTP2 serves HTTP/1.1 only.
	DisableHTTP2 bool

	// CA and CAKey sign the nodes' serving certificates. When CA is nil, New
	// creates a throwaway CA (see Fleet.CACert).
	CA    *x509.Certificate
	CAKey crypto.Signer
	// ClientCAs verifies client certificates. Default: a pool holding CA.
	ClientCAs *x509.CertPool
	// AuthDisabled serves every request without authentication or
	// authorisation, for benchmarks.
	AuthDisabled bool
	// AuthTokenTTL, AuthAllowedTTL and AuthDeniedTTL are how long a
	// TokenReview, an allowing and a denying SubjectAccessReview are cached.
	// Defaults are the kubelet's: 2 minutes, 5 minutes and 30 seconds
	// (--authentication-token-webhook-cache-ttl,
	// --authorization-webhook-cache-authorized-ttl and -unauthorized-ttl).
	AuthTokenTTL, AuthAllowedTTL, AuthDeniedTTL time.Duration

	// Client creates the API objects and performs TokenReviews and
	// SubjectAccessReviews. Required for Create and for authentication.
	Client kubernetes.Interface
	// Workers is the number of concurrent requests Create issues. Default
	// 32. The caller should raise the rest.Config's QPS and Burst to match.
	Workers int

	// Clock is the source of sample times, start times and auth cache
	// expiry. Default the real clock.
	Clock clock.Clock
	// Logf receives progress and unexpected errors. Default: discard.
	Logf func(format string, args ...any)
}

// complete fills in defaults and validates the result.
func (c *Config) complete() error {
	if c.ContainersPerPod == 0 {
		c.ContainersPerPod = 1
	}
	if c.NodePrefix == "" {
		c.NodePrefix = "sim-node-"
	}
	if len(c.Namespaces) == 0 {
		c.Namespaces = []string{"kubeletsim"}
	}
	if c.Workloads == 0 {
		c.Workloads = max(c.PodsPerNode, 1)
	}
	if c.CPUMilliMin == 0 && c.CPUMilliMax == 0 {
		c.CPUMilliMin, c.CPUMilliMax = 5, 500
	}
	if c.MemBytesMin == 0 && c.MemBytesMax == 0 {
		c.MemBytesMin, c.MemBytesMax = 32<<20, 512<<20
	}
	if c.SystemCPUMilli == 0 {
		c.SystemCPUMilli = 100
	}
	if c.SystemMemBytes == 0 {
		c.SystemMemBytes = 512 << 20
	}
	if c.CPURequest.IsZero() {
		c.CPURequest = resource.MustParse("100m")
	}
	if c.MemRequest.IsZero() {
		c.MemRequest = resource.MustParse("128Mi")
	}
	if c.NodeCPU.IsZero() {
		c.NodeCPU = resource.MustParse("32")
	}
	if c.NodeMemory.IsZero() {
		c.NodeMemory = resource.MustParse("128Gi")
	}
	if c.NodePods == 0 {
		c.NodePods = max(110, c.PodsPerNode)
	}
	if c.PodStartAge == 0 {
		c.PodStartAge = 10 * time.Minute
	}
	if c.NodeStartAge == 0 {
		c.NodeStartAge = time.Hour
	}
	if !c.FirstIP.IsValid() {
		c.FirstIP = DefaultFirstIP
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.AuthTokenTTL == 0 {
		c.AuthTokenTTL = DefaultAuthTokenTTL
	}
	if c.AuthAllowedTTL == 0 {
		c.AuthAllowedTTL = DefaultAuthAllowedTTL
	}
	if c.AuthDeniedTTL == 0 {
		c.AuthDeniedTTL = DefaultAuthDeniedTTL
	}
	if c.Workers == 0 {
		c.Workers = 32
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.Nodes < 0 || c.PodsPerNode < 0 || c.ContainersPerPod < 1 || c.Workloads < 1 {
		errs = append(errs, fmt.Errorf("counts must not be negative: nodes %d, pods per node %d, containers per pod %d, workloads %d",
			c.Nodes, c.PodsPerNode, c.ContainersPerPod, c.Workloads))
	}
	if c.CPUMilliMin < 0 || c.CPUMilliMax < c.CPUMilliMin {
		errs = append(errs, fmt.Errorf("cpu range [%d, %d] millicores is empty or negative", c.CPUMilliMin, c.CPUMilliMax))
	}
	if c.MemBytesMin < 0 || c.MemBytesMax < c.MemBytesMin {
		errs = append(errs, fmt.Errorf("memory range [%d, %d] bytes is empty or negative", c.MemBytesMin, c.MemBytesMax))
	}
	if c.SystemCPUMilli < 0 || c.SystemMemBytes < 0 {
		errs = append(errs, errors.New("system overhead must not be negative"))
	}
	if c.Port != AnyPort && (c.Port < 1 || c.Port > 65535) {
		errs = append(errs, fmt.Errorf("port %d out of range", c.Port))
	}
	if _, err := NodeAddr(c.FirstIP, max(c.Nodes-1, 0)); err != nil {
		errs = append(errs, err)
	}
	if c.CA != nil && c.CAKey == nil {
		errs = append(errs, errors.New("CA given without CAKey"))
	}
	if msgs := validation.IsDNS1123Subdomain(c.NodePrefix + "0"); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("node prefix %q: %v", c.NodePrefix, msgs))
	}
	for _, ns := range c.Namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("namespace %q: %v", ns, msgs))
		}
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers %d must be positive", c.Workers))
	}
	return errors.Join(errs...)
}
