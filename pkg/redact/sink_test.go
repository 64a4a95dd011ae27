package redact

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2/textlogger"
)

// TestSink logs as client-go does, through a contextual text logger, and
// checks the body is redacted and the caller's file:line kept.
func TestSink(t *testing.T) {
	var buf bytes.Buffer
	text := textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(&buf), textlogger.Verbosity(10)))
	logger := logr.New(&sink{LogSink: text.GetSink()})
	ctx := logr.NewContext(context.Background(), logger)
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYWxsZXIifQ.c2lnbmF0dXJlX29mX3RoZV90b2tlbg"
	logr.FromContextOrDiscard(ctx).V(8).Info("Request Body", "body", `{"kind":"TokenReview","spec":{"token":"`+token+`"}}`)
	logger.WithValues("k", "v").WithName("n").V(8).Info("Response Body", "body", `{"kind":"TokenReview","spec":{"token":"`+token+`"}}`)
	logger.V(8).Info("Response Body", "body", `{"kind":"NodeList"}`)
	out := buf.String()
	if strings.Contains(out, "c2lnbmF0dXJl") {
		t.Errorf("token logged:\n%s", out)
	}
	if n := strings.Count(out, "not logged"); n != 2 {
		t.Errorf("%d redacted bodies, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, `{\"kind\":\"NodeList\"}`) && !strings.Contains(out, `{"kind":"NodeList"}`) {
		t.Errorf("an ordinary body was not logged:\n%s", out)
	}
	if strings.Contains(out, "sink.go") || !strings.Contains(out, "sink_test.go") {
		t.Errorf("lines do not name their caller:\n%s", out)
	}
}
