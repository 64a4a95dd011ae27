package install

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ringmetrics/ringmetrics/test/bed"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// aggregatorWatch asks the kube-apiserver, every half second, for v1 node
// metrics and v1beta1 pod metrics, and reads both APIServices' Available
// condition, recording each check's result.
type aggregatorWatch struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	results []watchResult
}

// watchResult is one check: when it ended, and why it failed.
type watchResult struct {
	at  time.Time
	err error
}

func watchAggregator(t *testing.T, b *bed.Bed) *aggregatorWatch {
	ctx, cancel := context.WithCancel(t.Context())
	w := &aggregatorWatch{cancel: cancel, done: make(chan struct{})}
	rest := b.Cluster.Client().Discovery().RESTClient()
	check := func() error {
		var nodes, pods struct{ Items []json.RawMessage }
		for path, into := range map[string]any{
			"/apis/metrics.k8s.io/v1/nodes":                                &nodes,
			bed.GroupVersionPath + "/namespaces/" + bedNamespace + "/pods": &pods,
		} {
			raw, err := rest.Get().AbsPath(path).Timeout(5 * time.Second).DoRaw(ctx)
			if err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
			if err := json.Unmarshal(raw, into); err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
		}
		if len(nodes.Items) != bedNodes || len(pods.Items) != bedNodes*bedPodsPerNode {
			return fmt.Errorf("%d nodes and %d pods, want %d and %d", len(nodes.Items), len(pods.Items), bedNodes, bedNodes*bedPodsPerNode)
		}
		for _, version := range []string{"v1", "v1beta1"} {
			obj, err := b.Dynamic.Resource(apiServiceGVR).Get(ctx, version+".metrics.k8s.io", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if ok, _ := bed.APIServiceAvailable(obj); !ok {
				return fmt.Errorf("APIService %s.metrics.k8s.io not Available: %v", version, obj.Object["status"])
			}
		}
		return nil
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			err := check()
			if ctx.Err() != nil {
				return
			}
			w.mu.Lock()
			w.results = append(w.results, watchResult{at: time.Now(), err: err})
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// passedSince counts the checks that passed after t.
func (w *aggregatorWatch) passedSince(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.results {
		if r.err == nil && r.at.After(t) {
			n++
		}
	}
	return n
}

// stop ends the watch and returns every check's result.
func (w *aggregatorWatch) stop() []watchResult {
	w.cancel()
	<-w.done
	return w.results
}

// shutdown is when a replica was stopping: from its SIGTERM to a second
// after it exited. ringmetrics, as metrics-server, stops serving on SIGTERM
// at once (no shutdown delay): a request the aggregator sends on a
// connection to it in that instant can come back 503, on the bed as in a
// cluster, where a terminating pod leaves its Service's endpoints at the
// same moment it gets SIGTERM. Only then is a failed check forgiven.
type shutdown struct {
	node     string
	from, to time.Time
}

// duringShutdown names the replica that was shutting down when r was taken,
// or is empty.
func duringShutdown(shutdowns []shutdown, r watchResult) string {
	for _, s := range shutdowns {
		if !r.at.Before(s.from) && !r.at.After(s.to) {
			return s.node
		}
	}
	return ""
}
