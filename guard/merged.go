package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// Many servers merge a request body's fields with the query's into one set
// of parameters, the body's winning: Go's Request.FormValue, Rails' params,
// Laravel's input(), PHP's $_REQUEST. On a route whose fields come from the
// query, `?limit=5` checked with a form body `limit=100000` would be acted
// on as 100000. So a body such a server would parse (a form, a multipart
// form, JSON) is read on those routes too, and refused when a field of it
// reads as a query key the route extracts.

// mergeableBody reports whether r declares a body in a type some server
// merges with the query's parameters (see mergeableType).
func mergeableBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	return mergeableType(r.Method, r.Header)
}

// MergesWithQuery reports whether a request with method and h gives a
// Content-Type whose fields some server merges with the query's parameters
// (JSON, a form, a multipart form, or none at all on a POST), by the
// loosest reader's test. On a route that extracts from the query, the
// middleware reads such a body and refuses a field of it that reads as a
// query key the route extracts; a gateway that is handed the body (Envoy's
// ext_authz) must see all of it.
func MergesWithQuery(method string, h http.Header) bool { return mergeableType(method, h) }

// mergeableType is the test, as loose as the loosest reader's: JSON as
// Laravel reads it (a Content-Type containing "/json" or "+json") or Rails
// (text/x-json too); a form or a multipart body wherever its type is named;
// and a POST without a Content-Type, which Rack reads as a form. NDJSON
// (application/x-ndjson) merges nowhere and streams.
func mergeableType(method string, h http.Header) bool {
	for _, v := range h.Values("Content-Type") {
		v = strings.ToLower(v)
		if jsonType(v) || strings.Contains(v, "x-www-form-urlencoded") || strings.Contains(v, "multipart/") {
			return true
		}
	}
	return untypedPost(method, h)
}

func jsonType(lv string) bool {
	return strings.Contains(lv, "/json") || strings.Contains(lv, "+json") || strings.Contains(lv, "x-json")
}

// untypedPost reports a POST without a Content-Type (or an empty one):
// Rack reads its body as a form.
func untypedPost(method string, h http.Header) bool {
	if method != http.MethodPost {
		return false
	}
	for _, v := range h.Values("Content-Type") {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// bodyShadowsQuery refuses a body with a field that a server merging body
// and query parameters would read as one of queryKeys, under every reading
// its Content-Type lines allow: JSON's top-level keys, a form's keys, a
// multipart form's part names. A JSON or multipart body that does not
// parse is refused too (another parser may find fields in it), and so is
// a content-encoded one (Express's body-parser inflates it).
func bodyShadowsQuery(r *http.Request, body []byte, queryKeys []string) error {
	h := r.Header
	if len(queryKeys) == 0 || len(bytes.TrimSpace(body)) == 0 || !mergeableType(r.Method, h) {
		return nil
	}
	if ce := h.Values("Content-Encoding"); len(ce) > 0 && !(len(ce) == 1 && strings.EqualFold(strings.TrimSpace(ce[0]), "identity")) {
		return errors.New("a content-encoded body, in a type whose fields servers merge with the query's, on a route that reads the query (some servers decode it; it is checked as sent)")
	}
	shadow := func(kind string, keys []string) error {
		for _, k := range keys {
			if q, ok := toolmap.ReadsAsQueryKey(k, queryKeys); ok {
				return fmt.Errorf("%s field %q on a route that reads query key %q (servers that merge the body's fields over the query's would act on the body's)", kind, k, q)
			}
		}
		return nil
	}
	if untypedPost(r.Method, h) {
		if err := shadow("form body (a POST without a Content-Type, as Rack reads it)", formKeys(body)); err != nil {
			return err
		}
	}
	for _, v := range h.Values("Content-Type") {
		lv := strings.ToLower(v)
		if jsonType(lv) {
			// Rails (and Ruby's lenient parser) read the media type; Laravel
			// the whole line, with PHP's strict parser: JSON named in a
			// parameter alone (multipart/related; type="application/json")
			// is read for the keys it gives.
			keys, err := jsonTopKeys(body)
			if mt, _, _ := strings.Cut(lv, ";"); err != nil && jsonType(mt) {
				return fmt.Errorf("a JSON body that does not parse (%v) on a route that reads the query (a lenient parser, Ruby's reading comments, may find fields in it)", err)
			}
			if err := shadow("JSON body", keys); err != nil {
				return err
			}
		}
		if strings.Contains(lv, "x-www-form-urlencoded") {
			if err := shadow("form body", formKeys(body)); err != nil {
				return err
			}
		}
		if strings.Contains(lv, "multipart/") {
			names, err := multipartNames(v, body)
			if err != nil {
				return fmt.Errorf("multipart body on a route that reads the query: %v", err)
			}
			if err := shadow("multipart body", names); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonTopKeys returns the keys of a JSON object body (after a UTF-8 BOM,
// which Node's body-parser drops), nothing for another value; an error
// (with the keys read before it) when its first value does not parse
// whole.
func jsonTopKeys(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff"))))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys, err
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return keys, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return keys, errors.New("data after the JSON value")
	}
	return keys, nil
}

// formKeys returns a form body's keys as the loosest reader splits and
// unescapes them: at '&' and ';', each as written and as PHP decodes it
// ('+' a space, a bad escape kept and the others decoded; Go's reading
// when it has no bad escape).
func formKeys(body []byte) []string {
	var keys []string
	for _, pair := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '&' || r == ';' }) {
		k, _, _ := strings.Cut(pair, "=")
		keys = append(keys, k)
		if u := phpUnescape(k); u != k {
			keys = append(keys, u)
		}
	}
	return keys
}

// phpUnescape is PHP's urldecode: '+' a space, "%XX" its byte, any other
// '%' kept.
func phpUnescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && hexByte(s[i+1:i+3]) >= 0:
			b = append(b, byte(hexByte(s[i+1:i+3])))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// hexByte is the byte two hex digits give, -1 for anything else.
func hexByte(two string) int {
	n, err := strconv.ParseUint(two, 16, 8)
	if err != nil {
		return -1
	}
	return int(n)
}

// multipartNames returns the form names of a multipart body's parts, as
// Go's reader, PHP and Rack (2 and 3) read them. The boundary must be the
// one each of them finds in the Content-Type, and the body must hold it
// only where Go's reader reads a delimiter: PHP reads parts after the
// closing one, and a delimiter Go's reader skips is one another reader may
// not.
func multipartNames(contentType string, body []byte) ([]string, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("its Content-Type does not parse: %v", err)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errors.New("its Content-Type has no boundary")
	}
	for _, b := range otherBoundaries(contentType) {
		if b != boundary {
			return nil, fmt.Errorf("its Content-Type gives boundary %q, which PHP or Rack read as %q", boundary, b)
		}
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var names []string
	parts := 0
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		parts++
		pn, err := partNames(p.Header)
		if err != nil {
			return nil, err
		}
		names = append(names, pn...)
		if _, err := io.Copy(io.Discard, p); err != nil {
			return nil, err
		}
	}
	delim := []byte("--" + boundary)
	if !bytes.Contains(body, append(delim, '-', '-')) {
		return nil, errors.New("it has no closing delimiter")
	}
	if n := countOverlapping(body, delim); n != parts+1 {
		return nil, fmt.Errorf("its boundary is in it %d times, for %d delimiters Go's reader reads (PHP reads parts after the closing one, and others may read delimiters Go's does not)", n, parts+1)
	}
	return names, nil
}

// otherBoundaries returns the boundaries PHP and Rack read in a
// multipart Content-Type: PHP's after the first '=' that follows the first
// "boundary" (in any letter case only when there is none in lower case);
// Rack's after each "boundary" followed by '=' (Rack 3 takes the first,
// Rack 2 the last).
func otherBoundaries(ct string) []string {
	var out []string
	i := strings.Index(ct, "boundary")
	if i < 0 {
		i = strings.Index(strings.ToLower(ct), "boundary")
	}
	if i >= 0 {
		if j := strings.IndexByte(ct[i:], '='); j >= 0 {
			v := ct[i+j+1:]
			if rest, ok := strings.CutPrefix(v, `"`); ok {
				v, _, _ = strings.Cut(rest, `"`)
			} else if k := strings.IndexAny(v, ",;"); k >= 0 {
				v = v[:k]
			}
			out = append(out, v)
		}
	}
	for _, m := range rackBoundary.FindAllStringSubmatch(ct, -1) {
		out = append(out, m[1])
	}
	return out
}

var rackBoundary = regexp.MustCompile(`(?i)boundary\s*="?([^";,]*)`)

// countOverlapping counts the occurrences of sep in b, overlapping ones
// too.
func countOverlapping(b, sep []byte) int {
	n := 0
	for {
		i := bytes.Index(b, sep)
		if i < 0 {
			return n
		}
		n++
		b = b[i+1:]
	}
}

// partNames returns the names a part's headers give it: Go's reading of
// its Content-Disposition (which must parse), PHP's and Rack 3's of each
// Content-Disposition line, Rack 2's of any header line, its Content-ID
// (Rack's name for a part without a Content-Disposition) and, when Rack
// finds no name, what Rack names it by: the filename's basename, or the
// part's Content-Type followed by "[]".
func partNames(h textproto.MIMEHeader) ([]string, error) {
	var names, filenames []string
	cds := h.Values("Content-Disposition")
	if len(cds) > 0 {
		_, dp, err := mime.ParseMediaType(cds[0])
		if err != nil {
			return nil, fmt.Errorf("a part's Content-Disposition does not parse: %v", err)
		}
		if n, ok := dp["name"]; ok {
			names = append(names, n)
		}
		if f, ok := dp["filename"]; ok {
			filenames = append(filenames, f)
		}
	}
	rack3Named := false // Rack 3: the first Content-Disposition's name, else the Content-ID
	for i, cd := range cds {
		if n, ok := phpPartName(cd); ok {
			names = append(names, n)
		}
		n, f := rackPartName(cd)
		names = append(names, n)
		filenames = append(filenames, f)
		rack3Named = rack3Named || (i == 0 && n != "")
	}
	rack2Found, rack2Named := false, false // Rack 2: a name in a header line, else the Content-ID
	for k, vs := range h {
		for _, v := range vs {
			for _, m := range rack2Name.FindAllStringSubmatch(k+": "+v, -1) {
				n := m[1]
				if len(n) >= 2 && n[0] == '"' && n[len(n)-1] == '"' {
					n = rackUnescape.ReplaceAllString(n[1:len(n)-1], "$1")
				}
				names = append(names, n)
				rack2Found, rack2Named = true, rack2Named || n != ""
			}
		}
	}
	ids := h.Values("Content-Id")
	names = append(names, ids...)
	if len(ids) > 0 && ids[0] != "" {
		rack3Named = rack3Named || len(cds) == 0
		rack2Named = rack2Named || !rack2Found
	}
	if !rack3Named || !rack2Named {
		for _, f := range filenames {
			names = append(names, f)
			if u, err := url.PathUnescape(f); err == nil {
				f = u
				names = append(names, f)
			}
			if i := strings.LastIndexAny(f, `/\`); i >= 0 {
				names = append(names, f[i+1:])
			}
		}
		for _, ct := range h.Values("Content-Type") {
			names = append(names, strings.TrimSpace(ct)+"[]")
		}
	}
	return names, nil
}

// Rack 2 finds a part's name with this on its header block, unquoting a
// quoted one.
var (
	rack2Name    = regexp.MustCompile(`(?i)Content-Disposition:[^:]*;\s*name=("(?:\\"|[^"])*"|[^\s()<>,;:\\"/\[\]?=]+)`)
	rackUnescape = regexp.MustCompile(`\\(.)`)
)

// phpPartName is the name PHP's multipart parser reads in a
// Content-Disposition: of the ';'-separated pairs (quotes, double or
// single, respected) the last whose key is "name" in any letter case, its
// value unquoted (double or single quotes, '\' escaping the quote or
// itself) or up to a space.
func phpPartName(cd string) (name string, ok bool) {
	cd = strings.TrimLeft(cd, phpSpace)
	for cd != "" {
		pair := phpWord(&cd, ';')
		cd = strings.TrimLeft(cd, phpSpace)
		if !strings.Contains(pair, "=") {
			continue
		}
		if key := phpWord(&pair, '='); strings.EqualFold(key, "name") {
			name, ok = phpWordConf(pair), true
		}
	}
	return name, ok
}

const phpSpace = " \t\n\v\f\r"

// phpWord is PHP's php_ap_getword: what precedes stop outside quotes;
// line moves past it and the stops that follow.
func phpWord(line *string, stop byte) string {
	s := *line
	pos := 0
	for pos < len(s) && s[pos] != stop {
		if q := s[pos]; q == '"' || q == '\'' {
			pos++
			for pos < len(s) && s[pos] != q {
				if s[pos] == '\\' && pos+1 < len(s) && s[pos+1] == q {
					pos += 2
				} else {
					pos++
				}
			}
			if pos < len(s) {
				pos++
			}
			continue
		}
		pos++
	}
	if pos >= len(s) {
		*line = ""
		return s
	}
	res := s[:pos]
	for pos < len(s) && s[pos] == stop {
		pos++
	}
	*line = s[pos:]
	return res
}

// phpWordConf is PHP's php_ap_getword_conf: a value, quoted or up to a
// space.
func phpWordConf(s string) string {
	s = strings.TrimLeft(s, phpSpace)
	var quote byte
	if s != "" && (s[0] == '"' || s[0] == '\'') {
		quote, s = s[0], s[1:]
	} else if i := strings.IndexAny(s, phpSpace); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	for i := 0; i < len(s) && (quote == 0 || s[i] != quote); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '\\' || (quote != 0 && s[i+1] == quote)) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// rackPartName is the name and filename Rack 3 reads in a
// Content-Disposition: parameters after the first ';', each up to '=',
// its value quoted ('\' escaping) or up to the next ';'.
func rackPartName(d string) (name, filename string) {
	i := strings.IndexByte(d, ';')
	if i < 0 {
		return "", ""
	}
	d = d[i+1:]
	for n := 0; n < 16; n++ {
		i := strings.IndexByte(d, '=')
		if i < 0 {
			break
		}
		param := strings.TrimLeft(d[:i], " \t\n\v\f\r\x00")
		d = d[i+1:]
		var value string
		if rest, ok := strings.CutPrefix(d, `"`); ok {
			d = rest
			var b strings.Builder
			for {
				j := strings.IndexAny(d, `"\`)
				if j < 0 {
					break
				}
				c := d[j]
				b.WriteString(d[:j])
				d = d[j+1:]
				if c == '"' {
					break
				}
				esc := d[:min(1, len(d))]
				d = d[len(esc):]
				if param == "filename" && esc != `"` {
					b.WriteByte('\\')
				}
				b.WriteString(esc)
			}
			value = b.String()
		} else if j := strings.IndexByte(d, ';'); j >= 0 {
			value, d = d[:j], d[j:]
		} else {
			value, d = strings.TrimSpace(d), ""
		}
		switch param {
		case "name":
			name = value
		case "filename":
			filename = value
		}
		if j := strings.IndexByte(d, ';'); j >= 0 {
			d = d[j+1:]
		}
	}
	return name, filename
}
