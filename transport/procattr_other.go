//go:build !unix

package transport

import (
	"os"
	"syscall"
)

var (
	sigTerm os.Signal = os.Interrupt
	sigKill os.Signal = os.Kill
)

func newProcAttr() *syscall.SysProcAttr { return nil }

func (p *Process) signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

func endedBy(st *os.ProcessState, sig os.Signal) bool { return false }
