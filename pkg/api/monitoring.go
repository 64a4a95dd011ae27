package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API's own Prometheus metrics.
type Metrics struct {
	fastListDuration *prometheus.HistogramVec
}

// NewMetrics builds the API's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		fastListDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ringmetrics",
			Subsystem: "api",
			Name:      "list_duration_seconds",
			Help: "Time taken to list and write a LIST served by the fast path, from the handler's start to the last byte " +
				"handed to the connection. These requests are also counted in apiserver_request_total.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"resource", "content_type"}),
	}
	for _, resource := range []string{resourcePods, resourceNodes} {
		for _, contentType := range []string{contentTypeJSON, contentTypeProtobuf} {
			m.fastListDuration.WithLabelValues(resource, contentType)
		}
	}
	return m
}

// Register registers every metric of the API with reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	return reg.Register(m.fastListDuration)
}

func (m *Metrics) observeFastList(resource, contentType string, seconds float64) {
	if m == nil {
		return
	}
	m.fastListDuration.WithLabelValues(resource, contentType).Observe(seconds)
}
