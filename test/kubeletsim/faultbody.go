package kubeletsim

import (
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

const (
	defaultGarbageBytes = 64 << 10
	faultChunk          = 32 << 10
)

// writeGarbage answers 200 with n random bytes under the endpoint's usual
// Content-Type. Each response differs; all derive from Config.Seed.
func (f *Fleet) writeGarbage(w http.ResponseWriter, r *http.Request, nd *node, subresource string, n int64) {
	if n == 0 {
		n = defaultGarbageBytes
	}
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], f.cfg.Seed)
	binary.LittleEndian.PutUint64(seed[8:], uint64(nd.index))
	binary.LittleEndian.PutUint64(seed[16:], f.requests.Add(1))
	rng := rand.NewChaCha8(seed)
	h := w.Header()
	h.Set("Content-Type", contentTypeFor(subresource))
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, min(n, faultChunk))
	for n > 0 {
		b := buf[:min(n, int64(len(buf)))]
		rng.Read(b)
		if _, err := w.Write(b); err != nil {
			return
		}
		n -= int64(len(b))
	}
}

// writeHuge answers 200 with a body that looks valid, line after line or pod
// after pod, of at least limit bytes, or without end when limit is 0, until
// the client stops reading.
func (f *Fleet) writeHuge(w http.ResponseWriter, r *http.Request, nd *node, subresource string, limit int64) {
	w.Header().Set("Content-Type", contentTypeFor(subresource))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	ms := f.nowMs()
	var head, tail []byte
	var item func(dst []byte, i int) []byte
	if subresource == "metrics" {
		head = []byte(helpContainerCPU)
		item = func(dst []byte, i int) []byte {
			dst = append(dst, `container_cpu_usage_seconds_total{container="huge",namespace="huge",pod="huge-`...)
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, `"} `...)
			dst = appendFloat(dst, float64(i)/1e3)
			dst = append(dst, ' ')
			dst = strconv.AppendInt(dst, ms, 10)
			return append(dst, '\n')
		}
	} else {
		ts := strconv.Quote(time.UnixMilli(ms).UTC().Format(time.RFC3339))
		head = []byte(`{"node":{"nodeName":` + strconv.Quote(nd.name) + `,"startTime":` + ts +
			`,"cpu":{"time":` + ts + `,"usageNanoCores":1000000,"usageCoreNanoSeconds":1000000000}` +
			`,"memory":{"time":` + ts + `,"workingSetBytes":1048576}},"pods":[`)
		tail = []byte("]}")
		item = func(dst []byte, i int) []byte {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"podRef":{"name":"huge-`...)
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, `","namespace":"huge","uid":"huge-`...)
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, `"},"startTime":`+ts+`,"containers":[{"name":"huge","startTime":`+ts+
				`,"cpu":{"time":`+ts+`,"usageNanoCores":1000000,"usageCoreNanoSeconds":`...)
			dst = strconv.AppendInt(dst, int64(i)*1000, 10)
			dst = append(dst, `},"memory":{"time":`+ts+`,"workingSetBytes":1048576}}]}`...)
			return dst
		}
	}
	buf := make([]byte, 0, faultChunk+1024)
	buf = append(buf, head...)
	var written int64
	for i := 0; ; i++ {
		if r.Context().Err() != nil {
			return
		}
		buf = item(buf, i)
		if len(buf) < faultChunk && (limit == 0 || written+int64(len(buf)) < limit) {
			continue
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		written += int64(len(buf))
		buf = buf[:0]
		if limit > 0 && written >= limit {
			w.Write(tail)
			return
		}
	}
}
