package decode

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringmetrics/ringmetrics/pkg/sample"
)

// Building blocks of summary bodies: a reading at summaryTS of 1 s of CPU and
// 2 bytes of memory, and the pod n/p.
const (
	sumTime = `"2024-11-25T10:20:00Z"`
	sumCPUM = `"cpu":{"time":` + sumTime + `,"usageNanoCores":7,"usageCoreNanoSeconds":1000000000}`
	sumMemM = `"memory":{"time":` + sumTime + `,"usageBytes":9,"workingSetBytes":2}`
	sumRef  = `"podRef":{"name":"p","namespace":"n","uid":"u"}`
)

// sCtr writes a container object from its members.
func sCtr(members ...string) string { return "{" + strings.Join(members, ",") + "}" }

// sC is the complete container c.
var sC = sCtr(`"name":"c"`, sumCPUM, sumMemM)

// sPod writes pod n/p holding containers.
func sPod(containers ...string) string {
	return "{" + sumRef + `,"containers":[` + strings.Join(containers, ",") + "]}"
}

// sDoc writes a body from its pods; node is the node object's content, or
// "" for none.
func sDoc(node string, pods ...string) string {
	var sb strings.Builder
	sb.WriteString("{")
	if node != "" {
		sb.WriteString(`"node":{` + node + "},")
	}
	sb.WriteString(`"pods":[` + strings.Join(pods, ",") + "]}")
	return sb.String()
}

var (
	sNode     = `"nodeName":"node-1",` + sumCPUM + "," + sumMemM
	sNodePt   = &sample.Point{TimestampMs: summaryTS, CPUNanos: 1e9, MemoryBytes: 2}
	sCtrC     = ctr("n", "p", "c", summaryTS, 1e9, 2, 0)
	sComplete = []sample.Container{sCtrC}
)

func TestDecodeSummary(t *testing.T) {
	f := func(in string, w want) {
		t.Helper()
		checkWith(t, "SummaryDecoder.Decode", NewSummaryDecoder().Decode, ErrNotJSON, in, w)
	}
	cpuWith := func(members string) string { return `"cpu":{` + members + "}" }
	memWith := func(members string) string { return `"memory":{` + members + "}" }
	withStart := func(start string) string { return sCtr(`"name":"c"`, `"startTime":`+start, sumCPUM, sumMemM) }
	withName := func(name string) string { return sCtr(`"name":`+name, sumCPUM, sumMemM) }
	named := func(name string) sample.Container { return ctr("n", "p", name, summaryTS, 1e9, 2, 0) }

	// Empty documents.
	f(`{}`, want{})
	f(" \t\r\n{ } \n", want{})
	f(`{"node":null,"pods":null}`, want{})
	f(`{"pods":[]}`, want{})
	f(`{"pods":[null,{},{"containers":[]},{"containers":null}]}`, want{})

	// Node.
	f(sDoc(sNode), want{node: sNodePt})
	f(`{"node":{`+sumMemM+`,"systemContainers":[`+sC+`],`+sumCPUM+`}}`, want{node: sNodePt})
	f(sDoc(sumCPUM), want{skip: skips(incomplete, 1)})
	f(sDoc(sumMemM), want{skip: skips(incomplete, 1)})
	f(sDoc(`"nodeName":"x"`), want{skip: skips(incomplete, 1)})
	f(sDoc(`"cpu":null,`+sumMemM), want{skip: skips(incomplete, 1)})
	f(sDoc(cpuWith(`"usageCoreNanoSeconds":1`)+","+sumMemM), want{skip: skips(noTS, 1)})
	f(sDoc(cpuWith(`"time":null,"usageCoreNanoSeconds":1`)+","+sumMemM), want{skip: skips(noTS, 1)})
	f(sDoc(cpuWith(`"time":`+sumTime)+","+sumMemM), want{skip: skips(incomplete, 1)})
	f(sDoc(cpuWith(`"time":"1970-01-01T00:00:00Z","usageCoreNanoSeconds":1`)+","+sumMemM), want{skip: skips(invalid, 1)})
	f(sDoc(cpuWith(`"time":"1969-12-31T23:59:59Z","usageCoreNanoSeconds":1`)+","+sumMemM), want{skip: skips(invalid, 1)})
	f(sDoc(cpuWith(`"time":"1970-01-01T00:00:00.001Z","usageCoreNanoSeconds":1`)+","+sumMemM),
		want{node: &sample.Point{TimestampMs: 1, CPUNanos: 1, MemoryBytes: 2}})
	f(sDoc(cpuWith(`"time":`+sumTime+`,"usageCoreNanoSeconds":"1"`)+","+sumMemM), want{skip: skips(malformed, 1)})
	f(sDoc(`"cpu":[],`+sumMemM), want{skip: skips(malformed, 1)})
	f(sDoc(sNode+","+sumCPUM), want{skip: skips(malformed, 1)})
	f(`{"node":7}`, want{skip: skips(malformed, 1)})
	f(`{"node":{`+sNode+`},"node":{`+sNode+`}}`, want{node: sNodePt, skip: skips(duplicate, 1)})
	f(`{"node":{},"node":{`+sNode+`}}`, want{skip: skips(incomplete, 1, duplicate, 1)})
	f(`{"node":"x","node":{`+sNode+`}}`, want{skip: skips(malformed, 1, duplicate, 1)})
	f(`{"node":null,"node":{`+sNode+`}}`, want{node: sNodePt})
	f(sDoc(`"cpu":{"time":"2024-11-25T10:20:00Z","usageCoreNanoSeconds":0},"memory":{"workingSetBytes":0}`),
		want{node: &sample.Point{TimestampMs: summaryTS}})

	// Containers: complete, in any member order, podRef last, unknown
	// members anywhere.
	f(sDoc("", sPod(sC)), want{containers: sComplete})
	f(sDoc(sNode, sPod(sC)), want{node: sNodePt, containers: sComplete})
	f(`{"pods":[{"containers":[{`+sumMemM+`,`+sumCPUM+`,"name":"c"}],"podRef":{"uid":"u","namespace":"n","name":"p"}}]}`,
		want{containers: sComplete})
	f(`{"x":[{"y":[[],{}]},"z",1.5e-3,true,false,null],"pods":[{"a":{"b":{"c":[1,2,{"d":"e"}]}},`+sumRef+
		`,"containers":[{"rootfs":{"usedBytes":1},"name":"c","logs":null,`+sumCPUM+`,"userDefinedMetrics":[],`+sumMemM+`}]}],"z":{}}`,
		want{containers: sComplete})
	f(sDoc("", sPod(sC, withName(`"d"`)), `{"podRef":{"name":"q","namespace":"n"},"containers":[`+sC+`]}`),
		want{containers: []sample.Container{sCtrC, named("d"), ctr("n", "q", "c", summaryTS, 1e9, 2, 0)}})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+sumTime+`,"usageCoreNanoSeconds":0`), memWith(`"workingSetBytes":0`)))),
		want{containers: []sample.Container{ctr("n", "p", "c", summaryTS, 0, 0, 0)}})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+sumTime+`,"usageCoreNanoSeconds":18446744073709551615`),
		memWith(`"workingSetBytes":18446744073709551615`)))),
		want{containers: []sample.Container{ctr("n", "p", "c", summaryTS, 1<<64-1, 1<<64-1, 0)}})

	// Start times.
	f(sDoc("", sPod(withStart(`"2024-11-25T10:00:00Z"`))),
		want{containers: []sample.Container{ctr("n", "p", "c", summaryTS, 1e9, 2, summaryTS-1200e3)}})
	f(sDoc("", sPod(withStart(`"2024-11-25T10:00:00.123456+00:30"`))),
		want{containers: []sample.Container{ctr("n", "p", "c", summaryTS, 1e9, 2, summaryTS-3000e3+123)}})
	f(sDoc("", sPod(withStart(`null`))), want{containers: sComplete})
	f(sDoc("", sPod(withStart(`"1970-01-01T00:00:00Z"`))), want{containers: sComplete})
	f(sDoc("", sPod(withStart(`"1969-12-31T23:59:59.999Z"`))), want{containers: sComplete, skip: skips(invalid, 1)})
	f(sDoc("", sPod(withStart(`"2024-11-25 10:00:00Z"`))), want{containers: sComplete, skip: skips(malformed, 1)})
	f(sDoc("", sPod(withStart(`1732528800`))), want{containers: sComplete, skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"startTime":"2024-11-25T10:00:00Z"`, `"name":"c"`, `"startTime":"2024-11-25T10:00:00Z"`, sumCPUM, sumMemM))),
		want{containers: sComplete, skip: skips(malformed, 1)})
	// A dropped container does not count its start time too.
	f(sDoc("", sPod(sCtr(`"name":"c"`, `"startTime":"soon"`, sumCPUM))), want{skip: skips(incomplete, 1)})

	// Readings.
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM))), want{skip: skips(incomplete, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumMemM))), want{skip: skips(incomplete, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, memWith(`"usageBytes":2`)))), want{skip: skips(incomplete, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, `"memory":null`))), want{skip: skips(incomplete, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, memWith(`"workingSetBytes":null`)))), want{skip: skips(incomplete, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+sumTime+`,"usageNanoCores":1`), sumMemM))), want{skip: skips(incomplete, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"usageCoreNanoSeconds":1`), sumMemM))), want{skip: skips(noTS, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"usageCoreNanoSeconds":1`)))), want{skip: skips(noTS, 1)})
	for _, bad := range []string{"-1", "-0", "1.0", "1e3", "1E+3", "18446744073709551616", "99999999999999999999999"} {
		f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+sumTime+`,"usageCoreNanoSeconds":`+bad), sumMemM))),
			want{skip: skips(invalid, 1)})
		f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, memWith(`"workingSetBytes":`+bad)))), want{skip: skips(invalid, 1)})
	}
	for _, bad := range []string{`"1"`, "true", "[]", "{}"} {
		f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+sumTime+`,"usageCoreNanoSeconds":`+bad), sumMemM))),
			want{skip: skips(malformed, 1)})
		if bad != "{}" { // an empty cpu object is merely incomplete
			f(sDoc("", sPod(sCtr(`"name":"c"`, `"cpu":`+bad, sumMemM))), want{skip: skips(malformed, 1)})
		}
		f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, memWith(`"workingSetBytes":`+bad)))), want{skip: skips(malformed, 1)})
		f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+bad+`,"usageCoreNanoSeconds":1`), sumMemM))),
			want{skip: skips(malformed, 1)})
	}
	for _, bad := range []string{`"2024-11-25T10:20:00"`, `"2024-11-25"`, `"2024-02-30T10:20:00Z"`, `"2024-11-25T10:20:00+0100"`, `""`} {
		f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+bad+`,"usageCoreNanoSeconds":1`), sumMemM))),
			want{skip: skips(malformed, 1)})
	}
	// The precedence of reasons: malformed, invalid, missing timestamp,
	// incomplete.
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"usageCoreNanoSeconds":-1`), `"memory":5`))), want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"usageCoreNanoSeconds":1`), memWith(`"workingSetBytes":-1`)))),
		want{skip: skips(invalid, 1)})
	// A key given twice makes its reading malformed, whichever way round.
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, sumCPUM, sumMemM))), want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, sumMemM, sumMemM))), want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+sumTime+`,"usageCoreNanoSeconds":1,"usageCoreNanoSeconds":1`), sumMemM))),
		want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, cpuWith(`"time":`+sumTime+`,"time":`+sumTime+`,"usageCoreNanoSeconds":1`), sumMemM))),
		want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM, memWith(`"workingSetBytes":1,"workingSetBytes":1`)))),
		want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, `"name":"c"`, sumCPUM, sumMemM))), want{skip: skips(malformed, 1)})

	// Names.
	f(sDoc("", sPod(sCtr(sumCPUM, sumMemM))), want{skip: skips(noLabel, 1)})
	f(sDoc("", sPod(withName(`""`))), want{skip: skips(noLabel, 1)})
	f(sDoc("", sPod(withName(`null`))), want{skip: skips(noLabel, 1)})
	f(sDoc("", sPod(withName(`7`))), want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(withName(`["c"]`))), want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(sCtr(`"Name":"c"`, sumCPUM, sumMemM))), want{skip: skips(noLabel, 1)})
	f(`{"pods":[{"containers":[`+sC+`,`+sC+`]}]}`, want{skip: skips(noLabel, 2)})
	f(`{"pods":[{"podRef":null,"containers":[`+sC+`]}]}`, want{skip: skips(noLabel, 1)})
	f(`{"pods":[{"podRef":{"name":"p"},"containers":[`+sC+`]}]}`, want{skip: skips(noLabel, 1)})
	f(`{"pods":[{"podRef":{"name":"p","namespace":""},"containers":[`+sC+`]}]}`, want{skip: skips(noLabel, 1)})
	f(`{"pods":[{"podRef":{"name":"p","namespace":5},"containers":[`+sC+`]}]}`, want{skip: skips(malformed, 1)})
	f(`{"pods":[{"podRef":"n/p","containers":[`+sC+`]}]}`, want{skip: skips(malformed, 1)})
	f(`{"pods":[{"podRef":{"name":"p","namespace":"n","name":"p"},"containers":[`+sC+`]}]}`, want{skip: skips(malformed, 1)})
	f(`{"pods":[{`+sumRef+`,`+sumRef+`,"containers":[`+sC+`]}]}`, want{skip: skips(malformed, 1)})
	f(`{"pods":[{`+sumRef+`,"containers":[`+sC+`],"containers":[`+withName(`"d"`)+`]}]}`, want{skip: skips(malformed, 2)})
	// Missing beats malformed only when nothing is malformed.
	f(`{"pods":[{"podRef":{"name":"p","namespace":5},"containers":[`+withName(`""`)+`]}]}`, want{skip: skips(malformed, 1)})
	f(`{"pods":[{"podRef":{"name":"p"},"containers":[`+withName(`7`)+`]}]}`, want{skip: skips(malformed, 1)})

	// Escapes in names and keys are undone.
	f(sDoc("", sPod(withName(`"c\u00e9"`))), want{containers: []sample.Container{named("c\u00e9")}})
	f(sDoc("", sPod(withName(`"c\\d\"e\/f"`))), want{containers: []sample.Container{named(`c\d"e/f`)}})
	f(sDoc("", sPod(withName(`"\ud83d\ude00"`))), want{containers: []sample.Container{named("\U0001F600")}})
	f(sDoc("", sPod(withName(`"\ud800x"`))), want{containers: []sample.Container{named("\uFFFDx")}})
	f(sDoc("", sPod(withName(`"\ud800\u0041"`))), want{containers: []sample.Container{named("\uFFFDA")}})
	f(sDoc("", sPod(withName(`"\u0000"`))), want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(withName(`"c\nd"`))), want{skip: skips(malformed, 1)})
	f(sDoc("", sPod(withName("\"c\xffd\""))), want{skip: skips(malformed, 1)})
	f(`{"pods":[{"podRef":{"n\u0061me":"p","\u006eamespace":"n"},"containers":[{"\u006eame":"c",`+sumCPUM+`,`+sumMemM+`}]}]}`,
		want{containers: sComplete})
	f(`{"\u0070ods":[`+sPod(sC)+`]}`, want{containers: sComplete})
	f(sDoc("", sPod(sCtr(`"name":"c"`, `"cpu":{"time":"\u0032024-11-25T10:20:00Z","usageCoreNanoSeconds":1000000000}`, sumMemM))),
		want{containers: sComplete})
	long := strings.Repeat("a", DefaultMaxNameLength)
	f(sDoc("", sPod(withName(`"`+long+`"`))), want{containers: []sample.Container{named(long)}})
	f(sDoc("", sPod(withName(`"`+long+`a"`))), want{skip: skips(sample.SkipNameTooLong, 1)})
	f(sDoc("", sPod(withName(`"`+strings.Repeat(`\u0061`, DefaultMaxNameLength)+`"`))), want{containers: []sample.Container{named(long)}})
	f(sDoc("", sPod(withName(`"`+strings.Repeat(`\u0061`, DefaultMaxNameLength+1)+`"`))), want{skip: skips(sample.SkipNameTooLong, 1)})

	// Duplicates: the first occurrence decides.
	f(sDoc("", sPod(sC, sC)), want{containers: sComplete, skip: skips(duplicate, 1)})
	f(sDoc("", sPod(sC), sPod(sC)), want{containers: sComplete, skip: skips(duplicate, 1)})
	f(`{"pods":[`+sPod(sC)+`],"pods":[`+sPod(sC)+`]}`, want{containers: sComplete, skip: skips(duplicate, 1)})
	f(sDoc("", sPod(sCtr(`"name":"c"`, sumCPUM), sC)), want{skip: skips(incomplete, 1, duplicate, 1)})
	f(sDoc("", sPod(withName(`""`), sC)), want{containers: sComplete, skip: skips(noLabel, 1)})
	// Sandboxes are left out without a count.
	f(sDoc("", sPod(withName(`"POD"`), sC)), want{containers: sComplete})
	f(`{"pods":[{"containers":[`+withName(`"POD"`)+`]}]}`, want{})
	f(sDoc("", sPod(withName(`"pod"`))), want{containers: []sample.Container{named("pod")}})

	// Wrong types for arrays and pods.
	f(`{"pods":{}}`, want{skip: skips(malformed, 1)})
	f(`{"pods":[1,"x",[],true]}`, want{skip: skips(malformed, 4)})
	f(`{"pods":[{`+sumRef+`,"containers":{}}]}`, want{skip: skips(malformed, 1)})
	f(`{"pods":[{`+sumRef+`,"containers":[1,null,`+sC+`]}]}`, want{containers: sComplete, skip: skips(malformed, 1)})

	// Not one JSON object.
	for _, bad := range []string{
		"", " \n", "null", "[]", `"x"`, "7", "true",
		"{", `{"node":}`, `{"node"}`, `{"node":{}`, `{} {}`, `{}x`, `{},`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{a:1}`,
		`{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`,
		`{"a":+1}`, `{"a":NaN}`, `{"a":tru}`, `{"a":nul}`, `{"a":nulls}`, `{"a":"\x"}`, `{"a":"\u12"}`,
		"{\"a\":\"\x01\"}", "\xef\xbb\xbf{}", "{\"a\":1}\x00", `{"a":'x'}`,
		`{"pods":[{"containers":[{"name":"c"`,
		"<html><body>Unauthorized</body></html>",
		kubeletExample,
	} {
		f(bad, want{skip: skips(malformed, 1), err: true})
	}
	// Readings found before the error are not kept.
	f(sDoc(sNode, sPod(sC))+"}", want{skip: skips(malformed, 1), err: true})
	full := string(summaryBody(t, 2, 2))
	f(full[:len(full)/2], want{skip: skips(malformed, 1), err: true})
}

func TestDecodeSummaryError(t *testing.T) {
	in := `{"node":{"cpu":` + strings.Repeat(" ", 30) + `<html>` + strings.Repeat("x", 100)
	err := NewSummaryDecoder().Decode([]byte(in), &sample.Batch{})
	if !errors.Is(err, ErrNotJSON) {
		t.Fatalf("error = %v, want ErrNotJSON", err)
	}
	wantMsg := `body is not Summary API JSON: byte 45: expected a value: "` + strings.Repeat(" ", 24) + `<html>` +
		strings.Repeat("x", 34) + `"`
	if err.Error() != wantMsg {
		t.Errorf("error message\n got %s\nwant %s", err, wantMsg)
	}
	err = NewSummaryDecoder().Decode([]byte(`{"pods":[`), &sample.Batch{})
	if wantMsg := `body is not Summary API JSON: byte 9: unexpected end of input: "{\"pods\":["`; err == nil || err.Error() != wantMsg {
		t.Errorf("error message\n got %v\nwant %s", err, wantMsg)
	}
}

// TestDecodeSummaryFormats checks that a Prometheus body is no summary and a
// summary no Prometheus body, so a scraper pointed at the wrong endpoint
// fails loudly.
func TestDecodeSummaryFormats(t *testing.T) {
	var b sample.Batch
	if err := NewSummaryDecoder().Decode(kubeletBody(3, 2), &b); !errors.Is(err, ErrNotJSON) {
		t.Errorf("SummaryDecoder.Decode(text) error = %v, want ErrNotJSON", err)
	}
	if err := NewResourceDecoder().Decode(summaryBody(t, 3, 2), &b); !errors.Is(err, ErrNotText) {
		t.Errorf("ResourceDecoder.Decode(summary) error = %v, want ErrNotText", err)
	}
}

func TestDecodeSummaryTooMany(t *testing.T) {
	d := &SummaryDecoder{Limits: Limits{MaxContainers: 2}}
	var pods []string
	for _, pod := range []string{"p1", "p2", "p3"} {
		pods = append(pods, strings.Replace(sPod(sC, sC), `"name":"p"`, `"name":"`+pod+`"`, 1))
	}
	checkWith(t, "SummaryDecoder.Decode", d.Decode, ErrNotJSON, sDoc("", pods...), want{
		containers: []sample.Container{ctr("n", "p1", "c", summaryTS, 1e9, 2, 0), ctr("n", "p2", "c", summaryTS, 1e9, 2, 0)},
		skip:       skips(sample.SkipDuplicate, 2, sample.SkipTooMany, 2),
	})
	if got := len(d.t.intern); got != 4 {
		t.Errorf("intern table holds %d names, want 4 (n, p1, p2, c)", got)
	}
	// One pod with more containers than the cap does not queue them all,
	// and cannot be kept whole.
	many := strings.Repeat(sC+",", 9) + sC
	checkWith(t, "SummaryDecoder.Decode", d.Decode, ErrNotJSON, sDoc("", sPod(many)), want{
		skip: skips(sample.SkipTooMany, 10),
	})
	if cap(d.pending) > 8 {
		t.Errorf("pending holds room for %d containers, want at most a few beyond the cap of 2", cap(d.pending))
	}

	var zero SummaryDecoder
	var b sample.Batch
	// Pods come whole in the Summary API: the cap falls in the last pod,
	// whose first container was kept and is dropped at the end.
	if err := zero.Decode(summaryBody(t, DefaultMaxContainers/3+1, 3), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Containers) != DefaultMaxContainers-1 || b.Skipped[sample.SkipTooMany] != 3 {
		t.Errorf("got %d containers, %d too many; want %d, 3", len(b.Containers), b.Skipped[sample.SkipTooMany], DefaultMaxContainers-1)
	}
	if err := zero.Decode(summaryBody(t, DefaultMaxPods+1, 2), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Containers) != 2*DefaultMaxPods || b.Skipped[sample.SkipTooManyPods] != 2 || b.Skipped[sample.SkipTooMany] != 0 {
		t.Errorf("got %d containers, skipped %v; want %d, 2 too many pods", len(b.Containers), b.Skipped, 2*DefaultMaxPods)
	}
}

// TestDecodeSummaryBounded checks that deep nesting and a pod of many
// containers do not pin memory in the decoder's own buffers;
// TestDecodersBounded checks its table.
func TestDecodeSummaryBounded(t *testing.T) {
	d := NewSummaryDecoder()
	var b sample.Batch
	if err := d.Decode(summaryBody(t, 1, 3000), &b); err != nil || len(b.Containers) != 3000 {
		t.Fatalf("err %v, %d containers", err, len(b.Containers))
	}
	deep := `{"x":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + "}"
	if err := d.Decode([]byte(deep), &b); err != nil {
		t.Fatalf("nesting of %d: %v", maxDepth, err)
	}
	if err := d.Decode(summaryBody(t, 10, 2), &b); err != nil || len(b.Containers) != 20 {
		t.Fatalf("err %v, %d containers", err, len(b.Containers))
	}
	if cap(d.pending) > 4*20+tableSlack || cap(d.stack) > 4<<10 {
		t.Errorf("after a small scrape: pending cap %d, stack cap %d", cap(d.pending), cap(d.stack))
	}
}
