package decode

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

func FuzzDecodeSummary(f *testing.F) {
	for _, seed := range []string{
		sDoc(sNode, sPod(sC, `{"name":"d","startTime":"2024-11-25T10:00:00.5+01:00",`+sumCPUM+`,`+sumMemM+`}`)),
		`{"pods":[{"containers":[{` + sumMemM + `,` + sumCPUM + `,"name":"c"}],"podRef":{"namespace":"n","name":"p"}}]}`,
		`{"pods":[{"podRef":{"n\u0061me":"p\\q","namespace":"\ud83d\ude00"},"containers":[{"name":"\ud800",` + sumCPUM + `,` + sumMemM + `}]}]}`,
		sDoc(`"cpu":{"time":null,"usageCoreNanoSeconds":-1},"memory":{"workingSetBytes":1.5e3}`, sPod(sC, sC, `{"name":"POD"}`)),
		`{"node":{},"node":7,"pods":{},"pods":[null,1,{"podRef":"x","containers":[null,[],{"name":""}]}]}`,
		`{"x":[[[[{"y":[{},[]]}]]]],"pods":[` + sPod(`{"name":"c","cpu":{"time":"1970-01-01T00:00:00Z","usageCoreNanoSeconds":18446744073709551616}}`) + `]}`,
		`{"node":{"cpu":{"time":"2024-11-25T10:20:00Z","usageCoreNanoSeconds":1,"usageCoreNanoSeconds":2}}}`,
		"{}", "", "null", "[]", `{"a":"\u12"}`, "{\"a\":\"\x01\"}", "<html></html>\n", kubeletExample,
	} {
		f.Add([]byte(seed))
	}
	f.Add(summaryBody(f, 2, 2))
	// Over fuzzLimits: pods, containers (in whole pods) and names.
	f.Add(summaryBody(f, 7, 2))
	f.Add(summaryBody(f, 5, 4))
	long := sCtr(`"name":"`+strings.Repeat("c", 81)+`"`, sumCPUM, sumMemM)
	longEscaped := sCtr(`"name":"`+strings.Repeat(`\u0063`, 80)+`"`, sumCPUM, sumMemM)
	f.Add([]byte(sDoc("", sPod(long))))
	f.Add([]byte(sDoc("", sPod(longEscaped))))
	for _, fx := range summaryFixtures(f) {
		f.Add(fx)
	}

	d := &SummaryDecoder{Limits: fuzzLimits}
	var first, second sample.Batch
	f.Fuzz(func(t *testing.T, body []byte) {
		// Decode a copy that is clobbered afterwards: any string aliasing
		// the body would show up as a difference from the second decode.
		clobbered := bytes.Clone(body)
		err := d.Decode(clobbered, &first)
		for i := range clobbered {
			clobbered[i] ^= 0xff
		}
		skips := checkBatch(t, &first, err)
		// A body that is one JSON object decodes; anything else is refused
		// with ErrNotJSON and one skip.
		isObject := json.Valid(body) && bytes.TrimLeft(body, " \t\r\n")[0] == '{'
		if (err == nil) != isObject {
			t.Fatalf("error %v for a body that is an object: %v", err, isObject)
		}
		if err != nil && first.Skipped != ([sample.NumSkipReasons]uint32{sample.SkipMalformed: 1}) {
			t.Fatalf("error %v with skips %v", err, first.Skipped)
		}
		// Each value (a node, a pod, a container, an array) is counted at
		// most once, and every value but the first follows a bracket or a
		// comma.
		if values := uint64(bytes.Count(body, []byte("{")) + bytes.Count(body, []byte("[")) +
			bytes.Count(body, []byte(","))); skips > values+1 {
			t.Fatalf("%d skips for at most %d values", skips, values+1)
		}

		checkRepeatable(t, d, &SummaryDecoder{Limits: fuzzLimits}, body, &first, &second, err)
	})
}
