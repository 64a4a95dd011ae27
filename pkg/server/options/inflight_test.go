package options

import (
	"net/http"
	"strings"
	"testing"

	genericapiserver "k8s.io/apiserver/pkg/server"
)

func TestInFlightValidate(t *testing.T) {
	f := func(requests, lists int, wantErrs ...string) {
		t.Helper()
		errs := (&InFlightOptions{MaxRequestsInFlight: requests, MaxClusterListsInFlight: lists}).Validate()
		if len(errs) != len(wantErrs) {
			t.Fatalf("%d, %d: errors %v, want %d", requests, lists, errs, len(wantErrs))
		}
		for i, want := range wantErrs {
			if !strings.Contains(errs[i].Error(), want) {
				t.Errorf("%d, %d: error %q lacks %q", requests, lists, errs[i], want)
			}
		}
	}
	f(400, 4)
	f(0, 0)
	f(-1, 4, "--max-requests-inflight")
	f(400, -1, "--max-cluster-list-requests-inflight")
	f(-1, -1, "--max-requests-inflight", "--max-cluster-list-requests-inflight")
}

func TestInFlightApplyTo(t *testing.T) {
	c := &genericapiserver.Config{MaxRequestsInFlight: 400}
	var built http.Handler
	c.BuildHandlerChainFunc = func(h http.Handler, _ *genericapiserver.Config) http.Handler {
		built = h
		return h
	}
	api := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	(&InFlightOptions{MaxRequestsInFlight: 25, MaxClusterListsInFlight: 2}).ApplyTo(c)
	if c.MaxRequestsInFlight != 25 {
		t.Errorf("MaxRequestsInFlight = %d, want 25", c.MaxRequestsInFlight)
	}
	if c.BuildHandlerChainFunc(api, c) == nil || built == nil {
		t.Fatal("the generic chain was not built")
	}
}
