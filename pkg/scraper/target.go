package scraper

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// AnnotationResourceMetricsPath lets a node override the path its kubelet
// serves resource metrics on; metrics-server honours the same annotation.
const AnnotationResourceMetricsPath = "metrics.k8s.io/resource-metrics-path"

// DefaultResourceMetricsPath is the kubelet's resource metrics endpoint.
const DefaultResourceMetricsPath = "/metrics/resource"

// SummaryPath is the kubelet's Summary API endpoint.
const SummaryPath = "/stats/summary"

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

// Target is where one node's kubelet endpoints are fetched.
type Target struct {
	// base is scheme://host:port of the kubelet, or the apiserver's node
	// proxy prefix in proxy mode.
	base         string
	resourcePath string
}

// URL returns the target's URL for the resource metrics or the summary.
func (t Target) URL(summary bool) string {
	if summary {
		return t.base + SummaryPath
	}
	return t.base + t.resourcePath
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

// Resolve returns where the node's kubelet is scraped.
func (r TargetResolver) Resolve(node *corev1.Node) (Target, error) {
	path := DefaultResourceMetricsPath
	if p := node.Annotations[AnnotationResourceMetricsPath]; p != "" {
		path = p
	}
	if r.APIServerURL != "" {
		base := strings.TrimSuffix(r.APIServerURL, "/") + "/api/v1/nodes/" + url.PathEscape(node.Name) + "/proxy"
		return Target{base: base, resourcePath: path}, nil
	}
	addr, err := r.address(node)
	if err != nil {
		return Target{}, err
	}
	port := r.Port
	if statusPort := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port); r.UseNodeStatusPort && statusPort != 0 {
		port = statusPort
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(addr, strconv.Itoa(port))}
	return Target{base: u.String(), resourcePath: path}, nil
}

func (r TargetResolver) address(node *corev1.Node) (string, error) {
	types := r.AddressTypes
	if len(types) == 0 {
		types = DefaultAddressTypes
	}
	for _, t := range types {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address, nil
			}
		}
	}
	return "", fmt.Errorf("node %q has no address of the preferred types %v", node.Name, types)
}
