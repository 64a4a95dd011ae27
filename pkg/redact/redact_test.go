package redact

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

func TestLogFilter(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYWxsZXIifQ.c2lnbmF0dXJl"
	tokenReview := `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"` + token + `"}}`
	// A protobuf-like body: client-go hex-dumps it, and the kind straddles
	// two lines of the dump's text column.
	proto := hex.Dump([]byte("k8s\x00\n\x1e\n\x18authentication.k8s.io/v1\x1a\x06abcdef\x12\x0bTokenReview\x12\x40\n\x3e" + token))
	if !strings.Contains(proto, "|") || strings.Contains(proto, "TokenReview") {
		t.Fatalf("the dump does not split the kind, the case tests nothing:\n%s", proto)
	}
	f := func(msg string, kvs []any, wantRedacted bool) {
		t.Helper()
		gotMsg, got := LogFilter{}.FilterS(msg, kvs)
		if gotMsg != msg {
			t.Errorf("message %q became %q", msg, gotMsg)
		}
		if len(got) != len(kvs) {
			t.Fatalf("%d key/values became %d", len(kvs), len(got))
		}
		joined := ""
		for _, v := range got {
			if s, ok := v.(string); ok {
				joined += s + " "
			}
		}
		leaked := strings.Contains(joined, token) || strings.Contains(joined, token[len(token)-12:])
		if wantRedacted && (leaked || !strings.Contains(joined, "not logged")) {
			t.Errorf("%q %v: not redacted: %v", msg, kvs, got)
		}
		if !wantRedacted {
			for i := range kvs {
				if !reflect.DeepEqual(got[i], kvs[i]) {
					t.Errorf("%q: value %d changed from %v to %v", msg, i, kvs[i], got[i])
				}
			}
		}
	}
	f("Request Body", []any{"body", tokenReview}, true)
	f("Response Body", []any{"body", tokenReview}, true)
	f("Response Body", []any{"body", proto}, true)
	f("Request Body", []any{"verb", "POST", "body", `{"kind":"TokenRequest","status":{"token":"` + token + `"}}`}, true)
	f("Request Body", []any{"body", `{"kind":"SubjectAccessReview","spec":{"user":"alice"}}`}, false)
	f("Response Body", []any{"body", hex.Dump([]byte("k8s\x00\n\x04\n\x02v1\x12\x08NodeList"))}, false)
	f("Starting controller", []any{"body", tokenReview}, false)
	f("Request Body", []any{"body", []byte(tokenReview)}, false) // client-go passes strings; anything else is not its body log
	f("Request Body", []any{"body"}, false)
	if args := (LogFilter{}).Filter([]any{"a", 1}); len(args) != 2 {
		t.Errorf("Filter changed its arguments: %v", args)
	}
	if format, args := (LogFilter{}).FilterF("%s", []any{"a"}); format != "%s" || len(args) != 1 {
		t.Errorf("FilterF changed its arguments: %q %v", format, args)
	}
}
