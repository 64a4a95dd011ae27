package redact

import (
	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
)

// Install redacts credential-carrying bodies on both paths log calls take:
// klog's own (through LogFilter) and the logger the text format installed,
// which contextual callers such as client-go's REST client get from
// klog.FromContext without passing klog's filter. Call it once, after the
// logging options are applied.
func Install() {
	klog.SetLogFilter(LogFilter{})
	logger := klog.Background()
	inner, ok := logger.GetSink().(textlogger.KlogBufferWriter)
	if !ok {
		// klog's own logger: every call passes the filter.
		return
	}
	klog.SetLoggerWithOptions(logr.New(&sink{LogSink: logger.GetSink()}),
		klog.ContextualLogger(true), klog.WriteKlogBuffer(inner.WriteKlogBuffer))
}

// sink passes every call to the wrapped sink with LogFilter applied.
type sink struct {
	logr.LogSink
}

var (
	_ logr.CallDepthLogSink       = (*sink)(nil)
	_ textlogger.KlogBufferWriter = (*sink)(nil)
)

// Init accounts for the frame sink adds, so lines keep their caller.
func (s *sink) Init(info logr.RuntimeInfo) {
	info.CallDepth++
	s.LogSink.Init(info)
}

func (s *sink) Info(level int, msg string, keysAndValues ...any) {
	msg, keysAndValues = LogFilter{}.FilterS(msg, keysAndValues)
	s.LogSink.Info(level, msg, keysAndValues...)
}

func (s *sink) Error(err error, msg string, keysAndValues ...any) {
	msg, keysAndValues = LogFilter{}.FilterS(msg, keysAndValues)
	s.LogSink.Error(err, msg, keysAndValues...)
}

func (s *sink) WithValues(keysAndValues ...any) logr.LogSink {
	return &sink{LogSink: s.LogSink.WithValues(keysAndValues...)}
}

func (s *sink) WithName(name string) logr.LogSink {
	return &sink{LogSink: s.LogSink.WithName(name)}
}

func (s *sink) WithCallDepth(depth int) logr.LogSink {
	if d, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return &sink{LogSink: d.WithCallDepth(depth)}
	}
	return s
}

func (s *sink) WriteKlogBuffer(data []byte) {
	if w, ok := s.LogSink.(textlogger.KlogBufferWriter); ok {
		w.WriteKlogBuffer(data)
	}
}
