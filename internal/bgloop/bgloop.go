// Package bgloop runs a component's background loop: Start launches it at
// most once, Stop cancels it and waits for it to return. The scheduler, the
// schedule runner and job retention share it.
package bgloop

import (
	"context"
	"sync"
)

// Loop is one background goroutine. The zero value is ready to use; it is
// safe for concurrent use.
type Loop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs run(ctx) in a goroutine until Stop cancels ctx (or the
// caller's ctx ends). It does nothing while a loop runs.
func (l *Loop) Start(ctx context.Context, run func(ctx context.Context)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		return
	}
	ctx, l.cancel = context.WithCancel(ctx)
	done := make(chan struct{})
	l.done = done
	go func() {
		defer close(done)
		run(ctx)
	}()
}

// Stop cancels the loop and waits until it returns or wait ends, whichever
// comes first; it returns wait's error in the second case. Without a
// running loop it returns nil at once.
func (l *Loop) Stop(wait context.Context) error {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel = nil
	l.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-wait.Done():
		return wait.Err()
	}
}
