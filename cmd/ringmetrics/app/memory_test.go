package app

import (
	"io/fs"
	"math"
	"path"
	"runtime/debug"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/ringmetrics/ringmetrics/pkg/server/options"
)

const mebi = 1 << 20

// keepRuntimeMemory restores the memory limit and GC target after the test
// and clears the variables that would override tuneMemory.
func keepRuntimeMemory(t *testing.T) {
	t.Helper()
	limit := debug.SetMemoryLimit(-1)
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	t.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(gc)
	})
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
}

// files is a fake root: each pair is a path under / and its contents.
func files(pairs ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := 0; i+1 < len(pairs); i += 2 {
		fsys[pairs[i]] = &fstest.MapFile{Data: []byte(pairs[i+1])}
	}
	return fsys
}

func TestTuneMemoryCgroup(t *testing.T) {
	const v1Controllers = "12:pids:/kubepods/pod1/ctr\n11:cpu,cpuacct:/kubepods/pod1/ctr\n"
	noLimit := MemorySettings{GCPercent: 50, Source: "no cgroup limit"}
	limited := func(cgroup int64, file string) MemorySettings {
		return MemorySettings{MemoryLimit: int64(float64(cgroup) * 0.9), GCPercent: 50, Source: file, CgroupLimit: cgroup}
	}
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    MemorySettings
		wantErr string
	}{
		{
			name: "v2 with a limit",
			fsys: files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "536870912\n"),
			want: limited(512*mebi, "/sys/fs/cgroup/memory.max"),
		},
		{
			name: "v2 max",
			fsys: files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "max\n"),
			want: noLimit,
		},
		{
			name: "v2 nested, limit on the pod",
			fsys: files("proc/self/cgroup", "0::/kubepods.slice/pod1/ctr\n",
				"sys/fs/cgroup/kubepods.slice/pod1/ctr/memory.max", "max\n",
				"sys/fs/cgroup/kubepods.slice/pod1/memory.max", "1073741824\n",
				"sys/fs/cgroup/kubepods.slice/memory.max", "max\n"),
			want: limited(1024*mebi, "/sys/fs/cgroup/kubepods.slice/pod1/memory.max"),
		},
		{
			name: "v2 nested, smallest of the levels",
			fsys: files("proc/self/cgroup", "0::/kubepods.slice/pod1/ctr\n",
				"sys/fs/cgroup/kubepods.slice/pod1/ctr/memory.max", "268435456\n",
				"sys/fs/cgroup/kubepods.slice/pod1/memory.max", "1073741824\n"),
			want: limited(256*mebi, "/sys/fs/cgroup/kubepods.slice/pod1/ctr/memory.max"),
		},
		{
			name: "v2 host path, container sees only its root",
			fsys: files("proc/self/cgroup", "0::/kubepods.slice/pod1/ctr\n", "sys/fs/cgroup/memory.max", "536870912\n"),
			want: limited(512*mebi, "/sys/fs/cgroup/memory.max"),
		},
		{
			name: "v1 with a limit",
			fsys: files("proc/self/cgroup", v1Controllers+"4:memory:/kubepods/pod1/ctr\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes", "268435456\n"),
			want: limited(256*mebi, "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
		},
		{
			name: "v1 nested, memory among other controllers",
			fsys: files("proc/self/cgroup", "4:cpuset,memory:/kubepods/pod1\n",
				"sys/fs/cgroup/memory/kubepods/pod1/memory.limit_in_bytes", "268435456\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"),
			want: limited(256*mebi, "/sys/fs/cgroup/memory/kubepods/pod1/memory.limit_in_bytes"),
		},
		{
			name: "v1 unlimited",
			fsys: files("proc/self/cgroup", v1Controllers+"4:memory:/\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"),
			want: noLimit,
		},
		{
			name: "hybrid: memory is on v1",
			fsys: files("proc/self/cgroup", "0::/user.slice\n4:memory:/user.slice\n",
				"sys/fs/cgroup/memory.max", "1073741824\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes", "268435456\n"),
			want: limited(256*mebi, "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
		},
		{
			name:    "garbage memory.max",
			fsys:    files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "lots\x00\n"),
			want:    noLimit,
			wantErr: `"lots\x00" is not a positive byte count`,
		},
		{
			name:    "negative limit",
			fsys:    files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "-1\n"),
			want:    noLimit,
			wantErr: "not a positive byte count",
		},
		{
			name:    "limit beyond int64",
			fsys:    files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "99999999999999999999\n"),
			want:    noLimit,
			wantErr: "not a positive byte count",
		},
		{
			name: "garbage in a level above a good one",
			fsys: files("proc/self/cgroup", "0::/a\n",
				"sys/fs/cgroup/a/memory.max", "536870912\n", "sys/fs/cgroup/memory.max", "12k\n"),
			want:    noLimit,
			wantErr: "/sys/fs/cgroup/memory.max",
		},
		{
			name:    "garbage /proc/self/cgroup",
			fsys:    files("proc/self/cgroup", "\x00\xff garbage\n", "sys/fs/cgroup/memory.max", "536870912\n"),
			want:    noLimit,
			wantErr: "is not id:controllers:path",
		},
		{
			name:    "relative cgroup path",
			fsys:    files("proc/self/cgroup", "0::kubepods\n", "sys/fs/cgroup/memory.max", "536870912\n"),
			want:    noLimit,
			wantErr: "is not absolute",
		},
		{
			name: "path traversal",
			fsys: files("proc/self/cgroup", "0::/../../etc\n",
				"sys/fs/cgroup/memory.max", "536870912\n", "etc/memory.max", "1048576\n"),
			want:    noLimit,
			wantErr: "leaves the cgroup root",
		},
		{
			name: "path traversal in v1",
			fsys: files("proc/self/cgroup", "4:memory:/a/../../..\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes", "268435456\n"),
			want:    noLimit,
			wantErr: "leaves the cgroup root",
		},
		{
			name:    "oversized memory.max",
			fsys:    files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", strings.Repeat("1", 64<<10)),
			want:    noLimit,
			wantErr: "longer than 8192 bytes",
		},
		{
			name:    "oversized /proc/self/cgroup",
			fsys:    files("proc/self/cgroup", strings.Repeat("0::/\n", 4<<10), "sys/fs/cgroup/memory.max", "536870912\n"),
			want:    noLimit,
			wantErr: "longer than 8192 bytes",
		},
		{
			name: "no /proc/self/cgroup",
			fsys: files("sys/fs/cgroup/memory.max", "536870912\n"),
			want: noLimit,
		},
		{
			name: "no memory.max",
			fsys: files("proc/self/cgroup", "0::/a/b\n"),
			want: noLimit,
		},
		{
			name: "empty /proc/self/cgroup",
			fsys: files("proc/self/cgroup", "", "sys/fs/cgroup/memory.max", "536870912\n"),
			want: noLimit,
		},
		{
			name: "no memory controller in v1",
			fsys: files("proc/self/cgroup", v1Controllers, "sys/fs/cgroup/memory/memory.limit_in_bytes", "268435456\n"),
			want: noLimit,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keepRuntimeMemory(t)
			debug.SetMemoryLimit(math.MaxInt64)
			got, err := tuneMemory(tt.fsys, options.NewOptions().MemoryLimitRatio, gcPercentDefault)
			if tt.wantErr == "" && err != nil {
				t.Errorf("error %v, want none", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			// What it returns is what the runtime now has.
			wantLimit := got.MemoryLimit
			if wantLimit == 0 {
				wantLimit = math.MaxInt64
			}
			if limit := debug.SetMemoryLimit(-1); limit != wantLimit {
				t.Errorf("runtime memory limit %d, want %d", limit, wantLimit)
			}
			if gc := debug.SetGCPercent(100); gc != gcPercentDefault {
				t.Errorf("runtime GC percent %d, want %d", gc, gcPercentDefault)
			}
		})
	}
}

func TestTuneMemoryEnvironmentWins(t *testing.T) {
	limited := files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "536870912\n")
	tests := []struct {
		name string
		env  map[string]string
		want MemorySettings
	}{
		{
			name: "GOMEMLIMIT",
			env:  map[string]string{"GOMEMLIMIT": "100MiB"},
			want: MemorySettings{GCPercent: 50, Source: "GOMEMLIMIT"},
		},
		{
			name: "GOGC",
			env:  map[string]string{"GOGC": "100"},
			want: MemorySettings{MemoryLimit: 483183820, Source: "/sys/fs/cgroup/memory.max", CgroupLimit: 512 * mebi},
		},
		{
			name: "GOGC off",
			env:  map[string]string{"GOGC": "off"},
			want: MemorySettings{MemoryLimit: 483183820, Source: "/sys/fs/cgroup/memory.max", CgroupLimit: 512 * mebi},
		},
		{
			name: "both",
			env:  map[string]string{"GOGC": "200", "GOMEMLIMIT": "1GiB"},
			want: MemorySettings{Source: "GOMEMLIMIT"},
		},
		{
			name: "empty counts as unset",
			env:  map[string]string{"GOGC": "", "GOMEMLIMIT": ""},
			want: MemorySettings{MemoryLimit: 483183820, GCPercent: 50, Source: "/sys/fs/cgroup/memory.max", CgroupLimit: 512 * mebi},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keepRuntimeMemory(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			const sentinelLimit, sentinelGC = 3 << 30, 77
			debug.SetMemoryLimit(sentinelLimit)
			debug.SetGCPercent(sentinelGC)
			got, err := tuneMemory(limited, options.NewOptions().MemoryLimitRatio, gcPercentDefault)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			if limit := debug.SetMemoryLimit(-1); got.MemoryLimit == 0 && limit != sentinelLimit {
				t.Errorf("runtime memory limit %d changed, want it left at %d", limit, sentinelLimit)
			}
			if gc := debug.SetGCPercent(100); got.GCPercent == 0 && gc != sentinelGC {
				t.Errorf("runtime GC percent %d changed, want it left at %d", gc, sentinelGC)
			}
		})
	}
}

func TestTuneMemoryRatio(t *testing.T) {
	limited := files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "1073741824\n")
	garbage := files("proc/self/cgroup", "0::/\n", "sys/fs/cgroup/memory.max", "garbage\n")
	tests := []struct {
		name      string
		fsys      fstest.MapFS
		ratio     float64
		gcPercent int
		want      MemorySettings
		wantErr   bool
	}{
		{name: "half", fsys: limited, ratio: 0.5, gcPercent: 50,
			want: MemorySettings{MemoryLimit: 512 * mebi, GCPercent: 50, Source: "/sys/fs/cgroup/memory.max", CgroupLimit: 1024 * mebi}},
		// 0 disables: the cgroup is not even read.
		{name: "0 disables", fsys: garbage, ratio: 0, gcPercent: 50,
			want: MemorySettings{GCPercent: 50, Source: "disabled"}},
		{name: "1 refused", fsys: limited, ratio: 1, gcPercent: 50,
			want: MemorySettings{GCPercent: 50, Source: "disabled"}, wantErr: true},
		{name: "negative refused", fsys: limited, ratio: -0.5, gcPercent: 50,
			want: MemorySettings{GCPercent: 50, Source: "disabled"}, wantErr: true},
		{name: "NaN refused", fsys: limited, ratio: math.NaN(), gcPercent: 50,
			want: MemorySettings{GCPercent: 50, Source: "disabled"}, wantErr: true},
		{name: "GC percent 0 leaves GOGC's default", fsys: limited, ratio: 0.5, gcPercent: 0,
			want: MemorySettings{MemoryLimit: 512 * mebi, Source: "/sys/fs/cgroup/memory.max", CgroupLimit: 1024 * mebi}},
		{name: "GC percent 200", fsys: limited, ratio: 0.5, gcPercent: 200,
			want: MemorySettings{MemoryLimit: 512 * mebi, GCPercent: 200, Source: "/sys/fs/cgroup/memory.max", CgroupLimit: 1024 * mebi}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keepRuntimeMemory(t)
			got, err := tuneMemory(tt.fsys, tt.ratio, tt.gcPercent)
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzCgroupMemoryLimit feeds hostile /proc/self/cgroup and memory.max
// contents: no panic, no read outside the cgroup root, and a limit only
// with a file it came from.
func FuzzCgroupMemoryLimit(f *testing.F) {
	f.Add("0::/\n", "536870912\n")
	f.Add("0::/a/b\n", "max\n")
	f.Add("4:memory:/kubepods/pod1\n", "9223372036854771712\n")
	f.Add("0::/../x\n", "1\n")
	f.Add("0::/a/./b//c\n", "-1")
	f.Add(":\n::\n0::\n", " 12 ")
	f.Fuzz(func(t *testing.T, cgroup, limit string) {
		fsys := fstest.MapFS{"proc/self/cgroup": {Data: []byte(cgroup)}}
		if mount, name, dir, err := parseProcCgroup(cgroup); err == nil && mount != "" {
			fsys[path.Join(mount, dir, name)] = &fstest.MapFile{Data: []byte(limit)}
			fsys[path.Join(mount, name)] = &fstest.MapFile{Data: []byte(limit)}
		}
		got, file, err := cgroupMemoryLimit(confinedFS{t, fsys})
		if got < 0 || (got > 0) != (file != "") || (err != nil && got != 0) {
			t.Fatalf("limit %d from %q, error %v", got, file, err)
		}
	})
}

// confinedFS fails the test on opening anything but /proc/self/cgroup and
// what is under the cgroup root.
type confinedFS struct {
	t *testing.T
	fstest.MapFS
}

func (c confinedFS) Open(name string) (fs.File, error) {
	if name != procSelfCgroup && !strings.HasPrefix(name, cgroupRoot+"/") {
		c.t.Fatalf("opened %q, outside /%s", name, cgroupRoot)
	}
	return c.MapFS.Open(name)
}
