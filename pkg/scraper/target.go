package scraper

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// AnnotationResourceMetricsPath lets a node override the path its kubelet
// serves resource metrics on; metrics-server honours the same annotation.
const AnnotationResourceMetricsPath = "metrics.k8s.io/resource-metrics-path"

// DefaultResourceMetricsPath is the kubelet's resource metrics endpoint.
const DefaultResourceMetricsPath = "/metrics/resource"

// SummaryPath is the kubelet's Summary API endpoint.
const SummaryPath = "/stats/summary"

// maxResourcePathLen bounds the annotation; real kubelet paths are a few
// segments long.
const maxResourcePathLen = 256

// Endpoint selects which kubelet endpoint is scraped.
type Endpoint string

const (
	// EndpointResource scrapes /metrics/resource only, as metrics-server.
	EndpointResource Endpoint = "resource"
	// EndpointSummary scrapes /stats/summary only.
	EndpointSummary Endpoint = "summary"
	// EndpointAuto scrapes /metrics/resource and falls back, per node, to
	// /stats/summary when a kubelet does not serve resource metrics.
	EndpointAuto Endpoint = "auto"
)

// Endpoints lists the valid values, for flag help and validation.
var Endpoints = []Endpoint{EndpointAuto, EndpointResource, EndpointSummary}

// Target is where one node's kubelet endpoints are fetched. Both URLs are
// built from validated parts only, so nothing a node writes can move the
// request, and the credentials it carries, to another host.
type Target struct {
	resourceURL string
	summaryURL  string
}

// URL returns the target's URL for the resource metrics or the summary.
func (t Target) URL(summary bool) string {
	if summary {
		return t.summaryURL
	}
	return t.resourceURL
}

// DefaultAddressTypes is metrics-server's default address preference.
var DefaultAddressTypes = []corev1.NodeAddressType{
	corev1.NodeHostName,
	corev1.NodeInternalDNS,
	corev1.NodeInternalIP,
	corev1.NodeExternalDNS,
	corev1.NodeExternalIP,
}

// TargetResolver turns a Node into the URL its kubelet is scraped at.
type TargetResolver struct {
	// AddressTypes in order of preference.
	AddressTypes []corev1.NodeAddressType
	// Port is used unless UseNodeStatusPort is set and the node publishes one.
	Port              int
	UseNodeStatusPort bool
	// Scheme is "https" for real kubelets.
	Scheme string
	// APIServerURL, when set, reaches every kubelet through the
	// kube-apiserver's node proxy instead of directly: for clusters where the
	// server cannot reach kubelets, or runs outside the cluster.
	APIServerURL string
}

// Resolve returns where the node's kubelet is scraped. Every part a node
// controls (name, addresses, port, path annotation) is checked first; a
// node whose parts fail is a bad_target, not a request somewhere else.
func (r TargetResolver) Resolve(node *corev1.Node) (Target, error) {
	path := DefaultResourceMetricsPath
	if p, ok := node.Annotations[AnnotationResourceMetricsPath]; ok && p != "" {
		if err := checkResourcePath(p); err != nil {
			return Target{}, badTarget("annotation %s: %w", AnnotationResourceMetricsPath, err)
		}
		path = p
	}
	if r.APIServerURL != "" {
		return r.viaAPIServer(node.Name, path)
	}
	addr, err := r.address(node)
	if err != nil {
		return Target{}, err
	}
	port := r.Port
	if statusPort := node.Status.DaemonEndpoints.KubeletEndpoint.Port; r.UseNodeStatusPort && statusPort != 0 {
		if statusPort < 1 || statusPort > 65535 {
			return Target{}, badTarget("status port %d is not a port", statusPort)
		}
		port = int(statusPort)
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = "https"
	}
	base := url.URL{Scheme: scheme, Host: net.JoinHostPort(addr, strconv.Itoa(port))}
	return targetAt(base, path), nil
}

func (r TargetResolver) viaAPIServer(nodeName, path string) (Target, error) {
	// A node name is a DNS subdomain; anything else ("..", "a/b") could
	// step out of the node proxy prefix once the apiserver cleans the path.
	if errs := validation.IsDNS1123Subdomain(nodeName); len(errs) > 0 {
		return Target{}, badTarget("node name %q: %s", nodeName, strings.Join(errs, "; "))
	}
	base, err := url.Parse(r.APIServerURL)
	if err != nil {
		return Target{}, fmt.Errorf("apiserver URL %q: %w", r.APIServerURL, err)
	}
	base.Path = strings.TrimSuffix(base.Path, "/") + "/api/v1/nodes/" + nodeName + "/proxy"
	base.RawPath = ""
	return targetAt(*base, path), nil
}

func targetAt(base url.URL, resourcePath string) Target {
	prefix := base.Path
	base.Path = prefix + resourcePath
	resource := base.String()
	base.Path = prefix + SummaryPath
	return Target{resourceURL: resource, summaryURL: base.String()}
}

// address returns the node's first address of the preferred types. It does
// not skip to the next one when that address is malformed: a node quietly
// scraped elsewhere than its operator expects would hide the problem.
func (r TargetResolver) address(node *corev1.Node) (string, error) {
	types := r.AddressTypes
	if len(types) == 0 {
		types = DefaultAddressTypes
	}
	for _, t := range types {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				if err := checkHost(a.Address); err != nil {
					return "", badTarget("address %s %q: %w", a.Type, a.Address, err)
				}
				return a.Address, nil
			}
		}
	}
	return "", &ScrapeError{Reason: ReasonNoAddress, Err: fmt.Errorf("node %q has no address of the preferred types %v", node.Name, types)}
}

func badTarget(format string, args ...any) error {
	return &ScrapeError{Reason: ReasonBadTarget, Err: fmt.Errorf(format, args...)}
}

// checkHost accepts an IP address without a zone, or a DNS name; nothing
// that could carry a port, userinfo or a path into the URL's authority.
func checkHost(host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return errors.New("an IPv6 zone is not accepted")
		}
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(strings.ToLower(host)); len(errs) > 0 {
		return errors.New("neither an IP address nor a DNS name")
	}
	return nil
}

// checkResourcePath accepts an absolute path of plain segments: letters,
// digits and "-._~" only, so no scheme, authority, userinfo, query,
// fragment, escape or dot segment can reach the URL.
func checkResourcePath(p string) error {
	switch {
	case len(p) > maxResourcePathLen:
		return fmt.Errorf("longer than %d bytes", maxResourcePathLen)
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is not an absolute path", p)
	}
	for _, c := range []byte(p) {
		if !isPathByte(c) {
			return fmt.Errorf("%q: byte %q is not allowed in a path", p, c)
		}
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		switch seg {
		case "":
			return fmt.Errorf("%q has an empty segment", p)
		case ".", "..":
			return fmt.Errorf("%q has a dot segment", p)
		}
	}
	return nil
}

func isPathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '/' || c == '-' || c == '.' || c == '_' || c == '~'
}
