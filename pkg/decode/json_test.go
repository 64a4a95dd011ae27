package decode

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// scanAll checks the syntax of a whole document with the scanner.
func scanAll(in []byte) (ok bool, why string) {
	s := scanner{buf: in}
	s.skip()
	s.end()
	return s.ok(), s.why
}

// TestScannerAgreesWithEncodingJSON checks that the scanner accepts exactly
// the documents encoding/json does.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	docs := []string{
		``, ` `, `{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `-0.0e-0`, `1E+9`, `"x"`, `""`, ` {"a" : [ 1 , 2 ] } `,
		`{"a":{"b":{"c":[[],[{}],{"d":null}]}}}`, `[1,[2,[3,[4]]]]`, `{"a":"\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\"}`,
		"\"\x7f\xff\"", "\"\x1f\"", "\"\t\"", `"\u"`, `"\uD800"`, `"\uDG00"`, `"\a"`, `"abc`, `"abc\`, `[`, `]`, `{`, `}`,
		`[1,]`, `[,]`, `[1 2]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, `{"a":1,,"b":2}`, `{} {}`,
		`01`, `1.`, `.1`, `1e`, `1e+`, `-`, `--1`, `+1`, `0x10`, `Infinity`, `NaN`, `nul`, `nulll`, `tru`, `True`,
		"\x00", "{}\x00", "\xef\xbb\xbf{}", "[\v]", "\f[]", "[1]\n\r\t ", `[1] 2`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
		strings.Repeat("[", maxDepth+5),
	}
	check := func(doc []byte) {
		t.Helper()
		got, why := scanAll(doc)
		if want := json.Valid(doc); got != want {
			t.Fatalf("scanner accepts %q: %v (%s), encoding/json: %v", clipS(string(doc)), got, why, want)
		}
	}
	for _, doc := range docs {
		check([]byte(doc))
	}

	// Damaged real bodies: every prefix of a small one, and random byte
	// changes of a larger one.
	small := []byte(sDoc(sNode, sPod(sC, `{"name":"\u00e9\\","x":[1.5e-3,true,null,{}]}`)))
	for i := range small {
		check(small[:i])
	}
	body := summaryBody(t, 2, 2)
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "{}[],:\"\\ 0-.eE+tfnu\x00\x1f\xff"
	for range 5000 {
		doc := []byte(string(body))
		for range 1 + r.IntN(3) {
			doc[r.IntN(len(doc))] = alphabet[r.IntN(len(alphabet))]
		}
		check(doc)
	}
}

// TestUnescapeAgreesWithEncodingJSON checks unescape against encoding/json
// on well-formed UTF-8, where encoding/json does not coerce anything.
func TestUnescapeAgreesWithEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		``, `abc`, `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u0041\u00e9\u20ac`, `\ud83d\ude00`, `\uD83D\uDE00`,
		`\ud800`, `\udc00`, `\ud800\ud800`, `\ud800\u0041`, `\ude00\ud83d`, `x\ud800`, `\ud800x`, `é€😀`,
		`\u0000`, `a\\\\b`, `\ud83d\ude00\ud83d`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
			t.Fatalf("encoding/json refuses %q: %v", raw, err)
		}
		s := scanner{buf: []byte(raw + `"`)}
		content, _ := s.str()
		if !s.ok() {
			t.Fatalf("scanner refuses %q: %s", raw, s.why)
		}
		if got := string(unescape(nil, content)); got != want {
			t.Errorf("unescape(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	f := func(in string, want int64, wantOK bool) {
		t.Helper()
		got, ok := parseTime([]byte(in))
		if ok != wantOK || got != want {
			t.Errorf("parseTime(%q) = %d, %v; want %d, %v", in, got, ok, want, wantOK)
		}
	}
	f("2024-11-25T10:20:00Z", 1732530000000, true)
	f("1970-01-01T00:00:00Z", 0, true)
	f("1969-12-31T23:59:59Z", -1000, true)
	f("1969-12-31T23:59:59.999Z", -1, true)
	f("0000-01-01T00:00:00Z", -62167219200000, true)
	f("9999-12-31T23:59:59.999999999Z", 253402300799999, true)
	f("2024-11-25T10:20:00.1Z", 1732530000100, true)
	f("2024-11-25T10:20:00.12Z", 1732530000120, true)
	f("2024-11-25T10:20:00.123Z", 1732530000123, true)
	f("2024-11-25T10:20:00.1239Z", 1732530000123, true)
	f("2024-11-25T10:20:00.123999999999Z", 1732530000123, true)
	f("2024-11-25T11:20:00+01:00", 1732530000000, true)
	f("2024-11-25T05:50:00-04:30", 1732530000000, true)
	f("2024-11-25T10:20:00+00:00", 1732530000000, true)
	f("2024-11-25T10:20:00-00:00", 1732530000000, true)
	f("2024-02-29T00:00:00Z", 1709164800000, true)
	f("2000-02-29T00:00:00Z", 951782400000, true)
	for _, bad := range []string{
		"", "2024-11-25", "2024-11-25T10:20:00", "2024-11-25T10:20Z", "2024-11-25 10:20:00Z", "2024-11-25t10:20:00Z",
		"2024-11-25T10:20:00z", "2024-11-25T10:20:00.Z", "2024-11-25T10:20:00.1", "2024-11-25T10:20:00+01", "2024-11-25T10:20:00+0100",
		"2024-11-25T10:20:00+24:00", "2024-11-25T10:20:00+01:60", "2024-11-25T10:20:00ZZ", "2024-11-25T10:20:00Z ",
		"2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-11-00T00:00:00Z", "2024-11-31T00:00:00Z", "2023-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2024-11-25T24:00:00Z", "2024-11-25T10:60:00Z", "2024-11-25T10:20:60Z",
		"+2024-11-25T10:20:00Z", "20241-11-25T10:20:00Z", "2024-1-25T10:20:00Z", "２024-11-25T10:20:00Z", "2024-11-25T10:20:0aZ",
		"2024-11-25T10:20:00,5Z", "2024-11-25T10:20:00.5.5Z",
	} {
		f(bad, 0, false)
	}
}

// TestParseTimeAgreesWithTime compares parseTime with time.Parse on the
// forms Go writes, across many instants and offsets.
func TestParseTimeAgreesWithTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		sec := r.Int64N(253402300800+62135596800) - 62135596800 // years 1 to 9999
		tm := time.Unix(sec, r.Int64N(1e9))
		if off := r.IntN(3); off > 0 {
			tm = tm.In(time.FixedZone("", (r.IntN(2*24*60-1)-(24*60-1))*60)) // RFC 3339 offsets stay below 24 h
		}
		if tm.Year() < 1 || tm.Year() > 9999 {
			continue
		}
		for _, layout := range []string{time.RFC3339, time.RFC3339Nano} {
			s := tm.Format(layout)
			want, err := time.Parse(time.RFC3339Nano, s)
			got, ok := parseTime([]byte(s))
			if err != nil || !ok || got != want.UnixMilli() {
				t.Fatalf("parseTime(%q) = %d, %v; time.Parse: %d, %v", s, got, ok, want.UnixMilli(), err)
			}
		}
	}
}

// FuzzParseTime checks that parseTime accepts nothing time.Parse refuses,
// and reads what it accepts to the same millisecond.
func FuzzParseTime(f *testing.F) {
	for _, seed := range []string{"2024-11-25T10:20:00Z", "2024-11-25T10:20:00.123456789+01:00", "2000-02-29T23:59:59-12:59"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime([]byte(s))
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || got != want.UnixMilli() || !utf8.ValidString(s) {
			t.Fatalf("parseTime(%q) = %d; time.Parse: %d, %v", s, got, want.UnixMilli(), err)
		}
	})
}
