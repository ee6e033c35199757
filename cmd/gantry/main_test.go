package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

const jobTimeout = 20 * time.Second

// runCLI runs the gantry command line in-process and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	if errOut.Len() > 0 {
		t.Logf("gantry %s: stderr:\n%s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), err
}

// mustCLI is runCLI that requires success.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, args...)
	require.NoError(t, err, "gantry %s", strings.Join(args, " "))
	return out
}

// cliEnv is a server with a compute environment, a queue and a definition.
type cliEnv struct {
	srv *gantrytest.Server
	c   *batch.Client
	gantrytest.Env
}

func newCLIEnv(t *testing.T, name string, command ...string) cliEnv {
	t.Helper()
	srv := gantrytest.New(t)
	return cliEnv{srv: srv, c: srv.Batch, Env: gantrytest.Setup(t, srv.Batch, name, 4, command...)}
}

func (e cliEnv) describe(t *testing.T, id string) types.JobDetail {
	t.Helper()
	out, err := e.c.DescribeJobs(context.Background(), &batch.DescribeJobsInput{Jobs: []string{id}})
	require.NoError(t, err)
	require.Len(t, out.Jobs, 1, "job %s", id)
	return out.Jobs[0]
}

func (e cliEnv) submitSDK(t *testing.T, name string, command ...string) string {
	t.Helper()
	in := &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(e.Queue), JobDefinition: aws.String(e.JobDefinition)}
	if len(command) > 0 {
		in.ContainerOverrides = &types.ContainerOverrides{Command: command}
	}
	out, err := e.c.SubmitJob(context.Background(), in)
	require.NoError(t, err)
	return aws.ToString(out.JobId)
}

func (e cliEnv) wait(t *testing.T, id string, want ...types.JobStatus) *types.JobDetail {
	t.Helper()
	return gantrytest.WaitForJob(t, e.c, id, jobTimeout, want...)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestSubmit(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t, "submit", "true")
	url := e.srv.URL()

	t.Run("prints the job id", func(t *testing.T) {
		t.Parallel()
		out := mustCLI(t, "submit", "--endpoint", url, "--queue", e.Queue, "--definition", e.JobDefinition, "--name", "plain")
		id := strings.TrimSpace(out)
		require.Equal(t, id+"\n", out, "one line with the job id")
		require.Regexp(t, uuidRE, id)
		j := e.describe(t, id)
		require.Equal(t, "plain", aws.ToString(j.JobName))
		require.Equal(t, types.JobStatusSucceeded, e.wait(t, id, types.JobStatusSucceeded, types.JobStatusFailed).Status)
	})

	t.Run("default name from the definition", func(t *testing.T) {
		t.Parallel()
		id := strings.TrimSpace(mustCLI(t, "submit", "--endpoint", url, "-q", e.Queue, "-d", e.JobDefinition))
		name := aws.ToString(e.describe(t, id).JobName)
		require.True(t, strings.HasPrefix(name, e.JobDefinition+"-"), name)
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		out := mustCLI(t, "submit", "--endpoint", url, "-q", e.Queue, "-d", e.JobDefinition, "-n", "as-json", "-o", "json")
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &m), out)
		// Whatever the key's case, it is the job that was submitted...
		var id string
		for k, v := range m {
			if strings.EqualFold(k, "jobId") {
				id, _ = v.(string)
			}
		}
		require.Regexp(t, uuidRE, id, out)
		require.Equal(t, "as-json", aws.ToString(e.describe(t, id).JobName))
		// ...and the output has the SubmitJob response's shape, as the AWS
		// CLI prints it: {"jobArn": ..., "jobName": ..., "jobId": ...}.
		require.Equal(t, id, m["jobId"], "submit -o json must print the key jobId; got:\n%s", out)
		require.Equal(t, "as-json", m["jobName"], out)
	})

	t.Run("flags reach the job", func(t *testing.T) {
		t.Parallel()
		dep := e.submitSDK(t, "dep", "sh", "-c", "sleep 1")
		out := mustCLI(t, "submit", "--endpoint", url, "-q", e.Queue, "-d", e.JobDefinition, "-n", "flags",
			"--param", "who=gantry", "-p", "n=2",
			"--env", "GREETING=hello world", "-e", "EQ=a=b",
			"--depends-on", dep,
			"--attempts", "3", "--timeout", "120",
			"--vcpus", "2", "--memory", "256",
			"--", "sh", "-c", "echo Ref::who")
		id := strings.TrimSpace(out)
		j := e.describe(t, id)
		require.Equal(t, map[string]string{"who": "gantry", "n": "2"}, j.Parameters)
		env := map[string]string{}
		for _, kv := range j.Container.Environment {
			env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
		require.Equal(t, "hello world", env["GREETING"])
		require.Equal(t, "a=b", env["EQ"])
		require.Len(t, j.DependsOn, 1)
		require.Equal(t, dep, aws.ToString(j.DependsOn[0].JobId))
		require.NotNil(t, j.RetryStrategy)
		require.Equal(t, int32(3), aws.ToInt32(j.RetryStrategy.Attempts))
		require.NotNil(t, j.Timeout)
		require.Equal(t, int32(120), aws.ToInt32(j.Timeout.AttemptDurationSeconds))
		require.GreaterOrEqual(t, len(j.Container.Command), 2)
		require.Equal(t, []string{"sh", "-c"}, j.Container.Command[:2])
		res := map[types.ResourceType]string{}
		for _, r := range j.Container.ResourceRequirements {
			res[r.Type] = aws.ToString(r.Value)
		}
		require.Equal(t, "2", res[types.ResourceTypeVcpu])
		require.Equal(t, "256", res[types.ResourceTypeMemory])
		// It waits for its dependency, then runs.
		require.Contains(t, []types.JobStatus{types.JobStatusPending, types.JobStatusSubmitted}, j.Status)
		e.wait(t, dep, types.JobStatusSucceeded)
		require.Equal(t, types.JobStatusSucceeded, e.wait(t, id, types.JobStatusSucceeded, types.JobStatusFailed).Status)
	})

	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		base := []string{"submit", "--endpoint", url, "-q", e.Queue, "-d", e.JobDefinition}
		_, err := runCLI(t, append(base, "--param", "novalue")...)
		require.ErrorContains(t, err, "--param")
		_, err = runCLI(t, append(base, "--env", "=x")...)
		require.ErrorContains(t, err, "--env")
		_, err = runCLI(t, "submit", "--endpoint", url, "-d", e.JobDefinition)
		require.ErrorContains(t, err, "queue")
		_, err = runCLI(t, "submit", "--endpoint", url, "-q", e.Queue)
		require.ErrorContains(t, err, "definition")
		// A server-side rejection is an error too.
		_, err = runCLI(t, "submit", "--endpoint", url, "-q", "no-such-queue", "-d", e.JobDefinition)
		require.Error(t, err)
		_, err = runCLI(t, append(base, "--attempts", "11")...)
		require.Error(t, err)
	})
}

func TestJobs(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t, "jobs", "true")
	url := e.srv.URL()
	ok := e.submitSDK(t, "ok-job")
	bad := e.submitSDK(t, "bad-job", "sh", "-c", "exit 3")
	e.wait(t, ok, types.JobStatusSucceeded)
	e.wait(t, bad, types.JobStatusFailed)
	// A second queue over the same compute environment.
	_, err := e.c.CreateJobQueue(context.Background(), &batch.CreateJobQueueInput{
		JobQueueName: aws.String("other-queue"), Priority: aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String(e.CE)}},
	})
	require.NoError(t, err)
	other, err := e.c.SubmitJob(context.Background(), &batch.SubmitJobInput{
		JobName: aws.String("other-job"), JobQueue: aws.String("other-queue"), JobDefinition: aws.String(e.JobDefinition),
	})
	require.NoError(t, err)
	otherID := aws.ToString(other.JobId)
	e.wait(t, otherID, types.JobStatusSucceeded)

	// rows returns the table's rows (after the header) by job id.
	rows := func(t *testing.T, out string) map[string][]string {
		t.Helper()
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		require.NotEmpty(t, lines)
		require.Equal(t, []string{"JOB", "ID", "NAME", "STATUS", "CREATED", "STARTED", "STOPPED", "REASON"}, strings.Fields(lines[0]))
		got := map[string][]string{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			require.NotEmpty(t, f)
			got[f[0]] = f
		}
		return got
	}

	t.Run("table", func(t *testing.T) {
		t.Parallel()
		got := rows(t, mustCLI(t, "jobs", "--endpoint", url))
		require.Len(t, got, 3)
		require.Equal(t, "ok-job", got[ok][1])
		require.Equal(t, "SUCCEEDED", got[ok][2])
		require.Contains(t, strings.Join(got[ok], " "), "Essential container in task exited")
		require.Equal(t, "bad-job", got[bad][1])
		require.Equal(t, "FAILED", got[bad][2])
		require.Equal(t, "other-job", got[otherID][1])
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		out := mustCLI(t, "jobs", "--endpoint", url, "-q", e.Queue, "-o", "json")
		var list []types.JobSummary
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		byID := map[string]types.JobSummary{}
		for _, j := range list {
			byID[aws.ToString(j.JobId)] = j
		}
		require.Len(t, byID, 2)
		require.Equal(t, "ok-job", aws.ToString(byID[ok].JobName))
		require.Equal(t, types.JobStatusSucceeded, byID[ok].Status)
		require.Equal(t, types.JobStatusFailed, byID[bad].Status)
	})

	t.Run("filters", func(t *testing.T) {
		t.Parallel()
		got := rows(t, mustCLI(t, "jobs", "--endpoint", url, "--status", "SUCCEEDED", "--queue", e.Queue))
		require.Equal(t, []string{ok}, mapKeys(got))
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "-s", "failed", "-q", e.Queue))
		require.Equal(t, []string{bad}, mapKeys(got))
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "--status", "SUCCEEDED"))
		require.ElementsMatch(t, []string{ok, otherID}, mapKeys(got))
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "-q", "other-queue"))
		require.Equal(t, []string{otherID}, mapKeys(got))
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "--status", "RUNNING", "-q", e.Queue))
		require.Empty(t, got)
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "-q", e.Queue, "--name", "bad-*"))
		require.Equal(t, []string{bad}, mapKeys(got))
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "-q", e.Queue, "--name", "ok-job", "--status", "SUCCEEDED"))
		require.Equal(t, []string{ok}, mapKeys(got))
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "-q", e.Queue, "--name", "ok-job", "--status", "FAILED"))
		require.Empty(t, got)
		got = rows(t, mustCLI(t, "jobs", "--endpoint", url, "--limit", "1"))
		require.Len(t, got, 1)
		_, err := runCLI(t, "jobs", "--endpoint", url, "-q", "no-such-queue")
		require.Error(t, err)
		_, err = runCLI(t, "jobs", "--endpoint", url, "extra-arg")
		require.Error(t, err)
	})
}

func mapKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t, "describe", "true")
	url := e.srv.URL()
	ok := e.submitSDK(t, "ok-job")
	bad := e.submitSDK(t, "bad-job", "sh", "-c", "exit 3")
	okJob := e.wait(t, ok, types.JobStatusSucceeded)
	e.wait(t, bad, types.JobStatusFailed)

	// fields parses "Key:  value" lines.
	fields := func(out string) map[string]string {
		m := map[string]string{}
		for l := range strings.Lines(out) {
			k, v, found := strings.Cut(l, ":")
			if found {
				m[k] = strings.TrimSpace(v)
			}
		}
		return m
	}

	out := mustCLI(t, "describe", "--endpoint", url, ok)
	f := fields(out)
	require.Equal(t, ok, f["Job ID"], out)
	require.Equal(t, "ok-job", f["Name"])
	require.Equal(t, "SUCCEEDED", f["Status"])
	require.Equal(t, "0", f["Exit code"])
	require.NotEmpty(t, aws.ToString(okJob.Container.LogStreamName))
	require.Equal(t, aws.ToString(okJob.Container.LogStreamName), f["Log stream"])
	require.Equal(t, "Essential container in task exited", f["Reason"])
	require.Contains(t, f["Attempt 1"], "exit 0")

	out = mustCLI(t, "describe", "--endpoint", url, bad)
	f = fields(out)
	require.Equal(t, "FAILED", f["Status"], out)
	require.Equal(t, "3", f["Exit code"])
	require.Contains(t, f["Attempt 1"], "exit 3")

	// Several jobs, and JSON.
	out = mustCLI(t, "describe", "--endpoint", url, ok, bad)
	require.Contains(t, out, ok)
	require.Contains(t, out, bad)
	out = mustCLI(t, "describe", "--endpoint", url, "-o", "json", ok, bad)
	var list []types.JobDetail
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	require.Len(t, list, 2)
	statuses := map[string]types.JobStatus{}
	for _, j := range list {
		statuses[aws.ToString(j.JobId)] = j.Status
	}
	require.Equal(t, map[string]types.JobStatus{ok: types.JobStatusSucceeded, bad: types.JobStatusFailed}, statuses)

	_, err := runCLI(t, "describe", "--endpoint", url, "00000000-0000-0000-0000-000000000000")
	require.ErrorContains(t, err, "no such job")
	_, err = runCLI(t, "describe", "--endpoint", url)
	require.Error(t, err, "describe needs a job id")
}

func TestCancelAndTerminate(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t, "stop", "true")
	url := e.srv.URL()

	runner := e.submitSDK(t, "runner", "sleep", "60")
	e.wait(t, runner, types.JobStatusRunning)
	out, err := e.c.SubmitJob(context.Background(), &batch.SubmitJobInput{
		JobName: aws.String("waiter"), JobQueue: aws.String(e.Queue), JobDefinition: aws.String(e.JobDefinition),
		DependsOn: []types.JobDependency{{JobId: aws.String(runner)}},
	})
	require.NoError(t, err)
	waiter := aws.ToString(out.JobId)
	e.wait(t, waiter, types.JobStatusPending)

	// cancel does not stop a RUNNING job; it does stop one not yet started.
	got := mustCLI(t, "cancel", "--endpoint", url, waiter, "--reason", "not needed")
	require.Equal(t, "cancelled: "+waiter+"\n", got)
	j := e.wait(t, waiter, types.JobStatusFailed)
	require.Equal(t, "not needed", aws.ToString(j.StatusReason))

	got = mustCLI(t, "cancel", "--endpoint", url, runner)
	require.Equal(t, "cancelled: "+runner+"\n", got)
	require.Equal(t, types.JobStatusRunning, e.describe(t, runner).Status, "cancel leaves a RUNNING job alone")

	got = mustCLI(t, "terminate", "--endpoint", url, runner)
	require.Equal(t, "terminated: "+runner+"\n", got)
	j = e.wait(t, runner, types.JobStatusFailed)
	require.Equal(t, "requested with gantry terminate", aws.ToString(j.StatusReason))
	require.True(t, aws.ToBool(j.IsTerminated))

	// Unknown ids are errors naming the id.
	const unknown = "00000000-0000-0000-0000-000000000000"
	_, err = runCLI(t, "cancel", "--endpoint", url, unknown)
	require.ErrorContains(t, err, unknown)
	_, err = runCLI(t, "terminate", "--endpoint", url, unknown)
	require.ErrorContains(t, err, unknown)
	_, err = runCLI(t, "cancel", "--endpoint", url)
	require.Error(t, err, "cancel needs a job id")
	// The ids before an unknown one are still handled.
	long := e.submitSDK(t, "long", "sleep", "60")
	got, err = runCLI(t, "terminate", "--endpoint", url, long, unknown)
	require.ErrorContains(t, err, unknown)
	require.Equal(t, "terminated: "+long+"\n", got)
	j = e.wait(t, long, types.JobStatusFailed, types.JobStatusSucceeded)
	require.Equal(t, types.JobStatusFailed, j.Status)
	require.True(t, aws.ToBool(j.IsTerminated))
}

func TestBadOutput(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t, "output", "true")
	url := e.srv.URL()
	for _, args := range [][]string{
		{"submit", "-q", e.Queue, "-d", e.JobDefinition},
		{"jobs"},
		{"describe", "00000000-0000-0000-0000-000000000000"},
	} {
		_, err := runCLI(t, append(args, "--endpoint", url, "-o", "yaml")...)
		require.ErrorContains(t, err, "--output", "gantry %v -o yaml", args)
	}
	// The submission was refused before it reached the server.
	list, err := e.c.ListJobs(context.Background(), &batch.ListJobsInput{JobQueue: aws.String(e.Queue), Filters: []types.KeyValuesPair{
		{Name: aws.String("JOB_NAME"), Values: []string{"*"}},
	}})
	require.NoError(t, err)
	require.Empty(t, list.JobSummaryList)
}

// TestEndpointFromEnv sets environment variables, so neither it nor its
// subtests run in parallel.
func TestEndpointFromEnv(t *testing.T) {
	e := newCLIEnv(t, "envep", "true")
	url := e.srv.URL()

	t.Run("GANTRY_ENDPOINT", func(t *testing.T) {
		t.Setenv("GANTRY_ENDPOINT", url)
		id := strings.TrimSpace(mustCLI(t, "submit", "-q", e.Queue, "-d", e.JobDefinition, "-n", "from-env"))
		require.Equal(t, "from-env", aws.ToString(e.describe(t, id).JobName))
		e.wait(t, id, types.JobStatusSucceeded)
		require.Contains(t, mustCLI(t, "jobs"), id)
		require.Contains(t, mustCLI(t, "describe", id), "SUCCEEDED")
	})

	t.Run("the flag wins over the variable", func(t *testing.T) {
		t.Setenv("GANTRY_ENDPOINT", "http://127.0.0.1:1")
		id := strings.TrimSpace(mustCLI(t, "submit", "--endpoint", url, "-q", e.Queue, "-d", e.JobDefinition))
		require.Regexp(t, uuidRE, id)
		_, err := runCLI(t, "describe", id)
		require.Error(t, err, "GANTRY_ENDPOINT points nowhere")
	})

	t.Run("GANTRY_OUTPUT", func(t *testing.T) {
		t.Setenv("GANTRY_ENDPOINT", url)
		t.Setenv("GANTRY_OUTPUT", "json")
		out := mustCLI(t, "jobs", "-q", e.Queue)
		var list []types.JobSummary
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		require.NotEmpty(t, list)
		t.Setenv("GANTRY_OUTPUT", "yaml")
		_, err := runCLI(t, "jobs")
		require.ErrorContains(t, err, "--output")
	})

	t.Run("typed client flag", func(t *testing.T) {
		t.Setenv("GANTRY_ENDPOINT", url)
		t.Setenv("GANTRY_LIMIT", "abc")
		_, err := runCLI(t, "jobs")
		require.ErrorContains(t, err, "GANTRY_LIMIT")
	})
}

// TestApplyEnv sets environment variables, so it does not run in parallel.
func TestApplyEnv(t *testing.T) {
	// serverFlags returns the server command's flags, parsed from args.
	serverFlags := func(t *testing.T, args ...string) *pflag.FlagSet {
		t.Helper()
		cmd := newServerCmd()
		require.NoError(t, cmd.ParseFlags(args))
		return cmd.Flags()
	}

	t.Run("GANTRY_DATA_DIR", func(t *testing.T) {
		t.Setenv("GANTRY_DATA_DIR", "/from/env")
		fs := serverFlags(t)
		require.NoError(t, applyEnv(fs))
		dir, err := fs.GetString("data-dir")
		require.NoError(t, err)
		require.Equal(t, "/from/env", dir)

		fs = serverFlags(t, "--data-dir", "/from/flag")
		require.NoError(t, applyEnv(fs))
		dir, err = fs.GetString("data-dir")
		require.NoError(t, err)
		require.Equal(t, "/from/flag", dir, "the flag wins")
	})

	t.Run("names with dashes and typed values", func(t *testing.T) {
		t.Setenv("GANTRY_STOP_GRACE", "5s")
		t.Setenv("GANTRY_SCHEDULER_INTERVAL", "250ms")
		t.Setenv("GANTRY_KEEP_WORK_DIRS", "true")
		t.Setenv("GANTRY_ALLOW_PRIVILEGED", "1")
		fs := serverFlags(t, "--scheduler-interval", "2s")
		require.NoError(t, applyEnv(fs))
		d, err := fs.GetDuration("stop-grace")
		require.NoError(t, err)
		require.Equal(t, 5*time.Second, d)
		d, err = fs.GetDuration("scheduler-interval")
		require.NoError(t, err)
		require.Equal(t, 2*time.Second, d, "the flag wins")
		b, err := fs.GetBool("keep-work-dirs")
		require.NoError(t, err)
		require.True(t, b)
		b, err = fs.GetBool("allow-privileged")
		require.NoError(t, err)
		require.True(t, b)
	})

	t.Run("invalid typed value", func(t *testing.T) {
		t.Setenv("GANTRY_STOP_GRACE", "abc")
		err := applyEnv(serverFlags(t))
		require.ErrorContains(t, err, "GANTRY_STOP_GRACE")
		require.ErrorContains(t, err, "abc")
		// Given as a flag, the variable is not consulted.
		require.NoError(t, applyEnv(serverFlags(t, "--stop-grace", "3s")))

		// Through the binary's command line: the error comes before the
		// server opens anything.
		dir := filepath.Join(t.TempDir(), "data")
		_, err = runCLI(t, "server", "--data-dir", dir, "--addr", "127.0.0.1:0")
		require.ErrorContains(t, err, "GANTRY_STOP_GRACE")
		require.NoDirExists(t, dir)
	})

	t.Run("writer nice out of range", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := runCLI(t, "server", "--data-dir", dir, "--addr", "127.0.0.1:0", "--writer-nice", "-21")
		require.ErrorContains(t, err, "writer nice -21: must be between -20 and 19")
		require.NoDirExists(t, dir)
		t.Setenv("GANTRY_WRITER_NICE", "20")
		_, err = runCLI(t, "server", "--data-dir", dir, "--addr", "127.0.0.1:0")
		require.ErrorContains(t, err, "writer nice 20")
	})

	t.Run("server command uses GANTRY_DATA_DIR", func(t *testing.T) {
		// An unknown executor makes `gantry server` fail right after it has
		// created the data directory and opened the database there.
		tmp := t.TempDir()
		envDir, flagDir := filepath.Join(tmp, "env"), filepath.Join(tmp, "flag")
		t.Setenv("GANTRY_DATA_DIR", envDir)
		t.Setenv("GANTRY_EXECUTOR", "bogus")
		t.Setenv("GANTRY_ADDR", "127.0.0.1:0")

		_, err := runCLI(t, "server", "--data-dir", flagDir)
		require.ErrorContains(t, err, `unknown executor "bogus"`)
		require.FileExists(t, filepath.Join(flagDir, "gantry.db"))
		require.NoDirExists(t, envDir, "--data-dir was given")

		_, err = runCLI(t, "server")
		require.ErrorContains(t, err, `unknown executor "bogus"`)
		require.FileExists(t, filepath.Join(envDir, "gantry.db"))
	})
}
