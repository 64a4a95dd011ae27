package scraper

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// AnnotationResourceMetricsPath lets a node override the path its kubelet
// serves resource metrics on; metrics-server honours the same annotation.
const AnnotationResourceMetricsPath = "metrics.k8s.io/resource-metrics-path"

// DefaultResourceMetricsPath is the kubelet's resource metrics endpoint.
const DefaultResourceMetricsPath = "/metrics/resource"

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
}

// Resolve returns the URL of the node's resource metrics endpoint.
func (r TargetResolver) Resolve(node *corev1.Node) (string, error) {
	addr, err := r.address(node)
	if err != nil {
		return "", err
	}
	port := r.Port
	if statusPort := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port); r.UseNodeStatusPort && statusPort != 0 {
		port = statusPort
	}
	path := DefaultResourceMetricsPath
	if p := node.Annotations[AnnotationResourceMetricsPath]; p != "" {
		path = p
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(addr, strconv.Itoa(port)), Path: path}
	return u.String(), nil
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
