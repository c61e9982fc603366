// Package fstools is the example file server behind the fsserver command and
// tenuo-mcp's demo: read_file, write_file, list_dir and delete_file, confined
// to one directory through os.Root (symlinks cannot escape either).
package fstools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Serve runs the file server over stdio (in, out) until in ends. rootDir is
// the directory the tools are confined to; callLog, when not empty, is a file
// that every tools/call received is appended to as one JSON line
// {"tool":…,"arguments":…,"meta":…}.
func Serve(ctx context.Context, rootDir, callLog string, in io.Reader, out io.Writer) error {
	if rootDir == "" {
		return errors.New("a root directory is required")
	}
	abs, err := filepath.Abs(rootDir)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return err
	}
	defer root.Close()
	fsrv := &fileServer{root: root, dir: abs}
	if callLog != "" {
		if fsrv.log, err = os.OpenFile(callLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return err
		}
		defer fsrv.log.Close()
	}
	s := server.NewMCPServer("fsserver", "0.1.0", server.WithToolCapabilities(false))
	pathArg := mcp.WithString("path", mcp.Required(), mcp.Description("path relative to the root (or absolute, inside it)"))
	s.AddTool(mcp.NewTool("read_file", mcp.WithDescription("Read a text file."), pathArg), fsrv.logged(fsrv.readFile))
	s.AddTool(mcp.NewTool("write_file", mcp.WithDescription("Write a text file, replacing it."), pathArg,
		mcp.WithString("content", mcp.Required(), mcp.Description("the file's new content"))), fsrv.logged(fsrv.writeFile))
	s.AddTool(mcp.NewTool("list_dir", mcp.WithDescription("List a directory's entries."), pathArg), fsrv.logged(fsrv.listDir))
	s.AddTool(mcp.NewTool("delete_file", mcp.WithDescription("Delete a file."), pathArg), fsrv.logged(fsrv.deleteFile))
	return server.NewStdioServer(s).Listen(ctx, in, out)
}

type fileServer struct {
	root *os.Root
	dir  string // absolute path of root

	mu  sync.Mutex // guards writes to log
	log *os.File
}

type handler func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error)

// logged records each call before handling it.
func (f *fileServer) logged(h handler) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if f.log != nil {
			line, err := json.Marshal(map[string]any{"tool": req.Params.Name, "arguments": req.Params.Arguments, "meta": req.Params.Meta})
			if err == nil {
				f.mu.Lock()
				f.log.Write(append(line, '\n'))
				f.mu.Unlock()
			}
		}
		return h(ctx, req)
	}
}

// rel turns a tool's path argument into a path relative to the root, refusing
// anything outside it. os.Root enforces the same again, symlinks included.
func (f *fileServer) rel(p string) (string, error) {
	if p == "" {
		return "", errors.New("path is empty")
	}
	if filepath.IsAbs(p) {
		r, err := filepath.Rel(f.dir, filepath.Clean(p))
		if err != nil {
			return "", err
		}
		p = r
	}
	p = filepath.Clean(p)
	if p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) || filepath.IsAbs(p) {
		return "", fmt.Errorf("path %q is outside the root", p)
	}
	return p, nil
}

func (f *fileServer) path(req mcp.CallToolRequest) (string, error) {
	p, err := req.RequireString("path")
	if err != nil {
		return "", err
	}
	return f.rel(p)
}

func (f *fileServer) readFile(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p, err := f.path(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	b, err := f.root.ReadFile(p)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	return mcp.NewToolResultText(string(b)), nil
}

func (f *fileServer) writeFile(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p, err := f.path(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	content, err := req.RequireString("content")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	if err := f.root.WriteFile(p, []byte(content), 0o644); err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	return mcp.NewToolResultText(fmt.Sprintf("wrote %d bytes to %s", len(content), p)), nil
}

func (f *fileServer) listDir(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p, err := f.path(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	entries, err := fs.ReadDir(f.root.FS(), filepath.ToSlash(p))
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return mcp.NewToolResultText(strings.Join(names, "\n")), nil
}

func (f *fileServer) deleteFile(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p, err := f.path(req)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	if p == "." {
		return mcp.NewToolResultError("refusing to delete the root"), nil
	}
	if err := f.root.Remove(p); err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	return mcp.NewToolResultText("deleted " + p), nil
}
