// Command fsserver is a small MCP server over stdio with file tools confined
// to one directory: read_file, write_file, list_dir and delete_file. It is an
// example upstream for tenuo-mcp's proxy; it refuses paths outside its root on
// its own too, through os.Root, which also stops symlinks from escaping.
//
// Usage:
//
//	fsserver -root DIR [-call-log FILE]
//
// With -call-log, every tools/call it receives is appended to FILE as one JSON
// line {"tool":…,"arguments":…,"meta":…}, so tests can prove which calls
// reached it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/tenuo-mcp/tenuo-mcp/examples/mcp-servers/fsserver/fstools"
)

func main() {
	rootDir := flag.String("root", "", "directory the file tools are confined to (required)")
	callLog := flag.String("call-log", "", "append each tools/call received to this file as a JSON line")
	flag.Parse()
	if *rootDir == "" {
		fmt.Fprintln(os.Stderr, "fsserver: -root is required")
		os.Exit(2)
	}
	if err := fstools.Serve(context.Background(), *rootDir, *callLog, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fsserver:", err)
		os.Exit(1)
	}
}
