package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercentDefault is the GC target set when GOGC is not. With the memory
// limit (--memory-limit-ratio of the cgroup's) it trades a little GC CPU for
// an RSS that follows what the container is given: the heap grows by half
// instead of doubling between collections, and nears the cgroup limit only
// by collecting harder, not by being OOM-killed.
const gcPercentDefault = 50

// The cgroup files are read from the root of fsys, normally os.DirFS("/").
const (
	procSelfCgroup = "proc/self/cgroup"
	cgroupRoot     = "sys/fs/cgroup"
	// cgroupV1Memory is where the v1 memory controller is mounted on every
	// distribution and container runtime we know; reading
	// /proc/self/mountinfo for it is left until one differs.
	cgroupV1Memory = "sys/fs/cgroup/memory"
	memoryMaxV2    = "memory.max"
	memoryLimitV1  = "memory.limit_in_bytes"
	// maxCgroupFile bounds every read: these files hold one number, or one
	// line per controller.
	maxCgroupFile = 8 << 10
	// unlimitedV1 and above is what cgroup v1 reports without a limit
	// (9223372036854771712, the largest page multiple below 2^63).
	unlimitedV1 = 1 << 62
)

// MemorySettings is what tuneMemory set.
type MemorySettings struct {
	// MemoryLimit is the limit passed to debug.SetMemoryLimit, in bytes;
	// 0 when the limit was left alone.
	MemoryLimit int64
	// GCPercent is the target passed to debug.SetGCPercent; 0 when it was
	// left alone.
	GCPercent int
	// Source is where MemoryLimit came from (the cgroup file read), or why
	// the limit was left alone: "GOMEMLIMIT", "disabled" or "no cgroup
	// limit".
	Source string
	// CgroupLimit is the cgroup memory limit found, in bytes; 0 for none.
	CgroupLimit int64
}

// tuneMemory sets the Go memory limit to ratio × the cgroup memory limit
// found under fsys, unless GOMEMLIMIT is set or ratio is 0, and the GC
// target to gcPercent, unless GOGC is set or gcPercent is 0 or less: the
// environment always wins. Set but empty variables count as unset, as they
// do for the runtime.
//
// An unreadable or garbled cgroup file leaves the memory limit alone and is
// returned as the error, with the settings made regardless; a missing one
// means no limit.
func tuneMemory(fsys fs.FS, ratio float64, gcPercent int) (MemorySettings, error) {
	var s MemorySettings
	var err error
	if gcPercent > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		s.GCPercent = gcPercent
	}
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
		s.Source = "GOMEMLIMIT"
	case !(ratio >= 0 && ratio < 1): // also refuses NaN
		s.Source = "disabled"
		err = fmt.Errorf("memory limit ratio %v is outside [0, 1)", ratio)
	case ratio == 0:
		s.Source = "disabled"
	default:
		var file string
		s.CgroupLimit, file, err = cgroupMemoryLimit(fsys)
		if err != nil || s.CgroupLimit == 0 {
			s.CgroupLimit, s.Source = 0, "no cgroup limit"
			break
		}
		s.MemoryLimit = int64(float64(s.CgroupLimit) * ratio)
		s.Source = "/" + file
		debug.SetMemoryLimit(s.MemoryLimit)
	}
	return s, err
}

// cgroupMemoryLimit returns the memory limit of the process's cgroup in
// bytes, 0 for none, and the file it was read from. A cgroup's limit is
// the smallest of its own and its ancestors', so each level from the
// process's cgroup up to the mount root is read: in a container without a
// cgroup namespace /proc/self/cgroup names a host path that the
// container's mount does not have, and only the root's file exists.
func cgroupMemoryLimit(fsys fs.FS) (limit int64, file string, err error) {
	data, err := readBounded(fsys, procSelfCgroup)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "", nil // not Linux
	}
	if err != nil {
		return 0, "", err
	}
	mount, name, cgroup, err := parseProcCgroup(data)
	if err != nil || mount == "" {
		return 0, "", err
	}
	for dir := path.Join(mount, cgroup); ; dir = path.Dir(dir) {
		f := path.Join(dir, name)
		data, err := readBounded(fsys, f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return 0, "", err
		default:
			l, err := parseMemoryLimit(data)
			if err != nil {
				return 0, "", fmt.Errorf("%s: %w", "/"+f, err)
			}
			if l > 0 && (limit == 0 || l < limit) {
				limit, file = l, f
			}
		}
		if dir == mount {
			return limit, file, nil
		}
	}
}

// parseProcCgroup finds the memory controller's cgroup in the contents of
// /proc/self/cgroup: the v1 line with memory among its controllers if
// there is one (a hybrid hierarchy leaves memory to v1), else the v2 line
// "0::/path". It returns the directory the hierarchy is mounted on under
// fsys, the limit file's name and the cgroup's path relative to the mount,
// cleaned; mount is "" when neither line is there.
func parseProcCgroup(data string) (mount, name, cgroup string, err error) {
	var v2 string
	var haveV2 bool
	for line := range strings.Lines(data) {
		line = strings.TrimRight(line, "\n")
		id, rest, ok1 := strings.Cut(line, ":")
		controllers, p, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return "", "", "", fmt.Errorf("/%s: line %q is not id:controllers:path", procSelfCgroup, line)
		}
		switch {
		case id == "0" && controllers == "":
			v2, haveV2 = p, true
		case controllersInclude(controllers, "memory"):
			cgroup, err := cleanCgroupPath(p)
			return cgroupV1Memory, memoryLimitV1, cgroup, err
		}
	}
	if !haveV2 {
		return "", "", "", nil
	}
	cgroup, err = cleanCgroupPath(v2)
	return cgroupRoot, memoryMaxV2, cgroup, err
}

func controllersInclude(list, controller string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == controller {
			return true
		}
	}
	return false
}

// cleanCgroupPath turns the absolute cgroup path of /proc/self/cgroup into
// one relative to the mount, "." for the root. It refuses ".." (a process
// outside its cgroup namespace's root sees one) and anything else that
// could step out of the mount.
func cleanCgroupPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("/%s: cgroup path %q is not absolute", procSelfCgroup, p)
	}
	var parts []string
	for e := range strings.SplitSeq(p[1:], "/") {
		switch e {
		case "", ".":
		case "..":
			return "", fmt.Errorf("/%s: cgroup path %q leaves the cgroup root", procSelfCgroup, p)
		default:
			parts = append(parts, e)
		}
	}
	if len(parts) == 0 {
		return ".", nil
	}
	cleaned := strings.Join(parts, "/")
	if !fs.ValidPath(cleaned) {
		return "", fmt.Errorf("/%s: cgroup path %q is not a valid path", procSelfCgroup, p)
	}
	return cleaned, nil
}

// parseMemoryLimit parses memory.max or memory.limit_in_bytes: a byte
// count, or "max" (v2) or at least unlimitedV1 (v1) for none, returned as 0.
func parseMemoryLimit(data string) (int64, error) {
	s := strings.TrimSpace(data)
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("memory limit %q is not a positive byte count", s)
	}
	if n >= unlimitedV1 {
		return 0, nil
	}
	return n, nil
}

// readBounded reads name from fsys, refusing more than maxCgroupFile bytes.
func readBounded(fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCgroupFile+1))
	if err != nil {
		return "", fmt.Errorf("reading /%s: %w", name, err)
	}
	if len(data) > maxCgroupFile {
		return "", fmt.Errorf("/%s is longer than %d bytes", name, maxCgroupFile)
	}
	return string(data), nil
}
