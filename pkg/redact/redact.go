// Package redact keeps credentials that pass through ringmetrics out of its
// logs, whatever the verbosity.
package redact

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/klog/v2"
)

// bodyMessages are the messages client-go's REST client logs whole request
// and response bodies with, from -v=8.
var bodyMessages = []string{"Request Body", "Response Body"}

// credentialKinds are API kinds whose bodies carry a credential. Delegated
// authentication sends the bearer token of every new caller to the apiserver
// in a TokenReview, and the apiserver echoes it back in its answer.
var credentialKinds = []string{"TokenReview", "TokenRequest"}

// LogFilter replaces the logged body of a request or response that carries a
// credential with its length. Every other log call passes unchanged. It sees
// klog's own output path, which the text format (ringmetrics' only one) uses.
type LogFilter struct{}

var _ klog.LogFilter = LogFilter{}

// Filter passes unstructured calls unchanged: client-go logs bodies
// structured.
func (LogFilter) Filter(args []any) []any { return args }

// FilterF passes formatted calls unchanged.
func (LogFilter) FilterF(format string, args []any) (string, []any) { return format, args }

// FilterS redacts the body of a credential-carrying request or response.
func (LogFilter) FilterS(msg string, keysAndValues []any) (string, []any) {
	if !slices.Contains(bodyMessages, msg) {
		return msg, keysAndValues
	}
	for i := 0; i+1 < len(keysAndValues); i += 2 {
		if k, _ := keysAndValues[i].(string); k != "body" {
			continue
		}
		body, ok := keysAndValues[i+1].(string)
		if !ok {
			continue
		}
		if kind := credentialKind(body); kind != "" {
			out := slices.Clone(keysAndValues)
			out[i+1] = fmt.Sprintf("<%d bytes of a %s, not logged: it carries a credential>", len(body), kind)
			return msg, out
		}
	}
	return msg, keysAndValues
}

// credentialKind returns the credential kind body is, or "". client-go logs
// a body with control characters (protobuf, CBOR) as a hex dump, whose text
// column may split the kind across lines: that column is searched joined.
func credentialKind(body string) string {
	text := body
	if strings.HasPrefix(body, "00000000  ") {
		text = hexDumpText(body)
	}
	for _, k := range credentialKinds {
		if strings.Contains(text, k) {
			return k
		}
	}
	return ""
}

// hexDumpText joins the text columns of an encoding/hex Dump.
func hexDumpText(dump string) string {
	var b strings.Builder
	for line := range strings.Lines(dump) {
		start := strings.IndexByte(line, '|')
		end := strings.LastIndexByte(line, '|')
		if start >= 0 && end > start {
			b.WriteString(line[start+1 : end])
		}
	}
	return b.String()
}
