package server

import (
	"net/http"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/metrics"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// WithClusterListLimit answers 429 Too Many Requests, with Retry-After, to
// a cluster-wide metrics.k8s.io LIST (PodMetrics of all namespaces, or
// NodeMetrics) when limit of them are already being served; 0 means no
// limit. It must run inside the generic handler chain, after the request
// info and the user are known.
//
// The generic --max-requests-inflight pool is first come, first served: a
// client that keeps it full of LISTs of every pod gets the 429s, but so does
// an HPA whose namespaced LIST arrives while the pool is full. Those LISTs
// cost the server a thousand times less than a LIST of every pod, so the
// expensive kind gets a small pool of its own and the cheap kinds keep the
// large one. As in the generic filter, system:masters (the loopback client,
// super-admins) is always served.
func WithClusterListLimit(next http.Handler, limit int) http.Handler {
	if limit <= 0 {
		return next
	}
	slots := make(chan struct{}, limit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := apirequest.RequestInfoFrom(r.Context())
		if !ok || !isClusterList(info) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
			return
		default:
		}
		if u, ok := apirequest.UserFrom(r.Context()); ok {
			for _, g := range u.GetGroups() {
				if g == user.SystemPrivilegedGroup {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		metrics.RecordRequestTermination(r, info, metrics.APIServerComponent, http.StatusTooManyRequests)
		// The same answer the generic max-in-flight filter gives, so clients
		// (client-go retries after Retry-After) treat both alike.
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Too many requests, please try again later.", http.StatusTooManyRequests)
	})
}

// isClusterList says whether a request lists metrics or usage across the
// cluster: a LIST of every pod's usage history is the costliest of all.
func isClusterList(info *apirequest.RequestInfo) bool {
	if !info.IsResourceRequest || info.Verb != "list" || info.Namespace != "" || info.Subresource != "" {
		return false
	}
	switch info.APIGroup {
	case "metrics.k8s.io":
		return info.Resource == "pods" || info.Resource == "nodes"
	case "usage.ringmetrics.dev":
		return info.Resource == "podusages" || info.Resource == "nodeusages"
	}
	return false
}
