//go:build unix

package transport

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPollableStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// A blocking pipe end, as a parent process hands it over.
	r.Fd()
	pr := PollableStdin(r)
	if pr == io.Reader(r) {
		t.Fatal("a pipe should be switched to a pollable file")
	}
	go func() {
		w.Write([]byte("{\"jsonrpc\":\"2.0\"}\n"))
		w.Close()
	}()
	c := NewStdioConn(pr, nopCloser{io.Discard}, 0)
	msg, err := c.Read()
	if err != nil || string(msg) != `{"jsonrpc":"2.0"}` {
		t.Fatalf("read %q %v", msg, err)
	}
	if _, err := c.Read(); err != io.EOF {
		t.Fatalf("want EOF after the writer closed, got %v", err)
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "regular"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if PollableStdin(f) != io.Reader(f) {
		t.Fatal("a regular file must be left alone")
	}
	if PollableStdin(nil) != nil {
		t.Fatal("a nil reader stays nil")
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
