package kubeletsim

import (
	"fmt"
	"time"
)

// FaultKind selects how a node misbehaves.
type FaultKind int

const (
	// FaultNone serves normally.
	FaultNone FaultKind = iota
	// FaultSlow waits Fault.Delay on the fleet's clock, then serves
	// normally (with samples taken after the wait).
	FaultSlow
	// FaultHang accepts the request and never answers, until the client
	// gives up or the fleet closes; the connection is then dropped.
	FaultHang
	// FaultGarbage answers 200 with Fault.Bytes random bytes (default
	// 64 KiB) under the endpoint's usual Content-Type.
	FaultGarbage
	// FaultHuge answers 200 with a well-formed-looking body of at least
	// Fault.Bytes bytes, or an endless one when Fault.Bytes is 0, until the
	// client stops reading.
	FaultHuge
	// FaultHTTP500 answers 500 Internal Server Error.
	FaultHTTP500
	// FaultUnauthorized answers 401 to every request, with or without
	// credentials.
	FaultUnauthorized
)

func (k FaultKind) String() string {
	switch k {
	case FaultNone:
		return "None"
	case FaultSlow:
		return "Slow"
	case FaultHang:
		return "Hang"
	case FaultGarbage:
		return "Garbage"
	case FaultHuge:
		return "Huge"
	case FaultHTTP500:
		return "HTTP500"
	case FaultUnauthorized:
		return "Unauthorized"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is a node's failure mode; the zero value is no fault. Faults apply
// to /metrics/resource and /stats/summary, not to /healthz. FaultUnauthorized
// replaces authentication; the others apply once a request is authorised.
type Fault struct {
	Kind FaultKind
	// Delay is FaultSlow's wait.
	Delay time.Duration
	// Bytes is the body size for FaultGarbage and FaultHuge.
	Bytes int64
}

// Slow delays every answer by d.
func Slow(d time.Duration) Fault { return Fault{Kind: FaultSlow, Delay: d} }

// Hang never answers.
func Hang() Fault { return Fault{Kind: FaultHang} }

// Garbage answers n random bytes (0: 64 KiB).
func Garbage(n int64) Fault { return Fault{Kind: FaultGarbage, Bytes: n} }

// Huge answers a valid-looking body of at least n bytes (0: endless).
func Huge(n int64) Fault { return Fault{Kind: FaultHuge, Bytes: n} }

// HTTP500 answers 500.
func HTTP500() Fault { return Fault{Kind: FaultHTTP500} }

// Unauthorized answers 401.
func Unauthorized() Fault { return Fault{Kind: FaultUnauthorized} }

func (f Fault) String() string {
	switch f.Kind {
	case FaultSlow:
		return fmt.Sprintf("Slow(%v)", f.Delay)
	case FaultGarbage, FaultHuge:
		return fmt.Sprintf("%v(%d bytes)", f.Kind, f.Bytes)
	}
	return f.Kind.String()
}

func (f Fault) validate() error {
	if f.Kind < FaultNone || f.Kind > FaultUnauthorized {
		return fmt.Errorf("unknown fault kind %d", int(f.Kind))
	}
	if f.Delay < 0 || f.Bytes < 0 {
		return fmt.Errorf("fault %v: delay and size must not be negative", f)
	}
	return nil
}
