package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
	"github.com/gantrybatch/gantry/internal/server"
)

const (
	sigv4Key    = "AKIDGANTRY"
	sigv4Secret = "SECRETGANTRY"
)

// requireAuthError asserts err is an HTTP 403 API error with the code.
func requireAuthError(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "not an API error: %v", err)
	require.Equal(t, code, apiErr.ErrorCode(), "error: %v", err)
	require.NotEmpty(t, apiErr.ErrorMessage())
	var respErr *awshttp.ResponseError
	require.True(t, errors.As(err, &respErr), "no HTTP response: %v", err)
	require.Equal(t, http.StatusForbidden, respErr.HTTPStatusCode())
	require.NotEmpty(t, respErr.ServiceRequestID(), "x-amzn-RequestId")
}

// rawPost sends an unsigned POST and returns the response and its body.
func rawPost(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// TestSigV4Required runs a server with a credentials file: only requests
// signed with a listed key and its secret get through.
func TestSigV4Required(t *testing.T) {
	t.Parallel()
	credsFile := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(credsFile, []byte("# Gantry access keys\n"+sigv4Key+" "+sigv4Secret+"\n"), 0o600))
	srv := gantrytest.New(t, gantrytest.WithConfig(func(c *server.Config) { c.CredentialsFile = credsFile }))

	// The right key works end to end.
	c := gantrytest.NewBatchClient(srv.URL(), sigv4Key, sigv4Secret)
	env := gantrytest.Setup(t, c, "signed", 2, "sh", "-c", "echo signed")
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("signed"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	job := wait(t, c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job.Status, aws.ToString(job.StatusReason))
	require.Equal(t, int32(0), aws.ToInt32(job.Container.ExitCode))
	queueArn := arnPrefix + "job-queue/" + env.Queue
	_, err := c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String(queueArn), Tags: map[string]string{"signed": "yes"}})
	require.NoError(t, err, "a signed request with the ARN in the path")
	tags, err := c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(queueArn)})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"signed": "yes"}, tags.Tags)

	// The wrong secret, and a key the server does not know.
	bad := gantrytest.NewBatchClient(srv.URL(), sigv4Key, "not-the-secret")
	_, err = bad.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
	requireAuthError(t, err, "InvalidSignatureException")
	_, err = bad.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("forged"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	requireAuthError(t, err, "InvalidSignatureException")
	_, err = srv.Batch.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{}) // AKIDEXAMPLE
	requireAuthError(t, err, "UnrecognizedClientException")
	_, err = gantrytest.NewBatchClient(srv.URL(), "AKIDUNKNOWN", sigv4Secret).ListTagsForResource(ctx,
		&batch.ListTagsForResourceInput{ResourceArn: aws.String(queueArn)})
	requireAuthError(t, err, "UnrecognizedClientException")

	// An unsigned request gets the AWS error shape and changes nothing.
	resp, body := rawPost(t, srv.URL()+"/v1/createjobqueue",
		`{"jobQueueName":"unsigned","priority":1,"computeEnvironmentOrder":[{"order":1,"computeEnvironment":"`+env.CE+`"}]}`)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "body %s", body)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, "MissingAuthenticationTokenException", resp.Header.Get("X-Amzn-ErrorType"))
	require.NotEmpty(t, resp.Header.Get("x-amzn-RequestId"))
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), "body %q", body)
	require.Equal(t, "MissingAuthenticationTokenException", m["__type"])
	require.Contains(t, m["message"], "Authentication Token")
	require.Len(t, m, 2, "an error body has exactly __type and message: %s", body)

	// Nothing the rejected requests asked for happened.
	queues, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
	require.NoError(t, err)
	require.Len(t, queues.JobQueues, 1)
	require.Equal(t, env.Queue, aws.ToString(queues.JobQueues[0].JobQueueName))
	list, err := c.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String(env.Queue),
		Filters: []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"*"}}}})
	require.NoError(t, err)
	require.Len(t, list.JobSummaryList, 1, "only the signed job exists")

	// Health checks need no credentials.
	hresp, err := http.Get(srv.URL() + "/healthz")
	require.NoError(t, err)
	hbody, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	require.Equal(t, http.StatusOK, hresp.StatusCode, "body %s", hbody)

	// The aws CLI signs with the key from its environment.
	t.Run("aws CLI", func(t *testing.T) {
		bin := requireTool(t, "aws", "--version")
		var out struct {
			JobQueues []struct{ JobQueueName string }
		}
		newAWSCLI(t, bin, srv.URL(), sigv4Key, sigv4Secret).json(&out, "describe-job-queues")
		require.Len(t, out.JobQueues, 1)
		require.Equal(t, env.Queue, out.JobQueues[0].JobQueueName)

		stderr := newAWSCLI(t, bin, srv.URL(), sigv4Key, "not-the-secret").fails("describe-job-queues")
		require.Contains(t, stderr, "InvalidSignatureException")
		stderr = newAWSCLI(t, bin, srv.URL(), "AKIDUNKNOWN", sigv4Secret).fails("describe-job-queues")
		require.Contains(t, stderr, "UnrecognizedClientException")
	})
}

// TestSigV4OffByDefault: without a credentials file any key, and no
// signature at all, is accepted, like a local emulator.
func TestSigV4OffByDefault(t *testing.T) {
	t.Parallel()
	srv := gantrytest.New(t)
	for _, c := range []*batch.Client{
		srv.Batch,
		gantrytest.NewBatchClient(srv.URL(), sigv4Key, "any-secret"),
		gantrytest.NewBatchClient(srv.URL(), "AKIDUNKNOWN", "whatever"),
	} {
		_, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
		require.NoError(t, err)
	}
	env := gantrytest.Setup(t, gantrytest.NewBatchClient(srv.URL(), "AKIDUNKNOWN", "whatever"), "open", 2, "true")

	resp, body := rawPost(t, srv.URL()+"/v1/describejobqueues", `{}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	var out struct {
		JobQueues []struct {
			JobQueueName string `json:"jobQueueName"`
		} `json:"jobQueues"`
	}
	require.NoError(t, json.Unmarshal(body, &out), "body %q", body)
	require.Len(t, out.JobQueues, 1)
	require.Equal(t, env.Queue, out.JobQueues[0].JobQueueName)

	// An unsigned SubmitJob runs.
	resp, body = rawPost(t, srv.URL()+"/v1/submitjob",
		`{"jobName":"unsigned","jobQueue":"`+env.Queue+`","jobDefinition":"`+env.JobDefinition+`"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body %s", body)
	var sub struct {
		JobID string `json:"jobId"`
	}
	require.NoError(t, json.Unmarshal(body, &sub), "body %q", body)
	job := wait(t, srv.Batch, sub.JobID, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, job.Status, aws.ToString(job.StatusReason))

	t.Run("aws CLI", func(t *testing.T) {
		bin := requireTool(t, "aws", "--version")
		var out struct {
			JobQueues []struct{ JobQueueName string }
		}
		newAWSCLI(t, bin, srv.URL(), "AKIDANYTHING", "anything").json(&out, "describe-job-queues")
		require.Len(t, out.JobQueues, 1)
	})
}
