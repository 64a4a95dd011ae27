package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringmetrics/ringmetrics/pkg/store"
)

// storeCollector reports the store's size at scrape time from one Stats
// call, so the gauges are consistent with each other.
type storeCollector struct {
	store      *store.Store
	nodes      *prometheus.Desc
	pods       *prometheus.Desc
	containers *prometheus.Desc
	points     *prometheus.Desc
	bytes      *prometheus.Desc
}

// storeMetrics returns the registration function of the store's gauges.
func storeMetrics(s *store.Store) func(prometheus.Registerer) error {
	return func(reg prometheus.Registerer) error { return reg.Register(newStoreCollector(s)) }
}

func newStoreCollector(s *store.Store) prometheus.Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("ringmetrics", "store", name), help, nil, nil)
	}
	return &storeCollector{
		store:      s,
		nodes:      desc("nodes", "Nodes with data in the store."),
		pods:       desc("pods", "Pods with data in the store."),
		containers: desc("containers", "Containers with data in the store."),
		points:     desc("points", "Points held in all rings."),
		bytes:      desc("bytes", "Approximate memory held by the store's rings and snapshots, in bytes."),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.nodes, c.pods, c.containers, c.points, c.bytes} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.Stats()
	ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(st.Nodes))
	ch <- prometheus.MustNewConstMetric(c.pods, prometheus.GaugeValue, float64(st.Pods))
	ch <- prometheus.MustNewConstMetric(c.containers, prometheus.GaugeValue, float64(st.Containers))
	ch <- prometheus.MustNewConstMetric(c.points, prometheus.GaugeValue, float64(st.Points))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(st.Bytes))
}
