// Package toolmap decides which warrant tool, and which constraint fields,
// an MCP tools/call or an HTTP request is checked against.
//
// Without a configuration the mapping is the identity: the warrant tool is
// the MCP tool and the fields are the call's top-level arguments, so the
// warrant must account for every argument (closed world, as in Tenuo).
//
// # Configuration
//
// A configuration ([Load], [Parse]) has the shape of Tenuo's
// mcp-config.yaml, and accepts the `routes` of its gateway.yaml:
//
//	version: "1"
//	settings:
//	  trusted_issuers: ["f32e74b5…"]   # hex Ed25519 keys; trusted_roots is a synonym
//	tools:
//	  filesystem_read:                 # the MCP tool name
//	    tool: read_file                # the warrant's tool name (our addition; default: the key)
//	    description: "Read files"
//	    constraints:
//	      path:                        # the constraint field
//	        from: body                 # body (default), literal; path, query, header for HTTP
//	        path: "path"               # dotted: a.b, items.0.name, items.*.id
//	        required: true
//	      max_size:
//	        path: "maxSize"
//	        type: integer              # string|integer|number|boolean|array|object (float, list)
//	        default: 1048576
//	      mode:
//	        path: "mode"
//	        allowed_values: ["r", "rw"]
//	routes:                            # HTTP only
//	  - pattern: "/api/v1/clusters/{cluster}"
//	    method: ["POST"]
//	    tool: manage_cluster           # a key under tools
//
// Unlike Tenuo, which reads `type` and `allowed_values` but never checks
// them, this package enforces both: a value of another type (no coercion;
// only integer counts as number) or outside allowed_values refuses the call.
// Tenuo's Python examples spell `type` as `value_type`; both are accepted.
// Every error in the file is reported with its line and column, and the
// program should refuse to start on any of them.
//
// # Extraction
//
// Paths follow Tenuo's: a key on an object, a numeric segment on an array,
// "*" over every element of an array (giving a list; nested wildcards give
// lists of lists). A path through a missing key, an index out of range, the
// wrong kind of value, or a wildcard over an empty array is missing; a JSON
// null is present. One deliberate difference: where Tenuo silently drops
// wildcard elements that lack the rest of the path, this package refuses the
// call ([ErrField]), because the dropped element would escape the check.
// For a wildcard path, `type` and `allowed_values` apply to each element.
//
// A configured tool's fields are exactly those its constraints extract;
// any other argument is ignored by the check. Tools not listed are refused
// ([ErrUnknownTool]), as Tenuo refuses them.
package toolmap
