package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execdocker"
	"github.com/gantrybatch/gantry/executor/execdocker/dockertest"
)

// jobContainer inspects the one container of a job.
func jobContainer(t *testing.T, jobID string) container.InspectResponse {
	t.Helper()
	list := jobContainers(t, jobID)
	require.Len(t, list, 1, "containers of job %s", jobID)
	info, err := dockertest.Client(t).ContainerInspect(ctx, list[0].ID)
	require.NoError(t, err)
	return info
}

func containerRunning(t *testing.T, id string) bool {
	t.Helper()
	info, err := dockertest.Client(t).ContainerInspect(ctx, id)
	require.NoError(t, err)
	return info.State.Running
}

// TestDockerCrashWhileContainersRun kills the real binary with SIGKILL
// while two container jobs run. Containers outlive the server: the one that
// exits while the server is down has its exit recorded after the restart,
// the other is reattached and runs to the end, neither runs twice, and
// their output reaches their log streams once. A stopped container of a
// finished attempt is removed at startup.
func TestDockerCrashWhileContainersRun(t *testing.T) {
	dockertest.RequireEngine(t)
	// Not parallel: waiting for the engine while TestDocker runs would
	// hold one of the few parallel test slots (GOMAXPROCS) for nothing.
	lockDockerEngine(t)
	img := dockertest.EnsureImage(t, dockertest.BusyboxImage, nil)
	cli := dockertest.Client(t)
	dataDir, out := t.TempDir(), t.TempDir()
	args := []string{"--executor", "docker", "--allow-host-volumes", "--stop-grace", "2s"}

	s := startServer(t, dataDir, args...)
	c := s.Batch
	_, err := c.CreateComputeEnvironment(ctx, ceInput("dcrash-ce", 4))
	require.NoError(t, err)
	_, err = c.CreateJobQueue(ctx, queueInput("dcrash-queue", 1, "dcrash-ce"))
	require.NoError(t, err)
	_, err = c.RegisterJobDefinition(ctx, dockerJobDef("dcrash-def", img, out, "true"))
	require.NoError(t, err)

	// Each job runs until the test creates its gate file (rather than for a
	// fixed time, so that the order of events does not depend on how fast
	// this machine is): A's is created while the server is down, B's after
	// the restart.
	gated := func(name string) []string {
		return []string{"sh", "-c", fmt.Sprintf("echo %[1]s-start; echo start >> /out/%[1]s; "+
			"while [ ! -e /out/go-%[1]s ]; do sleep 0.1; done; echo done >> /out/%[1]s; echo %[1]s-done", name)}
	}
	release := func(name string) { require.NoError(t, os.WriteFile(filepath.Join(out, "go-"+name), nil, 0o644)) }
	a := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("a"), JobQueue: aws.String("dcrash-queue"), JobDefinition: aws.String("dcrash-def"),
		ContainerOverrides: &types.ContainerOverrides{Command: gated("a")}})
	b := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("b"), JobQueue: aws.String("dcrash-queue"), JobDefinition: aws.String("dcrash-def"),
		ContainerOverrides: &types.ContainerOverrides{Command: gated("b")}})
	t.Cleanup(func() { removeJobContainers(t, a, b) })
	wait(t, c, a, types.JobStatusRunning)
	wait(t, c, b, types.JobStatusRunning)
	ctrA, ctrB := jobContainer(t, a), jobContainer(t, b)
	require.True(t, ctrA.State.Running)
	require.True(t, ctrB.State.Running)

	s.Kill9()
	killed := time.Now()
	require.True(t, containerRunning(t, ctrA.ID), "job A's container stopped with the server")
	require.True(t, containerRunning(t, ctrB.ID), "job B's container stopped with the server")
	release("a")
	require.Eventually(t, func() bool { return !containerRunning(t, ctrA.ID) }, 15*time.Second, 50*time.Millisecond,
		"job A's container still runs")
	info, err := cli.ContainerInspect(ctx, ctrA.ID)
	require.NoError(t, err)
	require.Equal(t, 0, info.State.ExitCode)
	require.Equal(t, "start\ndone\n", readOut(t, out, "a"))
	require.True(t, containerRunning(t, ctrB.ID))

	// Stopped containers of attempts no job knows: one of this server
	// (labelled with its node id, as every attempt is) must be removed at
	// startup; one of another server sharing the engine must be kept.
	node := ctrA.Config.Labels[executor.LabelNodeID]
	require.NotEmpty(t, node, "attempts carry the server's node id")
	leftover := func(name, node string) string {
		task := "dcrash-" + name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		created, err := cli.ContainerCreate(ctx, &container.Config{
			Image: img,
			Cmd:   []string{"true"},
			Labels: map[string]string{execdocker.LabelManaged: "true", executor.LabelTaskID: task,
				executor.LabelNodeID: node},
		}, &container.HostConfig{}, nil, nil, execdocker.ContainerNamePrefix+task)
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
		})
		require.NoError(t, cli.ContainerStart(ctx, created.ID, container.StartOptions{}))
		require.Eventually(t, func() bool { return !containerRunning(t, created.ID) }, 10*time.Second, 20*time.Millisecond)
		return created.ID
	}
	mine := leftover("leftover", node)
	theirs := leftover("other-server", "i-0000000000000000f")

	s2 := startServer(t, dataDir, args...)
	c2 := s2.Batch
	t.Logf("server down for %v", time.Since(killed))
	_, err = cli.ContainerInspect(ctx, mine)
	require.True(t, cerrdefs.IsNotFound(err), "the leftover container was not removed at startup: %v", err)
	_, err = cli.ContainerInspect(ctx, theirs)
	require.NoError(t, err, "another server's container was removed")

	// B was reattached, and still runs in its first container.
	require.True(t, containerRunning(t, ctrB.ID), "job B's container")
	require.Equal(t, types.JobStatusRunning, describe(t, c2, b).Status)
	release("b")

	// A's exit while the server was down is recorded as it happened.
	ja := wait(t, c2, a, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, ja.Status, aws.ToString(ja.StatusReason))
	require.Equal(t, "Essential container in task exited", aws.ToString(ja.StatusReason))
	require.Equal(t, int32(0), aws.ToInt32(ja.Container.ExitCode))
	require.Len(t, ja.Attempts, 1)
	require.Equal(t, int32(0), aws.ToInt32(ja.Attempts[0].Container.ExitCode))
	require.Equal(t, "Essential container in task exited", aws.ToString(ja.Attempts[0].StatusReason))
	t.Logf("job A: container finished at %s; stoppedAt %s", info.State.FinishedAt,
		time.UnixMilli(aws.ToInt64(ja.StoppedAt)).UTC().Format(time.RFC3339Nano))

	jb := wait(t, c2, b, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, jb.Status, aws.ToString(jb.StatusReason))
	require.Len(t, jb.Attempts, 1)
	require.Equal(t, int32(0), aws.ToInt32(jb.Container.ExitCode))
	require.Equal(t, "Essential container in task exited", aws.ToString(jb.Attempts[0].StatusReason))

	// No attempt ran twice.
	require.Equal(t, "start\ndone\n", readOut(t, out, "a"))
	require.Equal(t, "start\ndone\n", readOut(t, out, "b"))
	requireNoJobContainers(t, []string{a, b})

	// Each line reached the log stream once: what A printed while the
	// server was down, and what B printed before the crash.
	require.Equal(t, []string{"a-start", "a-done"}, logMessages(t, s2.URL(), aws.ToString(ja.Container.LogStreamName)))
	require.Equal(t, []string{"b-start", "b-done"}, logMessages(t, s2.URL(), aws.ToString(jb.Container.LogStreamName)))
	s2.Stop()
}
