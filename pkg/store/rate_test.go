package store

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// t0 is an arbitrary wall-clock instant; the tests count from it.
const t0 = int64(1_750_000_000_000)

// obs is one scrape of the test container: its start time, timestamp and
// counters. Timestamps are offsets from t0.
type obs struct {
	start int64
	ts    int64
	cpu   uint64
	mem   uint64
}

func TestContainerUsage(t *testing.T) {
	const s = int64(1000) // a second, in ms
	abs := func(off int64) int64 { return t0 + off }
	tests := []struct {
		name     string
		window   int64
		capacity int
		obs      []obs
		want     sample.Usage
		wantOK   bool
	}{
		{
			name:   "two points",
			obs:    []obs{{ts: 0, cpu: 1e9, mem: 100}, {ts: 15 * s, cpu: 2.5e9, mem: 200}},
			want:   sample.Usage{TimestampMs: abs(15 * s), WindowMs: 15 * s, CPUNanoCores: 1e8, MemoryBytes: 200},
			wantOK: true,
		},
		{
			name: "one point without start time",
			obs:  []obs{{ts: 0, cpu: 1e9, mem: 100}},
		},
		{
			name:   "first scrape from start time",
			obs:    []obs{{start: abs(-10 * s), ts: 0, cpu: 5e9, mem: 7}},
			want:   sample.Usage{TimestampMs: abs(0), WindowMs: 10 * s, CPUNanoCores: 5e8, MemoryBytes: 7},
			wantOK: true,
		},
		{
			// After ringmetrics restarts, a container running for days must
			// not be served its lifetime average.
			name: "start time older than max age waits for a second point",
			obs:  []obs{{start: abs(-36 * s), ts: 0, cpu: 5e9, mem: 7}},
		},
		{
			name: "start time not before the point",
			obs:  []obs{{start: abs(0), ts: 0, cpu: 5e9, mem: 7}},
		},
		{
			name: "start time after the point",
			obs:  []obs{{start: abs(1), ts: 0, cpu: 5e9, mem: 7}},
		},
		{
			name: "last two points only",
			obs: []obs{
				{ts: 0, cpu: 0, mem: 1},
				{ts: 15 * s, cpu: 15e9, mem: 2}, // 1 core
				{ts: 30 * s, cpu: 45e9, mem: 3}, // 2 cores
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 2e9, MemoryBytes: 3},
			wantOK: true,
		},
		{
			name: "repeated and older timestamps ignored",
			obs: []obs{
				{ts: 0, cpu: 0, mem: 1},
				{ts: 15 * s, cpu: 15e9, mem: 2},
				{ts: 15 * s, cpu: 99e9, mem: 98},
				{ts: 10 * s, cpu: 99e9, mem: 99},
			},
			want:   sample.Usage{TimestampMs: abs(15 * s), WindowMs: 15 * s, CPUNanoCores: 1e9, MemoryBytes: 2},
			wantOK: true,
		},
		{
			name: "repeated timestamp does not restart a counter",
			obs: []obs{
				{ts: 0, cpu: 10e9, mem: 1},
				{ts: 0, cpu: 1, mem: 1},
				{ts: 15 * s, cpu: 25e9, mem: 2},
			},
			want:   sample.Usage{TimestampMs: abs(15 * s), WindowMs: 15 * s, CPUNanoCores: 1e9, MemoryBytes: 2},
			wantOK: true,
		},
		{
			name: "counter reset without start time needs a second point",
			obs: []obs{
				{ts: 0, cpu: 50e9, mem: 1},
				{ts: 15 * s, cpu: 65e9, mem: 2},
				{ts: 30 * s, cpu: 3e9, mem: 3},
			},
		},
		{
			name: "counter reset rate starts at the reset",
			obs: []obs{
				{ts: 0, cpu: 50e9, mem: 1},
				{ts: 15 * s, cpu: 65e9, mem: 2},
				{ts: 30 * s, cpu: 3e9, mem: 3},
				{ts: 45 * s, cpu: 10.5e9, mem: 4},
			},
			want:   sample.Usage{TimestampMs: abs(45 * s), WindowMs: 15 * s, CPUNanoCores: 5e8, MemoryBytes: 4},
			wantOK: true,
		},
		{
			name: "counter reset with new start time served at once",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 50e9, mem: 1},
				{start: abs(-60 * s), ts: 15 * s, cpu: 65e9, mem: 2},
				{start: abs(20 * s), ts: 30 * s, cpu: 2e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 10 * s, CPUNanoCores: 2e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			name: "counter reset with unchanged start time is not trusted",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 50e9, mem: 1},
				{start: abs(-60 * s), ts: 15 * s, cpu: 65e9, mem: 2},
				{start: abs(-60 * s), ts: 30 * s, cpu: 2e9, mem: 3},
			},
		},
		{
			name: "start time change restarts a counter that went up",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 1e9, mem: 1},
				{start: abs(-60 * s), ts: 15 * s, cpu: 2e9, mem: 2},
				// Restarted at 25 s and already used more than before.
				{start: abs(25 * s), ts: 30 * s, cpu: 4e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 5 * s, CPUNanoCores: 8e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			// The run cannot have begun before a point it did not count.
			name: "start time moved to before the last point is not a restart",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 1e9, mem: 1},
				{start: abs(-60 * s), ts: 15 * s, cpu: 2e9, mem: 2},
				{start: abs(10 * s), ts: 30 * s, cpu: 3.5e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 1e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			// Seconds since the container started, as one kubelet-compatible
			// agent reports it: a different value every scrape.
			name: "relative start times are never a restart",
			obs: []obs{
				{start: 3600 * s, ts: 0, cpu: 1e9, mem: 1},
				{start: 3615 * s, ts: 15 * s, cpu: 2.5e9, mem: 2},
				{start: 3630 * s, ts: 30 * s, cpu: 4e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 1e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			name: "start time jittering by a second is not a restart",
			obs: []obs{
				{start: abs(-600 * s), ts: 0, cpu: 1e9, mem: 1},
				{start: abs(-599 * s), ts: 15 * s, cpu: 2.5e9, mem: 2},
				{start: abs(-601 * s), ts: 30 * s, cpu: 4e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 1e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			name: "start time in the future is not a restart",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 1e9, mem: 1},
				{start: abs(-60 * s), ts: 15 * s, cpu: 2.5e9, mem: 2},
				{start: abs(3600 * s), ts: 30 * s, cpu: 4e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 1e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			name: "decreasing start time is not a restart",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 1e9, mem: 1},
				{start: abs(-120 * s), ts: 15 * s, cpu: 2.5e9, mem: 2},
				{start: abs(-180 * s), ts: 30 * s, cpu: 4e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 1e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			name: "zero start times are not a restart",
			obs: []obs{
				{ts: 0, cpu: 1e9, mem: 1},
				{ts: 15 * s, cpu: 2.5e9, mem: 2},
				{ts: 30 * s, cpu: 4e9, mem: 3},
			},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 1e8, MemoryBytes: 3},
			wantOK: true,
		},
		{
			name: "counter going down is a restart even with a relative start time",
			obs: []obs{
				{start: 3600 * s, ts: 0, cpu: 50e9, mem: 1},
				{start: 3615 * s, ts: 15 * s, cpu: 51e9, mem: 2},
				{start: 5 * s, ts: 30 * s, cpu: 1e9, mem: 3},
			},
		},
		{
			name: "start time change then a second point",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 1e9, mem: 1},
				{start: abs(-60 * s), ts: 15 * s, cpu: 2e9, mem: 2},
				{start: abs(10 * s), ts: 30 * s, cpu: 4e9, mem: 3},
				{start: abs(10 * s), ts: 45 * s, cpu: 7e9, mem: 4},
			},
			want:   sample.Usage{TimestampMs: abs(45 * s), WindowMs: 15 * s, CPUNanoCores: 2e8, MemoryBytes: 4},
			wantOK: true,
		},
		{
			name: "start time learned later is not a restart",
			obs: []obs{
				{ts: 0, cpu: 1e9, mem: 1},
				{start: abs(-60 * s), ts: 15 * s, cpu: 16e9, mem: 2},
			},
			want:   sample.Usage{TimestampMs: abs(15 * s), WindowMs: 15 * s, CPUNanoCores: 1e9, MemoryBytes: 2},
			wantOK: true,
		},
		{
			name: "start time lost is not a restart",
			obs: []obs{
				{start: abs(-60 * s), ts: 0, cpu: 1e9, mem: 1},
				{ts: 15 * s, cpu: 16e9, mem: 2},
			},
			want:   sample.Usage{TimestampMs: abs(15 * s), WindowMs: 15 * s, CPUNanoCores: 1e9, MemoryBytes: 2},
			wantOK: true,
		},
		{
			name:   "zero cpu and memory served",
			obs:    []obs{{ts: 0}, {ts: 15 * s}},
			want:   sample.Usage{TimestampMs: abs(15 * s), WindowMs: 15 * s},
			wantOK: true,
		},
		{
			name:   "zero first scrape served",
			obs:    []obs{{start: abs(-1 * s), ts: 0}},
			want:   sample.Usage{TimestampMs: abs(0), WindowMs: 1 * s},
			wantOK: true,
		},
		{
			name:     "ring wrap-around",
			capacity: 3,
			obs: []obs{
				{ts: 0, cpu: 0}, {ts: 15 * s, cpu: 15e9}, {ts: 30 * s, cpu: 30e9},
				{ts: 45 * s, cpu: 45e9}, {ts: 60 * s, cpu: 60e9}, {ts: 75 * s, cpu: 75e9},
				{ts: 90 * s, cpu: 90e9}, {ts: 105 * s, cpu: 112.5e9, mem: 5},
			},
			want:   sample.Usage{TimestampMs: abs(105 * s), WindowMs: 15 * s, CPUNanoCores: 1.5e9, MemoryBytes: 5},
			wantOK: true,
		},
		{
			name:   "window smooths over the points it covers",
			window: 45 * s,
			obs: []obs{
				{ts: 0, cpu: 0}, {ts: 15 * s, cpu: 60e9}, // 4 cores, outside the window
				{ts: 30 * s, cpu: 75e9}, {ts: 45 * s, cpu: 75e9},
				{ts: 60 * s, cpu: 75e9}, {ts: 75 * s, cpu: 120e9, mem: 9},
			},
			want:   sample.Usage{TimestampMs: abs(75 * s), WindowMs: 45 * s, CPUNanoCores: 1e9, MemoryBytes: 9},
			wantOK: true,
		},
		{
			name:   "window excludes a point just outside it",
			window: 45 * s,
			obs: []obs{
				{ts: 0, cpu: 0}, {ts: 15 * s, cpu: 15e9},
				{ts: 30 * s, cpu: 30e9}, {ts: 45*s + 1, cpu: 45.001e9},
			},
			want:   sample.Usage{TimestampMs: abs(45*s + 1), WindowMs: 30*s + 1, CPUNanoCores: 1e9, MemoryBytes: 0},
			wantOK: true,
		},
		{
			name:   "window stops at a restart",
			window: 60 * s,
			obs: []obs{
				{ts: 0, cpu: 100e9}, {ts: 15 * s, cpu: 200e9},
				{ts: 30 * s, cpu: 1e9}, {ts: 45 * s, cpu: 16e9},
				{ts: 60 * s, cpu: 31e9},
			},
			want:   sample.Usage{TimestampMs: abs(60 * s), WindowMs: 30 * s, CPUNanoCores: 1e9},
			wantOK: true,
		},
		{
			name:   "window shorter than resolution uses the last two points",
			window: 5 * s,
			obs:    []obs{{ts: 0, cpu: 0}, {ts: 15 * s, cpu: 15e9}, {ts: 30 * s, cpu: 45e9}},
			want:   sample.Usage{TimestampMs: abs(30 * s), WindowMs: 15 * s, CPUNanoCores: 2e9},
			wantOK: true,
		},
		{
			name:     "window limited by capacity",
			window:   1000 * s,
			capacity: 3,
			obs: []obs{
				{ts: 0, cpu: 0}, {ts: 15 * s, cpu: 0}, {ts: 30 * s, cpu: 0},
				{ts: 45 * s, cpu: 0}, {ts: 60 * s, cpu: 30e9},
			},
			want:   sample.Usage{TimestampMs: abs(60 * s), WindowMs: 30 * s, CPUNanoCores: 1e9},
			wantOK: true,
		},
		{
			name:   "window on a first scrape uses the start time",
			window: 60 * s,
			obs:    []obs{{start: abs(-4 * s), ts: 0, cpu: 2e9}},
			want:   sample.Usage{TimestampMs: abs(0), WindowMs: 4 * s, CPUNanoCores: 5e8},
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustNew(t, Config{Capacity: tt.capacity, CPUWindowMs: tt.window, MaxAgeMs: 35 * s})
			var b sample.Batch
			for _, o := range tt.obs {
				b.Reset()
				b.Node = "n1"
				b.Containers = append(b.Containers, sample.Container{
					Namespace: "ns", Pod: "p", Name: "c", StartTimeMs: o.start,
					Point: sample.Point{TimestampMs: t0 + o.ts, CPUNanos: o.cpu, MemoryBytes: o.mem},
				})
				st.Write(&b, t0+o.ts)
			}
			got, ok := st.PodUsage("ns", "p", nil)
			if ok != tt.wantOK {
				t.Fatalf("PodUsage ok = %v, want %v (got %+v)", ok, tt.wantOK, got)
			}
			if !ok {
				if len(got) != 0 {
					t.Errorf("PodUsage appended %+v although it reported false", got)
				}
				return
			}
			want := []sample.ContainerUsage{{Name: "c", Usage: tt.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PodUsage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodeUsage(t *testing.T) {
	const s = int64(1000)
	pt := func(ts int64, cpu, mem uint64) sample.Point {
		return sample.Point{TimestampMs: t0 + ts, CPUNanos: cpu, MemoryBytes: mem}
	}
	tests := []struct {
		name   string
		points []sample.Point
		want   sample.Usage
		wantOK bool
	}{
		{name: "one point", points: []sample.Point{pt(0, 1e9, 1)}},
		{
			name:   "two points",
			points: []sample.Point{pt(0, 1e9, 1), pt(15*s, 31e9, 2)},
			want:   sample.Usage{TimestampMs: t0 + 15*s, WindowMs: 15 * s, CPUNanoCores: 2e9, MemoryBytes: 2},
			wantOK: true,
		},
		{
			name:   "repeated reading ignored",
			points: []sample.Point{pt(0, 1e9, 1), pt(15*s, 31e9, 2), pt(15*s, 90e9, 3)},
			want:   sample.Usage{TimestampMs: t0 + 15*s, WindowMs: 15 * s, CPUNanoCores: 2e9, MemoryBytes: 2},
			wantOK: true,
		},
		{
			name:   "reboot needs two new points",
			points: []sample.Point{pt(0, 100e9, 1), pt(15*s, 130e9, 2), pt(30*s, 1e9, 3)},
		},
		{
			name:   "after a reboot",
			points: []sample.Point{pt(0, 100e9, 1), pt(15*s, 130e9, 2), pt(30*s, 1e9, 3), pt(45*s, 16e9, 4)},
			want:   sample.Usage{TimestampMs: t0 + 45*s, WindowMs: 15 * s, CPUNanoCores: 1e9, MemoryBytes: 4},
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustNew(t, Config{MaxAgeMs: 35 * s})
			for _, p := range tt.points {
				st.Write(&sample.Batch{Node: "n1", HasNode: true, NodePoint: p}, p.TimestampMs)
			}
			got, ok := st.NodeUsage("n1")
			if ok != tt.wantOK {
				t.Fatalf("NodeUsage ok = %v, want %v (got %+v)", ok, tt.wantOK, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NodeUsage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNanoCores(t *testing.T) {
	tests := []struct {
		delta  uint64
		window int64
		want   uint64
	}{
		{0, 15000, 0},
		{15e9, 15000, 1e9},
		{1, 3, 333},
		{1e9, 0, 0},
		{1e9, -5, 0},
		// 64 cores for a year: the product overflows 64 bits, the rate does not.
		{64 * 365 * 24 * 3600 * 1e9, 365 * 24 * 3600 * 1000, 64e9},
		{math.MaxUint64, 1, math.MaxUint64},
	}
	for _, tt := range tests {
		if got := nanoCores(tt.delta, tt.window); got != tt.want {
			t.Errorf("nanoCores(%d, %d) = %d, want %d", tt.delta, tt.window, got, tt.want)
		}
	}
}

// testCapacity is the ring size of tests that do not choose one: 15 minutes
// at 15 s, the server's default before it kept an hour.
const testCapacity = 60

func mustNew(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Capacity == 0 {
		cfg.Capacity = testCapacity
	}
	st, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return st
}
