package guard

import (
	"net/http"
	"strings"
	"testing"
)

// mergedCase is a body on a route that reads the query key limit, and
// whether a server merging the body's fields over the query's (Go's
// FormValue, PHP's $_REQUEST and Laravel, Rack's params) could read a field
// of it as limit.
type mergedCase struct {
	name    string
	method  string
	ct      []string // Content-Type lines
	body    string
	refused bool
}

func runMergedCases(t *testing.T, cases []mergedCase) {
	t.Helper()
	for _, tc := range cases {
		h := http.Header{}
		for _, v := range tc.ct {
			h.Add("Content-Type", v)
		}
		method := tc.method
		if method == "" {
			method = "GET"
		}
		r, _ := http.NewRequest(method, "http://x/items?limit=10", strings.NewReader(tc.body))
		r.Header = h
		err := bodyShadowsQuery(r, []byte(tc.body), []string{"limit"})
		if got := err != nil; got != tc.refused {
			t.Errorf("%s: refused %v (%v), want %v", tc.name, got, err, tc.refused)
		}
	}
}

func mp(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--BBB\r\n" + p + "\r\n")
	}
	b.WriteString("--BBB--\r\n")
	return b.String()
}

// TestMergedMultipartReadings: PHP and Rack find the boundary, the parts
// and a part's name by their own rules. A body Go's reader reads one way
// and they another is refused when theirs reads as a query key.
func TestMergedMultipartReadings(t *testing.T) {
	ct := []string{"multipart/form-data; boundary=BBB"}
	cd := func(v string) string { return "Content-Disposition: " + v + "\r\n\r\n100000" }
	runMergedCases(t, []mergedCase{
		// Ordinary multipart forms pass.
		{"browser boundary, other names", "POST", []string{"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"},
			"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n", false},
		{"quoted boundary, a preamble and an epilogue", "POST", []string{`multipart/form-data; boundary="BBB"; charset=utf-8`},
			"preamble\r\n" + mp(cd(`form-data; name="q"`)) + "epilogue\r\n", false},
		{"multipart/related with Content-IDs", "POST", []string{`multipart/related; boundary=BBB; type="application/json"`},
			mp("Content-Type: application/json\r\nContent-ID: <meta@x>\r\n\r\n{}", "Content-Type: image/png\r\nContent-ID: <img@x>\r\n\r\nPNG"), false},
		{"the name itself", "POST", ct, mp(cd(`form-data; name="limit"`)), true},

		// PHP takes the first "boundary" in the Content-Type, Rack 2 the
		// last: Go's reader finds no part under its own, theirs one.
		{"boundary inside another parameter (PHP)", "POST", []string{`multipart/form-data; x="boundary=AAA"; boundary=BBB`},
			"--AAA\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n--AAA--\r\n", true},
		{"boundary in another parameter's name (PHP, Rack)", "POST", []string{`multipart/form-data; xboundary=AAA; boundary=BBB`},
			"--AAA\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n--AAA--\r\n", true},
		{"boundary inside a later parameter (Rack 2)", "POST", []string{`multipart/form-data; boundary=BBB; x="boundary=AAA"`},
			"--AAA\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n--AAA--\r\n", true},
		{"a space after boundary's '=' (PHP and Rack keep it)", "POST", []string{`multipart/form-data; boundary= BBB`},
			"-- BBB\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n-- BBB--\r\n", true},
		{"no delimiter Go's reader finds", "POST", ct,
			"--AAA\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n--AAA--\r\n", true},
		// PHP reads parts after the closing delimiter; one in the preamble
		// or inside a part is one Go's reader does not read.
		{"a part after the closing delimiter (PHP)", "POST", ct,
			mp(cd(`form-data; name="q"`)) + mp(cd(`form-data; name="limit"`)), true},
		{"the delimiter in a part's content", "POST", ct,
			mp("Content-Disposition: form-data; name=\"q\"\r\n\r\nx\n--BBBx\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n1"), true},
		{"no closing delimiter", "POST", ct, "--BBB\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--BBB\r\n", true},

		// A part's name as PHP and Rack read its Content-Disposition.
		{"single-quoted name (PHP)", "POST", ct, mp(cd(`form-data; name='limit'`)), true},
		{"name* over name (Go reads x, PHP and Rack limit)", "POST", ct, mp(cd(`form-data; name="limit"; name*=utf-8''x`)), true},
		{"name in the filename (Rack 2)", "POST", ct, mp(cd(`form-data; name="x"; filename="a; name=limit"`)), true},
		{"Content-ID for a name (Rack)", "POST", ct, mp("Content-ID: limit\r\n\r\n100000"), true},
		{"filename for a name (Rack)", "POST", ct, mp(cd(`form-data; filename="limit"`)), true},
		{"a filename's basename for a name (Rack)", "POST", ct, mp(cd(`form-data; filename="C:\\x\\limit"`)), true},
		{"Content-Type for a name (Rack: limit[])", "POST", ct, mp("Content-Type: limit\r\n\r\n100000"), true},
		{"a Content-Disposition in another header (Rack 2)", "POST", ct, mp("X-A: Content-Disposition: form-data; name=limit\r\n" + cd(`form-data; name="x"`)), true},
		{"name spelt NAME (Rack 2, PHP)", "POST", ct, mp(cd(`form-data; NAME="limit"`)), true},
		{"a file part with another name passes", "POST", ct, mp(cd(`form-data; name="file"; filename="limit"`)), false},
	})
}

// TestMergedHostileBodies: no body, cut anywhere, panics the readings.
func TestMergedHostileBodies(t *testing.T) {
	bodies := []string{
		mp(`Content-Disposition: form-data; name="a\"; filename='b\'; name*=utf-8''%zz; name=` + "\r\nContent-ID: \r\nContent-Type: \r\n\r\nx"),
		mp("Content-Disposition: ;;;=\"\\\r\n\r\n", "Content-Disposition: form-data; name=\"\\\r\n\r\n"),
		"\ufeff{\"a\":[{\"b\":\"\\ud800\"}],\"limit\"",
		"%%%=&;=%zz+%0",
	}
	cts := []string{"multipart/form-data; boundary=BBB", "multipart/mixed; boundary=\"BBB", "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary="}
	for _, b := range bodies {
		for n := 0; n <= len(b); n++ {
			for _, ct := range cts {
				r, _ := http.NewRequest("POST", "http://x/items", strings.NewReader(b[:n]))
				r.Header.Set("Content-Type", ct)
				_ = bodyShadowsQuery(r, []byte(b[:n]), []string{"limit"})
			}
		}
	}
	for _, cd := range []string{"", ";", "=", `;"`, `; name="`, `; name='`, `a; =; name=\`, `; filename="\`} {
		phpPartName(cd)
		rackPartName(cd)
	}
}

// TestMergedJSONAndFormReadings: JSON a lenient parser reads (Ruby's
// comments and escapes, a BOM that Node's body-parser drops) and form keys
// as PHP decodes them (a bad escape kept, the rest decoded: a NUL then cuts
// the name); NDJSON, which no server merges, is not read.
func TestMergedJSONAndFormReadings(t *testing.T) {
	js := []string{"application/json"}
	form := []string{"application/x-www-form-urlencoded"}
	runMergedCases(t, []mergedCase{
		{"JSON, other keys", "POST", js, `{"q":"x","page":2}`, false},
		{"JSON, an array", "POST", js, `[{"limit":1}]`, false},
		{"JSON with a BOM", "POST", js, "\ufeff{\"limit\":100000}", true},
		{"JSON with a BOM, other keys", "POST", js, "\ufeff{\"q\":1}", false},
		{"JSON with a comment before the key (Ruby)", "POST", js, `{"a":1,/**/"limit":100000}`, true},
		{"JSON with a comment first (Ruby)", "POST", js, `/**/{"limit":100000}`, true},
		{"JSON with an escape Ruby reads", "POST", js, `{"a":"\q","limit":100000}`, true},
		{"JSON cut short", "POST", js, `{"a":1,`, true},
		{"JSON with a second value after it", "POST", js, `{"q":1} {"limit":100000}`, true},
		{"JSON with a line end after it", "POST", js, "{\"q\":1}\r\n", false},
		{"NDJSON is not read", "POST", []string{"application/x-ndjson"}, "{\"limit\":1}\n{\"limit\":2}\n", false},
		{"JSON Lines of one object (Laravel reads /json)", "POST", []string{"application/jsonl"}, `{"limit":1}`, true},
		{"form, other keys", "POST", form, "q=x&page=2&x=%zz", false},
		{"form key with a NUL and a bad escape (PHP)", "POST", form, "limit%00%zz=100000", true},
		{"form key with a bad escape after the name's bracket (PHP)", "POST", form, "%6cimit[%zz]=100000", true},
		// Rack reads a POST body without a Content-Type as a form.
		{"POST without a Content-Type (Rack)", "POST", nil, "limit=100000", true},
		{"POST with an empty Content-Type (Rack)", "POST", []string{""}, "limit=100000", true},
		{"POST without a Content-Type, other keys", "POST", nil, "q=x", false},
		{"GET without a Content-Type", "GET", nil, "limit=100000", false},
	})
}

// TestMergedContentEncoding: Express's body-parser inflates a gzip body
// (and req.param reads it over the query): a body in a merged type that is
// content-encoded cannot be checked as sent, and is refused.
func TestMergedContentEncoding(t *testing.T) {
	for _, tc := range []struct {
		ce      string
		refused bool
	}{{"gzip", true}, {"identity", false}, {"", false}} {
		r, _ := http.NewRequest("POST", "http://x/items?limit=10", strings.NewReader("\x1f\x8b"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.ce != "" {
			r.Header.Set("Content-Encoding", tc.ce)
		}
		if err := bodyShadowsQuery(r, []byte("\x1f\x8b"), []string{"limit"}); (err != nil) != tc.refused {
			t.Errorf("Content-Encoding %q: %v, want refused %v", tc.ce, err, tc.refused)
		}
	}
	if mergeableType("POST", http.Header{"Content-Type": {"application/x-ndjson"}}) {
		t.Error("application/x-ndjson is read as a type servers merge (an Elasticsearch bulk body over the cap would be refused)")
	}
	if !mergeableType("POST", http.Header{}) || mergeableType("PUT", http.Header{}) {
		t.Error("a POST without a Content-Type (Rack reads it as a form) and only a POST")
	}
}
