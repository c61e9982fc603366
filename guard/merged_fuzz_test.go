package guard

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// FuzzBodyShadowsQuery: for any Content-Type, method and body, the check
// does not panic, and Go's own net/http is an oracle for it: when
// Request.FormValue (a Go upstream, body values first) would read a body
// field as one of the route's query keys, the body is refused.
func FuzzBodyShadowsQuery(f *testing.F) {
	f.Add("POST", "application/x-www-form-urlencoded", "q=x&limit=100000")
	f.Add("POST", "application/x-www-form-urlencoded", "LI%4dIT=1")
	f.Add("PUT", "multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n1\r\n--XyZ--\r\n")
	f.Add("POST", "multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZ--\r\n")
	f.Add("POST", "application/json", `{"Limit":1}`)
	f.Add("POST", "", "limit=1")
	f.Add("PATCH", "text/plain", "limit=1")
	keys := []string{"dry_run", "limit"}
	f.Fuzz(func(t *testing.T, method, contentType, body string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n/()<>@,;:\\\"[]?={}") || strings.ContainsAny(contentType, "\r\n\x00") {
			return
		}
		r, err := http.NewRequest(method, "http://h/items?limit=10", strings.NewReader(body))
		if err != nil {
			return
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		refused := bodyShadowsQuery(r, []byte(body), keys) != nil

		// What a Go upstream's FormValue reads from the body alone.
		o, _ := http.NewRequest(method, "http://h/items", bytes.NewReader([]byte(body)))
		o.Header = r.Header.Clone()
		_ = o.ParseMultipartForm(1 << 20) // a form or a multipart body, as FormValue parses it
		var fields []string
		for k := range o.PostForm {
			fields = append(fields, k)
		}
		if o.MultipartForm != nil {
			for k := range o.MultipartForm.Value {
				fields = append(fields, k)
			}
			for k := range o.MultipartForm.File {
				fields = append(fields, k)
			}
			o.MultipartForm.RemoveAll()
		}
		for _, k := range fields {
			if q, ok := toolmap.ReadsAsQueryKey(k, keys); ok && !refused {
				t.Fatalf("%s %q body %q: Go's FormValue reads field %q as query key %q, and the body passed", method, contentType, body, k, q)
			}
		}
	})
}
