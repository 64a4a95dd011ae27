package e2e

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The usage.ringmetrics.dev objects as a client reads them: this suite
// drives the binary and never imports pkg/.
type usagePod struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Timestamp  time.Time        `json:"timestamp"`
	Window     string           `json:"window"`
	Total      usageTotal       `json:"total"`
	Containers []usageContainer `json:"containers"`
}

type usageTotal struct {
	CPU            usageCPU                     `json:"cpu"`
	Memory         usageMemory                  `json:"memory"`
	Requests       map[string]resource.Quantity `json:"requests"`
	Limits         map[string]resource.Quantity `json:"limits"`
	Recommendation map[string]resource.Quantity `json:"recommendation"`
	Ratios         usageRatios                  `json:"ratios"`
}

type usageContainer struct {
	Name           string                       `json:"name"`
	Usage          usageSummary                 `json:"usage"`
	Requests       map[string]resource.Quantity `json:"requests"`
	Limits         map[string]resource.Quantity `json:"limits"`
	Recommendation map[string]resource.Quantity `json:"recommendation"`
	Ratios         usageRatios                  `json:"ratios"`
	Samples        []usageSample                `json:"samples"`
}

type usageSummary struct {
	Timestamp time.Time   `json:"timestamp"`
	Window    string      `json:"window"`
	Points    int         `json:"points"`
	Restarts  int         `json:"restarts"`
	CPU       usageCPU    `json:"cpu"`
	Memory    usageMemory `json:"memory"`
}

type usageCPU struct {
	Avg resource.Quantity `json:"avg"`
	P50 resource.Quantity `json:"p50"`
	P90 resource.Quantity `json:"p90"`
	P95 resource.Quantity `json:"p95"`
	Max resource.Quantity `json:"max"`
}

type usageMemory struct {
	Avg resource.Quantity `json:"avg"`
	P95 resource.Quantity `json:"p95"`
	Max resource.Quantity `json:"max"`
}

type usageRatios struct {
	CPUP95    *int64 `json:"cpuP95"`
	CPUMax    *int64 `json:"cpuMax"`
	MemoryMax *int64 `json:"memoryMax"`
}

type usageSample struct {
	Timestamp time.Time          `json:"timestamp"`
	CPU       *resource.Quantity `json:"cpu"`
	Memory    resource.Quantity  `json:"memory"`
}

type usagePodList struct {
	Kind  string     `json:"kind"`
	Items []usagePod `json:"items"`
}

// container returns the named container, or nil.
func (p *usagePod) container(name string) *usageContainer {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}

// usageChange is one call the test made to the simulator, with the wall
// clock read just before and just after it: the simulator took its own
// reading (the change's instant, in whole milliseconds) in between.
type usageChange struct {
	fromMs, toMs int64
	cpuMilli     int64 // the new rate
	memBytes     int64 // the new working set
	restart      bool  // the counter starts again from 0, at the same rate
}

// usageSchedule is what a container was told to do: a rate and a working
// set from its start, then the changes in order. From it the test computes
// what any reader of the simulator's counters must see between two of the
// server's timestamps, without the server's help.
type usageSchedule struct {
	cpuMilli, memBytes int64
	changes            []usageChange
}

// cpuNs is the CPU time, in nanoseconds, the container used over (a, b]
// (ms) when each change took effect at its from (early) or its to (late)
// instant. A millicore is 1 000 ns of CPU a millisecond.
func (s usageSchedule) cpuNs(a, b int64, late bool) int64 {
	rate, at, ns := s.cpuMilli, a, int64(0)
	for _, c := range s.changes {
		t := c.fromMs
		if late {
			t = c.toMs
		}
		if t > a && t < b {
			ns += rate * (t - at) * 1000
			at = t
		}
		if t < b {
			rate = c.cpuMilli
		}
	}
	return ns + rate*(b-at)*1000
}

// restartIn reports whether a restart may lie in (a, b].
func (s usageSchedule) restartIn(a, b int64) bool {
	for _, c := range s.changes {
		if c.restart && c.toMs > a && c.fromMs <= b {
			return true
		}
	}
	return false
}

// memAt is the working set a reading at t shows: lo and hi differ only if t
// falls within a change's call.
func (s usageSchedule) memAt(t int64) (lo, hi int64) {
	lo, hi = s.memBytes, s.memBytes
	for _, c := range s.changes {
		switch {
		case c.toMs < t:
			lo, hi = c.memBytes, c.memBytes
		case c.fromMs <= t:
			lo, hi = min(lo, c.memBytes), max(hi, c.memBytes)
		}
	}
	return lo, hi
}

// bound is an interval a server's figure must lie in: one value where the
// schedule leaves no doubt.
type bound struct{ lo, hi int64 }

func (b bound) has(v int64) bool { return b.lo <= v && v <= b.hi }

func (b bound) String() string {
	if b.lo == b.hi {
		return fmt.Sprint(b.lo)
	}
	return fmt.Sprintf("[%d, %d]", b.lo, b.hi)
}

// usageExpectation is what the schedule implies at the server's timestamps:
// per pair of points the rate, per point the working set, and the summary.
type usageExpectation struct {
	rates                                  []bound // nanocores; one per pair, in order; {-1,-1} for a restart
	restarts                               int
	memory                                 []bound // bytes, per point
	cpuAvg, cpuP50, cpuP90, cpuP95, cpuMax bound
	memAvg, memP95, memMax                 bound
}

// expect computes the expectation at the given points' timestamps (ms).
func (s usageSchedule) expect(times []int64) usageExpectation {
	var e usageExpectation
	var ratesLo, ratesHi, memLo, memHi []int64
	var nsLo, nsHi, spanMs int64
	for i, t := range times {
		lo, hi := s.memAt(t)
		e.memory = append(e.memory, bound{lo, hi})
		memLo, memHi = append(memLo, lo), append(memHi, hi)
		if i == 0 {
			continue
		}
		a := times[i-1]
		if s.restartIn(a, t) {
			e.restarts++
			e.rates = append(e.rates, bound{-1, -1})
			continue
		}
		early, late := s.cpuNs(a, t, false), s.cpuNs(a, t, true)
		r := bound{min(early, late) * 1000 / (t - a), max(early, late) * 1000 / (t - a)}
		e.rates = append(e.rates, r)
		ratesLo, ratesHi = append(ratesLo, r.lo), append(ratesHi, r.hi)
		nsLo, nsHi, spanMs = nsLo+min(early, late), nsHi+max(early, late), spanMs+t-a
	}
	if len(ratesLo) > 0 {
		e.cpuAvg = bound{nsLo * 1000 / spanMs, nsHi * 1000 / spanMs}
		e.cpuP50 = bound{nearestRank(ratesLo, 50), nearestRank(ratesHi, 50)}
		e.cpuP90 = bound{nearestRank(ratesLo, 90), nearestRank(ratesHi, 90)}
		e.cpuP95 = bound{nearestRank(ratesLo, 95), nearestRank(ratesHi, 95)}
		e.cpuMax = bound{slices.Max(ratesLo), slices.Max(ratesHi)}
	}
	n := int64(len(memLo))
	e.memAvg = bound{(sum(memLo) + n/2) / n, (sum(memHi) + n/2) / n}
	e.memP95 = bound{nearestRank(memLo, 95), nearestRank(memHi, 95)}
	e.memMax = bound{slices.Max(memLo), slices.Max(memHi)}
	return e
}

// nearestRank is the p-th percentile of values by the nearest-rank method
// the API documents: the ⌈p·n/100⌉-th smallest.
func nearestRank(values []int64, p int) int64 {
	sorted := slices.Sorted(slices.Values(values))
	rank := int(math.Ceil(float64(p) * float64(len(sorted)) / 100))
	return sorted[max(rank, 1)-1]
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// recommendedCPU and recommendedMemory are the API's documented rule (VPA's
// target): p90 × 1.15 rounded up to 1m, max × 1.15 rounded up to 1Mi, at
// least 25m and 250Mi split over the pod's containers (rounded up).
func recommendedCPU(p90Nano int64, containers int64) int64 {
	return max(ceilDiv(p90Nano*115, 100_000_000), ceilDiv(25, containers))
}

func recommendedMemory(maxBytes int64, containers int64) int64 {
	return max(ceilDiv(maxBytes*115, 100<<20), ceilDiv(250, containers)) << 20
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// The table's cells, as the API documents them: CPU in millicores and
// memory in MiB, both rounded up.
func cpuCell(q resource.Quantity) string { return fmt.Sprintf("%dm", q.MilliValue()) }

func memCell(q resource.Quantity) string { return fmt.Sprintf("%dMi", ceilDiv(q.Value(), 1<<20)) }

// parseTable reads kubectl's table output into rows keyed by header. Column
// names may hold a space ("CPU REQ") and cells never do, so a column is
// found where its name starts in the header line.
func parseTable(out string) ([]map[string]string, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, fmt.Errorf("no table in %q", out)
	}
	header := lines[0]
	var names []string
	var starts []int
	for i := 0; i < len(header); {
		if header[i] == ' ' {
			i++
			continue
		}
		end := i
		// A name ends at two spaces or the line's end.
		for end < len(header) && !(header[end] == ' ' && (end+1 == len(header) || header[end+1] == ' ')) {
			end++
		}
		names = append(names, header[i:end])
		starts = append(starts, i)
		i = end
	}
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := map[string]string{}
		for j, name := range names {
			from, to := starts[j], len(line)
			if j+1 < len(starts) {
				to = min(starts[j+1], len(line))
			}
			if from > len(line) {
				return nil, fmt.Errorf("row %q is shorter than header %q", line, header)
			}
			row[name] = strings.TrimSpace(line[from:to])
		}
		rows = append(rows, row)
	}
	return rows, nil
}
