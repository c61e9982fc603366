// Package gateway enforces Tenuo warrants in front of HTTP services that do
// not check them themselves: a sidecar reverse proxy ([Sidecar]) beside the
// tool service, and the decision service of Envoy's HTTP ext_authz filter
// ([Checker.AuthzHandler]) at a cluster's edge. The gRPC ext_authz service
// lives in gateway/extauthz, so that sidecar users do not link gRPC.
//
// Both are the guard package's net/http middleware in Tenuo's authorizer
// style (403 with the approval fields, Tenuo's JSON body, the statuses of
// enforce's one table of denials), asking one [enforce.Point]; this package
// adds only what a proxy needs on top of it.
//
// # The request the upstream parses is the request that was checked
//
// A check in front of another program is only as good as the agreement
// between what it read and what that program reads. Before routing, the
// [Checker]:
//   - canonicalises the path ([CanonicalPath]): escapes of unreserved
//     characters are decoded and the others upper-cased; a path with a dot
//     segment (also escaped), an empty segment ("//"), an escaped slash or
//     backslash, a raw backslash, a control character, a ";" (path
//     parameters, which Java servers strip), an escaped "%" before two hex
//     digits (decoded twice, "%252F" is "/") or escapes that are not UTF-8
//     (to a lenient decoder "%C0%AE" is ".") is refused, as is one whose
//     forwarded form would not canonicalise to the path routed. The
//     canonical path is what is routed and what is forwarded.
//   - refuses a method not in upper case (routes match methods in any
//     case, servers as sent: "get" is not GET to Go's ServeMux), and a "#"
//     in the request target (no client sends a fragment; servers that
//     parse the target as a URL drop what follows it, which was checked);
//   - routes HEAD as GET would be routed (an upstream answers HEAD with its
//     GET handler), and forwards it as HEAD;
//   - refuses a protocol upgrade other than WebSocket (an h2c upgrade
//     would turn the connection into a tunnel of HTTP/2 requests that
//     the upstream serves and nothing checks);
//   - refuses method-override headers (X-HTTP-Method-Override,
//     X-HTTP-Method, X-Method-Override) and path-override headers
//     (X-Original-URL, X-Rewrite-URL: Zend Framework and Laminas route by
//     them, as Symfony did before 2018), also spelled with underscores
//     (X_HTTP_Method_Override: CGI-style servers such as PHP, WSGI and Rack
//     read "_" in a header name as "-"), a "_method" query key, and, on a
//     route that reads the body, a "_method" key of a JSON body (Laravel
//     reads one, as Express's method-override can), which frameworks
//     honour to run another handler than the one routed;
//   - refuses X-Tenuo-Warrant-Id spelled with underscores
//     (X_Tenuo_Warrant_Id): the gateway removes a client's
//     X-Tenuo-Warrant-Id and sets its own, and a CGI-style server would
//     read that one as it;
//   - refuses a Connection header that nominates a header the request
//     carries, other than the hop-by-hop ones (a proxy, the sidecar's
//     among them, drops a nominated header: the upstream would act on the
//     request without a tenant header, say, that the check read);
//   - on a route that extracts from the query, refuses a query Go cannot
//     parse (";" separators, bad escapes), a value with a NUL (where a C
//     reader's string ends), any repeated key, a key in
//     array or object notation (key[] or key[x], which PHP, Rack and
//     Express's qs read as key), and two keys that a lenient reader takes
//     for one (keys differing in letter case, as ASP.NET compares them, or
//     by PHP's leading spaces and its reading of "." and " " as "_"); and
//     the tool map refuses, alone too, a key that such a reader (or one
//     that ignores "-" and "_") takes for a key the route extracts
//     (LIMIT=… or li-mit=… for limit: the check would see limit's default
//     while the upstream acted on the value);
//   - on a route that extracts from headers, refuses a header name with
//     "_" (to a CGI-style server X_Tenant_Id is X-Tenant-Id);
//   - on a route that extracts from the body, refuses a query key that
//     names a top-level key the body rules read (spec or spec[replicas]
//     for spec.replicas): Rails' params and Laravel's input() merge the
//     query with the body's fields, so a field the body leaves out would
//     take the query's value, unchecked;
//   - on a route that extracts from the body, refuses a body that is not
//     JSON by its Content-Type (a form, which the upstream would parse as
//     one; a charset other than UTF-8) or that is content-encoded, reads it
//     once under a cap with the strict reader of MCP arguments (duplicate
//     keys refused, and a "__proto__" key, which a JavaScript server
//     merging the body would turn into fields of every object; an
//     integer no IEEE-754 double holds, such as
//     9007199254740993, refused unless the decision point allows inexact
//     numbers, as for MCP arguments) and forwards exactly those bytes. Other routes' bodies
//     stream.
//
// # Limits
//
// Request trailers (fields after a chunked body) are not checked: the
// sidecar forwards none, but behind Envoy (ext_authz) the check is made
// before they arrive and Envoy forwards them when its codec keeps them
// (enable_trailers).
//
// WebSocket frames are not checked after an allowed upgrade: the upgrade
// request is (its route, warrant and PoP), and then the sidecar relays the
// frames both ways unread for as long as the connection lasts. A
// configuration reload does not close connections upgraded before it. A
// "_method" field of a form or JSON body on a route that does not read the
// body is not seen (the body streams unread).
package gateway
