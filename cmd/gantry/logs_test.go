package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsFollow follows a running job: its first line is printed while the
// job still runs, and the command ends once the job has and its output is
// all printed.
func TestLogsFollow(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t, "logsfollow")
	gate := filepath.Join(t.TempDir(), "gate")
	id := e.submitSDK(t, "follow", "sh", "-c", `echo first; while [ ! -f "$0" ]; do sleep 0.05; done; echo second`, gate)

	cmd := newRootCmd()
	var out, errOut syncBuffer
	cmd.SetArgs([]string{"logs", "--endpoint", e.srv.URL(), "--follow", "--poll-interval", "50ms", id})
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	deadline := time.Now().Add(jobTimeout)
	for !strings.Contains(out.String(), "first\n") {
		select {
		case err := <-done:
			t.Fatalf("logs --follow ended before the job did: %v\nstdout: %q\nstderr: %s", err, out.String(), errOut.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "the first line was not printed while the job runs; stdout %q", out.String())
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, types.JobStatusRunning, e.describe(t, id).Status, "the job must still run")
	require.Equal(t, "first\n", out.String())

	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	select {
	case err := <-done:
		require.NoError(t, err, "stderr: %s", errOut.String())
	case <-time.After(jobTimeout):
		t.Fatalf("logs --follow did not end after the job did; stdout %q", out.String())
	}
	require.Equal(t, "first\nsecond\n", out.String())
	require.Equal(t, types.JobStatusSucceeded, e.describe(t, id).Status)
}

func TestLogs(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t, "logs")
	url := e.srv.URL()

	t.Run("prints a finished job's output", func(t *testing.T) {
		t.Parallel()
		id := e.submitSDK(t, "done", "sh", "-c", "echo hello; echo world >&2; printf 'no newline'")
		e.wait(t, id, types.JobStatusSucceeded)
		require.Equal(t, "hello\nworld\nno newline\n", mustCLI(t, "logs", "--endpoint", url, id))
		// --follow on a finished job prints the same and ends.
		require.Equal(t, "hello\nworld\nno newline\n", mustCLI(t, "logs", "--endpoint", url, "-f", id))

		out := mustCLI(t, "logs", "--endpoint", url, "-o", "json", id)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 3, out)
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &ev))
		require.Equal(t, "hello", ev["message"])
		require.NotZero(t, ev["timestamp"])
	})

	t.Run("attempts", func(t *testing.T) {
		t.Parallel()
		out, err := e.c.SubmitJob(context.Background(), &batch.SubmitJobInput{
			JobName: aws.String("retried"), JobQueue: aws.String(e.Queue), JobDefinition: aws.String(e.JobDefinition),
			ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", `echo "attempt $AWS_BATCH_JOB_ATTEMPT"; exit 1`}},
			RetryStrategy:      &types.RetryStrategy{Attempts: aws.Int32(2)},
		})
		require.NoError(t, err)
		id := aws.ToString(out.JobId)
		j := e.wait(t, id, types.JobStatusFailed)
		require.Len(t, j.Attempts, 2)
		require.Equal(t, "attempt 2\n", mustCLI(t, "logs", "--endpoint", url, id), "the latest attempt by default")
		require.Equal(t, "attempt 1\n", mustCLI(t, "logs", "--endpoint", url, "--attempt", "1", id))
		require.Equal(t, "attempt 2\n", mustCLI(t, "logs", "--endpoint", url, "--attempt", "2", "--follow", id))
		_, err = runCLI(t, "logs", "--endpoint", url, "--attempt", "3", id)
		require.ErrorContains(t, err, "2 attempts")
	})

	t.Run("array children", func(t *testing.T) {
		t.Parallel()
		out, err := e.c.SubmitJob(context.Background(), &batch.SubmitJobInput{
			JobName: aws.String("array"), JobQueue: aws.String(e.Queue), JobDefinition: aws.String(e.JobDefinition),
			ArrayProperties:    &types.ArrayProperties{Size: aws.Int32(3)},
			ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", `echo "child $AWS_BATCH_JOB_ARRAY_INDEX"`}},
		})
		require.NoError(t, err)
		id := aws.ToString(out.JobId)
		e.wait(t, id, types.JobStatusSucceeded)
		require.Equal(t, "child 2\n", mustCLI(t, "logs", "--endpoint", url, id+":2"))
		require.Equal(t, "child 0\n", mustCLI(t, "logs", "--endpoint", url, "--follow", id+":0"))
		_, err = runCLI(t, "logs", "--endpoint", url, id)
		require.ErrorContains(t, err, id+":0")
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		_, err := runCLI(t, "logs", "--endpoint", url, "no-such-job")
		require.ErrorContains(t, err, "no such job")
		_, err = runCLI(t, "logs", "--endpoint", url)
		require.Error(t, err)
		_, err = runCLI(t, "logs", "--endpoint", url, "--attempt", "-1", "x")
		require.ErrorContains(t, err, "--attempt")
	})
}
