package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the child process: with TRANSPORT_HELPER set it
// runs one of the behaviours below instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("TRANSPORT_HELPER"); mode != "" {
		helperMain(mode)
		return
	}
	os.Exit(m.Run())
}

func helperMain(mode string) {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 8<<20)
	switch mode {
	case "echo": // echo each line; write a note to stderr first
		fmt.Fprintln(os.Stderr, "helper: started")
		for in.Scan() {
			fmt.Printf("%s\n", in.Bytes())
		}
		os.Exit(0)
	case "exit3": // one message, then exit 3
		fmt.Println(`{"jsonrpc":"2.0","method":"bye"}`)
		os.Exit(3)
	case "env": // print the environment as a JSON array
		env := os.Environ()
		sort.Strings(env)
		b, _ := json.Marshal(env)
		fmt.Printf("%s\n", b)
		for in.Scan() {
		}
		os.Exit(0)
	case "stubborn": // ignore stdin EOF and SIGTERM
		signal.Ignore(syscall.SIGTERM)
		fmt.Println(`{"ready":true}`)
		for in.Scan() {
		}
		time.Sleep(time.Hour)
	case "termonly": // ignore stdin EOF, end on SIGTERM
		fmt.Println(`{"ready":true}`)
		for in.Scan() {
		}
		time.Sleep(time.Hour)
	}
	os.Exit(99)
}

func spawnHelper(t *testing.T, mode string, stderr io.Writer) *Process {
	t.Helper()
	p, err := SpawnStdio(context.Background(), []string{os.Args[0]}, SpawnOptions{
		Env:    []string{"TRANSPORT_HELPER=" + mode, "KEEP=1"},
		Stderr: stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(time.Second) })
	return p
}

// lockedBuffer is a bytes.Buffer safe for the stderr copier and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSpawnEchoAndStderr(t *testing.T) {
	var stderr lockedBuffer
	p := spawnHelper(t, "echo", &stderr)
	for _, msg := range []string{`{"id":1}`, `[{"id":2},{"id":3}]`} {
		if err := p.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := p.Read()
		if err != nil || string(got) != msg {
			t.Fatalf("Read = %q, %v; want %q", got, err, msg)
		}
	}
	if err := p.Shutdown(5 * time.Second); err != nil {
		t.Fatalf("Shutdown of a server that exits on stdin EOF = %v", err)
	}
	if p.ExitCode() != 0 {
		t.Fatalf("ExitCode = %d", p.ExitCode())
	}
	if !strings.Contains(stderr.String(), "helper: started") {
		t.Fatalf("stderr not mirrored: %q", stderr.String())
	}
}

func TestSpawnChildExitReported(t *testing.T) {
	p := spawnHelper(t, "exit3", nil)
	msg, err := p.Read()
	if err != nil || !bytes.Contains(msg, []byte("bye")) {
		t.Fatalf("Read = %q, %v", msg, err)
	}
	if _, err := p.Read(); !errors.Is(err, io.EOF) {
		t.Fatalf("Read after exit = %v, want EOF", err)
	}
	var exitErr *exec.ExitError
	if err := p.Wait(); !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	if p.ExitCode() != 3 {
		t.Fatalf("ExitCode = %d", p.ExitCode())
	}
	if err := p.Shutdown(time.Second); !errors.As(err, &exitErr) {
		t.Fatalf("Shutdown after a failed exit = %v, want the exit error", err)
	}
}

func TestShutdownEscalation(t *testing.T) {
	tests := []struct {
		mode    string
		wantErr error
	}{
		{"termonly", nil},       // needs SIGTERM, which is a clean end
		{"stubborn", ErrKilled}, // needs SIGKILL
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			p := spawnHelper(t, tc.mode, nil)
			if _, err := p.Read(); err != nil { // wait until its handlers are set
				t.Fatal(err)
			}
			if err := p.Shutdown(300 * time.Millisecond); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Shutdown = %v, want %v", err, tc.wantErr)
			}
			select {
			case <-p.Exited():
			default:
				t.Fatal("child not reaped after Shutdown")
			}
			if err := syscall.Kill(p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
				t.Fatalf("child %d still exists: %v", p.Pid(), err)
			}
		})
	}
}

func TestSpawnEnvIsExplicit(t *testing.T) {
	t.Setenv("TENUO_SECRET", "must-not-leak")
	t.Setenv("UNRELATED_SECRET", "must-not-leak")
	env, err := MinimalEnv(nil, []string{"TRANSPORT_HELPER=env", "EXTRA=1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := SpawnStdio(context.Background(), []string{os.Args[0]}, SpawnOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(time.Second)
	msg, err := p.Read()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := json.Unmarshal(msg, &got); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(env)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("child environment %q, want exactly %q", got, want)
	}
}

func TestMinimalEnv(t *testing.T) {
	environ := []string{
		"PATH=/bin", "HOME=/h", "LC_ALL=C", "LC_TIME=x", "SECRET=s", "TENUO_KEY=k",
		"AWS_TOKEN=t", "NODE_OPTIONS=--inspect", "TZ=UTC",
	}
	tests := []struct {
		name    string
		pass    []string
		extra   []string
		want    []string
		wantErr error
	}{
		{"base only", nil, nil, []string{"PATH=/bin", "HOME=/h", "TZ=UTC", "LC_ALL=C", "LC_TIME=x"}, nil},
		{"pass and extra", []string{"AWS_TOKEN", "MISSING"}, []string{"FOO=bar", "PATH=/usr/bin"},
			[]string{"PATH=/usr/bin", "HOME=/h", "TZ=UTC", "LC_ALL=C", "LC_TIME=x", "AWS_TOKEN=t", "FOO=bar"}, nil},
		{"pass TENUO refused", []string{"TENUO_KEY"}, nil, nil, ErrReservedEnv},
		{"pass tenuo lower case refused", []string{"tenuo_key"}, nil, nil, ErrReservedEnv},
		{"extra TENUO refused", nil, []string{"TENUO_X=1"}, nil, ErrReservedEnv},
		{"extra without =", nil, []string{"FOO"}, nil, errAny},
		{"empty name", nil, []string{"=x"}, nil, errAny},
		{"name with NUL", []string{"A\x00B"}, nil, nil, errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := minimalEnv(environ, tc.pass, tc.extra)
			switch {
			case tc.wantErr == errAny && err != nil:
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

var errAny = errors.New("any error")
