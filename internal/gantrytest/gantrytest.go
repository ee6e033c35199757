// Package gantrytest runs a real Gantry server in-process on 127.0.0.1 with
// a temporary data directory, and hands tests an aws-sdk-go-v2 Batch client
// pointed at it. It is for Gantry's own end-to-end tests and for users who
// want a real Batch endpoint in their Go tests.
package gantrytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/gantrybatch/gantry/internal/server"
)

// Server is a running in-process Gantry.
type Server struct {
	*server.Server
	Config server.Config
	Batch  *batch.Client
}

// Option adjusts the server configuration before it starts.
type Option func(*server.Config)

// WithDataDir reuses a data directory (to test restarts).
func WithDataDir(dir string) Option { return func(c *server.Config) { c.DataDir = dir } }

// WithConfig lets a test change any field.
func WithConfig(fn func(*server.Config)) Option { return func(c *server.Config) { fn(c) } }

// New starts a server on 127.0.0.1:0 and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := server.Config{
		Addr:              "127.0.0.1:0",
		DataDir:           t.TempDir(),
		Executor:          "process",
		StopGrace:         2 * time.Second,
		SchedulerInterval: 50 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("gantrytest: new server: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("gantrytest: start server: %v", err)
	}
	s := &Server{Server: srv, Config: cfg, Batch: NewBatchClient(srv.URL(), "AKIDEXAMPLE", "secret")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	return s
}

// Stop closes the server now (it is also closed at the end of the test).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("gantrytest: close: %v", err)
	}
}

// NewBatchClient returns an aws-sdk-go-v2 Batch client for an endpoint, with
// static credentials and no retries (so a 5xx is never hidden).
func NewBatchClient(endpoint, akid, secret string) *batch.Client {
	return batch.New(batch.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   CopyBodyClient{C: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}},
	})
}

// CopyBodyClient sends a private copy of each request body. aws-sdk-go-v2
// closes the request body as soon as the response headers are in; when
// net/http's write loop is not quite done with it, it closes the connection,
// and a large response still being read fails with "use of closed network
// connection" (aws/aws-sdk-go-v2#2737; the SDK's default retryer hides it by
// retrying). Test clients do not retry, so they need this.
type CopyBodyClient struct{ C *http.Client }

// Do implements the SDK's HTTPClient.
func (d CopyBodyClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		r.ContentLength = int64(len(b))
	}
	return d.C.Do(r)
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// WaitForJob polls DescribeJobs until the job reaches one of the statuses or
// the deadline passes, and returns the job.
func WaitForJob(t testing.TB, c *batch.Client, jobID string, timeout time.Duration, want ...types.JobStatus) *types.JobDetail {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *types.JobDetail
	for time.Now().Before(deadline) {
		out, err := c.DescribeJobs(context.Background(), &batch.DescribeJobsInput{Jobs: []string{jobID}})
		if err != nil {
			t.Fatalf("DescribeJobs(%s): %v", jobID, err)
		}
		if len(out.Jobs) == 1 {
			last = &out.Jobs[0]
			if slices.Contains(want, last.Status) {
				return last
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	status := "not found"
	if last != nil {
		status = fmt.Sprintf("%s (%s)", last.Status, aws.ToString(last.StatusReason))
	}
	t.Fatalf("job %s did not reach %v within %v; last status %s", jobID, want, timeout, status)
	return nil
}

// Env is a ready-made compute environment, queue and job definition.
type Env struct {
	CE, Queue, JobDefinition string
}

// Setup creates a managed EC2 compute environment with maxvCpus, a queue of
// priority 1 over it and a job definition running command, the way the AWS
// getting-started guide does (dummy subnets, security groups and roles).
func Setup(t testing.TB, c *batch.Client, name string, maxVCPUs int32, command ...string) Env {
	t.Helper()
	ctx := context.Background()
	env := Env{CE: name + "-ce", Queue: name + "-queue", JobDefinition: name + "-def"}
	if _, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String(env.CE),
		Type:                   types.CETypeManaged,
		ComputeResources: &types.ComputeResource{
			Type:             types.CRTypeEc2,
			MaxvCpus:         aws.Int32(maxVCPUs),
			MinvCpus:         aws.Int32(0),
			InstanceTypes:    []string{"optimal"},
			Subnets:          []string{"subnet-0123456789abcdef0"},
			SecurityGroupIds: []string{"sg-0123456789abcdef0"},
			InstanceRole:     aws.String("ecsInstanceRole"),
		},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/AWSBatchServiceRole"),
	}); err != nil {
		t.Fatalf("CreateComputeEnvironment: %v", err)
	}
	if _, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{
		JobQueueName: aws.String(env.Queue),
		Priority:     aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{
			{Order: aws.Int32(1), ComputeEnvironment: aws.String(env.CE)},
		},
	}); err != nil {
		t.Fatalf("CreateJobQueue: %v", err)
	}
	if len(command) == 0 {
		command = []string{"true"}
	}
	if _, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{
		JobDefinitionName: aws.String(env.JobDefinition),
		Type:              types.JobDefinitionTypeContainer,
		ContainerProperties: &types.ContainerProperties{
			Image:   aws.String("busybox"),
			Command: command,
			ResourceRequirements: []types.ResourceRequirement{
				{Type: types.ResourceTypeVcpu, Value: aws.String("1")},
				{Type: types.ResourceTypeMemory, Value: aws.String("128")},
			},
		},
	}); err != nil {
		t.Fatalf("RegisterJobDefinition: %v", err)
	}
	return env
}
