package readonly

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Quantity returns v·10^scale in format. A Quantity holds an int64: a
// larger v loses decimal digits of precision until it fits, as in
// metrics-server, rather than wrapping to a negative usage.
func Quantity(v uint64, scale resource.Scale, format resource.Format) resource.Quantity {
	for v > math.MaxInt64 {
		v /= 10
		scale++
	}
	var q resource.Quantity
	q.SetScaled(int64(v), scale)
	q.Format = format
	return q
}

// MsTime converts milliseconds since the Unix epoch, as the store keeps
// time, to a metav1.Time.
func MsTime(ms int64) metav1.Time { return metav1.Time{Time: time.UnixMilli(ms)} }

// MsDuration converts a span in milliseconds to a metav1.Duration.
func MsDuration(ms int64) metav1.Duration {
	return metav1.Duration{Duration: time.Duration(ms) * time.Millisecond}
}
