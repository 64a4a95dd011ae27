package usage

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/ringmetrics/ringmetrics/pkg/usage/v1alpha1"
)

// The query parameters of the group's GETs and LISTs, beside the standard
// ones (labelSelector, fieldSelector, ...), which the generic apiserver
// decodes and ignores what it does not know.
const (
	// paramWindow narrows the window: a Go duration ("90s", "5m", "1h30m"),
	// positive, at most maxWindow. Points at most that much older than a
	// series' newest point are used.
	paramWindow = "window"
	// paramSamples adds the raw points when true (strconv.ParseBool).
	paramSamples = "samples"
)

// maxWindow bounds ?window=. The store holds far less; a larger window
// would only mean all of it, and a typo of a few more digits should say so.
const maxWindow = 366 * 24 * time.Hour

// query is what a request asks of the group beyond the standard options.
type query struct {
	// window is 0 for the whole history.
	window  time.Duration
	samples bool
}

// parseQuery reads the group's own parameters from a request's query. Each
// may be given once; an empty value is as if absent.
func parseQuery(values url.Values) (query, error) {
	var q query
	if v, err := single(values, paramWindow); err != nil {
		return query{}, err
	} else if v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return query{}, fmt.Errorf("%s=%q: not a duration such as 90s, 5m or 1h30m", paramWindow, v)
		}
		if d <= 0 || d > maxWindow {
			return query{}, fmt.Errorf("%s=%q: must be positive and at most %v", paramWindow, v, maxWindow)
		}
		q.window = d
	}
	if v, err := single(values, paramSamples); err != nil {
		return query{}, err
	} else if v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return query{}, fmt.Errorf("%s=%q: must be true or false", paramSamples, v)
		}
		q.samples = b
	}
	return q, nil
}

func single(values url.Values, name string) (string, error) {
	switch vs := values[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", fmt.Errorf("%s given %d times", name, len(vs))
	}
}

type queryKey struct{}

// queryFrom returns the request's query, the defaults (the whole history,
// no samples) when the request came without one.
func queryFrom(ctx context.Context) query {
	q, _ := ctx.Value(queryKey{}).(query)
	return q
}

// WithQuery parses the group's query parameters (window, samples) of
// requests to usage.ringmetrics.dev into the request's context, where the
// storages find them, and answers a bad value with 400 Bad Request. The
// generic apiserver has no place for a resource's own LIST parameters, so
// this runs in its handler chain, after the request info, authentication
// and authorization filters, around the API handler.
func WithQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := apirequest.RequestInfoFrom(r.Context())
		if !ok || !info.IsResourceRequest || info.APIGroup != v1alpha1.GroupName {
			next.ServeHTTP(w, r)
			return
		}
		q, err := parseQuery(r.URL.Query())
		if err != nil {
			responsewriters.ErrorNegotiated(apierrors.NewBadRequest(err.Error()), Codecs, v1alpha1.SchemeGroupVersion, w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), queryKey{}, q)))
	})
}
