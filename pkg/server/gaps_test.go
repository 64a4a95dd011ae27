package server

import (
	"bytes"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
	"github.com/ringmetrics/ringmetrics/pkg/store"
)

type podList []*pods.Pod

func (l *podList) List(string, labels.Selector) ([]*pods.Pod, error) {
	return append([]*pods.Pod(nil), *l...), nil
}

func (l *podList) Get(namespace, name string) (*pods.Pod, error) {
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
}

func podMeta(name string) *pods.Pod {
	return &pods.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
}

// captureKlog sends klog's output to a buffer for the test's duration.
func captureKlog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if err := fs.Set("logtostderr", "false"); err != nil {
		t.Fatal(err)
	}
	klog.SetOutput(&buf)
	t.Cleanup(func() {
		klog.SetOutput(nil)
		_ = fs.Set("logtostderr", "true")
	})
	return &buf
}

func TestGapWatchCountsAndLogsOnce(t *testing.T) {
	const res = 15 * time.Second
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st, err := store.New(store.Config{Capacity: 4, MaxAgeMs: MaxAge(res, 5*time.Second).Milliseconds()})
	if err != nil {
		t.Fatal(err)
	}
	ms := start.UnixMilli()
	container := func(pod string, startMs int64) sample.Container {
		return sample.Container{Namespace: "ns", Pod: pod, Name: "c", StartTimeMs: startMs,
			Point: sample.Point{TimestampMs: ms, CPUNanos: 1e9, MemoryBytes: 1}}
	}
	// served: started a resolution ago, so served from its first point;
	// norate: no start time, so it waits for a second point.
	st.Write(&sample.Batch{Node: "n1", Containers: []sample.Container{
		container("served", ms-res.Milliseconds()), container("norate", 0),
	}}, ms)
	pods := &podList{podMeta("served"), podMeta("norate"), podMeta("missing")}
	w := newGapWatch(st, pods, res)
	logs := captureKlog(t)

	gauge := func(reason string) float64 { return testutil.ToFloat64(w.unserved.WithLabelValues(reason)) }
	w.check(start)
	if got := [3]float64{gauge("not_reported"), gauge("no_rate"), gauge("stale")}; got != [3]float64{1, 1, 0} {
		t.Errorf("pods_unserved{not_reported,no_rate,stale} = %v, want [1 1 0]", got)
	}
	klog.Flush()
	if logs.Len() != 0 {
		t.Errorf("logged before %d resolutions: %s", gapLogAfter, logs)
	}

	w.check(start.Add(gapLogAfter * res))
	klog.Flush()
	if logs.Len() != 0 {
		t.Errorf("logged at exactly %d resolutions: %s", gapLogAfter, logs)
	}
	w.check(start.Add(gapLogAfter*res + time.Second))
	klog.Flush()
	for _, want := range []string{`pod="ns/missing" reason="not_reported"`, `pod="ns/norate" reason="no_rate"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs.String(), "ns/served") {
		t.Errorf("a served pod was logged:\n%s", logs)
	}
	logs.Reset()
	w.check(start.Add(2 * gapLogAfter * res))
	klog.Flush()
	if logs.Len() != 0 {
		t.Errorf("logged a second time: %s", logs)
	}

	// A pod that goes away is forgotten.
	*pods = podList{podMeta("served"), podMeta("norate")}
	w.check(start.Add(3 * gapLogAfter * res))
	if got := gauge("not_reported"); got != 0 {
		t.Errorf("pods_unserved{not_reported} = %v after the pod went away, want 0", got)
	}
	if _, ok := w.gaps[podRef{"ns", "missing"}]; ok {
		t.Error("the departed pod is still tracked")
	}
}

func TestGapWatchLogsABurstAsACount(t *testing.T) {
	const res = time.Second
	st, err := store.New(store.Config{Capacity: 2, MaxAgeMs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	pods := &podList{}
	for i := range gapLogBurst + 3 {
		*pods = append(*pods, podMeta(fmt.Sprintf("p%d", i)))
	}
	w := newGapWatch(st, pods, res)
	logs := captureKlog(t)
	start := time.Unix(1_800_000_000, 0)
	w.check(start)
	w.check(start.Add(gapLogAfter*res + time.Second))
	klog.Flush()
	if n := strings.Count(logs.String(), "Pod left out of the metrics API"); n != gapLogBurst {
		t.Errorf("named %d pods, want %d:\n%s", n, gapLogBurst, logs)
	}
	if !strings.Contains(logs.String(), `"More pods left out of the metrics API" count=3`) {
		t.Errorf("no count of the rest:\n%s", logs)
	}
}
