package store

// Gap is why the store has no usage to serve for a pod the cluster runs.
type Gap uint8

const (
	// GapNone: the pod is served.
	GapNone Gap = iota
	// GapNotReported: no scrape has reported the pod, or its data expired
	// (its node is not scraped, is failing, or the kubelet leaves it out).
	GapNotReported
	// GapNoRate: a container has no CPU rate yet: a single point whose start
	// time does not make it fresh, or the first point after a restart.
	GapNoRate
	// GapStale: a container stopped gaining points while its pod goes on.
	GapStale
	// NumGaps counts the values above, for label sets built up front.
	NumGaps
)

func (g Gap) String() string {
	switch g {
	case GapNone:
		return "none"
	case GapNotReported:
		return "not_reported"
	case GapNoRate:
		return "no_rate"
	case GapStale:
		return "stale"
	}
	return "unknown"
}
