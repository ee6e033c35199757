package executortest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a task Output for tests: safe for concurrent use, and it can
// wait for text to appear without polling.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every Write
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return n, err
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len returns the number of bytes written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// snapshot returns the contents and a channel closed on the next Write.
func (b *Buffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.buf.String(), b.changed
}

// WaitFor blocks until the output contains substr, failing the test if that
// takes longer than timeout.
func (b *Buffer) WaitFor(tb testing.TB, substr string, timeout time.Duration) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s, changed := b.snapshot()
		if strings.Contains(s, substr) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("output did not contain %q within %v; got %q", substr, timeout, s)
		}
	}
}
