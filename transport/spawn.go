package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// DefaultShutdownGrace is how long Close lets each stage of Shutdown take.
const DefaultShutdownGrace = 5 * time.Second

// ErrKilled is returned by Shutdown when the server outlived both its closed
// stdin and SIGTERM, and had to be killed.
var ErrKilled = errors.New("transport: upstream server ignored SIGTERM and was killed")

// SpawnOptions configures SpawnStdio. The zero value starts the server with an
// empty environment in the current directory and discards its stderr.
type SpawnOptions struct {
	// Env is the server's whole environment, as K=V entries. It is never
	// inherited: nil means an empty environment. Build it with MinimalEnv.
	Env []string
	// MaxLine caps one message line read from the server's stdout
	// (DefaultMaxLine when zero).
	MaxLine int
	// Stderr receives the server's stderr as it is written. Nil discards it.
	// It must never be the proxy's stdout, which carries only JSON-RPC.
	Stderr io.Writer
	// Dir is the server's working directory; empty means the current one.
	Dir string
}

// Process is an MCP server running as a child process, spoken to over its
// stdin and stdout. Its Conn methods carry the messages; Close shuts it down
// with DefaultShutdownGrace.
type Process struct {
	Conn

	cmd   *exec.Cmd
	stdin *os.File // our end of the server's stdin
	done  chan struct{}

	// waitErr is written once before done is closed.
	waitErr error

	shutdownOnce sync.Once
	shutdownErr  error
}

var _ Conn = (*Process)(nil)

// SpawnStdio starts argv as an MCP server speaking newline-delimited JSON-RPC
// on its stdin and stdout. The server runs in its own process group, so that
// Shutdown's signals reach the processes it started too (npx starts node).
// When ctx is done the server is sent SIGTERM, then killed after
// DefaultShutdownGrace; prefer Shutdown, which first closes its stdin.
func SpawnStdio(ctx context.Context, argv []string, opt SpawnOptions) (*Process, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("transport: no upstream server command given")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = opt.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would inherit the proxy's environment
	}
	cmd.Dir = opt.Dir
	cmd.Stderr = opt.Stderr // nil: the null device
	cmd.SysProcAttr = newProcAttr()
	cmd.WaitDelay = DefaultShutdownGrace

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("transport: stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("transport: stdout pipe: %w", err)
	}
	// Our own pipes rather than cmd.StdoutPipe: Wait closes those as soon as
	// the child exits, which would lose the last messages it wrote.
	cmd.Stdin, cmd.Stdout = inR, outW
	p := &Process{cmd: cmd, stdin: inW, done: make(chan struct{})}
	cmd.Cancel = func() error { return p.signal(sigTerm) }
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{inR, inW, outR, outW} {
			f.Close()
		}
		return nil, fmt.Errorf("transport: start %q: %w", argv[0], err)
	}
	inR.Close()
	outW.Close()
	p.Conn = NewStdioConn(outR, inW, opt.MaxLine)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the server's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Wait waits for the server to exit and returns how it ended: nil for exit
// status 0, else an error (an *exec.ExitError for a non-zero status or a
// signal).
func (p *Process) Wait() error {
	<-p.done
	return p.waitErr
}

// Exited returns a channel closed once the server has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitCode returns the server's exit status, or -1 while it runs or when a
// signal ended it.
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Shutdown stops the server in order: it closes the server's stdin and waits
// up to grace for it to exit, then sends SIGTERM to its process group and
// waits up to grace again, then sends SIGKILL and reaps it. It returns nil
// when the server exited with status 0 or ended on our SIGTERM, ErrKilled when
// it needed SIGKILL, and the exit error when it exited on its own with a
// non-zero status. Later calls return the first call's result.
func (p *Process) Shutdown(grace time.Duration) error {
	p.shutdownOnce.Do(func() {
		p.shutdownErr = p.shutdown(grace)
		p.Conn.Close() // our pipe ends; a blocked Read returns
	})
	return p.shutdownErr
}

func (p *Process) shutdown(grace time.Duration) error {
	p.stdin.Close()
	if p.waitFor(grace) {
		return p.waitErr
	}
	if err := p.signal(sigTerm); err != nil && !p.waitFor(0) {
		return fmt.Errorf("transport: SIGTERM upstream server: %w", err)
	}
	if p.waitFor(grace) {
		if endedBy(p.cmd.ProcessState, sigTerm) {
			return nil
		}
		return p.waitErr
	}
	p.signal(sigKill)
	<-p.done
	return ErrKilled
}

// Close shuts the server down with DefaultShutdownGrace per stage.
func (p *Process) Close() error {
	return p.Shutdown(DefaultShutdownGrace)
}

// waitFor reports whether the server exits within d.
func (p *Process) waitFor(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// MessageReady tells whether the server's next message is already buffered
// (Ready).
func (p *Process) MessageReady() bool {
	r, ok := p.Conn.(Ready)
	return ok && r.MessageReady()
}

// WriteDeferred writes msg to the server, possibly held back until the next
// Write or Flush (Deferrer).
func (p *Process) WriteDeferred(msg []byte) error {
	if d, ok := p.Conn.(Deferrer); ok {
		return d.WriteDeferred(msg)
	}
	return p.Conn.Write(msg)
}

// Flush writes what WriteDeferred held back.
func (p *Process) Flush() error {
	if d, ok := p.Conn.(Deferrer); ok {
		return d.Flush()
	}
	return nil
}
