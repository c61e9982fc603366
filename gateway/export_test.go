package gateway

import (
	"net/http"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// RenderDenial is the checker's rendering of a denial, for the denial-table
// test.
func RenderDenial(c *Checker, w http.ResponseWriter, res *enforce.Result, requestID string) {
	c.middleware(c.point()).Deny(w, res, requestID)
}

// IsCanonical and CanonicalPathSlow are CanonicalPath's fast test and long
// way, for the test that they agree.
var (
	IsCanonical       = isCanonical
	CanonicalPathSlow = canonicalPath
)

// QueryKeys is the check of a query's keys on routes that read the query.
var QueryKeys = queryKeys

// CheckQuery is the whole check of a query on routes that read it.
var CheckQuery = checkQuery
