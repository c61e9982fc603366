// Package transport moves raw JSON-RPC messages between an MCP peer and the
// proxy without looking inside them.
//
// # Messages
//
// A [Conn] reads and writes one JSON-RPC message at a time: an object or, for
// the 2025-03-26 protocol version, a batch array. The bytes are handed over
// exactly as they arrived (framing removed) and written exactly as given, so
// the relay above can forward what it does not intercept byte for byte.
// Nothing in this package decodes a message; policy lives elsewhere.
//
// # Stdio
//
// [NewStdioConn] frames newline-delimited JSON over any reader and writer,
// with a bounded line reader ([LineTooLongError]). [SpawnStdio] starts an MCP
// server as a child process with an explicit environment ([MinimalEnv]),
// mirrors its stderr, and stops it in order ([Process.Shutdown]).
//
// We use our own pump rather than mcp-go's client/transport Stdio because the
// relay needs byte-exact raw messages: mcp-go's reader decodes every line into
// typed structs, drops non-JSON lines, batches and responses to unknown ids,
// and its writer re-encodes what it sends.
package transport

// Conn is one side of a JSON-RPC message stream.
//
// Read returns the next message as raw JSON bytes (framing removed); the
// caller owns the returned slice. Read is called from one goroutine at a time.
// Write sends one message; it is safe for concurrent use, and each message is
// written whole, never interleaved with another. Close releases the
// connection; a Read blocked on it returns an error.
//
// The stdio connections here and the HTTP transports to come satisfy it on
// both sides of the proxy: the client side and the upstream side.
type Conn interface {
	Read() ([]byte, error)
	Write(msg []byte) error
	Close() error
}

// Buffered is implemented by a Conn that can tell whether its next message
// is already waiting to be read.
type Buffered interface {
	Buffered() bool
}

// Ready is implemented by a Conn that can tell whether a whole message is
// already buffered, so that its next Read returns at once. Call it from the
// goroutine that reads.
type Ready interface {
	MessageReady() bool
}

// Deferrer is implemented by a Conn that can let several messages share
// one system call. WriteDeferred writes msg as Write does, in order with
// every other write, but may keep it buffered until the next Write or
// Flush. A caller that defers must Flush before it waits on anything (and
// before Close, which drops what is still held): a message held back is one
// the peer has not seen.
type Deferrer interface {
	WriteDeferred(msg []byte) error
	Flush() error
}
