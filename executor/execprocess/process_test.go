package execprocess_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execprocess"
	"github.com/gantrybatch/gantry/executor/executortest"
)

const timeout = 10 * time.Second

type testBundle struct {
	ex   *execprocess.Executor
	root string
}

func setup(t *testing.T, cfg execprocess.Config) *testBundle {
	t.Helper()
	if cfg.WorkRoot == "" {
		cfg.WorkRoot = t.TempDir()
	}
	cfg.Logger = testLogger(t)
	return &testBundle{ex: execprocess.New(cfg), root: cfg.WorkRoot}
}

var taskSeq atomic.Int64

func newTask(argv []string, env ...string) (*executor.Task, *executortest.Buffer) {
	out := &executortest.Buffer{}
	return &executor.Task{
		ID:        "task-" + strconv.FormatInt(taskSeq.Add(1), 10),
		Container: &gantry.ContainerProperties{Image: "busybox"},
		Command:   argv,
		Env:       env,
		Output:    out,
	}, out
}

func (b *testBundle) start(t *testing.T, task *executor.Task) *executor.Handle {
	t.Helper()
	h, err := b.ex.Start(context.Background(), task)
	if err != nil {
		t.Fatalf("Start(%q): %v", task.Command, err)
	}
	t.Cleanup(func() {
		if b.ex.Stop(context.Background(), h, 0) == nil {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, _ = b.ex.Wait(ctx, h)
		}
	})
	return h
}

func (b *testBundle) wait(t *testing.T, h *executor.Handle) *executor.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := b.ex.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

func (b *testBundle) run(t *testing.T, task *executor.Task) *executor.ExitResult {
	t.Helper()
	return b.wait(t, b.start(t, task))
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[0] != "Z"
}

// waitDead waits for pid to die, failing after timeout.
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %v", pid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startTime(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, err := strconv.ParseUint(fields[22-3], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWorkDir(t *testing.T) {
	t.Parallel()
	for name, keep := range map[string]bool{"removed": false, "kept": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, execprocess.Config{KeepWorkDirs: keep})
			task, out := newTask([]string{"sh", "-c", `pwd; echo "$HOME"; echo "$TMPDIR"; echo data > file; touch "$TMPDIR/x"`})
			if res := b.run(t, task); res.ExitCode != 0 {
				t.Fatalf("exit %d: %s", res.ExitCode, out)
			}
			dir := filepath.Join(b.root, task.ID)
			if want := dir + "\n" + dir + "\n" + filepath.Join(dir, "tmp") + "\n"; out.String() != want {
				t.Errorf("pwd, HOME, TMPDIR = %q, want %q", out.String(), want)
			}
			_, err := os.Stat(filepath.Join(dir, "file"))
			if keep && err != nil {
				t.Errorf("KeepWorkDirs: %v", err)
			}
			if _, err := os.Stat(dir); !keep && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("working directory still there after Wait: %v", err)
			}
		})
	}
}

// TestWorkDirRemovedWhenEmpty covers the fast path of an attempt that
// leaves its directories empty, and one that removed its own TMPDIR.
func TestWorkDirRemovedWhenEmpty(t *testing.T) {
	t.Parallel()
	for name, script := range map[string]string{"empty": "true", "no-tmpdir": `rmdir "$TMPDIR"`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, execprocess.Config{})
			task, out := newTask([]string{"sh", "-c", script})
			if res := b.run(t, task); res.ExitCode != 0 {
				t.Fatalf("exit %d: %s", res.ExitCode, out)
			}
			if _, err := os.Stat(filepath.Join(b.root, task.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("working directory still there after Wait: %v", err)
			}
		})
	}
}

func TestEnvironmentLayers(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{BaseEnv: []string{"FOO=base", "BAR=base", "HOME=/base-home"}})
	task, out := newTask([]string{"env"}, "FOO=task", "AWS_BATCH_JOB_ID=j1")
	if res := b.run(t, task); res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	got := map[string]string{}
	for l := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	want := map[string]string{
		"FOO": "task", "BAR": "base", "HOME": "/base-home", "AWS_BATCH_JOB_ID": "j1",
		"PATH": os.Getenv("PATH"), execprocess.EnvTaskID: task.ID,
		"TMPDIR": filepath.Join(b.root, task.ID, "tmp"),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestPathFromJobEnvironment(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "gantry-test-tool"), []byte("#!/bin/sh\necho tool ran \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	task, out := newTask([]string{"gantry-test-tool", "a b"}, "PATH="+bin+":/usr/bin:/bin")
	if res := b.run(t, task); res.ExitCode != 0 || out.String() != "tool ran a b\n" {
		t.Errorf("exit %d, output %q", res.ExitCode, out.String())
	}
	// Not on the server's PATH.
	task, _ = newTask([]string{"gantry-test-tool"})
	_, err := b.ex.Start(context.Background(), task)
	var se *executor.StartError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, `"gantry-test-tool": executable file not found`) {
		t.Errorf("Start error = %v, want a StartError for the missing executable", err)
	}
	if _, err := os.Stat(filepath.Join(b.root, task.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("working directory of an attempt that did not start: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	noexec := filepath.Join(t.TempDir(), "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		argv []string
		user string
	}{
		"empty command":   {argv: nil},
		"not executable":  {argv: []string{noexec}},
		"a directory":     {argv: []string{"/"}},
		"unknown user":    {argv: []string{"true"}, user: "gantry-no-such-user"},
		"unknown group":   {argv: []string{"true"}, user: "0:gantry-no-such-group"},
		"relative absent": {argv: []string{"./nothing-here"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			task, _ := newTask(tc.argv)
			task.Container.User = tc.user
			h, err := b.ex.Start(context.Background(), task)
			var se *executor.StartError
			if !errors.As(err, &se) || !strings.HasPrefix(se.Reason, "CannotStartContainerError: ") {
				if err == nil {
					b.wait(t, h)
				}
				t.Fatalf("Start error = %v, want a CannotStartContainerError StartError", err)
			}
			t.Log(se.Reason)
		})
	}
}

func TestUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// t.TempDir's parent is private; other users must traverse WorkRoot.
	root, err := os.MkdirTemp("", "execprocess-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	b := setup(t, execprocess.Config{WorkRoot: root})
	tests := map[string]string{
		"65534":       "65534 65534\n",
		"nobody":      "65534 65534\n",
		"12345":       "12345 0\n",
		"12345:54321": "12345 54321\n",
		"nobody:0":    "65534 0\n",
	}
	for user, want := range tests {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			task, out := newTask([]string{"sh", "-c", `echo "$(id -u) $(id -g)"; touch "$HOME/w" "$TMPDIR/w"`})
			task.Container.User = user
			if res := b.run(t, task); res.ExitCode != 0 || out.String() != want {
				t.Errorf("exit %d, output %q, want %q", res.ExitCode, out.String(), want)
			}
		})
	}
}

func TestExitBySignal(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	task, _ := newTask([]string{"sh", "-c", "kill -9 $$"})
	if res := b.run(t, task); res.ExitCode != 137 {
		t.Errorf("exit code = %d, want 137", res.ExitCode)
	}
}

func TestStopImmediateKill(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	task, out := newTask([]string{"sh", "-c", `trap "" TERM; echo ready; sleep 60`})
	h := b.start(t, task)
	out.WaitFor(t, "ready", timeout)
	if err := b.ex.Stop(context.Background(), h, 0); err != nil {
		t.Fatal(err)
	}
	if res := b.wait(t, h); res.ExitCode != 137 {
		t.Errorf("exit code = %d, want 137", res.ExitCode)
	}
}

func TestStopShorterGraceWins(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	task, out := newTask([]string{"sh", "-c", `trap "" TERM; echo ready; sleep 60`})
	h := b.start(t, task)
	out.WaitFor(t, "ready", timeout)
	if err := b.ex.Stop(context.Background(), h, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.ex.Stop(context.Background(), h, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if res := b.wait(t, h); res.ExitCode != 137 {
		t.Errorf("exit code = %d, want 137", res.ExitCode)
	}
}

func TestStopAfterExitAndWaitTwice(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	task, _ := newTask([]string{"true"})
	h := b.start(t, task)
	// Stop of an exited attempt that nobody has waited for yet.
	res := b.wait(t, h)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	if _, err := b.ex.Wait(context.Background(), h); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("second Wait error = %v, want ErrTaskLost", err)
	}
	if err := b.ex.Stop(context.Background(), h, time.Second); !errors.Is(err, executor.ErrTaskLost) {
		t.Errorf("Stop after Wait error = %v, want ErrTaskLost", err)
	}

	task, out := newTask([]string{"sh", "-c", "echo done"})
	h = b.start(t, task)
	out.WaitFor(t, "done", timeout)
	waitDead(t, pidOf(t, h)) // exited, not yet waited for
	if err := b.ex.Stop(context.Background(), h, time.Second); err != nil {
		t.Errorf("Stop of an exited attempt: %v", err)
	}
	b.wait(t, h)
}

func TestDuplicateStart(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	task, _ := newTask([]string{"sleep", "60"})
	b.start(t, task)
	if _, err := b.ex.Start(context.Background(), task); err == nil {
		t.Fatal("second Start with the same task ID succeeded")
	}
}

func pidOf(t *testing.T, h *executor.Handle) int {
	t.Helper()
	var d struct {
		PID       int    `json:"pid"`
		PGID      int    `json:"pgid"`
		StartTime uint64 `json:"start_time"`
	}
	if err := json.Unmarshal([]byte(h.Data), &d); err != nil {
		t.Fatalf("Handle.Data %q: %v", h.Data, err)
	}
	return d.PID
}

func TestHandleData(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	task, _ := newTask([]string{"sleep", "60"})
	h := b.start(t, task)
	var d struct {
		PID       int    `json:"pid"`
		PGID      int    `json:"pgid"`
		StartTime uint64 `json:"start_time"`
	}
	if err := json.Unmarshal([]byte(h.Data), &d); err != nil {
		t.Fatalf("Handle.Data %q: %v", h.Data, err)
	}
	if h.TaskID != task.ID || d.PID <= 1 || d.PGID != d.PID || d.StartTime != startTime(t, d.PID) {
		t.Errorf("handle %+v, data %+v", h, d)
	}
	if pgid, err := syscall.Getpgid(d.PID); err != nil || pgid != d.PID {
		t.Errorf("Getpgid = %d, %v; want the process to lead its own group", pgid, err)
	}
}

func TestRecoverRunningKeepsIt(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	task, first := newTask([]string{"sh", "-c", `trap 'echo two; exit 0' USR1; echo one; while :; do sleep 0.05; done`})
	h := b.start(t, task)
	first.WaitFor(t, "one", timeout)
	second := &executortest.Buffer{}
	again := *task
	again.Output = second
	if err := b.ex.Recover(context.Background(), h, &again); err != nil {
		t.Fatalf("Recover of a running attempt: %v", err)
	}
	if err := syscall.Kill(pidOf(t, h), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if res := b.wait(t, h); res.ExitCode != 0 {
		t.Errorf("exit %d", res.ExitCode)
	}
	if first.String() != "one\n" || second.String() != "two\n" {
		t.Errorf("outputs %q and %q, want one then two", first.String(), second.String())
	}
}

// TestRecoverAfterRestart: a second Executor (a restarted server) kills the
// attempt's process group and reports it lost.
func TestRecoverAfterRestart(t *testing.T) {
	t.Parallel()
	before := setup(t, execprocess.Config{})
	task, out := newTask([]string{"sh", "-c", `sleep 60 & echo "child $!"; wait`})
	h := before.start(t, task)
	out.WaitFor(t, "child ", timeout)
	child, _ := strconv.Atoi(strings.Fields(strings.TrimPrefix(out.String(), "child "))[0])

	after := execprocess.New(execprocess.Config{WorkRoot: before.root, Logger: testLogger(t)})
	err := after.Recover(context.Background(), h, task)
	if !errors.Is(err, executor.ErrTaskLost) {
		t.Fatalf("Recover error = %v, want ErrTaskLost", err)
	}
	if res := before.wait(t, h); res.ExitCode != 137 {
		t.Errorf("exit code = %d, want 137 (SIGKILL)", res.ExitCode)
	}
	waitDead(t, child)
	if _, err := os.Stat(filepath.Join(before.root, task.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("working directory still there: %v", err)
	}
}

// spawnGroup starts sh -c script as the leader of a new process group,
// outside any Executor, and returns the leader and the pid the script
// prints first.
func spawnGroup(t *testing.T, script string, env []string) (leader *exec.Cmd, printed int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	printed, err = strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = syscall.Kill(printed, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd, printed
}

func handleFor(taskID string, pid int, start uint64) *executor.Handle {
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	data, _ := json.Marshal(map[string]any{
		"pid": pid, "pgid": pid, "start_time": start, "boot_id": strings.TrimSpace(string(boot)),
	})
	return &executor.Handle{TaskID: taskID, Data: string(data)}
}

// TestRecoverOrphans: the leader died with the server (Pdeathsig) but a
// child carrying the attempt's GANTRY_TASK_ID lives on in the group.
func TestRecoverOrphans(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	const id = "task-orphans"
	leader, child := spawnGroup(t, `sleep 60 >/dev/null & echo $!; exec sleep 60`,
		[]string{"PATH=" + os.Getenv("PATH"), execprocess.EnvTaskID + "=" + id})
	h := handleFor(id, leader.Process.Pid, startTime(t, leader.Process.Pid))
	// The leader dies and is reaped, as it would be by init.
	_ = leader.Process.Kill()
	_ = leader.Wait()

	if err := b.ex.Recover(context.Background(), h, nil); !errors.Is(err, executor.ErrTaskLost) {
		t.Fatalf("Recover error = %v, want ErrTaskLost", err)
	}
	waitDead(t, child)
}

// TestRecoverNeverKillsStrangers: a reused pid, or a group without the
// attempt's marker, is left alone.
func TestRecoverNeverKillsStrangers(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})

	t.Run("reused pid", func(t *testing.T) {
		stranger, _ := spawnGroup(t, `echo $$; exec sleep 60`, nil)
		pid := stranger.Process.Pid
		h := handleFor("task-stranger", pid, startTime(t, pid)-1)
		if err := b.ex.Recover(context.Background(), h, nil); !errors.Is(err, executor.ErrTaskLost) {
			t.Fatalf("Recover error = %v, want ErrTaskLost", err)
		}
		if !alive(pid) {
			t.Error("Recover killed a process whose start time does not match")
		}
	})

	t.Run("unmarked group", func(t *testing.T) {
		leader, child := spawnGroup(t, `sleep 60 >/dev/null & echo $!; exec sleep 60`,
			[]string{"PATH=" + os.Getenv("PATH"), execprocess.EnvTaskID + "=someone-else"})
		h := handleFor("task-unmarked", leader.Process.Pid, startTime(t, leader.Process.Pid))
		_ = leader.Process.Kill()
		_ = leader.Wait()
		if err := b.ex.Recover(context.Background(), h, nil); !errors.Is(err, executor.ErrTaskLost) {
			t.Fatalf("Recover error = %v, want ErrTaskLost", err)
		}
		if !alive(child) {
			t.Error("Recover killed a group member without the attempt's marker")
		}
	})

	t.Run("garbage data", func(t *testing.T) {
		for _, data := range []string{"", "{", `{"pid":1,"pgid":1}`, `{"pid":0}`} {
			err := b.ex.Recover(context.Background(), &executor.Handle{TaskID: "task-garbage", Data: data}, nil)
			if !errors.Is(err, executor.ErrTaskLost) {
				t.Errorf("Recover(%q) error = %v, want ErrTaskLost", data, err)
			}
		}
	})
}

// TestManyConcurrent starts a few hundred short attempts at once.
func TestManyConcurrent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("short")
	}
	b := setup(t, execprocess.Config{})
	const n = 300
	errs := make(chan error, n)
	for i := range n {
		task, out := newTask([]string{"sh", "-c", "echo " + strconv.Itoa(i) + "; exit " + strconv.Itoa(i%5)})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			h, err := b.ex.Start(ctx, task)
			if err != nil {
				errs <- err
				return
			}
			res, err := b.ex.Wait(ctx, h)
			switch {
			case err != nil:
				errs <- err
			case res.ExitCode != i%5 || out.String() != strconv.Itoa(i)+"\n":
				errs <- errors.New("task " + strconv.Itoa(i) + ": exit " + strconv.Itoa(res.ExitCode) + ", output " + out.String())
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestStdinIsDevNull: attempts read nothing, and never the server's stdin.
func TestStdinIsDevNull(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	for range 2 {
		task, out := newTask([]string{"sh", "-c", `readlink /proc/self/fd/0; cat; echo end`})
		if res := b.run(t, task); res.ExitCode != 0 || out.String() != "/dev/null\nend\n" {
			t.Errorf("exit %d, output %q", res.ExitCode, out.String())
		}
	}
}
