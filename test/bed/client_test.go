package bed

import "testing"

func TestParseMetric(t *testing.T) {
	const text = `# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes_total 1
go_memstats_heap_inuse_bytes 1.2345e+07
go_goroutines	87
ringmetrics_scraper_errors_total{reason="forbidden"} 3
ringmetrics_scraper_errors_total{reason="timeout"} 5 1764460800000
ringmetrics_store_nodes
`
	f := func(name, labels string, want float64, wantErr bool) {
		t.Helper()
		got, err := ParseMetric(text, name, labels)
		if got != want || (err != nil) != wantErr {
			t.Errorf("ParseMetric(%s, %s) = %v, %v; want %v, error %v", name, labels, got, err, want, wantErr)
		}
	}
	f("go_memstats_heap_inuse_bytes", "", 1.2345e7, false) // not its _total sibling
	f("go_goroutines", "", 87, false)                      // a tab before the value
	f("ringmetrics_scraper_errors_total", `reason="forbidden"`, 3, false)
	f("ringmetrics_scraper_errors_total", `reason="timeout"`, 5, false) // with a timestamp
	f("ringmetrics_scraper_errors_total", "", 0, true)                  // only labelled series
	f("ringmetrics_scraper_errors_total", `reason="tls"`, 0, true)
	f("ringmetrics_store_nodes", "", 0, true) // no value
	f("go_threads", "", 0, true)
}
