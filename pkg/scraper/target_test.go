package scraper

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTargetResolver(t *testing.T) {
	node := func(annotations map[string]string, port int32, addrs ...corev1.NodeAddress) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: annotations}}
		n.Status.Addresses = addrs
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
		return n
	}
	hostname := corev1.NodeAddress{Type: corev1.NodeHostName, Address: "n1.example"}
	internal := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}
	v6 := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::5"}
	tests := []struct {
		name     string
		resolver TargetResolver
		node     *corev1.Node
		want     string
		wantErr  bool
	}{
		{"default order prefers hostname", TargetResolver{Port: 10250}, node(nil, 0, internal, hostname), "https://n1.example:10250/metrics/resource", false},
		{"preferred types", TargetResolver{Port: 10250, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}}, node(nil, 0, hostname, internal), "https://10.0.0.5:10250/metrics/resource", false},
		{"ipv6 is bracketed", TargetResolver{Port: 10250, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}}, node(nil, 0, v6), "https://[fd00::5]:10250/metrics/resource", false},
		{"status port ignored unless asked", TargetResolver{Port: 10250}, node(nil, 11000, hostname), "https://n1.example:10250/metrics/resource", false},
		{"status port used", TargetResolver{Port: 10250, UseNodeStatusPort: true}, node(nil, 11000, hostname), "https://n1.example:11000/metrics/resource", false},
		{"status port zero falls back", TargetResolver{Port: 10250, UseNodeStatusPort: true}, node(nil, 0, hostname), "https://n1.example:10250/metrics/resource", false},
		{"path annotation", TargetResolver{Port: 10250}, node(map[string]string{AnnotationResourceMetricsPath: "/custom/metrics"}, 0, hostname), "https://n1.example:10250/custom/metrics", false},
		{"no address of preferred type", TargetResolver{Port: 10250, AddressTypes: []corev1.NodeAddressType{corev1.NodeExternalIP}}, node(nil, 0, hostname), "", true},
		{"no addresses", TargetResolver{Port: 10250}, node(nil, 0), "", true},
		{"proxy mode needs no address", TargetResolver{APIServerURL: "https://api.example:6443/"}, node(nil, 0), "https://api.example:6443/api/v1/nodes/n1/proxy/metrics/resource", false},
		{"proxy mode keeps the path annotation", TargetResolver{APIServerURL: "https://api.example:6443"}, node(map[string]string{AnnotationResourceMetricsPath: "/custom"}, 0), "https://api.example:6443/api/v1/nodes/n1/proxy/custom", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := tt.resolver.Resolve(tt.node)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Resolve() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got := target.URL(false); err == nil && got != tt.want {
				t.Errorf("Resolve() = %q, want %q", got, tt.want)
			}
			if err == nil && !strings.HasSuffix(target.URL(true), "/stats/summary") {
				t.Errorf("summary URL %q does not end in /stats/summary", target.URL(true))
			}
		})
	}
}
