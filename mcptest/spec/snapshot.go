package spec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/mcptest"
	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
)

// SnapshotResult is the comparison of the server's tools with the lock.
type SnapshotResult struct {
	File    string           `json:"file"`
	Passed  bool             `json:"passed"`
	Written bool             `json:"written,omitempty"` // the lock was (re)written
	Tools   int              `json:"tools"`
	Changes []toolpin.Change `json:"changes,omitempty"`
	Failure string           `json:"failure,omitempty"`
}

// snapshot lists every tool through the relay and compares them with (or
// writes) the lock.
func snapshot(ctx context.Context, sess *mcptest.Session, opt Options) *SnapshotResult {
	res := &SnapshotResult{File: opt.Snapshot}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tools, err := sess.ListTools(lctx, nil)
	if err != nil {
		res.Failure = fmt.Sprintf("listing the server's tools: %v", err)
		return res
	}
	raw := make([]json.RawMessage, len(tools))
	for i, t := range tools {
		raw[i] = t.Raw
	}
	got, err := toolpin.FromTools(raw)
	if err != nil {
		res.Failure = fmt.Sprintf("the server's tools: %v", err)
		return res
	}
	res.Tools = len(got.Tools)
	want, err := toolpin.Load(opt.Snapshot)
	if opt.UpdateSnapshot || errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(opt.Snapshot, got.Marshal(), 0o644); err != nil {
			res.Failure = fmt.Sprintf("writing the snapshot: %v", err)
			return res
		}
		res.Passed, res.Written = true, true
		return res
	}
	if err != nil {
		res.Failure = err.Error()
		return res
	}
	res.Changes = toolpin.Compare(want, got)
	if len(res.Changes) == 0 {
		res.Passed = true
		return res
	}
	res.Failure = fmt.Sprintf("the server's tools differ from %s (run with --update-snapshot to accept them):", opt.Snapshot)
	for _, c := range res.Changes {
		res.Failure += "\n  " + c.String()
	}
	return res
}
