package usage

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	f := func(raw string, want query, wantErr string) {
		t.Helper()
		values, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		got, err := parseQuery(values)
		switch {
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%q: error %v, want one containing %q", raw, err, wantErr)
		case wantErr == "" && err != nil:
			t.Errorf("%q: %v", raw, err)
		case got != want:
			t.Errorf("%q: %+v, want %+v", raw, got, want)
		}
	}
	f("", query{}, "")
	f("labelSelector=app%3Dweb&limit=5", query{}, "")
	f("window=5m", query{window: 5 * time.Minute}, "")
	f("window=90s", query{window: 90 * time.Second}, "")
	f("window=1h30m", query{window: 90 * time.Minute}, "")
	f("window=1500ms", query{window: 1500 * time.Millisecond}, "")
	f("window=", query{}, "")
	f("samples=true", query{samples: true}, "")
	f("samples=1", query{samples: true}, "")
	f("samples=false", query{}, "")
	f("samples=", query{}, "")
	f("window=2m&samples=true", query{window: 2 * time.Minute, samples: true}, "")
	f("window=8784h", query{window: maxWindow}, "")

	f("window=5", query{}, "not a duration")
	f("window=5x", query{}, "not a duration")
	f("window=five", query{}, "not a duration")
	f("window=0s", query{}, "must be positive")
	f("window=-5m", query{}, "must be positive")
	f("window=8785h", query{}, "at most")
	f("window=1m&window=2m", query{}, "given 2 times")
	f("samples=yes", query{}, "must be true or false")
	f("samples=true&samples=false", query{}, "given 2 times")
}

// FuzzParseQuery: any query either fails or gives a window in (0,
// maxWindow] (or none) that the parameter's own text parses to.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{"window=5m", "window=1h30m&samples=true", "samples=0", "window=-1s", "window=9223372036854775807ns", "window=%zz", "window=1e9h", "samples=T&window=.5s"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(values)
		if err != nil {
			if q != (query{}) {
				t.Fatalf("%q: error %v with a query %+v", raw, err, q)
			}
			return
		}
		if q.window < 0 || q.window > maxWindow {
			t.Fatalf("%q: window %v out of range", raw, q.window)
		}
		if q.window > 0 {
			d, err := time.ParseDuration(values.Get(paramWindow))
			if err != nil || d != q.window {
				t.Fatalf("%q: window %v, the parameter says %v (%v)", raw, q.window, d, err)
			}
		}
	})
}
