package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/store"
)

const (
	// gapLogAfter is how many resolutions a pod may go unserved before it
	// is logged: a new pod waits up to one for its first scrape, a
	// restarted container one more for its second point.
	gapLogAfter = 4
	// gapLogBurst bounds the pods named per check, so a node going down
	// logs a few lines and a count, not one line per pod.
	gapLogBurst = 5
)

// gapWatch finds, once per resolution, the running pods the API leaves out
// for lack of data, publishes how many there are by reason, and logs each
// pod once at the default level when it has been left out for more than
// gapLogAfter resolutions. Without it a pod missing from `kubectl top` is
// logged only at -v=4, on the request that missed it.
type gapWatch struct {
	store    *store.Store
	pods     pods.Lister
	logWait  time.Duration
	unserved *prometheus.GaugeVec

	// gaps holds the pods left out at the last check, by pod; seen marks
	// the entries the current check found again, the rest are dropped.
	gaps map[podRef]*podGap
}

type podRef struct{ namespace, name string }

type podGap struct {
	since  time.Time
	logged bool
	seen   bool
}

func newGapWatch(st *store.Store, lister pods.Lister, resolution time.Duration) *gapWatch {
	w := &gapWatch{
		store:   st,
		pods:    lister,
		logWait: gapLogAfter * resolution,
		unserved: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "ringmetrics",
			Subsystem: "api",
			Name:      "pods_unserved",
			Help: "Running pods the metrics API leaves out for lack of data, by reason: not_reported (no scrape " +
				"has reported the pod, or its data expired), no_rate (a container has a single point and no rate " +
				"yet), stale (a container stopped gaining points). Checked once per resolution.",
		}, []string{"reason"}),
		gaps: map[podRef]*podGap{},
	}
	for g := store.GapNone + 1; g < store.NumGaps; g++ {
		w.unserved.WithLabelValues(g.String())
	}
	return w
}

// Register registers the watch's gauge with reg.
func (w *gapWatch) Register(reg prometheus.Registerer) error {
	return reg.Register(w.unserved)
}

// check looks at every running pod once.
func (w *gapWatch) check(now time.Time) {
	running, err := w.pods.List(metav1.NamespaceAll, labels.Everything())
	if err != nil {
		klog.ErrorS(err, "Listing pods to find those left out of the metrics API")
		return
	}
	var counts [store.NumGaps]int
	type overduePod struct {
		pod *pods.Pod
		gap store.Gap
	}
	var overdue []overduePod
	for _, pod := range running {
		gap := w.store.PodGap(pod.Namespace, pod.Name)
		counts[gap]++
		if gap == store.GapNone {
			continue
		}
		ref := podRef{pod.Namespace, pod.Name}
		g := w.gaps[ref]
		if g == nil {
			g = &podGap{since: now}
			w.gaps[ref] = g
		}
		g.seen = true
		if !g.logged && now.Sub(g.since) > w.logWait {
			g.logged = true
			overdue = append(overdue, overduePod{pod, gap})
		}
	}
	for ref, g := range w.gaps {
		if !g.seen {
			delete(w.gaps, ref)
			continue
		}
		g.seen = false
	}
	for g := store.GapNone + 1; g < store.NumGaps; g++ {
		w.unserved.WithLabelValues(g.String()).Set(float64(counts[g]))
	}
	for _, o := range overdue[:min(len(overdue), gapLogBurst)] {
		klog.InfoS("Pod left out of the metrics API", "pod", klog.KObj(o.pod), "reason", o.gap.String(), "longerThan", w.logWait)
	}
	if more := len(overdue) - gapLogBurst; more > 0 {
		klog.InfoS("More pods left out of the metrics API", "count", more, "longerThan", w.logWait)
	}
}
