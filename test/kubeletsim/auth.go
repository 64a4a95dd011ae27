package kubeletsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// maxCacheEntries bounds each auth cache; expired entries are dropped when it
// is reached.
const maxCacheEntries = 16384

var (
	// errUnauthenticated means no valid credentials: the answer is 401.
	errUnauthenticated = errors.New("unauthenticated")
	// errNoClient means authentication is on but Config.Client is nil.
	errNoClient = errors.New("no API client configured for TokenReview and SubjectAccessReview")
)

type user struct {
	name   string
	uid    string
	groups []string
	extra  map[string]authzv1.ExtraValue
}

type cached[T any] struct {
	value   T
	expires time.Time
}

// authTTLs are how long each kind of answer is cached.
type authTTLs struct{ token, allowed, denied time.Duration }

// authorizer authenticates and authorises requests as a kubelet configured
// with webhook authentication and authorisation does, caching answers for
// the kubelet's TTLs: a denial briefly, an approval longer.
type authorizer struct {
	client kubernetes.Interface
	clock  clock.PassiveClock
	ttl    authTTLs
	logf   func(format string, args ...any)

	mu        sync.Mutex
	tokens    map[string]cached[*user] // nil user: token rejected
	decisions map[string]cached[bool]
}

func newAuthorizer(client kubernetes.Interface, clk clock.PassiveClock, ttl authTTLs, logf func(string, ...any)) *authorizer {
	return &authorizer{
		client:    client,
		clock:     clk,
		ttl:       ttl,
		logf:      logf,
		tokens:    make(map[string]cached[*user]),
		decisions: make(map[string]cached[bool]),
	}
}

// authenticate returns the request's user: the subject of a verified client
// certificate, else the user a TokenReview finds for the bearer token. It
// returns errUnauthenticated when there is neither or the token is rejected.
func (a *authorizer) authenticate(r *http.Request) (*user, error) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		return &user{name: c.Subject.CommonName, groups: c.Subject.Organization}, nil
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errUnauthenticated
	}
	now := a.clock.Now()
	a.mu.Lock()
	e, hit := a.tokens[token]
	a.mu.Unlock()
	if hit && now.Before(e.expires) {
		if e.value == nil {
			return nil, errUnauthenticated
		}
		return e.value, nil
	}
	if a.client == nil {
		return nil, errNoClient
	}
	tr, err := a.client.AuthenticationV1().TokenReviews().Create(r.Context(),
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token review: %w", err)
	}
	var u *user
	if tr.Status.Authenticated {
		ui := tr.Status.User
		u = &user{name: ui.Username, uid: ui.UID, groups: ui.Groups}
		if len(ui.Extra) > 0 {
			u.extra = make(map[string]authzv1.ExtraValue, len(ui.Extra))
			for k, v := range ui.Extra {
				u.extra[k] = authzv1.ExtraValue(v)
			}
		}
	}
	a.mu.Lock()
	store(a.tokens, token, u, now.Add(a.ttl.token), now)
	a.mu.Unlock()
	if u == nil {
		return nil, errUnauthenticated
	}
	return u, nil
}

// authorize asks whether u may get nodes/<subresource> on node.
func (a *authorizer) authorize(ctx context.Context, u *user, subresource, node string) (bool, error) {
	key := u.name + "\x00" + u.uid + "\x00" + strings.Join(u.groups, "\x01") + "\x00" + subresource + "\x00" + node
	now := a.clock.Now()
	a.mu.Lock()
	e, hit := a.decisions[key]
	a.mu.Unlock()
	if hit && now.Before(e.expires) {
		return e.value, nil
	}
	if a.client == nil {
		return false, errNoClient
	}
	sar, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{
			User:   u.name,
			UID:    u.uid,
			Groups: u.groups,
			Extra:  u.extra,
			ResourceAttributes: &authzv1.ResourceAttributes{
				Verb:        "get",
				Resource:    "nodes",
				Subresource: subresource,
				Name:        node,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review: %w", err)
	}
	allowed := sar.Status.Allowed && !sar.Status.Denied
	a.mu.Lock()
	ttl := a.ttl.denied
	if allowed {
		ttl = a.ttl.allowed
	}
	store(a.decisions, key, allowed, now.Add(ttl), now)
	a.mu.Unlock()
	return allowed, nil
}

func store[T any](m map[string]cached[T], key string, v T, expires, now time.Time) {
	if len(m) >= maxCacheEntries {
		for k, e := range m {
			if !now.Before(e.expires) {
				delete(m, k)
			}
		}
		if len(m) >= maxCacheEntries {
			clear(m)
		}
	}
	m[key] = cached[T]{value: v, expires: expires}
}

// check authenticates and authorises r for nodes/<subresource> on node,
// writing the error answer itself when it returns false.
func (a *authorizer) check(w http.ResponseWriter, r *http.Request, subresource, node string) bool {
	u, err := a.authenticate(r)
	if err != nil {
		// A kubelet answers 401 whether the token was rejected or the review
		// failed.
		if !errors.Is(err, errUnauthenticated) {
			a.logf("kubeletsim: node %s: authentication failed: %v", node, err)
		}
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return false
	}
	ok, err := a.authorize(r.Context(), u, subresource, node)
	if err != nil {
		a.logf("kubeletsim: node %s: authorization failed: %v", node, err)
		http.Error(w, "Internal Server Error: authorization failed", http.StatusInternalServerError)
		return false
	}
	if !ok {
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=get, resource=nodes, subresource=%s)", u.name, subresource), http.StatusForbidden)
		return false
	}
	return true
}
