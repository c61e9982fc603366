package workpool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPool: every function runs once, and the workers return once done is
// closed.
func TestPool(t *testing.T) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	p := New(time.Minute, done, &wg)
	var ran atomic.Int32
	var started sync.WaitGroup
	for range 20 {
		started.Add(1)
		p.Go(func() { ran.Add(1); started.Done() })
	}
	started.Wait()
	if ran.Load() != 20 {
		t.Fatalf("%d of 20 ran", ran.Load())
	}
	close(done)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("workers did not return after done")
	}
}

// TestPoolIdleReturn: a worker with nothing to do returns after idle.
func TestPoolIdleReturn(t *testing.T) {
	var wg sync.WaitGroup
	p := New(20*time.Millisecond, nil, &wg)
	ch := make(chan struct{})
	p.Go(func() { close(ch) })
	<-ch
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle worker did not return")
	}
}
