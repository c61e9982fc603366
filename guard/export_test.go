package guard

import (
	"net/http"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// RenderHTTPDenial is the middleware's rendering of a denial, for the
// denial-table test.
func RenderHTTPDenial(w http.ResponseWriter, res *enforce.Result, authorizer bool, requestID string, debug bool) {
	(&HTTP{AuthorizerStyle: authorizer, Debug: debug}).deny(w, res, requestID)
}

// JSONString is the request id as the audit record's raw JSON.
var JSONString = jsonString
