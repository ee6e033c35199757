package bgloop

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoop checks that Start runs one loop at a time, Stop cancels it and
// waits for it, a second Stop is a no-op, and Start works again after Stop.
func TestLoop(t *testing.T) {
	t.Parallel()
	var l Loop
	var running, started atomic.Int32
	run := func(ctx context.Context) {
		started.Add(1)
		running.Add(1)
		<-ctx.Done()
		running.Add(-1)
	}
	l.Start(context.Background(), run)
	l.Start(context.Background(), run) // already running: ignored
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if running.Load() != 0 || started.Load() != 1 {
		t.Fatalf("after Stop: running %d, started %d; want 0, 1", running.Load(), started.Load())
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	l.Start(context.Background(), run)
	if err := l.Stop(context.Background()); err != nil || started.Load() != 2 {
		t.Fatalf("restart: err %v, started %d", err, started.Load())
	}
}

// TestStopGivesUp checks that Stop returns wait's error when the loop does
// not return in time.
func TestStopGivesUp(t *testing.T) {
	t.Parallel()
	var l Loop
	release := make(chan struct{})
	l.Start(context.Background(), func(context.Context) { <-release })
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := l.Stop(wait); err == nil {
		t.Fatal("Stop returned nil while the loop still ran")
	}
	close(release)
}
