// Package executortest is the conformance suite every executor.Executor
// must pass: the process executor, the Docker and Kubernetes executors, and
// the scripted fake. An implementation's test calls Exercise with a Harness:
//
//	func TestConformance(t *testing.T) {
//		executortest.Exercise(t, executortest.Harness{
//			New: func(t *testing.T) executor.Executor { return execprocess.New(...) },
//		})
//	}
//
// Scenarios only use commands a busybox image also has (sh, echo, sleep,
// env, true), and never sleep to wait for something: they wait on output or
// on Wait, with deadlines. Tasks also carry execfake's FAKE_* variables
// describing what the command does, so the scripted fake can play along;
// real executors pass them through as ordinary environment variables.
//
// The suite assumes container-like semantics: a signal from Stop reaches
// every process of the task, and when the task's main process exits its
// remaining processes are killed too (a Docker executor needs an init that
// forwards signals to the whole group for this, e.g. tini -g).
package executortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execfake"
)

// Scenario names, usable as keys of Harness.Skip.
const (
	ScenarioExitZero           = "ExitZero"
	ScenarioExitCode           = "ExitCode"
	ScenarioOutput             = "Output"
	ScenarioEnvironment        = "Environment"
	ScenarioArgumentsVerbatim  = "ArgumentsVerbatim"
	ScenarioMissingExecutable  = "MissingExecutable"
	ScenarioUnknownHandle      = "UnknownHandle"
	ScenarioWaitContext        = "WaitContext"
	ScenarioStopTerm           = "StopTerm"
	ScenarioStopKillEscalation = "StopKillEscalation"
	ScenarioStopKillsChildren  = "StopKillsChildren"
	ScenarioParallel           = "Parallel"
)

// Harness adapts the suite to one executor.
type Harness struct {
	// New returns a fresh executor for one scenario. Scenarios run in
	// parallel; clean up with t.Cleanup.
	New func(t *testing.T) executor.Executor
	// Image is set as task.Container.Image (default "busybox"); executors
	// that do not use images ignore it.
	Image string
	// Skip maps scenario names to the reason this executor cannot run them.
	Skip map[string]string
	// ProcessAlive, when set, reports whether a process (by the pid a task
	// printed) is still running; zombies count as dead. Executors whose
	// tasks share the test's pid namespace set it to HostProcessAlive, and
	// the suite then checks directly that Stop killed a task's children.
	ProcessAlive func(pid int) bool
	// Slack is how long an operation that should be prompt may take, on top
	// of any grace period (default 10s; raise it for slow container
	// runtimes).
	Slack time.Duration
}

// Exercise runs every scenario against the executor h.New returns.
func Exercise(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("executortest: Harness.New is required")
	}
	if h.Image == "" {
		h.Image = "busybox"
	}
	if h.Slack <= 0 {
		h.Slack = 10 * time.Second
	}
	scenarios := []scenario{
		{ScenarioExitZero, testExitZero},
		{ScenarioExitCode, testExitCode},
		{ScenarioOutput, testOutput},
		{ScenarioEnvironment, testEnvironment},
		{ScenarioArgumentsVerbatim, testArgumentsVerbatim},
		{ScenarioMissingExecutable, testMissingExecutable},
		{ScenarioUnknownHandle, testUnknownHandle},
		{ScenarioWaitContext, testWaitContext},
		{ScenarioStopTerm, testStopTerm},
		{ScenarioStopKillEscalation, testStopKillEscalation},
		{ScenarioStopKillsChildren, testStopKillsChildren},
		{ScenarioParallel, testParallel},
	}
	for name := range h.Skip {
		if !slices.ContainsFunc(scenarios, func(sc scenario) bool { return sc.name == name }) {
			t.Fatalf("executortest: Harness.Skip names unknown scenario %q", name)
		}
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			if reason, ok := h.Skip[sc.name]; ok {
				t.Skip(reason)
			}
			sc.run(t, &suite{h: h, ex: h.New(t)})
		})
	}
}

type scenario struct {
	name string
	run  func(t *testing.T, s *suite)
}

// suite is one scenario's bundle.
type suite struct {
	h  Harness
	ex executor.Executor
}

// task builds an attempt running argv with extra KEY=VALUE env.
func (s *suite) task(t *testing.T, argv []string, env ...string) (*executor.Task, *Buffer) {
	t.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	id := "exectest-" + hex.EncodeToString(rnd[:])
	out := &Buffer{}
	return &executor.Task{
		ID:        id,
		JobID:     id + "-job",
		JobName:   "exectest",
		Attempt:   1,
		Container: &gantry.ContainerProperties{Image: s.h.Image, Command: argv},
		Command:   argv,
		Env: append([]string{
			"AWS_BATCH_JOB_ID=" + id + "-job",
			"AWS_BATCH_JOB_ATTEMPT=1",
			"AWS_BATCH_JQ_NAME=exectest-queue",
			"AWS_BATCH_CE_NAME=exectest-ce",
		}, env...),
		Resources: gantry.Resources{VCPUs: 1, MemoryMiB: 64},
		Labels: map[string]string{
			executor.LabelJobID:   id + "-job",
			executor.LabelAttempt: "1",
			executor.LabelTaskID:  id,
		},
		Output: out,
	}, out
}

// start starts task and makes sure it is gone when the test ends.
func (s *suite) start(t *testing.T, task *executor.Task) *executor.Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.h.Slack)
	defer cancel()
	h, err := s.ex.Start(ctx, task)
	if err != nil {
		t.Fatalf("Start(%q): %v", task.Command, err)
	}
	if h == nil || h.TaskID == "" {
		t.Fatalf("Start(%q) returned handle %+v, want a TaskID", task.Command, h)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.h.Slack)
		defer cancel()
		if err := s.ex.Stop(ctx, h, 0); err != nil {
			return // already waited for, or lost
		}
		_, _ = s.ex.Wait(ctx, h)
	})
	return h
}

// wait waits for h at most timeout and returns how long it took.
func (s *suite) wait(t *testing.T, h *executor.Handle, timeout time.Duration) (*executor.ExitResult, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	res, err := s.ex.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait(%s) after %v: %v", h.TaskID, time.Since(began), err)
	}
	if res == nil {
		t.Fatalf("Wait(%s) returned a nil result and no error", h.TaskID)
	}
	return res, time.Since(began)
}

func (s *suite) stop(t *testing.T, h *executor.Handle, grace time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.h.Slack)
	defer cancel()
	began := time.Now()
	if err := s.ex.Stop(ctx, h, grace); err != nil {
		t.Fatalf("Stop(%s): %v", h.TaskID, err)
	}
	// Stop must not block for the grace period.
	if took := time.Since(began); grace > 0 && took >= grace {
		t.Errorf("Stop took %v, want it to return before the %v grace period ends", took, grace)
	}
}

func wantExit(t *testing.T, res *executor.ExitResult, code int) {
	t.Helper()
	if res.ExitCode != code {
		t.Errorf("exit code = %d, want %d (reason %q)", res.ExitCode, code, res.Reason)
	}
}

func fake(key, value string) string { return key + "=" + value }

func testExitZero(t *testing.T, s *suite) {
	task, _ := s.task(t, []string{"true"})
	h := s.start(t, task)
	res, _ := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 0)
	if res.Reason != "" {
		t.Errorf("reason = %q, want none for an ordinary exit", res.Reason)
	}
}

func testExitCode(t *testing.T, s *suite) {
	task, _ := s.task(t, []string{"sh", "-c", "exit 3"}, fake(execfake.EnvExitCode, "3"))
	h := s.start(t, task)
	res, _ := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 3)
}

func testOutput(t *testing.T, s *suite) {
	const lines = 2000
	var want strings.Builder
	for i := range lines {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	script := `echo to-stdout; echo to-stderr >&2; i=0; while [ $i -lt ` + strconv.Itoa(lines) +
		` ]; do echo "line $i"; i=$((i+1)); done; exit 0`
	task, out := s.task(t, []string{"sh", "-c", script},
		fake(execfake.EnvOutput, "to-stdout\n"),
		fake(execfake.EnvStderr, "to-stderr\n"+want.String()))
	h := s.start(t, task)
	res, _ := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 0)
	// All output must have been delivered by the time Wait returns, stdout
	// in order. stderr is a separate stream: its line may land anywhere
	// among stdout's (Docker copies the two streams independently).
	got := out.String()
	stdout := strings.Replace(got, "to-stderr\n", "", 1)
	if !strings.Contains(got, "to-stderr\n") {
		t.Errorf("output lacks the stderr line; got %d bytes", len(got))
	}
	for _, w := range []string{"to-stdout\n", want.String()} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %.40q...; got %d bytes: %.200q", w, len(got), got)
		}
	}
}

func testEnvironment(t *testing.T, s *suite) {
	task, out := s.task(t, []string{"env"}, "GANTRY_TEST_VALUE=a b  c=d")
	h := s.start(t, task)
	res, _ := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 0)
	lines := map[string]bool{}
	for l := range strings.SplitSeq(out.String(), "\n") {
		lines[l] = true
	}
	for _, kv := range task.Env {
		if !lines[kv] {
			t.Errorf("env output lacks %q; got:\n%s", kv, out.String())
		}
	}
}

func testArgumentsVerbatim(t *testing.T, s *suite) {
	args := []string{"hello  world", "it's", "$HOME", "*", `a"b`, "x;y", "`id`"}
	task, out := s.task(t, append([]string{"echo"}, args...))
	h := s.start(t, task)
	res, _ := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 0)
	if got, want := out.String(), strings.Join(args, " ")+"\n"; got != want {
		t.Errorf("output = %q, want %q (arguments must not go through a shell)", got, want)
	}
}

func testMissingExecutable(t *testing.T, s *suite) {
	for _, argv := range [][]string{
		{"gantry-no-such-executable-7f3a"},
		{"/nonexistent/gantry/bin/tool", "arg"},
	} {
		task, _ := s.task(t, argv)
		ctx, cancel := context.WithTimeout(context.Background(), s.h.Slack)
		h, err := s.ex.Start(ctx, task)
		cancel()
		var se *executor.StartError
		if !errors.As(err, &se) {
			if err == nil {
				_ = s.ex.Stop(context.Background(), h, 0)
			}
			t.Errorf("Start(%q) error = %v, want a *executor.StartError", argv, err)
			continue
		}
		if !strings.HasPrefix(se.Reason, "CannotStartContainerError") {
			t.Errorf("Start(%q) reason = %q, want it to start with CannotStartContainerError", argv, se.Reason)
		}
	}
}

func testUnknownHandle(t *testing.T, s *suite) {
	ctx, cancel := context.WithTimeout(context.Background(), s.h.Slack)
	defer cancel()
	task, _ := s.task(t, []string{"true"})
	h := &executor.Handle{TaskID: task.ID}
	if _, err := s.ex.Wait(ctx, h); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("Wait(unknown) error = %v, want ErrTaskLost", err)
	}
	if err := s.ex.Stop(ctx, h, time.Second); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("Stop(unknown) error = %v, want ErrTaskLost", err)
	}
	if err := s.ex.Recover(ctx, h, task); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("Recover(unknown) error = %v, want ErrTaskLost", err)
	}
}

func testWaitContext(t *testing.T, s *suite) {
	task, _ := s.task(t, []string{"sleep", "60"}, fake(execfake.EnvRunFor, "60s"))
	h := s.start(t, task)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := s.ex.Wait(ctx, h)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with an expiring context: error = %v, want context.DeadlineExceeded", err)
	}
	// The task is still there: it can be stopped and waited for.
	s.stop(t, h, s.h.Slack)
	res, _ := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 143)
}

func testStopTerm(t *testing.T, s *suite) {
	task, _ := s.task(t, []string{"sleep", "60"}, fake(execfake.EnvRunFor, "60s"))
	h := s.start(t, task)
	const grace = time.Minute
	s.stop(t, h, grace)
	res, took := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 143)
	t.Logf("SIGTERM ended the task in %v", took)
}

func testStopKillEscalation(t *testing.T, s *suite) {
	task, out := s.task(t, []string{"sh", "-c", `trap "" TERM; echo ready; sleep 60`},
		fake(execfake.EnvOutput, "ready\n"),
		fake(execfake.EnvRunFor, "60s"),
		fake(execfake.EnvIgnoreTerm, "1"))
	h := s.start(t, task)
	out.WaitFor(t, "ready\n", s.h.Slack) // the trap is set
	const grace = time.Second
	began := time.Now()
	s.stop(t, h, grace)
	res, _ := s.wait(t, h, grace+s.h.Slack)
	took := time.Since(began)
	wantExit(t, res, 137)
	if took < grace-50*time.Millisecond {
		t.Errorf("task ignoring SIGTERM died after %v, before the %v grace period", took, grace)
	}
}

func testStopKillsChildren(t *testing.T, s *suite) {
	// A background child that ignores SIGTERM and ticks every 100ms. It
	// must die with the task, by the time Wait returns.
	script := `(trap "" TERM; while :; do echo tick; sleep 0.1; done) & echo "child $!"; sleep 60`
	task, out := s.task(t, []string{"sh", "-c", script},
		fake(execfake.EnvOutput, "child 0\ntick\n"),
		fake(execfake.EnvRunFor, "60s"))
	h := s.start(t, task)
	out.WaitFor(t, "tick\n", s.h.Slack)
	out.WaitFor(t, "child ", s.h.Slack)
	var child int
	got := out.String()
	if _, err := fmt.Sscanf(got[strings.Index(got, "child "):], "child %d\n", &child); err != nil {
		t.Fatalf("no child pid in %q: %v", out.String(), err)
	}
	s.stop(t, h, time.Minute)
	res, _ := s.wait(t, h, s.h.Slack)
	wantExit(t, res, 143)
	if s.h.ProcessAlive != nil && s.h.ProcessAlive(child) {
		t.Errorf("child process %d survived Stop and Wait", child)
	}
	// A surviving child would go on ticking. Watch for a few periods.
	n := out.Len()
	quiet := time.NewTimer(500 * time.Millisecond)
	defer quiet.Stop()
	<-quiet.C
	if m := out.Len(); m != n {
		t.Errorf("output grew from %d to %d bytes after Wait returned: a child survived Stop", n, m)
	}
}

func testParallel(t *testing.T, s *suite) {
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		code := strconv.Itoa(i % 8)
		task, _ := s.task(t, []string{"sh", "-c", "sleep 0.3; exit " + code},
			fake(execfake.EnvRunFor, "300ms"), fake(execfake.EnvExitCode, code))
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*s.h.Slack)
			defer cancel()
			h, err := s.ex.Start(ctx, task)
			if err != nil {
				errs <- fmt.Errorf("task %d: Start: %w", i, err)
				return
			}
			res, err := s.ex.Wait(ctx, h)
			if err != nil {
				_ = s.ex.Stop(context.Background(), h, 0)
				errs <- fmt.Errorf("task %d: Wait: %w", i, err)
				return
			}
			if want := i % 8; res.ExitCode != want {
				errs <- fmt.Errorf("task %d: exit code %d, want %d", i, res.ExitCode, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
