package api

import (
	"math"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestQuantity(t *testing.T) {
	f := func(v uint64, scale resource.Scale, format resource.Format, want string) {
		t.Helper()
		q := quantity(v, scale, format)
		if got := q.String(); got != want {
			t.Errorf("quantity(%d, %d, %s) = %s, want %s", v, scale, format, got, want)
		}
	}
	f(0, resource.Nano, resource.DecimalSI, "0")
	f(1, resource.Nano, resource.DecimalSI, "1n")
	f(123_456_789, resource.Nano, resource.DecimalSI, "123456789n")
	f(250_000_000, resource.Nano, resource.DecimalSI, "250m")
	f(64_000_000_000, resource.Nano, resource.DecimalSI, "64")
	f(0, 0, resource.BinarySI, "0")
	// apimachinery falls back to decimal suffixes when they are exact.
	f(1000, 0, resource.BinarySI, "1k")
	f(1001, 0, resource.BinarySI, "1001")
	f(1024, 0, resource.BinarySI, "1Ki")
	f(3<<30, 0, resource.BinarySI, "3Gi")
	f(math.MaxInt64, 0, resource.BinarySI, "9223372036854775807")
	// Past int64, digits are dropped until the value fits.
	f(math.MaxUint64, resource.Nano, resource.DecimalSI, "18446744073709551610n")
	f(math.MaxInt64+10, 0, resource.BinarySI, "9223372036854775810")
}
