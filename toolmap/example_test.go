package toolmap_test

import (
	"fmt"

	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

func ExampleConfig_MapCall() {
	cfg, err := toolmap.Parse([]byte(`version: "1"
tools:
  filesystem_read:
    tool: read_file
    constraints:
      path: {from: body, path: path, required: true}
      max_size: {from: body, path: maxSize, type: integer, default: 1048576}
`), "mcp-config.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := cfg.MapCall("filesystem_read", []byte(`{"path":"/data/a.txt","encoding":"utf-8"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Tool, m.Fields["path"], m.Fields["max_size"], len(m.Fields))

	_, err = cfg.MapCall("filesystem_read", []byte(`{"path":"/a","maxSize":"big"}`))
	fmt.Println(err)

	var none *toolmap.Config // no configuration: the identity
	m, _ = none.MapCall("filesystem_read", []byte(`{"path":"/a","n":2.0}`))
	fmt.Printf("%s %v %T\n", m.Tool, m.Fields["path"], m.Fields["n"])
	// Output:
	// read_file /data/a.txt 1048576 2
	// toolmap: constraint field rejected: tool "filesystem_read" field "max_size" (body path "maxSize"): got string, want integer
	// filesystem_read /a int64
}
