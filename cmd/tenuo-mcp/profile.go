package main

import (
	"os"
	"runtime/pprof"
)

// startCPUProfile starts the hidden --cpu-profile of proxy and serve: a Go
// CPU profile written to path until the returned stop is called. An empty
// path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	pf, err := os.Create(path)
	if err != nil {
		return nil, badInput("", "--cpu-profile: %v", err)
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		return nil, badInput("", "--cpu-profile: %v", err)
	}
	return func() { pprof.StopCPUProfile(); pf.Close() }, nil
}
