package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execdocker"
	"github.com/gantrybatch/gantry/executor/execdocker/dockertest"
	"github.com/gantrybatch/gantry/internal/gantrytest"
	"github.com/gantrybatch/gantry/internal/server"
)

// A starting Gantry server removes every container labelled
// gantry.managed=true that it does not track itself (meant for the
// leftovers of its own previous run), including the running containers of
// other Gantry servers on the same engine. A server must therefore never
// start while another server's containers run on the engine: the tests
// that run Gantry servers with the Docker executor hold dockerEngine for
// their whole run, and TestDocker starts all its servers before any of its
// jobs runs. Other processes using the engine at the same time (another
// test binary, a gantry server) can still make these tests fail.
var dockerEngine sync.Mutex

func lockDockerEngine(t *testing.T) {
	t.Helper()
	dockerEngine.Lock()
	t.Cleanup(dockerEngine.Unlock)
}

// dockerJobTimeout is longer than jobTimeout: the engine has two CPUs, so
// the server runs two 1-vCPU containers at a time and jobs queue for it.
const dockerJobTimeout = 90 * time.Second

func dwait(t *testing.T, c *batch.Client, id string, want ...types.JobStatus) *types.JobDetail {
	t.Helper()
	return gantrytest.WaitForJob(t, c, id, dockerJobTimeout, want...)
}

// dockerJobDef is a definition of a 1-vCPU, 64 MiB container of image
// with the host directory outDir mounted at /out.
func dockerJobDef(name, image, outDir string, command ...string) *batch.RegisterJobDefinitionInput {
	return &batch.RegisterJobDefinitionInput{
		JobDefinitionName: aws.String(name),
		Type:              types.JobDefinitionTypeContainer,
		ContainerProperties: &types.ContainerProperties{
			Image:   aws.String(image),
			Command: command,
			ResourceRequirements: []types.ResourceRequirement{
				{Type: types.ResourceTypeVcpu, Value: aws.String("1")},
				{Type: types.ResourceTypeMemory, Value: aws.String("64")},
			},
			Volumes:     []types.Volume{{Name: aws.String("out"), Host: &types.Host{SourcePath: aws.String(outDir)}}},
			MountPoints: []types.MountPoint{{SourceVolume: aws.String("out"), ContainerPath: aws.String("/out")}},
		},
	}
}

// outDir is a temporary directory for a job's /out that any user in a
// container may write to.
func outDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o777))
	return dir
}

func readOut(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return string(b)
}

// logMessages reads a job log stream through the server's CloudWatch Logs
// API.
func logMessages(t *testing.T, endpoint, stream string) []string {
	t.Helper()
	lc := newLogsClient(endpoint)
	msgs := []string{}
	var token *string
	for {
		out, err := lc.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), NextToken: token,
		})
		require.NoError(t, err, "GetLogEvents(%s)", stream)
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
		if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(token) {
			return msgs
		}
		token = out.NextForwardToken
	}
}

// jobContainers lists the containers (running or not) the executor made
// for a job or its array children.
func jobContainers(t *testing.T, jobID string) []container.Summary {
	t.Helper()
	list, err := dockertest.Client(t).ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", execdocker.LabelManaged+"=true")),
	})
	require.NoError(t, err)
	var mine []container.Summary
	for _, s := range list {
		id := s.Labels[executor.LabelJobID]
		if id == jobID || strings.HasPrefix(id, jobID+":") {
			mine = append(mine, s)
		}
	}
	return mine
}

// removeJobContainers force-removes what a failed test left behind.
func removeJobContainers(t *testing.T, jobIDs ...string) {
	t.Helper()
	for _, id := range jobIDs {
		for _, s := range jobContainers(t, id) {
			_ = dockertest.Client(t).ContainerRemove(context.Background(), s.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
}

// requireNoJobContainers asserts that the executor removed the containers
// of every job in ids.
func requireNoJobContainers(t *testing.T, ids []string) {
	t.Helper()
	var left []string
	require.Eventually(t, func() bool {
		left = nil
		for _, id := range ids {
			for _, s := range jobContainers(t, id) {
				left = append(left, fmt.Sprintf("%s (job %s, %s)", s.Names, s.Labels[executor.LabelJobID], s.State))
			}
		}
		return len(left) == 0
	}, 10*time.Second, 100*time.Millisecond, "containers left behind")
	if len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

// childrenDetail describes how the children of array jobs ended, for
// failure messages.
func childrenDetail(t *testing.T, c *batch.Client, parents ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range parents {
		pj := describe(t, c, p)
		fmt.Fprintf(&b, "\n%s: %s (%s)", p, pj.Status, aws.ToString(pj.StatusReason))
		for i := range aws.ToInt32(pj.ArrayProperties.Size) {
			j := describe(t, c, fmt.Sprintf("%s:%d", p, i))
			fmt.Fprintf(&b, "\n  :%d %s (%s)", i, j.Status, aws.ToString(j.StatusReason))
			for _, a := range j.Attempts {
				fmt.Fprintf(&b, " [attempt: %s", aws.ToString(a.StatusReason))
				if a.Container != nil {
					fmt.Fprintf(&b, ", exit %d, %s", aws.ToInt32(a.Container.ExitCode), aws.ToString(a.Container.Reason))
				}
				b.WriteString("]")
			}
		}
	}
	return b.String()
}

// dockerSuite is one in-process server with the Docker executor, shared by
// TestDocker's subtests (see dockerEngine), which records every job they
// submit.
type dockerSuite struct {
	srv *gantrytest.Server
	c   *batch.Client
	img string

	mu   sync.Mutex
	jobs []string
}

func (s *dockerSuite) record(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = append(s.jobs, id)
}

func (s *dockerSuite) jobIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.jobs...)
}

func (s *dockerSuite) submit(t *testing.T, in *batch.SubmitJobInput) string {
	t.Helper()
	id := submit(t, s.c, in)
	s.record(id)
	return id
}

// queue creates a compute environment of maxVCPUs and a queue over it
// named after name, and returns the queue's name.
func (s *dockerSuite) queue(t *testing.T, name string, maxVCPUs int32) string {
	t.Helper()
	_, err := s.c.CreateComputeEnvironment(ctx, ceInput(name+"-ce", maxVCPUs))
	require.NoError(t, err)
	_, err = s.c.CreateJobQueue(ctx, queueInput(name+"-queue", 1, name+"-ce"))
	require.NoError(t, err)
	return name + "-queue"
}

func (s *dockerSuite) register(t *testing.T, in *batch.RegisterJobDefinitionInput) string {
	t.Helper()
	_, err := s.c.RegisterJobDefinition(ctx, in)
	require.NoError(t, err)
	return aws.ToString(in.JobDefinitionName)
}

// TestDocker runs the acceptance flows of the API with the Docker
// executor: every job is a container of the busybox test image, writing
// what it sees to a host directory mounted at /out.
func TestDocker(t *testing.T) {
	dockertest.RequireEngine(t)
	t.Parallel()
	lockDockerEngine(t)
	img := dockertest.EnsureImage(t, dockertest.BusyboxImage, nil)

	newServer := func(policy func(*server.Config)) *gantrytest.Server {
		return gantrytest.New(t, gantrytest.WithConfig(func(c *server.Config) {
			c.Executor = "docker"
			c.Policy.AllowHostVolumes = true
			policy(c)
		}))
	}
	// Both servers start before any job runs (see dockerEngine).
	s := &dockerSuite{img: img}
	s.srv = newServer(func(*server.Config) {})
	s.c = s.srv.Batch
	privSrv := newServer(func(c *server.Config) { c.Policy.AllowPrivileged = true })
	ps := &dockerSuite{srv: privSrv, c: privSrv.Batch, img: img}
	t.Cleanup(func() { removeJobContainers(t, append(s.jobIDs(), ps.jobIDs()...)...) })

	t.Run("flows", func(t *testing.T) {
		t.Run("Succeeded", func(t *testing.T) { dockerSucceeded(t, s) })
		t.Run("ReadonlyRootFilesystem", func(t *testing.T) { dockerReadonlyRoot(t, s) })
		t.Run("Failed", func(t *testing.T) { dockerFailed(t, s) })
		t.Run("OutOfMemory", func(t *testing.T) { dockerOutOfMemory(t, s) })
		t.Run("ArrayJob", func(t *testing.T) { dockerArray(t, s) })
		t.Run("SequentialArray", func(t *testing.T) { dockerSequentialArray(t, s) })
		t.Run("NToN", func(t *testing.T) { dockerNToN(t, s) })
		t.Run("DependencyChain", func(t *testing.T) { dockerChain(t, s) })
		t.Run("Retries", func(t *testing.T) { dockerRetries(t, s) })
		t.Run("TerminateAndCancel", func(t *testing.T) { dockerTerminateCancel(t, s) })
		t.Run("TooLargeForEngine", func(t *testing.T) { dockerTooLarge(t, s) })
		t.Run("Privileged", func(t *testing.T) { dockerPrivileged(t, s, ps) })
		t.Run("Callback", func(t *testing.T) { dockerCallback(t, s) })
	})

	// The executor removed every container it made.
	ids := append(s.jobIDs(), ps.jobIDs()...)
	require.NotEmpty(t, ids)
	requireNoJobContainers(t, ids)
}

func dockerSucceeded(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dok", 4)
	in := dockerJobDef("dok-def", s.img, out, "sh", "-c",
		`env > /out/env; id -u > /out/uid; echo "Ref::word" > /out/param; echo "hello from Ref::word"`)
	in.ContainerProperties.User = aws.String("65534")
	in.Parameters = map[string]string{"word": "default"}
	def := s.register(t, in)
	id := s.submit(t, &batch.SubmitJobInput{
		JobName: aws.String("hello"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		Parameters: map[string]string{"word": "substituted"},
		ContainerOverrides: &types.ContainerOverrides{
			Environment: []types.KeyValuePair{{Name: aws.String("GREETING"), Value: aws.String("hi there")}},
		},
	})
	job := dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job.Status, aws.ToString(job.StatusReason))
	require.Equal(t, "Essential container in task exited", aws.ToString(job.StatusReason))
	require.Equal(t, int32(0), aws.ToInt32(job.Container.ExitCode))
	require.Len(t, job.Attempts, 1)
	require.Equal(t, int32(0), aws.ToInt32(job.Attempts[0].Container.ExitCode))
	stream := aws.ToString(job.Attempts[0].Container.LogStreamName)
	require.True(t, strings.HasPrefix(stream, def+"/default/"), stream)
	require.Equal(t, stream, aws.ToString(job.Container.LogStreamName))
	require.Equal(t, map[string]string{"word": "substituted"}, job.Parameters)

	env := readOut(t, out, "env")
	for _, want := range []string{
		"AWS_BATCH_JOB_ID=" + id, "AWS_BATCH_JOB_ATTEMPT=1", "AWS_BATCH_JQ_NAME=" + q,
		"AWS_BATCH_CE_NAME=dok-ce", "GREETING=hi there",
	} {
		require.Contains(t, strings.Split(env, "\n"), want, "environment in the container:\n%s", env)
	}
	require.Equal(t, "65534\n", readOut(t, out, "uid"), "the container must run as the definition's user")
	require.Equal(t, "substituted\n", readOut(t, out, "param"))
	require.Equal(t, []string{"hello from substituted"}, logMessages(t, s.srv.URL(), stream))
}

func dockerReadonlyRoot(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dro", 4)
	// Root may write anywhere, except on a read-only filesystem.
	in := dockerJobDef("dro-def", s.img, out, "sh", "-c",
		`id -u > /out/uid; if touch /probe 2> /out/err; then echo writable; else echo read-only; fi > /out/rootfs`)
	in.ContainerProperties.ReadonlyRootFilesystem = aws.Bool(true)
	def := s.register(t, in)
	id := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("ro"), JobQueue: aws.String(q), JobDefinition: aws.String(def)})
	job := dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job.Status, aws.ToString(job.StatusReason))
	require.Equal(t, "0\n", readOut(t, out, "uid"))
	require.Equal(t, "read-only\n", readOut(t, out, "rootfs"))
	require.Contains(t, readOut(t, out, "err"), "Read-only file system")
}

func dockerFailed(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dfail", 4)
	def := s.register(t, dockerJobDef("dfail-def", s.img, out, "sh", "-c", "exit 3"))
	id := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("exit3"), JobQueue: aws.String(q), JobDefinition: aws.String(def)})
	job := dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusFailed, job.Status)
	require.Equal(t, "Essential container in task exited", aws.ToString(job.StatusReason))
	require.Equal(t, int32(3), aws.ToInt32(job.Container.ExitCode))
	require.Len(t, job.Attempts, 1)
	require.Equal(t, int32(3), aws.ToInt32(job.Attempts[0].Container.ExitCode))

	// An image the engine does not have (and may not pull).
	def = s.register(t, dockerJobDef("dfail-missing", "nope/missing:1", out, "true"))
	id = s.submit(t, &batch.SubmitJobInput{JobName: aws.String("missing"), JobQueue: aws.String(q), JobDefinition: aws.String(def)})
	job = dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusFailed, job.Status)
	require.True(t, strings.HasPrefix(aws.ToString(job.StatusReason), "CannotPullContainerError"), aws.ToString(job.StatusReason))
	require.True(t, strings.HasPrefix(aws.ToString(job.Container.Reason), "CannotPullContainerError"), aws.ToString(job.Container.Reason))
	require.Nil(t, job.Container.ExitCode)
	require.Len(t, job.Attempts, 1)
}

func dockerOutOfMemory(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "doom", 4)
	in := dockerJobDef("doom-def", s.img, out, "sh", "-c", "x=a; while true; do x=$x$x; done")
	in.ContainerProperties.ResourceRequirements[1].Value = aws.String("16")
	def := s.register(t, in)
	id := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("oom"), JobQueue: aws.String(q), JobDefinition: aws.String(def)})
	job := dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusFailed, job.Status)
	require.Equal(t, "OutOfMemoryError: Container killed due to memory usage", aws.ToString(job.Container.Reason))
	require.Equal(t, int32(137), aws.ToInt32(job.Container.ExitCode))
	require.Len(t, job.Attempts, 1)
	require.Equal(t, "OutOfMemoryError: Container killed due to memory usage", aws.ToString(job.Attempts[0].Container.Reason))
}

func dockerArray(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "darr", 8)
	def := s.register(t, dockerJobDef("darr-def", s.img, out, "sh", "-c",
		`echo "$AWS_BATCH_JOB_ARRAY_INDEX of $AWS_BATCH_JOB_ARRAY_SIZE $AWS_BATCH_JOB_ID" > /out/$AWS_BATCH_JOB_ARRAY_INDEX`))
	id := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("seven"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(7)}})
	parent := dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	if parent.Status != types.JobStatusSucceeded {
		t.Fatalf("array job %s", childrenDetail(t, s.c, id))
	}
	require.Equal(t, int32(7), parent.ArrayProperties.StatusSummary["SUCCEEDED"])
	for i := range 7 {
		require.Equal(t, fmt.Sprintf("%d of 7 %s:%d\n", i, id, i), readOut(t, out, strconv.Itoa(i)))
	}
	require.Len(t, listChildren(t, s.c, id, types.JobStatusSucceeded), 7)
	child := describe(t, s.c, id+":3")
	require.Equal(t, int32(3), aws.ToInt32(child.ArrayProperties.Index))
	require.Len(t, child.Attempts, 1)
}

func dockerSequentialArray(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dseq", 8)
	def := s.register(t, dockerJobDef("dseq-def", s.img, out, "sh", "-c", `echo $AWS_BATCH_JOB_ARRAY_INDEX >> /out/order`))
	id := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("seq"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(4)},
		DependsOn:       []types.JobDependency{{Type: types.ArrayJobDependencySequential}}})
	parent := dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	if parent.Status != types.JobStatusSucceeded {
		t.Fatalf("array job %s", childrenDetail(t, s.c, id))
	}
	require.Equal(t, "0\n1\n2\n3\n", readOut(t, out, "order"))
	prev := describe(t, s.c, id+":0")
	for i := 1; i < 4; i++ {
		cur := describe(t, s.c, fmt.Sprintf("%s:%d", id, i))
		require.GreaterOrEqual(t, aws.ToInt64(cur.StartedAt), aws.ToInt64(prev.StoppedAt))
		prev = cur
	}
}

func dockerNToN(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dnton", 8)
	def := s.register(t, dockerJobDef("dnton-def", s.img, out, "true"))
	// A's child 0 runs longer than its child 1.
	a := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("a"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(2)},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c",
			`sleep $((1 - AWS_BATCH_JOB_ARRAY_INDEX)); touch /out/a$AWS_BATCH_JOB_ARRAY_INDEX`}}})
	b := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("b"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(2)},
		DependsOn:       []types.JobDependency{{JobId: aws.String(a), Type: types.ArrayJobDependencyNToN}},
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c",
			`test -f /out/a$AWS_BATCH_JOB_ARRAY_INDEX && touch /out/b$AWS_BATCH_JOB_ARRAY_INDEX`}}})
	bj := dwait(t, s.c, b, types.JobStatusSucceeded, types.JobStatusFailed)
	if bj.Status != types.JobStatusSucceeded {
		t.Fatalf("array jobs %s", childrenDetail(t, s.c, a, b))
	}
	require.Equal(t, types.JobStatusSucceeded, describe(t, s.c, a).Status)
	for i := range 2 {
		ai, bi := describe(t, s.c, fmt.Sprintf("%s:%d", a, i)), describe(t, s.c, fmt.Sprintf("%s:%d", b, i))
		require.Equal(t, fmt.Sprintf("%s:%d", a, i), aws.ToString(bi.DependsOn[0].JobId))
		require.GreaterOrEqual(t, aws.ToInt64(bi.StartedAt), aws.ToInt64(ai.StoppedAt))
		require.FileExists(t, filepath.Join(out, fmt.Sprintf("b%d", i)))
	}
}

func dockerChain(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dchain", 8)
	def := s.register(t, dockerJobDef("dchain-def", s.img, out, "sh", "-c", `echo Ref::name >> /out/chain`))
	var ids []string
	for _, name := range []string{"first", "second", "third"} {
		in := &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(q), JobDefinition: aws.String(def),
			Parameters: map[string]string{"name": name}}
		if len(ids) > 0 {
			in.DependsOn = []types.JobDependency{{JobId: aws.String(ids[len(ids)-1])}}
		}
		ids = append(ids, s.submit(t, in))
	}
	last := dwait(t, s.c, ids[2], types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, last.Status, aws.ToString(last.StatusReason))
	require.Equal(t, "first\nsecond\nthird\n", readOut(t, out, "chain"))
	for i := 1; i < 3; i++ {
		prev, cur := describe(t, s.c, ids[i-1]), describe(t, s.c, ids[i])
		require.Equal(t, types.JobStatusSucceeded, prev.Status)
		require.GreaterOrEqual(t, aws.ToInt64(cur.StartedAt), aws.ToInt64(prev.StoppedAt))
	}
}

func dockerRetries(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dretry", 4)
	// Fails on the first two attempts, succeeds on the third.
	def := s.register(t, dockerJobDef("dretry-def", s.img, out, "sh", "-c",
		`echo $AWS_BATCH_JOB_ATTEMPT >> /out/count; [ "$(wc -l < /out/count)" -ge 3 ]`))
	id := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("r"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(3)}})
	job := dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job.Status, aws.ToString(job.StatusReason))
	require.Len(t, job.Attempts, 3)
	streams := map[string]bool{}
	for i, a := range job.Attempts {
		want := int32(1)
		if i == 2 {
			want = 0
		}
		require.Equal(t, want, aws.ToInt32(a.Container.ExitCode), "attempt %d", i+1)
		require.Equal(t, "Essential container in task exited", aws.ToString(a.StatusReason))
		streams[aws.ToString(a.Container.LogStreamName)] = true
	}
	require.Len(t, streams, 3, "one log stream per attempt")
	require.Equal(t, "1\n2\n3\n", readOut(t, out, "count"))

	// An EXIT rule stops retrying at once.
	id = s.submit(t, &batch.SubmitJobInput{JobName: aws.String("e"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "echo x >> /out/exit; exit 7"}},
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(5), EvaluateOnExit: []types.EvaluateOnExit{
			{OnExitCode: aws.String("7"), Action: types.RetryActionExit},
		}}})
	job = dwait(t, s.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusFailed, job.Status)
	require.Len(t, job.Attempts, 1)
	require.Equal(t, int32(7), aws.ToInt32(job.Container.ExitCode))
	require.Equal(t, "x\n", readOut(t, out, "exit"))
}

func dockerTerminateCancel(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	out := outDir(t)
	q := s.queue(t, "dterm", 1)
	def := s.register(t, dockerJobDef("dterm-def", s.img, out, "true"))
	sleeper := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("sleeper"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sleep", "120"}}})
	dwait(t, s.c, sleeper, types.JobStatusRunning)

	// RUNNABLE behind it (the environment has 1 vCPU): cancel fails it.
	queued := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("queued"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"touch", "/out/queued-ran"}}})
	dwait(t, s.c, queued, types.JobStatusRunnable)
	_, err := s.c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(queued), Reason: aws.String("not needed")})
	require.NoError(t, err)
	j := describe(t, s.c, queued)
	require.Equal(t, types.JobStatusFailed, j.Status)
	require.Equal(t, "not needed", aws.ToString(j.StatusReason))
	require.True(t, aws.ToBool(j.IsCancelled))
	require.Empty(t, j.Attempts)

	// RUNNING: terminate stops the container; its init passes SIGTERM on
	// to sleep, which dies of it (128+15) before the SIGKILL.
	start := time.Now()
	_, err = s.c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(sleeper), Reason: aws.String("stop it")})
	require.NoError(t, err)
	j = *dwait(t, s.c, sleeper, types.JobStatusSucceeded, types.JobStatusFailed)
	t.Logf("terminated container job ended %v after TerminateJob", time.Since(start))
	require.Equal(t, types.JobStatusFailed, j.Status)
	require.Equal(t, "stop it", aws.ToString(j.StatusReason))
	require.True(t, aws.ToBool(j.IsTerminated))
	require.Equal(t, int32(143), aws.ToInt32(j.Container.ExitCode), "SIGTERM, not SIGKILL")
	require.Len(t, j.Attempts, 1)

	require.NoFileExists(t, filepath.Join(out, "queued-ran"))
}

func dockerTooLarge(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	info, err := dockertest.Client(t).Info(ctx)
	require.NoError(t, err)
	out := outDir(t)
	// The environment could hold them; the engine cannot.
	q := s.queue(t, "dbig", 256)
	def := s.register(t, dockerJobDef("dbig-def", s.img, out, "true"))
	manyCPUs := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("cpus"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{ResourceRequirements: []types.ResourceRequirement{
			{Type: types.ResourceTypeVcpu, Value: aws.String("64")},
		}}})
	bigMemory := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("memory"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{ResourceRequirements: []types.ResourceRequirement{
			{Type: types.ResourceTypeMemory, Value: aws.String(strconv.FormatInt(2*(info.MemTotal>>20), 10))},
		}}})
	small := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("small"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"touch", "/out/small"}}})
	j := dwait(t, s.c, small, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, j.Status, aws.ToString(j.StatusReason))
	require.FileExists(t, filepath.Join(out, "small"))

	for _, id := range []string{manyCPUs, bigMemory} {
		var last types.JobDetail
		blocked := func() bool {
			last = describe(t, s.c, id)
			return last.Status == types.JobStatusRunnable &&
				strings.HasPrefix(aws.ToString(last.StatusReason), "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")
		}
		deadline := time.Now().Add(10 * time.Second)
		for !blocked() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		reason := aws.ToString(last.StatusReason)
		require.Equal(t, types.JobStatusRunnable, last.Status, reason)
		require.True(t, strings.HasPrefix(reason, "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"), "statusReason %q", reason)
		require.Contains(t, reason, "the Docker engine")
		require.Empty(t, last.Attempts)
		_, err := s.c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id), Reason: aws.String("too large")})
		require.NoError(t, err)
	}
}

func dockerPrivileged(t *testing.T, s, ps *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	in := dockerJobDef("dpriv-def", s.img, outDir(t), "true")
	in.ContainerProperties.Privileged = aws.Bool(true)
	_, err := s.c.RegisterJobDefinition(ctx, in)
	requireClientException(t, err, "privileged containers are not allowed")
	defs, err := s.c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String("dpriv-def")})
	require.NoError(t, err)
	require.Empty(t, defs.JobDefinitions)

	// A server that allows them accepts the definition. (Running it is
	// left out: an engine that itself runs in a container without every
	// capability cannot start privileged containers.)
	ps.register(t, in)
	defs, err = ps.c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String("dpriv-def")})
	require.NoError(t, err)
	require.Len(t, defs.JobDefinitions, 1)
	require.True(t, aws.ToBool(defs.JobDefinitions[0].ContainerProperties.Privileged))
}

// buildCallbackJob builds e2e/callbackjob as a static binary and returns
// its path.
func buildCallbackJob(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err)
	gomod, err := exec.Command(goCmd, "env", "GOMOD").Output()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "callbackjob")
	build := exec.Command(goCmd, "build", "-trimpath", "-buildvcs=false", "-o", path, "./e2e/callbackjob")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./e2e/callbackjob:\n%s", b)
	return path
}

func dockerCallback(t *testing.T, s *dockerSuite) {
	dockertest.RequireEngine(t)
	t.Parallel()
	start := time.Now()
	img := dockertest.EnsureImage(t, "gantry-test/e2e-callbackjob:latest", map[string]string{"/bin/callbackjob": buildCallbackJob(t)})
	t.Logf("callback image ready in %v", time.Since(start))
	out := outDir(t)
	q := s.queue(t, "dcb", 4)
	follow := s.register(t, dockerJobDef("dcb-follow", s.img, out, "sh", "-c", `echo Ref::parent > /out/parent`))
	in := dockerJobDef("dcb-def", img, out, "/bin/callbackjob")
	in.ContainerProperties.Environment = []types.KeyValuePair{{Name: aws.String("NEXT_JOB_DEFINITION"), Value: aws.String(follow)}}
	def := s.register(t, in)

	// What every attempt gets to call back.
	envJob := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("env"), JobQueue: aws.String(q), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", "env > /out/env"}}})
	first := s.submit(t, &batch.SubmitJobInput{JobName: aws.String("caller"), JobQueue: aws.String(q), JobDefinition: aws.String(def)})

	j := dwait(t, s.c, envJob, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, j.Status, aws.ToString(j.StatusReason))
	env := strings.Split(readOut(t, out, "env"), "\n")
	var endpoint string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL="); ok {
			endpoint = v
		}
	}
	require.True(t, strings.HasPrefix(endpoint, "http://"), "AWS_ENDPOINT_URL=%q; environment:\n%s", endpoint, strings.Join(env, "\n"))
	_, port, _ := strings.Cut(s.srv.Addr(), ":")
	require.True(t, strings.HasSuffix(endpoint, ":"+port), "AWS_ENDPOINT_URL=%q should name the server's port %s", endpoint, port)
	require.Contains(t, env, "AWS_ENDPOINT_URL_BATCH="+endpoint)
	require.Contains(t, env, "AWS_REGION=us-east-1")
	require.Contains(t, env, "NEXT_JOB_DEFINITION="+follow)

	j = dwait(t, s.c, first, types.JobStatusSucceeded, types.JobStatusFailed)
	output := logMessages(t, s.srv.URL(), aws.ToString(j.Container.LogStreamName))
	require.Equal(t, types.JobStatusSucceeded, j.Status, "callbackjob exited %d (%s); output:\n%s",
		aws.ToInt32(j.Container.ExitCode), aws.ToString(j.StatusReason), strings.Join(output, "\n"))
	require.Contains(t, output, "found myself: "+first)

	// The job it submitted.
	list, err := s.c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String(q),
		Filters: []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"follow-up"}}}})
	require.NoError(t, err)
	require.Len(t, list.JobSummaryList, 1, "follow-up jobs")
	next := aws.ToString(list.JobSummaryList[0].JobId)
	s.record(next)
	require.Contains(t, output, "submitted: "+next)
	nj := dwait(t, s.c, next, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, nj.Status, aws.ToString(nj.StatusReason))
	require.Equal(t, "follow-up", aws.ToString(nj.JobName))
	require.Equal(t, first, nj.Parameters["parent"])
	require.Contains(t, aws.ToString(nj.JobDefinition), ":job-definition/"+follow+":")
	require.Equal(t, first+"\n", readOut(t, out, "parent"))
}
