package kubeletsim

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeAuthAPI answers TokenReviews for the token "good" (user alice) and
// SubjectAccessReviews allowing alice nodes/metrics only and the
// system:monitoring group everything, counting the calls.
type fakeAuthAPI struct {
	tokenReviews, accessReviews atomic.Int32
	lastSAR                     atomic.Pointer[authzv1.SubjectAccessReview]
}

func (a *fakeAuthAPI) install(cs *fake.Clientset) {
	cs.PrependReactor("create", "tokenreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		a.tokenReviews.Add(1)
		tr := action.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview).DeepCopy()
		switch tr.Spec.Token {
		case "good":
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: "alice", UID: "u1", Groups: []string{"system:authenticated"}}}
		case "explode":
			return true, nil, errors.New("apiserver unavailable")
		}
		return true, tr, nil
	})
	cs.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		a.accessReviews.Add(1)
		sar := action.(k8stesting.CreateAction).GetObject().(*authzv1.SubjectAccessReview).DeepCopy()
		a.lastSAR.Store(sar)
		ra := sar.Spec.ResourceAttributes
		for _, g := range sar.Spec.Groups {
			if g == "system:monitoring" {
				sar.Status.Allowed = true
			}
		}
		if sar.Spec.User == "alice" && ra.Subresource == "metrics" {
			sar.Status.Allowed = true
		}
		return true, sar, nil
	})
}

func TestAuth(t *testing.T) {
	cs := fake.NewClientset()
	var api fakeAuthAPI
	api.install(cs)
	f, clk := newTestFleet(t, Config{Nodes: 2, PodsPerNode: 1, Client: cs})

	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	plain := testClient(f, nil, false)
	monitor := testClient(f, issueClientCert(t, f.CACert(), f.certs.caKey, "scraper", "system:monitoring"), false)
	nobodyCert := testClient(f, issueClientCert(t, f.CACert(), f.certs.caKey, "nobody"), false)

	cases := []struct {
		name   string
		client *http.Client
		path   string
		header http.Header
		want   int
	}{
		{"no credentials", plain, "/metrics/resource", nil, 401},
		{"unknown token", plain, "/metrics/resource", bearer("bad"), 401},
		{"review fails", plain, "/metrics/resource", bearer("explode"), 401},
		{"basic auth is no bearer", plain, "/metrics/resource", http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}, 401},
		{"token allowed metrics", plain, "/metrics/resource", bearer("good"), 200},
		{"token denied stats", plain, "/stats/summary", bearer("good"), 403},
		{"client cert", monitor, "/metrics/resource", nil, 200},
		{"client cert stats", monitor, "/stats/summary", nil, 200},
		{"client cert denied", nobodyCert, "/metrics/resource", nil, 403},
		{"healthz needs nothing", plain, "/healthz", nil, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := get(t, tc.client, f, "sim-node-1", tc.path, tc.header); r.status != tc.want {
				t.Errorf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}

	sar := api.lastSAR.Load()
	if ra := sar.Spec.ResourceAttributes; ra.Verb != "get" || ra.Resource != "nodes" || ra.Name != "sim-node-1" || ra.Group != "" {
		t.Errorf("last SubjectAccessReview asked %+v", ra)
	}

	// Results are cached on the fleet's clock for the kubelet's TTLs: tokens
	// 2 minutes, approvals 5 minutes, denials 30 seconds.
	reviews := func() (int32, int32) { return api.tokenReviews.Load(), api.accessReviews.Load() }
	expect := func(when string, tr0, ar0, wantTR, wantAR int32) {
		t.Helper()
		if tr, ar := reviews(); tr-tr0 != wantTR || ar-ar0 != wantAR {
			t.Errorf("%s: %d token and %d access reviews, want %d and %d", when, tr-tr0, ar-ar0, wantTR, wantAR)
		}
	}
	tr0, ar0 := reviews()
	get(t, plain, f, "sim-node-1", "/metrics/resource", bearer("good"))
	get(t, plain, f, "sim-node-1", "/metrics/resource", bearer("bad"))
	get(t, nobodyCert, f, "sim-node-1", "/metrics/resource", nil)
	expect("cached", tr0, ar0, 0, 0)
	get(t, plain, f, "sim-node-0", "/metrics/resource", bearer("good"))
	expect("other node", tr0, ar0, 0, 1)

	clk.Step(31 * time.Second)
	tr0, ar0 = reviews()
	get(t, plain, f, "sim-node-1", "/metrics/resource", bearer("good"))
	expect("approval after 31s", tr0, ar0, 0, 0)
	if r := get(t, nobodyCert, f, "sim-node-1", "/metrics/resource", nil); r.status != 403 {
		t.Errorf("denied user after 31s: %d", r.status)
	}
	expect("denial after 31s", tr0, ar0, 0, 1)

	clk.Step(90 * time.Second) // 2m01s since the token was reviewed
	tr0, ar0 = reviews()
	get(t, plain, f, "sim-node-1", "/metrics/resource", bearer("good"))
	expect("token after 2m", tr0, ar0, 1, 0)

	clk.Step(3 * time.Minute) // 5m01s since the approval
	tr0, ar0 = reviews()
	get(t, plain, f, "sim-node-1", "/metrics/resource", bearer("good"))
	expect("approval after 5m (and the token, reviewed 3m ago)", tr0, ar0, 1, 1)

	// A certificate from another CA fails the handshake.
	otherCA, otherKey, err := newCA()
	if err != nil {
		t.Fatal(err)
	}
	stranger := testClient(f, issueClientCert(t, otherCA, otherKey, "scraper", "system:monitoring"), false)
	if _, err := tryGet(context.Background(), stranger, f, "sim-node-1", "/metrics/resource", nil); err == nil {
		t.Error("certificate from an unknown CA accepted")
	}
}
