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
	"net/url"
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
// merges with the query's parameters. The test is as loose as the loosest
// reader's (Laravel takes any Content-Type containing "json" as JSON).
func mergeableBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	return mergeableType(r.Header)
}

// MergesWithQuery reports whether h gives a Content-Type whose fields some
// server merges with the query's parameters (JSON, a form, a multipart
// form), by the loosest reader's test. On a route that extracts from the
// query, the middleware reads such a body and refuses a field of it that
// reads as a query key the route extracts; a gateway that is handed the
// body (Envoy's ext_authz) must see all of it.
func MergesWithQuery(h http.Header) bool { return mergeableType(h) }

func mergeableType(h http.Header) bool {
	for _, v := range h.Values("Content-Type") {
		v = strings.ToLower(v)
		if strings.Contains(v, "json") || strings.Contains(v, "x-www-form-urlencoded") || strings.Contains(v, "multipart/") {
			return true
		}
	}
	return false
}

// bodyShadowsQuery refuses a body with a field that a server merging body
// and query parameters would read as one of queryKeys, under every reading
// its Content-Type lines allow: JSON's top-level keys, a form's keys, a
// multipart form's part names. A multipart body that does not parse is
// refused too (another parser may find parts in it).
func bodyShadowsQuery(h http.Header, body []byte, queryKeys []string) error {
	if len(queryKeys) == 0 || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	shadow := func(kind, k string) error {
		if q, ok := toolmap.ReadsAsQueryKey(k, queryKeys); ok {
			return fmt.Errorf("%s field %q on a route that reads query key %q (servers that merge the body's fields over the query's would act on the body's)", kind, k, q)
		}
		return nil
	}
	for _, v := range h.Values("Content-Type") {
		lv := strings.ToLower(v)
		if strings.Contains(lv, "json") {
			for _, k := range jsonTopKeys(body) {
				if err := shadow("JSON body", k); err != nil {
					return err
				}
			}
		}
		if strings.Contains(lv, "x-www-form-urlencoded") {
			for _, k := range formKeys(body) {
				if err := shadow("form body", k); err != nil {
					return err
				}
			}
		}
		if strings.Contains(lv, "multipart/") {
			names, err := multipartNames(v, body)
			if err != nil {
				return fmt.Errorf("multipart body on a route that reads the query: %v", err)
			}
			for _, k := range names {
				if err := shadow("multipart body", k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// jsonTopKeys returns the keys of a JSON object body; nothing for another
// value or for what does not parse (no server merges its fields).
func jsonTopKeys(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return keys
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

// formKeys returns a form body's keys as the loosest reader splits and
// unescapes them: at '&' and ';', '+' as a space, a bad escape kept as
// written (and the key also as written, in case a reader does not
// unescape).
func formKeys(body []byte) []string {
	var keys []string
	for _, pair := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '&' || r == ';' }) {
		k, _, _ := strings.Cut(pair, "=")
		keys = append(keys, k)
		if u, err := url.QueryUnescape(k); err == nil && u != k {
			keys = append(keys, u)
		} else if err != nil {
			keys = append(keys, strings.ReplaceAll(k, "+", " "))
		}
	}
	return keys
}

// multipartNames returns the form names of a multipart body's parts.
func multipartNames(contentType string, body []byte) ([]string, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("its Content-Type does not parse: %v", err)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errors.New("its Content-Type has no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var names []string
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		_, dp, derr := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if derr != nil && p.Header.Get("Content-Disposition") != "" {
			return nil, fmt.Errorf("a part's Content-Disposition does not parse: %v", derr)
		}
		if n, ok := dp["name"]; ok {
			names = append(names, n)
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return nil, err
		}
	}
}
