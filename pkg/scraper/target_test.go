package scraper

import (
	"errors"
	"net/url"
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

// TestTargetResolverRefusesHostileNodes feeds the resolver what a
// compromised kubelet can write into its own Node object. Every case must
// fail as bad_target; none may yield a URL, so no request (and no credential)
// can leave for a host the node chose.
func TestTargetResolverRefusesHostileNodes(t *testing.T) {
	direct := TargetResolver{Port: 10250, UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName}}
	proxy := TargetResolver{APIServerURL: "https://api.example:6443"}
	good := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}}
	annotated := func(path string) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: map[string]string{AnnotationResourceMetricsPath: path}}}
		n.Status.Addresses = good
		return n
	}
	addressed := func(addrType corev1.NodeAddressType, addr string) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
		n.Status.Addresses = []corev1.NodeAddress{{Type: addrType, Address: addr}}
		return n
	}
	ported := func(port int32) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
		n.Status.Addresses = good
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
		return n
	}
	named := func(name string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	tests := []struct {
		name     string
		resolver TargetResolver
		node     *corev1.Node
	}{
		{"userinfo redirect", direct, annotated("@attacker.example:443/x")},
		{"userinfo redirect to loopback", direct, annotated("@127.0.0.1:1/x")},
		{"host suffix", direct, annotated(".evil/x")},
		{"network-path reference", direct, annotated("//attacker.example/x")},
		{"query only", direct, annotated("?x")},
		{"query after path", direct, annotated("/metrics/resource?x=1")},
		{"fragment", direct, annotated("/metrics/resource#x")},
		{"full URL", direct, annotated("https://attacker.example/x")},
		{"scheme-relative with port", direct, annotated(":443/x")},
		{"relative path", direct, annotated("metrics/resource")},
		{"dot-dot segment", direct, annotated("/metrics/../../x")},
		{"trailing dot-dot", direct, annotated("/metrics/..")},
		{"dot segment", direct, annotated("/./metrics")},
		{"escaped dot-dot", direct, annotated("/%2e%2e/x")},
		{"escaped slash", direct, annotated("/a%2fb")},
		{"backslash", direct, annotated("/\\attacker.example/x")},
		{"empty segment", direct, annotated("/metrics//resource")},
		{"whitespace", direct, annotated("/metrics resource")},
		{"control byte", direct, annotated("/metrics\r\nHost: evil")},
		{"non-ASCII", direct, annotated("/m\u00e9trics")},
		{"too long", direct, annotated("/" + strings.Repeat("a", 300))},
		{"proxy mode userinfo", proxy, annotated("@attacker.example/x")},
		{"address with port", direct, addressed(corev1.NodeInternalIP, "10.0.0.5:9999")},
		{"address with userinfo", direct, addressed(corev1.NodeInternalIP, "x@attacker.example")},
		{"address with path", direct, addressed(corev1.NodeHostName, "attacker.example/x")},
		{"bracketed address", direct, addressed(corev1.NodeInternalIP, "[::1]:80")},
		{"address with zone", direct, addressed(corev1.NodeInternalIP, "fe80::1%eth0")},
		{"address with space", direct, addressed(corev1.NodeHostName, "a b")},
		{"address URL", direct, addressed(corev1.NodeHostName, "https://attacker.example")},
		{"negative status port", direct, ported(-1)},
		{"status port too large", direct, ported(70000)},
		{"proxy node name dot-dot", proxy, named("..")},
		{"proxy node name with slash", proxy, named("a/../../x")},
		{"proxy node name with query", proxy, named("n1?x")},
		{"proxy node name upper case", proxy, named("N1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := tt.resolver.Resolve(tt.node)
			var se *ScrapeError
			if !errors.As(err, &se) || se.Reason != ReasonBadTarget {
				t.Fatalf("Resolve() = %q, %v; want a %s error", target.URL(false), err, ReasonBadTarget)
			}
			if target != (Target{}) {
				t.Errorf("a refused node still got a target: %+v", target)
			}
		})
	}
}

// TestTargetResolverStaysOnHost checks what is accepted: whatever the path,
// both URLs keep the kubelet's own scheme, host and port, carry no userinfo,
// query or fragment, and parse back to the path that was asked for.
func TestTargetResolverStaysOnHost(t *testing.T) {
	resolver := TargetResolver{Port: 10250, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}}
	for _, path := range []string{"/metrics/resource", "/metrics/resource/v1alpha1", "/a-b_c~d/e.f", "/x..y", "/...", "/~"} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: map[string]string{AnnotationResourceMetricsPath: path}}}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}}
		target, err := resolver.Resolve(n)
		if err != nil {
			t.Errorf("path %q refused: %v", path, err)
			continue
		}
		for summary, want := range map[bool]string{false: path, true: SummaryPath} {
			u, err := url.Parse(target.URL(summary))
			if err != nil {
				t.Fatalf("path %q: URL %q does not parse: %v", path, target.URL(summary), err)
			}
			if u.Scheme != "https" || u.Host != "10.0.0.5:10250" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Path != want {
				t.Errorf("path %q: URL %q left the kubelet or changed the path (want %q)", path, u, want)
			}
		}
	}
}
