package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ringmetrics/ringmetrics/test/bed"
	"github.com/ringmetrics/ringmetrics/test/kubeletsim"
)

// semFrom says what the start of a view's window is.
type semFrom int

const (
	// fromEarlier: a sample from before the kubelets cached theirs, which
	// the two servers took at different moments.
	fromEarlier semFrom = iota
	// fromSample: a cached sample, the same for both servers.
	fromSample
	// fromStart: the container's start time (ringmetrics' first sample of
	// a run).
	fromStart
)

func (f semFrom) String() string {
	return [...]string{"an earlier sample", "a cached sample", "the container's start"}[f]
}

// semView is one NodeMetrics or PodMetrics as served, resolved against the
// kubelet's samples.
type semView struct {
	ts     time.Time
	window time.Duration
	ctrs   map[string]usage // by container; "" for a node
	// sample is the cached sample ts names (JSON carries whole seconds;
	// cached samples are 15s apart), zero for an earlier one; from says
	// where the window starts.
	sample time.Time
	from   semFrom
}

func (v *semView) String() string {
	if v == nil {
		return "absent"
	}
	return fmt.Sprintf("{sample %s window %v from %v %v}", v.sample.Format("15:04:05.000"), v.window, v.from, v.ctrs)
}

type semPoll struct {
	at    time.Time
	views [2]map[string]*semView // by server: "node/<name>", "pod/<name>"
}

// semRecorder polls both servers, checks on every poll that views of the
// same sample agree, and keeps the polls for the checks at the end.
type semRecorder struct {
	t       *testing.T
	client  *http.Client
	servers [2]*bed.Server
	fleet   *kubeletsim.Fleet
	// starts holds each test pod's container start times, by pod name.
	starts map[string][]time.Time
	polls  []semPoll
	fails  map[string]bool
	// compared counts the polls' same-sample comparisons and the distinct
	// (object, sample) pairs they covered.
	compared int
	pairs    map[string]bool
}

// errorf reports a failure once however many polls repeat it.
func (r *semRecorder) errorf(format string, args ...any) {
	r.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if !r.fails[msg] {
		r.fails[msg] = true
		r.t.Error(msg)
	}
}

func (r *semRecorder) noteStart(pod string) {
	r.t.Helper()
	start, err := r.fleet.ContainerStart(semNamespace, pod, "app")
	if err != nil {
		r.t.Fatal(err)
	}
	r.starts[pod] = append(r.starts[pod], start)
}

func (r *semRecorder) last() *semPoll { return &r.polls[len(r.polls)-1] }

// until polls every semPollEvery until done accepts a poll, and fails the
// test with done's last error after timeout.
func (r *semRecorder) until(ctx context.Context, timeout time.Duration, what string, done func(*semPoll) error) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		p, err := r.poll()
		if err == nil {
			r.polls = append(r.polls, p)
			r.checkPoll(&r.polls[len(r.polls)-1])
			if last = done(&r.polls[len(r.polls)-1]); last == nil {
				return
			}
		} else {
			last = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.t.Fatalf("not true after %v: %s: %v", timeout, what, last)
		}
		time.Sleep(semPollEvery)
	}
}

func (r *semRecorder) poll() (semPoll, error) {
	p := semPoll{at: time.Now()}
	for i, s := range r.servers {
		views := map[string]*semView{}
		var nl metricsv1beta1.NodeMetricsList
		if code, err := bed.GetJSON(r.client, s.URL()+"/apis/metrics.k8s.io/v1beta1/nodes", &nl); err != nil || code != http.StatusOK {
			return p, fmt.Errorf("%s: listing nodes: status %d, %v", semServerNames[i], code, err)
		}
		for _, n := range nl.Items {
			views["node/"+n.Name] = &semView{ts: n.Timestamp.Time, window: n.Window.Duration,
				ctrs: map[string]usage{"": toUsage(n.Usage.Cpu(), n.Usage.Memory())}}
		}
		var pl metricsv1beta1.PodMetricsList
		if code, err := bed.GetJSON(r.client, s.URL()+"/apis/metrics.k8s.io/v1beta1/namespaces/"+semNamespace+"/pods", &pl); err != nil || code != http.StatusOK {
			return p, fmt.Errorf("%s: listing pods: status %d, %v", semServerNames[i], code, err)
		}
		for _, pm := range pl.Items {
			v := &semView{ts: pm.Timestamp.Time, window: pm.Window.Duration, ctrs: map[string]usage{}}
			for _, c := range pm.Containers {
				v.ctrs[c.Name] = toUsage(c.Usage.Cpu(), c.Usage.Memory())
			}
			views["pod/"+pm.Name] = v
		}
		p.views[i] = views
	}
	// Read after the lists: every sample a server holds is in it.
	for _, n := range r.fleet.Nodes() {
		samples := r.fleet.SampleTimes(n.Name)
		for i := range p.views {
			for key, v := range p.views[i] {
				if key == "node/"+n.Name || (strings.HasPrefix(key, "pod/") && n.Name == semNode) {
					r.resolve(semServerNames[i], key, v, samples)
				}
			}
		}
	}
	return p, nil
}

// resolve finds the cached sample v's timestamp names and where its window
// starts, and fails the test when the kubelet never served such a sample.
func (r *semRecorder) resolve(server, key string, v *semView, samples []time.Time) {
	r.t.Helper()
	if len(samples) == 0 || v.ts.Before(samples[0].Truncate(time.Second)) {
		return // from before the kubelets cached their samples
	}
	i := slices.IndexFunc(samples, func(s time.Time) bool { return s.Truncate(time.Second).Equal(v.ts) })
	if i < 0 {
		if v.ts.Equal(samples[0].Truncate(time.Second)) {
			return // an earlier sample in the same second as the first cached one
		}
		r.errorf("%s %s: timestamp %v is no sample the kubelet served (%v)", server, key, v.ts, samples)
		return
	}
	v.sample = samples[i]
	from := v.sample.Add(-v.window)
	pod, _ := strings.CutPrefix(key, "pod/")
	switch {
	case slices.ContainsFunc(samples[:i], from.Equal):
		v.from = fromSample
	case strings.HasPrefix(key, "pod/") && slices.ContainsFunc(r.starts[pod], from.Equal):
		v.from = fromStart
	case from.Before(samples[0]):
		v.from = fromEarlier
	default:
		r.errorf("%s %s: window %v from sample %v starts at %v, neither a sample nor a container start (%v)",
			server, key, v.window, v.sample, from, samples)
	}
}

// checkPoll requires both servers to serve the same window and values for
// the same pair of cached samples.
func (r *semRecorder) checkPoll(p *semPoll) {
	r.t.Helper()
	for key, ms := range p.views[msIdx] {
		rmv := p.views[rmIdx][key]
		if rmv == nil || ms.sample.IsZero() || !ms.sample.Equal(rmv.sample) || ms.from != fromSample || rmv.from != fromSample {
			continue
		}
		r.compared++
		r.pairs[key+"@"+ms.sample.String()] = true
		if ms.window != rmv.window {
			r.errorf("%s at sample %v: window %v from metrics-server, %v from ringmetrics", key, ms.sample, ms.window, rmv.window)
		}
		if err := sameContainers(ms.ctrs, rmv.ctrs); err != nil {
			r.errorf("%s at sample %v: %v", key, ms.sample, err)
		}
	}
}

// sameContainers requires the same containers and values, the CPU rate to a
// nanocore: both divide the same counter difference by the same window.
func sameContainers(ms, rm map[string]usage) error {
	if len(ms) != len(rm) {
		return fmt.Errorf("containers %v from metrics-server, %v from ringmetrics", ms, rm)
	}
	for name, m := range ms {
		g, ok := rm[name]
		if !ok || !near(g.cpuNano, m.cpuNano) || g.memBytes != m.memBytes {
			return fmt.Errorf("container %q: %+v from metrics-server, %+v from ringmetrics", name, m, g)
		}
	}
	return nil
}

// near allows a nanocore of rounding: metrics-server divides in floating
// point, ringmetrics in integers.
func near(got, want int64) bool { return got >= want-1 && got <= want+1 }

// seen is one server's history of an object: each distinct sample it was
// served from, with the first poll that showed it.
type seen struct {
	view *semView
	at   time.Time
}

func (r *semRecorder) history(server int, key string) []seen {
	var out []seen
	for _, p := range r.polls {
		v := p.views[server][key]
		if v == nil || v.sample.IsZero() {
			continue
		}
		if len(out) > 0 && out[len(out)-1].view.sample.Equal(v.sample) {
			continue
		}
		out = append(out, seen{view: v, at: p.at})
	}
	return out
}

// viewAt is the server's view of key from sample s, or nil if no poll saw it.
func (r *semRecorder) viewAt(server int, key string, s time.Time) *semView {
	for _, h := range r.history(server, key) {
		if h.view.sample.Equal(s) {
			return h.view
		}
	}
	return nil
}

func (v *semView) cpu() int64 {
	if v == nil {
		return -1
	}
	return v.ctrs["app"].cpuNano
}

// milli formats nanocores as millicores.
func milli(nano int64) string { return fmt.Sprintf("%.3fm", float64(nano)/1e6) }
