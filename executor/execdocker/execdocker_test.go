package execdocker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execdocker"
	"github.com/gantrybatch/gantry/executor/execdocker/dockertest"
	"github.com/gantrybatch/gantry/executor/executortest"
)

// slack is how long a prompt container operation may take on a loaded
// 2-core machine.
const slack = 30 * time.Second

func TestConformance(t *testing.T) {
	t.Parallel()
	img := dockertest.EnsureImage(t, dockertest.BusyboxImage, nil)
	executortest.Exercise(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor {
			return newExecutor(t, execdocker.Config{})
		},
		Image: img,
		Slack: slack,
	})
}

// TestOutputDelivered is the conformance Output scenario without its
// assumption that stderr and stdout keep their relative order.
func TestOutputDelivered(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	const lines = 5000
	var want strings.Builder
	for i := range lines {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	task, out := testTask(t, "sh", "-c", `echo to-stdout; echo to-stderr >&2; i=0; while [ $i -lt `+
		strconv.Itoa(lines)+` ]; do echo "line $i"; i=$((i+1)); done; exit 0`)
	res := wait(t, ex, start(t, ex, task))
	require.Equal(t, 0, res.ExitCode)
	got := out.String()
	require.Contains(t, got, "to-stderr\n")
	require.Equal(t, "to-stdout\n"+want.String(), strings.Replace(got, "to-stderr\n", "", 1),
		"all of stdout, in order, by the time Wait returns")
}

// newExecutor returns an executor closed, and all of whose containers are
// removed, when the test ends.
func newExecutor(t *testing.T, cfg execdocker.Config) *execdocker.Executor {
	t.Helper()
	dockertest.RequireEngine(t)
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), slack)
	defer cancel()
	ex, err := execdocker.New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ex.Close()) })
	return ex
}

// dyingExecutor returns an executor the test closes itself, as a server
// that dies.
func dyingExecutor(t *testing.T) *execdocker.Executor {
	t.Helper()
	dockertest.RequireEngine(t)
	ex, err := execdocker.New(context.Background(), execdocker.Config{Logger: testLogger(t)})
	require.NoError(t, err)
	return ex
}

// testTask returns a task running argv in the busybox image, whose
// container is removed when the test ends.
func testTask(t *testing.T, argv ...string) (*executor.Task, *executortest.Buffer) {
	t.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	id := "dockertest-" + hex.EncodeToString(rnd[:])
	out := &executortest.Buffer{}
	task := &executor.Task{
		ID:        id,
		JobID:     id + "-job",
		JobName:   "dockertest",
		Attempt:   1,
		Container: &gantry.ContainerProperties{Image: dockertest.EnsureImage(t, dockertest.BusyboxImage, nil), Command: argv},
		Command:   argv,
		Resources: gantry.Resources{VCPUs: 1, MemoryMiB: 64},
		Labels: map[string]string{
			executor.LabelJobID:   id + "-job",
			executor.LabelAttempt: "1",
			executor.LabelTaskID:  id,
		},
		Output: out,
	}
	t.Cleanup(func() { removeTaskContainers(t, id) })
	return task, out
}

// removeTaskContainers force-removes every container of a task.
func removeTaskContainers(t *testing.T, taskID string) {
	cli := dockertest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), slack)
	defer cancel()
	for _, c := range taskContainers(t, ctx, taskID) {
		_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}
}

func taskContainers(t *testing.T, ctx context.Context, taskID string) []container.Summary {
	t.Helper()
	list, err := dockertest.Client(t).ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", executor.LabelTaskID+"="+taskID)),
	})
	require.NoError(t, err)
	return list
}

func start(t *testing.T, ex executor.Executor, task *executor.Task) *executor.Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), slack)
	defer cancel()
	h, err := ex.Start(ctx, task)
	require.NoError(t, err)
	return h
}

func wait(t *testing.T, ex executor.Executor, h *executor.Handle) *executor.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), slack)
	defer cancel()
	res, err := ex.Wait(ctx, h)
	require.NoError(t, err)
	return res
}

// testLogger sends logs to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func TestOutOfMemory(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	task, _ := testTask(t, "sh", "-c", "x=a; while true; do x=$x$x; done")
	task.Resources.MemoryMiB = 16
	res := wait(t, ex, start(t, ex, task))
	require.Equal(t, execdocker.ReasonOutOfMemory, res.Reason)
	require.Equal(t, 137, res.ExitCode)
}

func TestMissingImage(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	task, _ := testTask(t, "true")
	task.Container.Image = "gantry-test/no-such-image:never"
	_, err := ex.Start(context.Background(), task)
	var se *executor.StartError
	require.ErrorAs(t, err, &se)
	require.True(t, strings.HasPrefix(se.Reason, "CannotPullContainerError: "), se.Reason)
	require.Contains(t, se.Reason, "no-such-image")
	require.Empty(t, taskContainers(t, context.Background(), task.ID))
}

func TestPullUnreachableRegistry(t *testing.T) {
	t.Parallel()
	const timeout = 5 * time.Second
	ex := newExecutor(t, execdocker.Config{Pull: true, PullTimeout: timeout})
	task, _ := testTask(t, "true")
	task.Container.Image = "127.0.0.1:1/nope:latest"
	began := time.Now()
	_, err := ex.Start(context.Background(), task)
	took := time.Since(began)
	var se *executor.StartError
	require.ErrorAs(t, err, &se)
	require.True(t, strings.HasPrefix(se.Reason, "CannotPullContainerError: "), se.Reason)
	require.Less(t, took, timeout+5*time.Second)
	t.Logf("failed after %v: %s", took, se.Reason)
}

func TestPullTimeout(t *testing.T) {
	t.Parallel()
	// A registry that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	const timeout = 2 * time.Second
	ex := newExecutor(t, execdocker.Config{Pull: true, PullTimeout: timeout})
	task, _ := testTask(t, "true")
	task.Container.Image = ln.Addr().String() + "/hang:latest"
	began := time.Now()
	_, err = ex.Start(context.Background(), task)
	took := time.Since(began)
	var se *executor.StartError
	require.ErrorAs(t, err, &se)
	require.True(t, strings.HasPrefix(se.Reason, "CannotPullContainerError: "), se.Reason)
	require.Less(t, took, timeout+5*time.Second)
	t.Logf("failed after %v: %s", took, se.Reason)
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	for name, tc := range map[string]struct {
		argv   []string
		mutate func(*executor.Task)
		want   string
	}{
		"missing executable": {argv: []string{"no-such-tool"}, want: "executable file not found"},
		"missing path":       {argv: []string{"/no/such/tool"}, want: "no such file or directory"},
		"unknown user": {argv: []string{"true"}, mutate: func(task *executor.Task) { task.Container.User = "nosuchuser" },
			want: "unable to find user nosuchuser"},
		"too little memory": {argv: []string{"true"}, mutate: func(task *executor.Task) { task.Resources.MemoryMiB = 4 },
			want: "memory"},
		"unknown volume": {argv: []string{"true"}, mutate: func(task *executor.Task) {
			task.Container.MountPoints = []gantry.MountPoint{{ContainerPath: "/data", SourceVolume: "nope"}}
		}, want: `"nope"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			task, _ := testTask(t, tc.argv...)
			if tc.mutate != nil {
				tc.mutate(task)
			}
			h, err := ex.Start(context.Background(), task)
			var se *executor.StartError
			if !errors.As(err, &se) {
				if err == nil {
					_, _ = ex.Wait(context.Background(), h)
				}
				t.Fatalf("Start error = %v, want a StartError", err)
			}
			require.True(t, strings.HasPrefix(se.Reason, "CannotStartContainerError: "), se.Reason)
			require.Contains(t, se.Reason, tc.want)
			require.Empty(t, taskContainers(t, context.Background(), task.ID), "a failed start leaves no container")
		})
	}
}

func TestSpecApplied(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{ExtraHosts: []string{"gantry-test-host:10.1.2.3"}})
	script := `echo "user=$(id -u):$(id -g)"; echo "env=$GANTRY_X"; ` +
		`grep -q "10.1.2.3.*gantry-test-host" /etc/hosts && echo hosts=ok; ` +
		`echo x > /dev/gantry-null && echo dev=ok; ` +
		`echo "nofile=$(ulimit -n)"; ` +
		`if touch /rootfs-probe 2>/dev/null; then echo rootfs=rw; else echo rootfs=ro; fi; ` +
		`echo data > /scratch/f && echo tmpfs=ok; ` +
		`df -k /scratch /dev/shm | tail -n 2 | awk '{print $2}' | tr '\n' ' '; echo; ` +
		`cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; ` +
		`cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max`
	task, out := testTask(t, "sh", "-c", script)
	task.Env = []string{"GANTRY_X=hello world"}
	task.Resources = gantry.Resources{VCPUs: 0.5, MemoryMiB: 48}
	ro, shm := true, int32(32)
	task.Container.User = "1234:5678"
	task.Container.ReadonlyRootFilesystem = &ro
	task.Container.Ulimits = []gantry.Ulimit{{Name: "nofile", SoftLimit: 512, HardLimit: 1024}}
	task.Container.LinuxParameters = &gantry.LinuxParameters{
		SharedMemorySize: &shm,
		Tmpfs:            []gantry.Tmpfs{{ContainerPath: "/scratch", Size: 8, MountOptions: []string{"mode=1777"}}},
		Devices:          []gantry.Device{{HostPath: "/dev/null", ContainerPath: "/dev/gantry-null", Permissions: []string{"READ", "WRITE"}}},
	}
	h := start(t, ex, task)

	// The engine's view, while the container exists.
	ctx := context.Background()
	info, err := dockertest.Client(t).ContainerInspect(ctx, h.Data)
	require.NoError(t, err)
	hc := info.HostConfig
	require.Equal(t, int64(500_000_000), hc.NanoCPUs)
	require.Equal(t, int64(48<<20), hc.Memory)
	require.Equal(t, int64(48<<20), hc.MemorySwap)
	require.True(t, hc.ReadonlyRootfs)
	require.NotNil(t, hc.Init)
	require.True(t, *hc.Init)
	require.Equal(t, int64(32<<20), hc.ShmSize)
	require.Equal(t, "size=8m,mode=1777", hc.Tmpfs["/scratch"])
	require.Equal(t, []container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/gantry-null", CgroupPermissions: "rw"}}, hc.Devices)
	require.Equal(t, container.NetworkMode("bridge"), hc.NetworkMode)
	require.Equal(t, "1234:5678", info.Config.User)
	require.Equal(t, "gantry-"+task.ID, strings.TrimPrefix(info.Name, "/"))
	for k, v := range map[string]string{
		"gantry.managed":      "true",
		executor.LabelTaskID:  task.ID,
		executor.LabelJobID:   task.JobID,
		executor.LabelAttempt: "1",
	} {
		require.Equal(t, v, info.Config.Labels[k], "label %s", k)
	}

	res := wait(t, ex, h)
	require.Equal(t, 0, res.ExitCode, out.String())
	got := out.String()
	for _, want := range []string{
		"user=1234:5678\n", "env=hello world\n", "hosts=ok\n", "dev=ok\n", "nofile=512\n", "rootfs=ro\n", "tmpfs=ok\n",
		"8192 32768 \n", strconv.Itoa(48<<20) + "\n", "50000\n",
	} {
		require.Contains(t, got, want)
	}
	require.Empty(t, taskContainers(t, ctx, task.ID), "Wait removes the container")
}

func TestVolumes(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	dir := t.TempDir()
	task, out := testTask(t, "sh", "-c",
		`cat /in/hello; (echo x > /in/w) 2>/dev/null && echo in=rw || echo in=ro; echo y > /out/f && cat /out/f; echo z > /anon/f && cat /anon/f`)
	writeFile(t, dir+"/hello", "hi from the host\n")
	outDir := t.TempDir()
	ro := true
	task.Container.Volumes = []gantry.Volume{
		{Name: "in", Host: &gantry.Host{SourcePath: dir}},
		{Name: "out", Host: &gantry.Host{SourcePath: outDir}},
		{Name: "anon"},
	}
	task.Container.MountPoints = []gantry.MountPoint{
		{SourceVolume: "in", ContainerPath: "/in", ReadOnly: &ro},
		{SourceVolume: "out", ContainerPath: "/out"},
		{SourceVolume: "anon", ContainerPath: "/anon"},
	}
	res := wait(t, ex, start(t, ex, task))
	require.Equal(t, 0, res.ExitCode, out.String())
	require.Equal(t, "hi from the host\nin=ro\ny\nz\n", out.String())
	require.Equal(t, "y\n", readFile(t, outDir+"/f"))
}

// TestExtraFiles runs an image with extra files: an executable script and
// a plain file, which cannot be run.
func TestExtraFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir+"/hello.sh", "#!/bin/sh\necho hello from $0\n")
	require.NoError(t, os.Chmod(dir+"/hello.sh", 0o755))
	writeFile(t, dir+"/plain", "not a program\n")
	files := map[string]string{"/usr/bin/hello.sh": dir + "/hello.sh", "/data/plain": dir + "/plain"}
	img := dockertest.EnsureImage(t, "gantry-test/busybox-extra:latest", files)
	require.Equal(t, img, dockertest.EnsureImage(t, "gantry-test/busybox-extra:latest", files), "idempotent")
	ex := newExecutor(t, execdocker.Config{})

	task, out := testTask(t, "/usr/bin/hello.sh")
	task.Container.Image = img
	res := wait(t, ex, start(t, ex, task))
	require.Equal(t, 0, res.ExitCode, out.String())
	require.Equal(t, "hello from /usr/bin/hello.sh\n", out.String())

	task, _ = testTask(t, "/data/plain")
	task.Container.Image = img
	_, err := ex.Start(context.Background(), task)
	var se *executor.StartError
	require.ErrorAs(t, err, &se)
	require.Contains(t, se.Reason, "permission denied")
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestDefaultCommand(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	task, _ := testTask(t)
	// The busybox test image has no default command.
	_, err := ex.Start(context.Background(), task)
	var se *executor.StartError
	require.ErrorAs(t, err, &se)
	require.True(t, strings.HasPrefix(se.Reason, "CannotStartContainerError: "), se.Reason)
}

func TestStartTwice(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	task, out := testTask(t, "sh", "-c", "echo once; sleep 1; exit 4")
	h1 := start(t, ex, task)
	h2 := start(t, ex, task)
	require.Equal(t, h1, h2)

	// Another executor (a restarted server) adopts the container too.
	ex2 := newExecutor(t, execdocker.Config{})
	out2 := &executortest.Buffer{}
	task2 := *task
	task2.Output = out2
	h3 := start(t, ex2, &task2)
	require.Equal(t, h1.Data, h3.Data)
	require.Len(t, taskContainers(t, context.Background(), task.ID), 1)

	res := wait(t, ex, h1)
	require.Equal(t, 4, res.ExitCode)
	require.Equal(t, "once\n", out.String(), "output delivered once")
}

func TestRecoverRunning(t *testing.T) {
	t.Parallel()
	ex1 := dyingExecutor(t)
	task, out1 := testTask(t, "sh", "-c", "echo before; sleep 2; echo after; exit 3")
	h := start(t, ex1, task)
	out1.WaitFor(t, "before\n", slack)
	require.NoError(t, ex1.Close()) // the server dies
	since := time.Now()

	ex2 := newExecutor(t, execdocker.Config{})
	out2 := &executortest.Buffer{}
	task2 := *task
	task2.Output, task2.LogsSince = out2, since
	h2 := &executor.Handle{TaskID: h.TaskID} // found by its label
	require.NoError(t, ex2.Recover(context.Background(), h2, &task2))
	require.Equal(t, h.Data, h2.Data)
	res := wait(t, ex2, h2)
	require.Equal(t, 3, res.ExitCode)
	require.Equal(t, "after\n", out2.String())
	require.Equal(t, "before\n", out1.String())
}

// TestRecoverDropsReplayedTail: the stream's last lines carry times
// earlier than the engine's own stamps of them (the attach stream can
// deliver a line before the engine's log copy is stamped), so resuming
// after LogsSince alone would deliver them again. With LogsTail the replay
// starts earlier and drops what repeats it.
func TestRecoverDropsReplayedTail(t *testing.T) {
	t.Parallel()
	ex1 := dyingExecutor(t)
	early := time.Now().Add(-time.Second) // before the lines were printed
	task, out1 := testTask(t, "sh", "-c", "echo one; echo two; sleep 2; echo three; exit 3")
	h := start(t, ex1, task)
	out1.WaitFor(t, "one\ntwo\n", slack)
	require.NoError(t, ex1.Close()) // the server dies

	ex2 := newExecutor(t, execdocker.Config{})
	out2 := &executortest.Buffer{}
	task2 := *task
	task2.Output, task2.LogsSince, task2.LogsTail = out2, early, []string{"one", "two"}
	h2 := &executor.Handle{TaskID: h.TaskID}
	require.NoError(t, ex2.Recover(context.Background(), h2, &task2))
	res := wait(t, ex2, h2)
	require.Equal(t, 3, res.ExitCode)
	require.Equal(t, "three\n", out2.String(), "each line once")
}

func TestRecoverExited(t *testing.T) {
	t.Parallel()
	ex1 := dyingExecutor(t)
	task, out1 := testTask(t, "sh", "-c", "echo before; sleep 0.5; echo after; exit 7")
	h := start(t, ex1, task)
	out1.WaitFor(t, "before\n", slack)
	require.NoError(t, ex1.Close())
	since := time.Now()

	// It exits while no server watches.
	ctx, cancel := context.WithTimeout(context.Background(), slack)
	defer cancel()
	okC, errC := dockertest.Client(t).ContainerWait(ctx, h.Data, container.WaitConditionNotRunning)
	select {
	case <-okC:
	case err := <-errC:
		t.Fatal(err)
	}

	ex2 := newExecutor(t, execdocker.Config{})
	out2 := &executortest.Buffer{}
	task2 := *task
	task2.Output, task2.LogsSince = out2, since
	require.NoError(t, ex2.Recover(ctx, h, &task2))
	res := wait(t, ex2, h)
	require.Equal(t, 7, res.ExitCode)
	require.Equal(t, "after\n", out2.String())
	require.Empty(t, taskContainers(t, ctx, task.ID))

	// Gone now.
	require.ErrorIs(t, ex2.Recover(ctx, h, &task2), executor.ErrTaskLost)
}

// TestRecoverCreated recovers an attempt whose server died between
// creating its container and starting it: the container is started.
func TestRecoverCreated(t *testing.T) {
	t.Parallel()
	task, _ := testTask(t, "sh", "-c", "echo started; exit 5")
	ctx, cancel := context.WithTimeout(context.Background(), slack)
	defer cancel()
	_, err := dockertest.Client(t).ContainerCreate(ctx, &container.Config{
		Image:  task.Container.Image,
		Cmd:    task.Command,
		Labels: map[string]string{"gantry.managed": "true", executor.LabelTaskID: task.ID},
	}, nil, nil, nil, "gantry-"+task.ID)
	require.NoError(t, err)

	ex := newExecutor(t, execdocker.Config{})
	out := &executortest.Buffer{}
	task.Output = out
	h := &executor.Handle{TaskID: task.ID}
	require.NoError(t, ex.Recover(ctx, h, task))
	require.NotEmpty(t, h.Data)
	res := wait(t, ex, h)
	require.Equal(t, 5, res.ExitCode)
	require.Equal(t, "started\n", out.String())
}

// TestStopUnwatched stops and waits for a container this executor did
// not start.
func TestStopUnwatched(t *testing.T) {
	t.Parallel()
	ex1 := dyingExecutor(t)
	task, out := testTask(t, "sh", "-c", "echo ready; sleep 60")
	h := start(t, ex1, task)
	out.WaitFor(t, "ready\n", slack)
	require.NoError(t, ex1.Close())

	ex2 := newExecutor(t, execdocker.Config{})
	ctx := context.Background()
	require.NoError(t, ex2.Stop(ctx, h, time.Minute))
	res := wait(t, ex2, h)
	require.Equal(t, 143, res.ExitCode)
	require.ErrorIs(t, ex2.Stop(ctx, h, 0), executor.ErrTaskLost)
	_, err := ex2.Wait(ctx, h)
	require.ErrorIs(t, err, executor.ErrTaskLost)
}

func TestInit(t *testing.T) {
	t.Parallel()
	off, on := false, true
	ex := newExecutor(t, execdocker.Config{Init: &off})
	ctx := context.Background()
	for name, tc := range map[string]struct {
		jobInit *bool
		want    bool
	}{
		"off":          {want: false},
		"job turns on": {jobInit: &on, want: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			task, out := testTask(t, "sh", "-c", "echo pid=$$")
			task.Container.LinuxParameters = &gantry.LinuxParameters{InitProcessEnabled: tc.jobInit}
			h := start(t, ex, task)
			info, err := dockertest.Client(t).ContainerInspect(ctx, h.Data)
			require.NoError(t, err)
			require.Equal(t, tc.want, info.HostConfig.Init != nil && *info.HostConfig.Init)
			require.Equal(t, 0, wait(t, ex, h).ExitCode)
			require.Equal(t, !tc.want, out.String() == "pid=1\n", "the shell is pid 1 only without init: %q", out.String())
		})
	}
	// Without init the runtime itself refuses a missing executable.
	task, _ := testTask(t, "gantry-no-such-tool")
	_, err := ex.Start(ctx, task)
	var se *executor.StartError
	require.ErrorAs(t, err, &se)
	require.Contains(t, se.Reason, "executable file not found")
}

func TestCleanup(t *testing.T) {
	t.Parallel()
	ex1 := dyingExecutor(t)
	running, _ := testTask(t, "sleep", "60")
	exited, _ := testTask(t, "true")
	kept, _ := testTask(t, "sleep", "60")
	for _, task := range []*executor.Task{running, exited, kept} {
		start(t, ex1, task)
	}
	require.NoError(t, ex1.Close())

	ex2 := newExecutor(t, execdocker.Config{})
	ctx := context.Background()
	mine := map[string]bool{running.ID: true, exited.ID: true, kept.ID: true}
	n, err := ex2.Cleanup(ctx, func(taskID string) bool {
		// Keep other tests' containers: they run in parallel.
		return !mine[taskID] || taskID == kept.ID
	})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Empty(t, taskContainers(t, ctx, running.ID))
	require.Empty(t, taskContainers(t, ctx, exited.ID))
	require.Len(t, taskContainers(t, ctx, kept.ID), 1)
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	ex := newExecutor(t, execdocker.Config{})
	res, err := ex.Capacity(context.Background())
	require.NoError(t, err)
	require.Positive(t, res.VCPUs)
	require.Positive(t, res.MemoryMiB)
}

func TestEngineUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), slack)
	defer cancel()
	_, err := execdocker.New(ctx, execdocker.Config{Host: "unix://" + t.TempDir() + "/no.sock"})
	require.Error(t, err)
}
