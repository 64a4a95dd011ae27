package decode

import "github.com/ringmetrics/ringmetrics/pkg/sample"

// Defaults for Limits. A kubelet is not trusted to be honest about its own
// size: a broken or hostile one can claim a million containers, hundred
// thousand pods or megabyte names in one response, and everything the
// decoder and the store keep for a node grows with what it kept from that
// node's responses. The limits are set where no real node reaches them and
// bound what one node can make ringmetrics hold.
const (
	// DefaultMaxContainers: the kubelet runs 110 pods by default, a few
	// hundred where managed offerings raise it, and 2 500 in the largest
	// configuration a vendor documents as tested (OpenShift); pods average
	// one to three containers. Ten thousand containers is four per pod at
	// 2 500 pods.
	DefaultMaxContainers = 10000
	// DefaultMaxPods is twice that largest tested --max-pods (2 500) and 45
	// times the kubelet's default of 110.
	DefaultMaxPods = 5000
	// DefaultMaxNameLength is the longest name Kubernetes allows any of the
	// three: a pod name is a DNS subdomain (253 bytes), a namespace and a
	// container name a DNS label (63 bytes).
	DefaultMaxNameLength = 253
)

// Limits bound what a decoder keeps of one response, and with it what the
// store keeps for one node. A zero field takes its default.
//
// What is over a limit is skipped and counted, never an error: the node's
// other containers are kept and no other node is affected. The first
// containers of the body are kept, in whole pods: a container past
// MaxContainers is SkipTooMany, and so are the containers already kept of
// its pod, so that no pod is served with part of its usage (an autoscaler
// would act on the fraction). A container whose pod would be pod number
// MaxPods+1 is SkipTooManyPods, and a name longer than MaxNameLength is
// SkipNameTooLong. Keeping the first N is the cheapest rule that is both
// bounded and deterministic: the kubelet writes series in a stable order
// (sorted by labels), so the same pods are kept scrape after scrape rather
// than a churning subset. The kubelet's text orders series by container
// name before pod, so a node far over the cap there may keep few pods whole,
// or none: serving none of a pod beats serving part of it, and no real node
// comes near the defaults.
type Limits struct {
	// MaxContainers bounds the distinct containers kept per response.
	MaxContainers int
	// MaxPods bounds the distinct pods kept per response.
	MaxPods int
	// MaxNameLength bounds each namespace, pod and container name, in bytes.
	MaxNameLength int
}

// DefaultLimits returns the defaults.
func DefaultLimits() Limits {
	return Limits{MaxContainers: DefaultMaxContainers, MaxPods: DefaultMaxPods, MaxNameLength: DefaultMaxNameLength}
}

// WithDefaults returns l with zero or negative fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxContainers <= 0 {
		l.MaxContainers = DefaultMaxContainers
	}
	if l.MaxPods <= 0 {
		l.MaxPods = DefaultMaxPods
	}
	if l.MaxNameLength <= 0 {
		l.MaxNameLength = DefaultMaxNameLength
	}
	return l
}

// podTrack is a pod kept in the response, once the table counts pods.
type podTrack struct {
	// truncated is set when a container of the pod was refused for
	// MaxContainers: the pod's kept containers are then dropped too.
	truncated bool
}

// admit decides whether a container new to this response, of the pod named
// ns/pod, may have an entry. knownNames says both names are in the intern
// table (a pod whose names are not cannot have an entry yet), and then ns
// and pod are the interned copies. It returns the reason to skip, or ok.
//
// Pods are counted only from the moment the entries reach the smaller of
// the two caps, by building the set of kept pods from them once: until
// then neither cap can be reached (every pod has a container), so a node
// under the limits never pays for a pod set.
func (t *table) admit(ns, pod string, knownNames bool) (sample.SkipReason, bool) {
	maxCtrs, maxPods := t.limits.MaxContainers, t.limits.MaxPods
	if !t.podsOn {
		if len(t.entries) < min(maxCtrs, maxPods) {
			return 0, true
		}
		t.trackPods()
	}
	var pt podTrack
	known := false
	if knownNames {
		pt, known = t.pods[containerKey{namespace: ns, pod: pod}]
	}
	if !known && len(t.pods) >= maxPods {
		return sample.SkipTooManyPods, false
	}
	if len(t.entries) >= maxCtrs {
		if known && !pt.truncated {
			t.pods[containerKey{namespace: ns, pod: pod}] = podTrack{truncated: true}
			t.truncated = true
		}
		return sample.SkipTooMany, false
	}
	return 0, true
}

// trackPods starts counting pods: from here on every new entry's pod is in
// t.pods.
func (t *table) trackPods() {
	if t.pods == nil {
		t.pods = make(map[containerKey]podTrack, len(t.entries))
	}
	for i := range t.entries {
		c := &t.entries[i].c
		t.pods[containerKey{namespace: c.Namespace, pod: c.Pod}] = podTrack{}
	}
	t.podsOn = true
}

// added records the pod of a new entry once pods are counted.
func (t *table) added(c *sample.Container) {
	if t.podsOn {
		k := containerKey{namespace: c.Namespace, pod: c.Pod}
		if _, ok := t.pods[k]; !ok {
			t.pods[k] = podTrack{}
		}
	}
}

// cut reports whether the entry's pod lost a container to MaxContainers.
func (t *table) cut(c *sample.Container) bool {
	return t.truncated && t.pods[containerKey{namespace: c.Namespace, pod: c.Pod}].truncated
}
