package scraper

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// Metrics are the scraper's own Prometheus metrics.
type Metrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	skipped  *prometheus.CounterVec
	nodes    prometheus.GaugeFunc
}

// NewMetrics builds the scraper's metrics; activeNodes reports how many nodes
// have a scrape loop.
func NewMetrics(activeNodes func() float64) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ringmetrics",
			Subsystem: "scraper",
			Name:      "duration_seconds",
			Help:      "Time taken by one scrape of one kubelet, from request to stored batch.",
			Buckets:   []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ringmetrics",
			Subsystem: "scraper",
			Name:      "errors_total",
			Help:      "Failed kubelet scrapes, by reason.",
		}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ringmetrics",
			Subsystem: "scraper",
			Name:      "samples_skipped_total",
			Help:      "Samples or containers dropped from kubelet responses while decoding, by reason.",
		}, []string{"reason"}),
		nodes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "ringmetrics",
			Subsystem: "scraper",
			Name:      "nodes",
			Help:      "Nodes that have a scrape loop.",
		}, activeNodes),
	}
	for _, r := range allReasons {
		m.errors.WithLabelValues(string(r))
	}
	for r := sample.SkipReason(0); r < sample.NumSkipReasons; r++ {
		m.skipped.WithLabelValues(r.String())
	}
	m.duration.WithLabelValues("success")
	m.duration.WithLabelValues("error")
	return m
}

// Register registers every metric of the scraper with reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.duration, m.errors, m.skipped, m.nodes} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) observe(seconds float64, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.duration.WithLabelValues("error").Observe(seconds)
		m.errors.WithLabelValues(string(reasonOf(err))).Inc()
		return
	}
	m.duration.WithLabelValues("success").Observe(seconds)
}

func (m *Metrics) countSkips(b *sample.Batch) {
	if m == nil {
		return
	}
	for r, n := range b.Skipped {
		if n > 0 {
			m.skipped.WithLabelValues(sample.SkipReason(r).String()).Add(float64(n))
		}
	}
}
