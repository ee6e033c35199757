package execfake_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execfake"
	"github.com/gantrybatch/gantry/executor/executortest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	executortest.Exercise(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor { return execfake.New(execfake.Config{}) },
	})
}

func start(t *testing.T, ex *execfake.Executor, argv []string, env ...string) (*executor.Handle, *executortest.Buffer) {
	t.Helper()
	out := &executortest.Buffer{}
	h, err := ex.Start(context.Background(), &executor.Task{ID: t.Name(), Command: argv, Env: env, Output: out})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h, out
}

func wait(t *testing.T, ex *execfake.Executor, h *executor.Handle) *executor.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := ex.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

func TestScript(t *testing.T) {
	t.Parallel()
	ex := execfake.New(execfake.Config{Immediate: true})
	tests := map[string]struct {
		argv       []string
		env        []string
		wantCode   int
		wantReason string
		wantOut    string
	}{
		"exit code and reason": {
			argv:     []string{"ignored"},
			env:      []string{"FAKE_EXIT_CODE=137", "FAKE_EXIT_REASON=OutOfMemoryError: Container killed due to memory usage"},
			wantCode: 137, wantReason: "OutOfMemoryError: Container killed due to memory usage",
		},
		"output":         {env: []string{"FAKE_OUTPUT=out\n", "FAKE_STDERR=err\n"}, wantOut: "out\nerr\n"},
		"builtin false":  {argv: []string{"false"}, wantCode: 1},
		"builtin echo":   {argv: []string{"/bin/echo", "a  b", "c"}, wantOut: "a  b c\n"},
		"builtin env":    {argv: []string{"env"}, env: []string{"A=1", "B=2"}, wantOut: "A=1\nB=2\n"},
		"builtin sleep":  {argv: []string{"sleep", "3600"}},
		"sleep bad args": {argv: []string{"sleep", "x"}, wantCode: 1, wantOut: "sleep: invalid arguments\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, out := start(t, ex, tc.argv, tc.env...)
			res := wait(t, ex, h)
			if res.ExitCode != tc.wantCode || res.Reason != tc.wantReason || out.String() != tc.wantOut {
				t.Errorf("got exit %d reason %q output %q, want %d %q %q",
					res.ExitCode, res.Reason, out.String(), tc.wantCode, tc.wantReason, tc.wantOut)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	ex := execfake.New(execfake.Config{})
	tests := map[string]struct {
		argv      []string
		env       []string
		wantStart bool // a *StartError rather than an infrastructure error
	}{
		"start error":    {env: []string{"FAKE_START_ERROR=CannotPullContainerError: no such image"}, wantStart: true},
		"infra failure":  {env: []string{"FAKE_START_FAILURE=docker daemon unreachable"}},
		"bad run_for":    {env: []string{"FAKE_RUN_FOR=soon"}},
		"bad exit code":  {env: []string{"FAKE_EXIT_CODE=x"}},
		"empty command":  {wantStart: true},
		"unknown binary": {argv: []string{"python3"}, wantStart: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := ex.Start(context.Background(), &executor.Task{ID: t.Name(), Command: tc.argv, Env: tc.env})
			var se *executor.StartError
			if err == nil || errors.As(err, &se) != tc.wantStart {
				t.Errorf("Start error = %v (%T), want StartError: %v", err, err, tc.wantStart)
			}
		})
	}
	if n := len(ex.Started()); n != 0 {
		t.Errorf("Started() has %d tasks, want none", n)
	}
}

// manualClock fires After channels when advanced.
type manualClock struct {
	mu      sync.Mutex
	now     time.Duration
	waiters []waiter
	added   chan struct{}
}

type waiter struct {
	at time.Duration
	ch chan time.Time
}

func newManualClock() *manualClock { return &manualClock{added: make(chan struct{}, 100)} }

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{at: c.now + d, ch: ch})
	c.added <- struct{}{}
	return ch
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now += d
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at <= c.now {
			w.ch <- time.Time{}
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func TestClock(t *testing.T) {
	t.Parallel()
	clock := newManualClock()
	ex := execfake.New(execfake.Config{Clock: clock})

	h, _ := start(t, ex, nil, "FAKE_RUN_FOR=1h", "FAKE_EXIT_CODE=4")
	<-clock.added
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	if _, err := ex.Wait(ctx, h); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait before the run time is over: %v", err)
	}
	cancel()
	clock.Advance(time.Hour)
	if res := wait(t, ex, h); res.ExitCode != 4 {
		t.Errorf("exit %d, want 4", res.ExitCode)
	}
}

func TestStopIgnoringTermWithClock(t *testing.T) {
	t.Parallel()
	clock := newManualClock()
	ex := execfake.New(execfake.Config{Clock: clock})
	h, _ := start(t, ex, nil, "FAKE_RUN_FOR=forever", "FAKE_IGNORE_TERM=1")
	if err := ex.Stop(context.Background(), h, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	<-clock.added
	clock.Advance(29 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	if _, err := ex.Wait(ctx, h); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait before grace is over: %v", err)
	}
	cancel()
	clock.Advance(time.Second)
	if res := wait(t, ex, h); res.ExitCode != execfake.ExitSIGKILL {
		t.Errorf("exit %d, want 137", res.ExitCode)
	}
}

func TestFinishAndRecover(t *testing.T) {
	t.Parallel()
	ex := execfake.New(execfake.Config{})
	h, _ := start(t, ex, nil, "FAKE_RUN_FOR=forever")
	task := ex.Started()[0]
	if err := ex.Recover(context.Background(), h, task); err != nil {
		t.Errorf("Recover of a running task: %v", err)
	}
	if err := ex.Finish(h.TaskID, 7); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, ex, h); res.ExitCode != 7 {
		t.Errorf("exit %d, want 7", res.ExitCode)
	}
	if err := ex.Recover(context.Background(), h, task); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("Recover after Wait: %v, want ErrTaskLost", err)
	}
	if err := ex.Finish(h.TaskID, 0); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("Finish after Wait: %v, want ErrTaskLost", err)
	}

	lossy := execfake.New(execfake.Config{LoseOnRecover: true})
	h, _ = start(t, lossy, nil, "FAKE_RUN_FOR=forever")
	if err := lossy.Recover(context.Background(), h, nil); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("Recover with LoseOnRecover: %v, want ErrTaskLost", err)
	}
}
