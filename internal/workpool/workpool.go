// Package workpool runs functions on goroutines that outlive them for a
// while: a stack one function grew (curve arithmetic, net/http's client)
// then serves the next instead of being grown again, and a burst of work
// starts no more goroutines than it needs at once.
package workpool

import (
	"sync"
	"time"
)

// Pool hands functions to idle workers, starting a worker when none is idle.
type Pool struct {
	work chan func() // unbuffered: a send succeeds only into an idle worker
	idle time.Duration
	done <-chan struct{}
	wg   *sync.WaitGroup
}

// New returns a pool whose workers wait idle for their next function and
// return after it goes without one, or once done is closed. With wg set,
// each worker is counted in it while it runs.
func New(idle time.Duration, done <-chan struct{}, wg *sync.WaitGroup) *Pool {
	return &Pool{work: make(chan func()), idle: idle, done: done, wg: wg}
}

// Go runs f on an idle worker, or on a new one.
func (p *Pool) Go(f func()) {
	select {
	case p.work <- f:
		return
	default:
	}
	if p.wg != nil {
		p.wg.Add(1)
	}
	go p.worker(f)
}

func (p *Pool) worker(f func()) {
	if p.wg != nil {
		defer p.wg.Done()
	}
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(p.idle)
		select {
		case f = <-p.work:
		case <-idle.C:
			return
		case <-p.done:
			return
		}
	}
}
