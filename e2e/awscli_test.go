package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// requireTool returns the path of an installed program that the tests driving
// Gantry with real AWS clients (the aws CLI, boto3) need; probe is a command
// line that must succeed with it (say "--version"). When the program is
// missing or broken the test fails if GANTRY_REQUIRE_TOOLS or CI is set
// (scripts/test.sh and CI install the tools), and is skipped otherwise.
func requireTool(t *testing.T, name string, probe ...string) string {
	t.Helper()
	path, err := findTool(name, probe...)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is needed to test Gantry with a real AWS client: %v", name, err)
	for _, v := range []string{"GANTRY_REQUIRE_TOOLS", "CI"} {
		if os.Getenv(v) != "" {
			t.Fatalf("%s (%s is set: a missing tool is a failure, not a skip)", msg, v)
		}
	}
	t.Skipf("%s (set GANTRY_REQUIRE_TOOLS=1 to make this a failure)", msg)
	return ""
}

// findTool looks a program up and runs its probe, once per process for each
// name and probe.
func findTool(name string, probe ...string) (string, error) {
	type result struct {
		path string
		err  error
	}
	key := strings.Join(append([]string{name}, probe...), "\x00")
	once, _ := toolCache.LoadOrStore(key, sync.OnceValue(func() result {
		path, err := exec.LookPath(name)
		if err != nil {
			return result{"", err}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		path = resolveShim(ctx, name, path)
		if len(probe) == 0 {
			return result{path, nil}
		}
		if out, err := exec.CommandContext(ctx, path, probe...).CombinedOutput(); err != nil {
			return result{"", fmt.Errorf("%s %s: %v: %s", name, strings.Join(probe, " "), err, bytes.TrimSpace(out))}
		}
		return result{path, nil}
	}))
	r := once.(func() result)()
	return r.path, r.err
}

var toolCache sync.Map // name and probe -> func() result (sync.OnceValue)

// resolveShim returns the program a pyenv shim at path runs, or path if it
// is not a shim. A shim finds its program through a chain of bash processes
// on every run, which costs more than starting the aws CLI itself on a busy
// machine, and the tests run aws dozens of times.
func resolveShim(ctx context.Context, name, path string) string {
	if filepath.Base(filepath.Dir(path)) != "shims" {
		return path
	}
	pyenv, err := exec.LookPath("pyenv")
	if err != nil {
		return path
	}
	out, err := exec.CommandContext(ctx, pyenv, "which", name).Output()
	if err != nil {
		return path
	}
	real := strings.TrimSpace(string(out))
	if fi, err := os.Stat(real); err != nil || fi.IsDir() {
		return path
	}
	return real
}

// awsEnv is the environment for an AWS client process: this process's
// environment without any AWS_* variable, so that a developer's profile,
// region or endpoint cannot leak in, plus the given credentials, region
// us-east-1, no config files and no pager.
func awsEnv(akid, secret string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+akid,
		"AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	return append(env, extra...)
}

// awsCLI runs `aws batch --endpoint-url <endpoint> ...`, the README's $B.
type awsCLI struct {
	t             *testing.T
	bin, endpoint string
	akid, secret  string
}

func newAWSCLI(t *testing.T, bin, endpoint, akid, secret string) *awsCLI {
	return &awsCLI{t: t, bin: bin, endpoint: endpoint, akid: akid, secret: secret}
}

// with returns a copy that reports to t (for subtests).
func (c *awsCLI) with(t *testing.T) *awsCLI {
	cp := *c
	cp.t = t
	return &cp
}

// run runs one batch command and returns its stdout and stderr; err is the
// *exec.ExitError when it exits non-zero.
func (c *awsCLI) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"batch", "--endpoint-url", c.endpoint}, args...)...)
	cmd.Env = awsEnv(c.akid, c.secret)
	cmd.WaitDelay = 2 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	c.t.Logf("aws batch %s: %s in %v", args[0], result, time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		c.t.Fatalf("aws batch %s: timed out: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String(), err
}

// ok runs a batch command that must succeed and returns its stdout.
func (c *awsCLI) ok(args ...string) string {
	c.t.Helper()
	stdout, stderr, err := c.run(args...)
	require.NoError(c.t, err, "aws batch %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), stdout, stderr)
	return stdout
}

// json runs a batch command that must succeed and decodes its JSON output
// into v.
func (c *awsCLI) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(args...)
	require.NoError(c.t, json.Unmarshal([]byte(out), v), "aws batch %s printed %q", strings.Join(args, " "), out)
}

// fails runs a batch command that must exit non-zero and returns its stderr.
func (c *awsCLI) fails(args ...string) string {
	c.t.Helper()
	stdout, stderr, err := c.run(args...)
	var exitErr *exec.ExitError
	require.True(c.t, errors.As(err, &exitErr), "aws batch %s: want a non-zero exit, got err=%v\nstdout: %s\nstderr: %s",
		strings.Join(args, " "), err, stdout, stderr)
	require.NotZero(c.t, exitErr.ExitCode())
	return stderr
}

// cliJob is the part of a DescribeJobs job detail the CLI tests look at.
type cliJob struct {
	JobID         string            `json:"jobId"`
	JobArn        string            `json:"jobArn"`
	JobName       string            `json:"jobName"`
	JobQueue      string            `json:"jobQueue"`
	JobDefinition string            `json:"jobDefinition"`
	Status        string            `json:"status"`
	StatusReason  string            `json:"statusReason"`
	IsCancelled   *bool             `json:"isCancelled"`
	IsTerminated  *bool             `json:"isTerminated"`
	Parameters    map[string]string `json:"parameters"`
	CreatedAt     int64             `json:"createdAt"`
	StartedAt     int64             `json:"startedAt"`
	StoppedAt     int64             `json:"stoppedAt"`
	Container     struct {
		Image         string   `json:"image"`
		Command       []string `json:"command"`
		ExitCode      *int     `json:"exitCode"`
		LogStreamName string   `json:"logStreamName"`
	} `json:"container"`
	Attempts []json.RawMessage `json:"attempts"`
}

// waitJob polls describe-jobs until the job reaches one of the statuses.
func (c *awsCLI) waitJob(id string, want ...string) cliJob {
	c.t.Helper()
	return c.waitJobs(want, id)[0]
}

// waitJobs polls describe-jobs (one call for all ids) until every job has
// reached one of the statuses, and returns them in the order of ids.
func (c *awsCLI) waitJobs(want []string, ids ...string) []cliJob {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out struct{ Jobs []cliJob }
		c.json(&out, append([]string{"describe-jobs", "--jobs"}, ids...)...)
		require.Len(c.t, out.Jobs, len(ids), "describe-jobs --jobs %v", ids)
		byID := map[string]cliJob{}
		for _, j := range out.Jobs {
			byID[j.JobID] = j
		}
		jobs, done := make([]cliJob, len(ids)), true
		for i, id := range ids {
			j, found := byID[id]
			require.True(c.t, found, "describe-jobs --jobs %v did not return %s", ids, id)
			jobs[i] = j
			done = done && slices.Contains(want, j.Status)
		}
		if done {
			return jobs
		}
		if time.Now().After(deadline) {
			for _, j := range jobs {
				c.t.Logf("job %s (%s): %s %s", j.JobID, j.JobName, j.Status, j.StatusReason)
			}
			c.t.Fatalf("jobs %v did not all reach %v in time", ids, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const arnPrefix = "arn:aws:batch:us-east-1:000000000000:"

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestAWSCLIGettingStarted runs the README's aws CLI quick start as written,
// then the rest of the resource life cycle through the same CLI.
func TestAWSCLIGettingStarted(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "aws", "--version")
	srv := gantrytest.New(t)
	B := newAWSCLI(t, bin, srv.URL(), "gantry", "gantry")

	// --- The README, step by step. ---
	var ce struct{ ComputeEnvironmentName, ComputeEnvironmentArn string }
	B.json(&ce, "create-compute-environment", "--compute-environment-name", "local", "--type", "MANAGED",
		"--compute-resources", "type=EC2,maxvCpus=4,subnets=subnet-1,securityGroupIds=sg-1,instanceRole=ecsInstanceRole,instanceTypes=optimal")
	require.Equal(t, "local", ce.ComputeEnvironmentName)
	require.Equal(t, arnPrefix+"compute-environment/local", ce.ComputeEnvironmentArn)

	var q struct{ JobQueueName, JobQueueArn string }
	B.json(&q, "create-job-queue", "--job-queue-name", "default", "--priority", "1",
		"--compute-environment-order", "order=1,computeEnvironment=local")
	require.Equal(t, "default", q.JobQueueName)
	require.Equal(t, arnPrefix+"job-queue/default", q.JobQueueArn)

	// The README's two-line JSON, newline and indentation included.
	registerHello := []string{"register-job-definition", "--job-definition-name", "hello", "--type", "container",
		"--container-properties", `{"image":"busybox","command":["sh","-c","echo hello from $AWS_BATCH_JOB_ID; echo Ref::who"],
                           "resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"128"}]}`,
		"--parameters", "who=world"}
	var def struct {
		JobDefinitionName, JobDefinitionArn string
		Revision                            int
	}
	B.json(&def, registerHello...)
	require.Equal(t, "hello", def.JobDefinitionName)
	require.Equal(t, arnPrefix+"job-definition/hello:1", def.JobDefinitionArn)
	require.Equal(t, 1, def.Revision)

	job := strings.TrimSpace(B.ok("submit-job", "--job-name", "hello-1", "--job-queue", "default", "--job-definition", "hello",
		"--query", "jobId", "--output", "text"))
	require.Regexp(t, uuidRE, job, "submit-job --query jobId --output text")

	done := B.waitJob(job, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", done.Status, done.StatusReason)
	require.Equal(t, job, done.JobID)
	require.Equal(t, "hello-1", done.JobName)
	require.Equal(t, arnPrefix+"job/"+job, done.JobArn)
	require.Equal(t, q.JobQueueArn, done.JobQueue)
	require.Equal(t, def.JobDefinitionArn, done.JobDefinition)
	require.Equal(t, map[string]string{"who": "world"}, done.Parameters)
	require.NotNil(t, done.Container.ExitCode)
	require.Equal(t, 0, *done.Container.ExitCode)
	require.Equal(t, []string{"sh", "-c", "echo hello from $AWS_BATCH_JOB_ID; echo world"}, done.Container.Command,
		"Ref::who is replaced by the parameter")
	require.Len(t, done.Attempts, 1)
	require.NotZero(t, done.CreatedAt)
	require.GreaterOrEqual(t, done.StartedAt, done.CreatedAt)
	require.GreaterOrEqual(t, done.StoppedAt, done.StartedAt)

	// The README's --query, which prints a JSON array.
	var row []any
	B.json(&row, "describe-jobs", "--jobs", job, "--query", "jobs[0].[status,statusReason,container.exitCode,container.logStreamName]")
	require.Len(t, row, 4)
	require.Equal(t, "SUCCEEDED", row[0])
	require.Equal(t, "Essential container in task exited", row[1])
	require.Equal(t, float64(0), row[2])
	require.Equal(t, done.Container.LogStreamName, row[3])
	require.True(t, strings.HasPrefix(done.Container.LogStreamName, "hello/default/"), done.Container.LogStreamName)

	// The job printed what the README promises.
	logs := readAllLogs(t, filepath.Join(srv.Config.DataDir, "logs"))
	require.Contains(t, logs, "hello from "+job)
	require.Contains(t, logs, "world")

	var list struct {
		JobSummaryList []struct {
			JobID, JobName, JobArn, Status string
			Container                      struct {
				ExitCode *int `json:"exitCode"`
			}
		}
	}
	B.json(&list, "list-jobs", "--job-queue", "default", "--job-status", "SUCCEEDED")
	require.Len(t, list.JobSummaryList, 1)
	require.Equal(t, job, list.JobSummaryList[0].JobID)
	require.Equal(t, "hello-1", list.JobSummaryList[0].JobName)
	require.Equal(t, arnPrefix+"job/"+job, list.JobSummaryList[0].JobArn)
	require.Equal(t, "SUCCEEDED", list.JobSummaryList[0].Status)
	require.NotNil(t, list.JobSummaryList[0].Container.ExitCode)
	require.Equal(t, 0, *list.JobSummaryList[0].Container.ExitCode)

	// --- Beyond the README; independent parts run concurrently (each aws
	// invocation spends most of its time starting Python). ---
	concurrently(t, map[string]func(*testing.T){
		"describe": func(t *testing.T) {
			B := B.with(t)
			var ces struct {
				ComputeEnvironments []struct {
					ComputeEnvironmentName, ComputeEnvironmentArn, Type, State, Status string
					ComputeResources                                                   struct {
						Type             string   `json:"type"`
						MaxvCpus         int      `json:"maxvCpus"`
						Subnets          []string `json:"subnets"`
						SecurityGroupIds []string `json:"securityGroupIds"`
						InstanceRole     string   `json:"instanceRole"`
						InstanceTypes    []string `json:"instanceTypes"`
					}
				}
			}
			B.json(&ces, "describe-compute-environments", "--compute-environments", "local")
			require.Len(t, ces.ComputeEnvironments, 1)
			gotCE := ces.ComputeEnvironments[0]
			require.Equal(t, "local", gotCE.ComputeEnvironmentName)
			require.Equal(t, ce.ComputeEnvironmentArn, gotCE.ComputeEnvironmentArn)
			require.Equal(t, "MANAGED", gotCE.Type)
			require.Equal(t, "ENABLED", gotCE.State)
			require.Equal(t, "VALID", gotCE.Status)
			require.Equal(t, "EC2", gotCE.ComputeResources.Type)
			require.Equal(t, 4, gotCE.ComputeResources.MaxvCpus)
			require.Equal(t, []string{"subnet-1"}, gotCE.ComputeResources.Subnets)
			require.Equal(t, []string{"sg-1"}, gotCE.ComputeResources.SecurityGroupIds)
			require.Equal(t, "ecsInstanceRole", gotCE.ComputeResources.InstanceRole)
			require.Equal(t, []string{"optimal"}, gotCE.ComputeResources.InstanceTypes)

			var queues struct {
				JobQueues []struct {
					JobQueueName, JobQueueArn, State, Status string
					Priority                                 int
					ComputeEnvironmentOrder                  []struct {
						Order              int
						ComputeEnvironment string
					}
				}
			}
			B.json(&queues, "describe-job-queues", "--job-queues", "default")
			require.Len(t, queues.JobQueues, 1)
			gotQ := queues.JobQueues[0]
			require.Equal(t, "default", gotQ.JobQueueName)
			require.Equal(t, q.JobQueueArn, gotQ.JobQueueArn)
			require.Equal(t, "ENABLED", gotQ.State)
			require.Equal(t, "VALID", gotQ.Status)
			require.Equal(t, 1, gotQ.Priority)
			require.Len(t, gotQ.ComputeEnvironmentOrder, 1)
			require.Equal(t, 1, gotQ.ComputeEnvironmentOrder[0].Order)
			require.Equal(t, ce.ComputeEnvironmentArn, gotQ.ComputeEnvironmentOrder[0].ComputeEnvironment)
		},

		"job definition revisions": func(t *testing.T) {
			B := B.with(t)
			// Registering the same name again makes revision 2.
			var def2 struct {
				JobDefinitionArn string
				Revision         int
			}
			B.json(&def2, registerHello...)
			require.Equal(t, 2, def2.Revision)
			require.Equal(t, arnPrefix+"job-definition/hello:2", def2.JobDefinitionArn)

			type cliJobDef struct {
				JobDefinitionName, JobDefinitionArn, Type, Status string
				Revision                                          int
				Parameters                                        map[string]string
				ContainerProperties                               struct {
					Image                string
					Command              []string
					ResourceRequirements []struct{ Type, Value string }
				}
			}
			out := strings.TrimSpace(B.ok("deregister-job-definition", "--job-definition", "hello:1"))
			require.Contains(t, []string{"", "{}"}, out, "DeregisterJobDefinition returns an empty object")

			// Without --status, both revisions: 1 now INACTIVE, 2 ACTIVE.
			var defs struct{ JobDefinitions []cliJobDef }
			B.json(&defs, "describe-job-definitions", "--job-definition-name", "hello")
			require.Len(t, defs.JobDefinitions, 2)
			slices.SortFunc(defs.JobDefinitions, func(a, b cliJobDef) int { return a.Revision - b.Revision })
			for i, d := range defs.JobDefinitions {
				require.Equal(t, i+1, d.Revision)
				require.Equal(t, fmt.Sprintf("%sjob-definition/hello:%d", arnPrefix, i+1), d.JobDefinitionArn)
				require.Equal(t, "hello", d.JobDefinitionName)
				require.Equal(t, "container", d.Type)
				require.Equal(t, map[string]string{"who": "world"}, d.Parameters)
				require.Equal(t, "busybox", d.ContainerProperties.Image)
				require.Equal(t, []string{"sh", "-c", "echo hello from $AWS_BATCH_JOB_ID; echo Ref::who"}, d.ContainerProperties.Command)
				require.Equal(t, []struct{ Type, Value string }{{"VCPU", "1"}, {"MEMORY", "128"}}, d.ContainerProperties.ResourceRequirements)
			}
			require.Equal(t, "INACTIVE", defs.JobDefinitions[0].Status)
			require.Equal(t, "ACTIVE", defs.JobDefinitions[1].Status)
		},

		"tags": func(t *testing.T) {
			B := B.with(t)
			B.ok("tag-resource", "--resource-arn", q.JobQueueArn, "--tags", "team=data,env=test")
			var tags struct{ Tags map[string]string }
			B.json(&tags, "list-tags-for-resource", "--resource-arn", q.JobQueueArn)
			require.Equal(t, map[string]string{"team": "data", "env": "test"}, tags.Tags)
		},

		"cancel and terminate": func(t *testing.T) {
			B := B.with(t)
			gate := filepath.Join(t.TempDir(), "gate")
			t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o600) }) // lets the sleeper end if the test fails early
			var sub struct{ JobID, JobName, JobArn string }
			B.json(&sub, "submit-job", "--job-name", "sleeper", "--job-queue", "default", "--job-definition", "hello",
				"--container-overrides", `{"command":["sh","-c","while [ ! -f `+gate+` ]; do sleep 0.05; done"]}`)
			sleeper := sub.JobID
			require.Regexp(t, uuidRE, sleeper)
			require.Equal(t, "sleeper", sub.JobName)
			require.Equal(t, arnPrefix+"job/"+sleeper, sub.JobArn)
			B.waitJob(sleeper, "RUNNING")

			// waiter cannot start while sleeper runs: cancel-job fails it.
			waiter := strings.TrimSpace(B.ok("submit-job", "--job-name", "waiter", "--job-queue", "default", "--job-definition", "hello",
				"--depends-on", "jobId="+sleeper, "--query", "jobId", "--output", "text"))
			B.ok("cancel-job", "--job-id", waiter, "--reason", "not needed")
			// terminate-job kills the running sleeper.
			B.ok("terminate-job", "--job-id", sleeper, "--reason", "stop it")

			jobs := B.waitJobs([]string{"FAILED", "SUCCEEDED"}, waiter, sleeper)
			cancelled, terminated := jobs[0], jobs[1]
			require.Equal(t, "FAILED", cancelled.Status)
			require.Equal(t, "not needed", cancelled.StatusReason)
			require.NotNil(t, cancelled.IsCancelled)
			require.True(t, *cancelled.IsCancelled)
			require.Empty(t, cancelled.Attempts, "a cancelled job never started")

			require.Equal(t, "FAILED", terminated.Status)
			require.Equal(t, "stop it", terminated.StatusReason)
			require.NotNil(t, terminated.IsTerminated)
			require.True(t, *terminated.IsTerminated)
			require.NotNil(t, terminated.Container.ExitCode)
			require.Equal(t, 143, *terminated.Container.ExitCode, "128+SIGTERM")
		},

		"unknown queue": func(t *testing.T) {
			stderr := B.with(t).fails("submit-job", "--job-name", "x", "--job-queue", "no-such-queue", "--job-definition", "hello")
			require.Contains(t, stderr, "ClientException")
			require.Contains(t, stderr, "SubmitJob")
		},
	})
	if t.Failed() {
		return
	}

	// --- Tearing down. ---
	var upd struct{ JobQueueName, JobQueueArn string }
	B.json(&upd, "update-job-queue", "--job-queue", "default", "--state", "DISABLED")
	require.Equal(t, "default", upd.JobQueueName)
	require.Equal(t, q.JobQueueArn, upd.JobQueueArn)
	B.ok("delete-job-queue", "--job-queue", "default")
	B.waitGone("describe-job-queues", "--job-queues", "default")

	ce = struct{ ComputeEnvironmentName, ComputeEnvironmentArn string }{}
	B.json(&ce, "update-compute-environment", "--compute-environment", "local", "--state", "DISABLED")
	require.Equal(t, "local", ce.ComputeEnvironmentName)
	require.Equal(t, arnPrefix+"compute-environment/local", ce.ComputeEnvironmentArn)
	B.ok("delete-compute-environment", "--compute-environment", "local")
	B.waitGone("describe-compute-environments", "--compute-environments", "local")
}

// concurrently runs subtests at the same time and returns when all have
// ended. They are ordinary subtests started from goroutines (which t.Run
// allows), not t.Parallel ones, so they do not queue for a -parallel slot
// behind the package's other tests.
func concurrently(t *testing.T, subtests map[string]func(*testing.T)) {
	t.Helper()
	var wg sync.WaitGroup
	for name, fn := range subtests {
		wg.Go(func() { t.Run(name, fn) })
	}
	wg.Wait()
}

// waitGone polls a describe command naming one resource until the resource
// is no longer listed or is listed with status DELETED (AWS deletes
// asynchronously: DELETING, then DELETED, then gone).
func (c *awsCLI) waitGone(args ...string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out map[string][]struct{ Status string }
		c.json(&out, args...)
		require.Len(c.t, out, 1, "aws batch %s", strings.Join(args, " "))
		var items []struct{ Status string }
		for _, v := range out {
			items = v
		}
		if len(items) == 0 || (len(items) == 1 && items[0].Status == "DELETED") {
			return
		}
		require.Len(c.t, items, 1)
		if time.Now().After(deadline) {
			c.t.Fatalf("aws batch %s: still there with status %s", strings.Join(args, " "), items[0].Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readAllLogs returns the contents of every job log stream under dir.
func readAllLogs(t *testing.T, dir string) string {
	t.Helper()
	var all strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all.Write(b)
		return err
	})
	require.NoError(t, err)
	return all.String()
}
