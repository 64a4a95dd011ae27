package api

import (
	"compress/gzip"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	endpointsmetrics "k8s.io/apiserver/pkg/endpoints/metrics"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/utils/clock"

	"github.com/ringmetrics/ringmetrics/pkg/pods"
	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// FastList answers the LISTs clients poll — every pod, one namespace's
// pods, every node, in each version of metrics.k8s.io served, as JSON or protobuf — by
// writing the response bytes directly from the listers and the store: no
// typed objects, no conversion, no reflection. Its responses are
// byte-identical to the generic apiserver's for the same data, request and
// clock: the same items (listPods and listNodes select them for both), the
// same bytes, the same Content-Type, and the same gzip encoding when the
// client accepts it. Any request it does not recognise in every detail, and
// any listing error, goes to the next handler.
//
// Wrap the innermost API handler with it, inside authentication,
// authorization, priority and fairness and the other filters. FastList
// records the apiserver's request metrics (apiserver_request_total,
// apiserver_request_duration_seconds, ...) for what it serves, as the
// endpoint it bypasses would have.
type FastList struct {
	reader   MetricsReader
	nodes    NodeLister
	pods     pods.Lister
	clock    clock.PassiveClock
	metrics  *Metrics
	versions Versions

	encoders sync.Pool // *encoder
	buffers  sync.Pool // *[]byte
	// itemBytes learns an item's size per resource and encoding (see
	// sizeSlot), so that a response's buffer is allocated once at about the
	// right size.
	itemBytes [4]atomic.Int64
}

// NewFastList returns a FastList for the storages Install builds from the
// same cfg: the same reader, listers and versions, and the same clock for
// the creationTimestamp.
func NewFastList(cfg Config) *FastList {
	f := &FastList{reader: cfg.Reader, nodes: cfg.Nodes, pods: cfg.Pods, clock: cfg.Clock, metrics: cfg.Metrics, versions: cfg.versions()}
	f.encoders.New = func() any { return new(encoder) }
	f.buffers.New = func() any { return new([]byte) }
	for i := range f.itemBytes {
		f.itemBytes[i].Store(initialItemBytes)
	}
	return f
}

const (
	// initialItemBytes guesses an item's size before the first response.
	initialItemBytes = 320
	// maxPooledBuffer bounds the buffers kept for reuse: one holds a whole
	// response (about 50 MB of JSON, 32 MB of protobuf for 150 000 pods with
	// two labels each). Larger ones are left to the garbage collector.
	maxPooledBuffer = 64 << 20
	// gzipThreshold is the apiserver's: a response longer than this is
	// compressed when the client accepts gzip.
	gzipThreshold = 128 * 1024
)

// gzipWriters are configured as the apiserver's.
var gzipWriters = responsewriters.NewGzipWriterPoolOrDie()

// Wrap returns next with FastList in front of it.
func (f *FastList) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r, ok := parseListRequest(req, f.versions); !ok || !f.serve(w, req, &r) {
			next.ServeHTTP(w, req)
		}
	})
}

// serve answers r, or returns false, having written nothing, when the
// apiserver must.
func (f *FastList) serve(w http.ResponseWriter, req *http.Request, r *listRequest) bool {
	start := f.clock.Now()
	if start.IsZero() {
		// A zero creationTimestamp is omitted, not written: not worth a case.
		return false
	}
	e := f.encoders.Get().(*encoder)
	defer f.encoders.Put(e)
	bufp := f.buffers.Get().(*[]byte)
	defer f.putBuffer(bufp)

	buf, body, err := f.encode(e, (*bufp)[:0], r, start)
	*bufp = buf
	if err != nil {
		// The apiserver lists again and reports the error its own way.
		klog.V(4).InfoS("Fast LIST failed, leaving the request to the apiserver", "resource", r.resource, "err", err)
		return false
	}

	// The endpoint this bypasses records the apiserver's request metrics.
	delegate := &endpointsmetrics.ResponseWriterDelegator{ResponseWriter: w}
	if err := writeBody(delegate, req, r.contentType(), body); err != nil {
		klog.V(4).InfoS("Writing a fast LIST response failed", "resource", r.resource, "err", err)
	}
	received, ok := request.ReceivedTimestampFrom(req.Context())
	if !ok {
		received = start
	}
	endpointsmetrics.MonitorRequest(req, "LIST", metrics.GroupName, r.version, r.resource, "", r.scope,
		endpointsmetrics.APIServerComponent, false, "", delegate.Status(), delegate.ContentLength(), f.clock.Since(received))
	f.metrics.observeFastList(r.resource, r.contentType(), f.clock.Since(start).Seconds())
	return true
}

// encode lists what r asks for and appends the response body to buf,
// created at now. It returns buf, grown, and the body, a suffix of it.
func (f *FastList) encode(e *encoder, buf []byte, r *listRequest, now time.Time) (all, body []byte, err error) {
	e.reset(now)
	slot := &f.itemBytes[r.sizeSlot()]
	raw, items := 0, 0
	begin := func(candidates int) {
		if need := candidates*int(slot.Load()) + protoHeaderRoom + 256; cap(buf) < need {
			buf = make([]byte, 0, need+need/8)
		}
		if r.protobuf {
			buf, raw = protoListHead(buf)
		} else {
			buf = jsonListHead(buf, listKind(r.resource), r.apiVersion)
		}
	}
	if r.resource == resourcePods {
		err = listPods(f.reader, f.pods, r.namespace, &r.options, begin, func(pod *pods.Pod, usage []sample.ContainerUsage) {
			if r.protobuf {
				buf = e.appendPodProto(buf, pod, usage)
			} else {
				if items > 0 {
					buf = append(buf, ',')
				}
				buf = e.appendPodJSON(buf, pod, usage)
			}
			items++
		})
	} else {
		err = listNodes(f.reader, f.nodes, &r.options, begin, func(node *corev1.Node, usage sample.Usage) {
			if r.protobuf {
				buf = e.appendNodeProto(buf, node, usage)
			} else {
				if items > 0 {
					buf = append(buf, ',')
				}
				buf = e.appendNodeJSON(buf, node, usage)
			}
			items++
		})
	}
	if err != nil {
		return buf, nil, err
	}
	if r.protobuf {
		buf, body = protoListFinish(buf, raw, listKind(r.resource), r.apiVersion)
	} else {
		buf = jsonListTail(buf)
		body = buf
	}
	if items > 0 {
		slot.Store(int64(len(body)/items + 1))
	}
	return buf, body, nil
}

func (f *FastList) putBuffer(bufp *[]byte) {
	if cap(*bufp) > maxPooledBuffer {
		return
	}
	*bufp = (*bufp)[:0]
	f.buffers.Put(bufp)
}

func listKind(resource string) string {
	if resource == resourcePods {
		return "PodMetricsList"
	}
	return "NodeMetricsList"
}

// writeBody writes a 200 response as the apiserver does: gzip-compressed
// when it is longer than the threshold and the client accepts gzip (and the
// APIResponseCompression feature is on), as is otherwise.
func writeBody(w http.ResponseWriter, req *http.Request, contentType string, body []byte) error {
	header := w.Header()
	if len(body) > gzipThreshold && responsewriters.ContentEncodingSupported(req, features.APIResponseCompression) == "gzip" {
		header.Set("Content-Encoding", "gzip")
		header.Add("Vary", "Accept-Encoding")
		header.Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		gw := gzipWriters.Get().(*gzip.Writer)
		gw.Reset(w)
		_, err := gw.Write(body)
		if closeErr := gw.Close(); err == nil {
			err = closeErr
		}
		gw.Reset(nil)
		gzipWriters.Put(gw)
		return err
	}
	header.Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}
