package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// boto3Summary is the JSON line testdata/getting_started.py prints last.
type boto3Summary struct {
	Readme struct {
		JobID, JobArn, JobName, Status, StatusReason, JobQueue, JobDefinition string
		ExitCode                                                              *int
	}
	ListJobs struct {
		Pages           int      `json:"pages"`
		PageSizes       []int    `json:"page_sizes"`
		JobIDs          []string `json:"jobIds"`
		Expected        []string `json:"expected"`
		FullResultCount int      `json:"full_result_count"`
	} `json:"list_jobs"`
	DescribeJobDefinitions struct {
		RegisteredRevisions []int    `json:"registered_revisions"`
		Pages               int      `json:"pages"`
		PageSizes           []int    `json:"page_sizes"`
		Revisions           []int    `json:"revisions"`
		Arns                []string `json:"arns"`
	} `json:"describe_job_definitions"`
	DisabledQueue struct {
		Raised     *string `json:"raised"`
		Code       string  `json:"code"`
		Message    string  `json:"message"`
		HTTPStatus int     `json:"http_status"`
		RequestID  string  `json:"request_id"`
	} `json:"disabled_queue"`
	DescribeUnknown struct {
		JobIDs []string `json:"jobIds"`
	} `json:"describe_unknown"`
	Tags struct {
		QueueArn           string            `json:"queueArn"`
		AfterTag           map[string]string `json:"after_tag"`
		AfterUntag         map[string]string `json:"after_untag"`
		DescribedQueueTags map[string]string `json:"described_queue_tags"`
		JobTags            map[string]string `json:"job_tags"`
	}
	Failing struct {
		JobID           string `json:"jobId"`
		Status          string `json:"status"`
		StatusReason    string `json:"statusReason"`
		ExitCode        *int   `json:"exitCode"`
		Attempts        int    `json:"attempts"`
		AttemptExitCode *int   `json:"attempt_exitCode"`
	}
}

// TestBoto3GettingStarted runs the README's boto3 quick start, and more
// (paginators, modeled exceptions, tags, a failing job), through
// testdata/getting_started.py.
func TestBoto3GettingStarted(t *testing.T) {
	t.Parallel()
	python := requireTool(t, "python3", "-c", "import boto3, botocore")
	srv := gantrytest.New(t)

	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "getting_started.py"), srv.URL())
	// Any credentials work without --credentials; the script passes the
	// README's, and the environment must not add a profile or endpoint.
	cmd.Env = awsEnv("unused", "unused", "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "getting_started.py timed out\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	require.NoError(t, err, "getting_started.py\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	require.Equal(t, 0, cmd.ProcessState.ExitCode())
	t.Logf("getting_started.py printed:\n%s", stdout.String())

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 2, "stdout: %s", stdout.String())
	// The README's own print.
	require.Equal(t, "SUCCEEDED 0", lines[0])
	var s boto3Summary
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &s), "last line: %s", lines[len(lines)-1])

	// The README job.
	require.Regexp(t, uuidRE, s.Readme.JobID)
	require.Equal(t, arnPrefix+"job/"+s.Readme.JobID, s.Readme.JobArn)
	require.Equal(t, "py-1", s.Readme.JobName)
	require.Equal(t, "SUCCEEDED", s.Readme.Status)
	require.NotNil(t, s.Readme.ExitCode)
	require.Equal(t, 0, *s.Readme.ExitCode)
	require.Equal(t, "Essential container in task exited", s.Readme.StatusReason)
	require.Equal(t, arnPrefix+"job-queue/py", s.Readme.JobQueue)
	require.Equal(t, arnPrefix+"job-definition/py:1", s.Readme.JobDefinition)

	// list_jobs in pages of 2: six jobs, three full pages, each job once,
	// newest first.
	lj := s.ListJobs
	require.Len(t, lj.Expected, 6)
	require.GreaterOrEqual(t, lj.Pages, 3, "page sizes %v", lj.PageSizes)
	for _, n := range lj.PageSizes {
		require.LessOrEqual(t, n, 2, "page sizes %v", lj.PageSizes)
	}
	require.ElementsMatch(t, lj.Expected, lj.JobIDs)
	require.Equal(t, 6, lj.FullResultCount)

	// describe_job_definitions in pages of 2 over five revisions.
	dd := s.DescribeJobDefinitions
	require.Equal(t, []int{2, 3, 4, 5}, dd.RegisteredRevisions)
	require.GreaterOrEqual(t, dd.Pages, 3, "page sizes %v", dd.PageSizes)
	for _, n := range dd.PageSizes {
		require.LessOrEqual(t, n, 2, "page sizes %v", dd.PageSizes)
	}
	require.ElementsMatch(t, []int{1, 2, 3, 4, 5}, dd.Revisions)
	for _, arn := range dd.Arns {
		require.True(t, strings.HasPrefix(arn, arnPrefix+"job-definition/py:"), arn)
	}

	// The disabled queue raised batch.exceptions.ClientException.
	dq := s.DisabledQueue
	require.NotNil(t, dq.Raised, "submit_job to a DISABLED queue did not raise")
	require.Equal(t, "ClientException", *dq.Raised)
	require.Equal(t, "ClientException", dq.Code)
	require.Equal(t, 400, dq.HTTPStatus)
	require.Contains(t, dq.Message, "DISABLED")
	require.NotEmpty(t, dq.RequestID)

	require.Equal(t, []string{s.Readme.JobID}, s.DescribeUnknown.JobIDs, "an unknown id is left out")

	tg := s.Tags
	require.Equal(t, arnPrefix+"job-queue/py", tg.QueueArn)
	require.Equal(t, map[string]string{"team": "ml", "env": "dev", "cost center": "a/b=c"}, tg.AfterTag)
	require.Equal(t, map[string]string{"team": "ml"}, tg.AfterUntag)
	require.Equal(t, map[string]string{"team": "ml"}, tg.DescribedQueueTags)
	require.Equal(t, map[string]string{"owner": "boto3"}, tg.JobTags)

	f := s.Failing
	require.Equal(t, "FAILED", f.Status)
	require.Equal(t, "Essential container in task exited", f.StatusReason)
	require.NotNil(t, f.ExitCode)
	require.Equal(t, 4, *f.ExitCode)
	require.Equal(t, 1, f.Attempts)
	require.NotNil(t, f.AttemptExitCode)
	require.Equal(t, 4, *f.AttemptExitCode)
}
