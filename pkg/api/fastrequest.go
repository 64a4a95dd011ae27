package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	"k8s.io/apiserver/pkg/audit"
)

// This file decides which requests FastList answers. It answers a request
// only when it knows, in every detail, what the generic apiserver would
// answer; anything else, including every error, goes to the apiserver.

const (
	resourcePods  = "pods"
	resourceNodes = "nodes"

	contentTypeJSON     = "application/json"
	contentTypeProtobuf = "application/vnd.kubernetes.protobuf"

	// groupPrefix is where metrics.k8s.io's versions are served.
	groupPrefix = "/apis/metrics.k8s.io/"

	// The apiserver's request metrics' scope label of a LIST.
	scopeCluster   = "cluster"
	scopeNamespace = "namespace"
)

// listRequest is a LIST FastList answers.
type listRequest struct {
	// version is the metrics.k8s.io version asked for, "v1" or "v1beta1";
	// apiVersion is the same with the group, as responses carry it.
	version, apiVersion string
	// resource is resourcePods or resourceNodes.
	resource string
	// namespace is the namespace of a one-namespace pods LIST, else empty.
	namespace string
	// scope labels the apiserver's request metrics.
	scope string
	// protobuf selects the protobuf encoding; JSON otherwise.
	protobuf bool
	options  metainternalversion.ListOptions
}

// contentType is the response's Content-Type, as the apiserver sets it.
func (r *listRequest) contentType() string {
	if r.protobuf {
		return contentTypeProtobuf
	}
	return contentTypeJSON
}

// sizeSlot numbers the request's resource and encoding, 0 to 3.
func (r *listRequest) sizeSlot() int {
	slot := 0
	if r.resource == resourceNodes {
		slot = 2
	}
	if r.protobuf {
		slot++
	}
	return slot
}

// parseListRequest returns the LIST req asks for, in one of versions, or
// false when FastList must leave req to the apiserver.
func parseListRequest(req *http.Request, versions Versions) (listRequest, bool) {
	var r listRequest
	if req.Method != http.MethodGet || req.URL == nil || req.URL.RawPath != "" {
		return r, false
	}
	if !parseListPath(&r, req.URL.Path, versions) {
		return r, false
	}
	// go-restful answers 415 to a GET with a Content-Type its route does not
	// consume; a GET has no business with a body anyway.
	if len(req.Header.Values("Content-Type")) > 0 || req.ContentLength > 0 {
		return r, false
	}
	var ok bool
	if r.protobuf, ok = parseAccept(req.Header.Values("Accept")); !ok {
		return r, false
	}
	// The apiserver pretty-prints JSON for browsers and command-line tools.
	if ua := req.UserAgent(); !r.protobuf &&
		(strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/5.0")) {
		return r, false
	}
	if !parseListQuery(&r, req.URL.RawQuery) {
		return r, false
	}
	// An audit policy that records response bodies needs the typed object.
	if ac := audit.AuditContextFrom(req.Context()); ac != nil && !ac.GetEventLevel().Less(auditinternal.LevelRequestResponse) {
		return r, false
	}
	return r, true
}

// parseListPath accepts /apis/metrics.k8s.io/{version}/{pods,nodes} and
// /apis/metrics.k8s.io/{version}/namespaces/{namespace}/pods, for a version
// in versions.
func parseListPath(r *listRequest, path string, versions Versions) bool {
	rest, ok := strings.CutPrefix(path, groupPrefix)
	if !ok {
		return false
	}
	version, rest, ok := strings.Cut(rest, "/")
	if !ok || !versions.serves(version) {
		return false
	}
	r.version, r.apiVersion = version, apiVersionOf(version)
	switch rest {
	case resourcePods:
		r.resource, r.scope = resourcePods, scopeCluster
		return true
	case resourceNodes:
		r.resource, r.scope = resourceNodes, scopeCluster
		return true
	}
	rest, ok = strings.CutPrefix(rest, "namespaces/")
	if !ok {
		return false
	}
	namespace, ok := strings.CutSuffix(rest, "/"+resourcePods)
	if !ok || !isDNSLabel(namespace) {
		return false
	}
	r.resource, r.scope, r.namespace = resourcePods, scopeNamespace, namespace
	return true
}

// isDNSLabel reports whether s can name a namespace. Other path segments
// are left to the apiserver: they serve nothing, but its answer is its own.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// parseAccept returns whether the Accept header selects protobuf (else
// JSON). It accepts no header, or one holding a list of bare media types
// among */*, application/json and application/vnd.kubernetes.protobuf.
// The apiserver ranks specific types before */* and otherwise keeps the
// client's order, and */* alone selects its first type, JSON: the first
// specific type decides. Parameters (as=Table, pretty, q, ...), other types
// and repeated headers are left to the apiserver.
func parseAccept(values []string) (protobuf, ok bool) {
	switch len(values) {
	case 0:
		return false, true
	case 1:
	default:
		return false, false
	}
	if values[0] == "" {
		return false, true
	}
	specific := ""
	for token := range strings.SplitSeq(values[0], ",") {
		switch t := strings.Trim(token, " \t"); t {
		case "*/*":
		case contentTypeJSON, contentTypeProtobuf:
			if specific == "" {
				specific = t
			}
		default:
			return false, false
		}
	}
	return specific == contentTypeProtobuf, true
}

// parseListQuery accepts the query parameters a LIST of these storages
// reads (labelSelector, fieldSelector) and those it provably ignores
// (resourceVersion, timeoutSeconds, timeout), each at most once and
// well-formed. A selector the apiserver would refuse is left to it, so that
// the client gets its exact error.
func parseListQuery(r *listRequest, rawQuery string) bool {
	if rawQuery == "" {
		return true
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return false
	}
	for key, values := range query {
		if len(values) != 1 {
			return false
		}
		value := values[0]
		switch key {
		case "labelSelector":
			selector, err := labels.Parse(value)
			if err != nil {
				return false
			}
			r.options.LabelSelector = selector
		case "fieldSelector":
			selector, err := fields.ParseSelector(value)
			if err != nil {
				return false
			}
			for _, req := range selector.Requirements() {
				if req.Field != fieldName && req.Field != fieldNamespace {
					return false
				}
			}
			r.options.FieldSelector = selector
		case "resourceVersion":
			// Without a resourceVersionMatch, any value is valid, and the
			// storages serve the latest data whatever it says.
		case "timeoutSeconds":
			// Bounds watches only; must still parse.
			if _, err := strconv.ParseInt(value, 10, 64); err != nil {
				return false
			}
		case "timeout":
			// The handler chain's request-deadline filter has already
			// applied it (or refused the request) before FastList runs.
		default:
			return false
		}
	}
	return true
}
