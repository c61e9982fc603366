package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// nopWriteCloser adapts a writer for NewStdioConn.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// readAll reads c until EOF, rendering each message as "msg:<bytes>" and each
// oversized line as "long:<prefix>".
func readAll(t *testing.T, c Conn) []string {
	t.Helper()
	var got []string
	for i := 0; i < 1000; i++ {
		msg, err := c.Read()
		var long *LineTooLongError
		switch {
		case errors.Is(err, io.EOF):
			return got
		case errors.As(err, &long):
			got = append(got, "long:"+string(long.Prefix))
		case err != nil:
			t.Fatalf("Read: %v", err)
		default:
			got = append(got, "msg:"+string(msg))
		}
	}
	t.Fatal("Read never reached EOF")
	return nil
}

func TestStdioConnFraming(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name    string
		in      string
		maxLine int
		want    []string
	}{
		{"one", "{\"a\":1}\n", 0, []string{`msg:{"a":1}`}},
		{"crlf", "{\"a\":1}\r\n[2]\r\n", 0, []string{`msg:{"a":1}`, `msg:[2]`}},
		{"blank lines skipped", "\n\r\n  \n{}\n\n", 0, []string{`msg:{}`}},
		{"last line without newline", "{}\n{\"b\":2}", 0, []string{`msg:{}`, `msg:{"b":2}`}},
		{"oversized then next line", long + "\n{}\n", 10, []string{"long:" + long, `msg:{}`}},
		{"exactly the cap", "0123456789\n", 10, []string{"msg:0123456789"}},
		{"cap plus CR", "0123456789\r\n", 10, []string{"msg:0123456789"}},
		{"one over the cap", "0123456789A\n{}\n", 10, []string{"long:0123456789A", `msg:{}`}},
		{"oversized last line", "{}\n" + long, 10, []string{`msg:{}`, "long:" + long}},
		{"last line one over the cap", "{}\n0123456789A", 10, []string{`msg:{}`, "long:0123456789A"}},
		{"last line at the cap plus CR", "0123456789\r", 10, []string{"msg:0123456789"}},
		{"invalid JSON is still a message", "not json\n", 0, []string{"msg:not json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewStdioConn(strings.NewReader(tc.in), nopWriteCloser{io.Discard}, tc.maxLine)
			got := readAll(t, c)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStdioConnOversizedPrefixBounded(t *testing.T) {
	in := strings.Repeat("y", 3<<20) + "\n{}\n"
	c := NewStdioConn(strings.NewReader(in), nopWriteCloser{io.Discard}, 1<<20)
	_, err := c.Read()
	var long *LineTooLongError
	if !errors.As(err, &long) {
		t.Fatalf("Read error = %v, want *LineTooLongError", err)
	}
	if long.Limit != 1<<20 || len(long.Prefix) != linePrefixLen {
		t.Fatalf("Limit %d, prefix %d bytes", long.Limit, len(long.Prefix))
	}
	msg, err := c.Read()
	if err != nil || string(msg) != "{}" {
		t.Fatalf("next Read = %q, %v", msg, err)
	}
}

func TestStdioConnWrite(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"single line kept byte for byte", `{"b": 1,  "a":"x"}`, "{\"b\": 1,  \"a\":\"x\"}\n"},
		{"multi-line JSON compacted", "{\n  \"a\": \"x\\ny\"\n}", "{\"a\":\"x\\ny\"}\n"},
		// A reader that ends lines at CR would see three lines, the middle
		// one a message of its own.
		{"CR white space compacted", "{\"a\":\r{\"b\":1}\r}", "{\"a\":{\"b\":1}}\n"},
		{"line separators escaped", "{\"a\":\"x\u2028y\u2029z\u0085\"}", "{\"a\":\"x\\u2028y\\u2029z\\u0085\"}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			c := NewStdioConn(strings.NewReader(""), nopWriteCloser{&b}, 0)
			if err := c.Write([]byte(tc.in)); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Fatalf("wrote %q, want %q", b.String(), tc.want)
			}
			var in, out any
			if json.Unmarshal([]byte(tc.in), &in) == nil {
				if err := json.Unmarshal(b.Bytes(), &out); err != nil || !reflect.DeepEqual(in, out) {
					t.Fatalf("the value changed: %v -> %v (%v)", in, out, err)
				}
			}
		})
	}
	var b bytes.Buffer
	c := NewStdioConn(strings.NewReader(""), nopWriteCloser{&b}, 0)
	if err := c.Write([]byte("{\n")); err == nil {
		t.Fatal("invalid multi-line message written")
	}
	c.Close()
	if err := c.Write([]byte("{}")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}

// TestStdioConnConcurrentWrites checks that messages written from many
// goroutines at once arrive whole, one per line, over a real pipe.
func TestStdioConnConcurrentWrites(t *testing.T) {
	pr, pw := io.Pipe()
	w := NewStdioConn(strings.NewReader(""), pw, 0)
	r := NewStdioConn(pr, nopWriteCloser{io.Discard}, 0)
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// Large enough to need several pipe writes if split.
				msg := fmt.Sprintf(`{"g":%d,"i":%d,"pad":"%s"}`, g, i, strings.Repeat("p", 100000+g))
				if err := w.Write([]byte(msg)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); pw.Close() }()
	seen := map[string]bool{}
	for {
		msg, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var g, i int
		if _, err := fmt.Sscanf(string(msg), `{"g":%d,"i":%d,`, &g, &i); err != nil {
			t.Fatalf("torn message %.60q: %v", msg, err)
		}
		want := fmt.Sprintf(`{"g":%d,"i":%d,"pad":"%s"}`, g, i, strings.Repeat("p", 100000+g))
		if string(msg) != want {
			t.Fatalf("message g=%d i=%d corrupted", g, i)
		}
		seen[fmt.Sprint(g, i)] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("got %d distinct messages, want %d", len(seen), writers*each)
	}
}

func FuzzStdioConn(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{}\r\n\n[1,2]"), 8)
	f.Add([]byte(strings.Repeat("z", 100)+"\n{}\n"), 16)
	f.Add([]byte("\r\r\n\n\r"), 1)
	f.Fuzz(func(t *testing.T, in []byte, maxLine int) {
		maxLine = maxLine%64 + 1
		if maxLine <= 0 {
			maxLine += 64
		}
		c := NewStdioConn(bytes.NewReader(in), nopWriteCloser{io.Discard}, maxLine)
		for i := 0; i <= len(in)+1; i++ {
			msg, err := c.Read()
			var long *LineTooLongError
			if errors.Is(err, io.EOF) {
				return
			}
			if errors.As(err, &long) {
				if len(long.Prefix) > linePrefixLen {
					t.Fatalf("prefix of %d bytes", len(long.Prefix))
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) == 0 || len(msg) > maxLine || bytes.ContainsAny(msg, "\n") {
				t.Fatalf("bad message %q (cap %d)", msg, maxLine)
			}
		}
		t.Fatal("no EOF")
	})
}

// writeLog records each Write call.
type writeLog struct{ writes []string }

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}
func (w *writeLog) Close() error { return nil }

// TestWriteDeferred: deferred lines share the next write, in order; Flush
// writes them (and nothing when none wait); a large backlog is written
// without waiting; Close writes nothing.
func TestWriteDeferred(t *testing.T) {
	w := &writeLog{}
	c := NewStdioConn(strings.NewReader(""), w, 0)
	d := c.(Deferrer)
	d.WriteDeferred([]byte(`{"a":1}`))
	d.WriteDeferred([]byte("{\n\"b\":2}")) // compacted as Write does
	if len(w.writes) != 0 {
		t.Fatalf("deferred lines written at once: %q", w.writes)
	}
	c.Write([]byte(`{"c":3}`))
	if len(w.writes) != 1 || w.writes[0] != "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n" {
		t.Fatalf("writes %q", w.writes)
	}
	d.WriteDeferred([]byte(`{"d":4}`))
	d.Flush()
	d.Flush()
	if len(w.writes) != 2 || w.writes[1] != "{\"d\":4}\n" {
		t.Fatalf("after Flush: %q", w.writes)
	}
	big := []byte(`"` + strings.Repeat("x", maxDeferred) + `"`)
	d.WriteDeferred(big)
	if len(w.writes) != 3 {
		t.Fatalf("a %d-byte deferred line was held back", len(big))
	}
	d.WriteDeferred([]byte(`{"e":5}`))
	c.Close() // never writes: a peer that stopped reading must not hold it
	if len(w.writes) != 3 {
		t.Fatalf("Close wrote: %q", w.writes)
	}
	if err := d.WriteDeferred([]byte(`{}`)); err != ErrClosed {
		t.Fatalf("WriteDeferred after Close: %v", err)
	}
}

// TestMessageReady: true only while a whole non-blank line is buffered.
func TestMessageReady(t *testing.T) {
	c := NewStdioConn(strings.NewReader("{\"a\":1}\n \r\n\n{\"b\":2}\n  \n{\"c\""), nopWriteCloser{io.Discard}, 0)
	r := c.(Ready)
	if r.MessageReady() {
		t.Fatal("ready before anything was read")
	}
	steps := []struct {
		msg   string
		ready bool // after reading msg
	}{
		{`{"a":1}`, true},  // {"b":2} is whole, past blank lines
		{`{"b":2}`, false}, // only a blank line and a partial one are left
		{`{"c"`, false},    // the unterminated last line, at EOF
	}
	for _, st := range steps {
		m, err := c.Read()
		if err != nil || string(m) != st.msg {
			t.Fatalf("Read = %q, %v; want %q", m, err, st.msg)
		}
		if got := r.MessageReady(); got != st.ready {
			t.Fatalf("after %s MessageReady = %v, want %v", st.msg, got, st.ready)
		}
	}
}
