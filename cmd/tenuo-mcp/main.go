// Command tenuo-mcp enforces Tenuo warrants on AI agents' tool calls.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "usage: tenuo-mcp <command> [flags]\n\nThe warrant commands and the MCP proxy are being built; see README.md.")
	os.Exit(2)
}
