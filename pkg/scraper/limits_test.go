package scraper

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/ringmetrics/ringmetrics/pkg/decode"
)

// TestLimitsReachDecoders checks that every node's decoder gets the
// configured limits, so the flags bound what each node can make us keep.
func TestLimitsReachDecoders(t *testing.T) {
	limits := decode.Limits{MaxContainers: 7, MaxPods: 3, MaxNameLength: 99}
	s := New(Config{Resolution: time.Second, Clock: testingclock.NewFakeClock(time.Unix(0, 0)), Limits: limits})
	for _, name := range []string{"n1", "n2"} {
		s.UpsertNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	for _, name := range []string{"n1", "n2"} {
		l := s.loops[name]
		if l == nil {
			t.Fatalf("no loop for %s", name)
		}
		if l.decoder.Limits != limits {
			t.Errorf("%s: decoder limits %+v, want %+v", name, l.decoder.Limits, limits)
		}
	}
}
