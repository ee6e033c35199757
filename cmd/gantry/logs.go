package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/spf13/cobra"
)

// defaultLogGroup is where Batch jobs log unless their logConfiguration
// names an awslogs-group.
const defaultLogGroup = "/aws/batch/job"

func (o *clientOptions) logsClient() *cloudwatchlogs.Client {
	akid, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if akid == "" {
		akid, secret = "gantry", "gantry"
	}
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       o.region,
		BaseEndpoint: aws.String(o.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, os.Getenv("AWS_SESSION_TOKEN")),
	})
}

func newLogsCmd(o *clientOptions) *cobra.Command {
	f := &logFollower{}
	cmd := &cobra.Command{
		Use:   "logs JOB_ID [--follow] [--attempt N]",
		Short: "Print a job's output (its latest attempt's, or attempt N's); JOB_ID:INDEX for an array child",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if f.attempt < 0 {
				return fmt.Errorf("--attempt: %d must be 1 or more", f.attempt)
			}
			if f.interval <= 0 {
				return fmt.Errorf("--poll-interval: %v must be positive", f.interval)
			}
			f.jobID, f.batch, f.logs = args[0], o.client(), o.logsClient()
			f.out, f.errOut, f.json = cmd.OutOrStdout(), cmd.ErrOrStderr(), o.output == "json"
			return f.run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing new output until the job has finished")
	fl.IntVar(&f.attempt, "attempt", 0, "attempt number, from 1 (default: the latest, or the running one)")
	fl.DurationVar(&f.interval, "poll-interval", time.Second, "with --follow, how often to poll for new output")
	_ = fl.MarkHidden("poll-interval")
	return cmd
}

// logFollower prints a job attempt's log stream with GetLogEvents.
type logFollower struct {
	jobID    string
	attempt  int // from 1; 0 for the latest
	follow   bool
	interval time.Duration
	batch    *batch.Client
	logs     *cloudwatchlogs.Client
	out      io.Writer
	errOut   io.Writer
	json     bool
}

// errNoStream means the attempt has no log stream yet.
var errNoStream = errors.New("no log stream yet")

// run prints the stream from its head. With follow it polls: it switches
// to a new attempt's stream (without --attempt) and returns once the job
// was seen finished (or the attempt asked for over) and its stream drained
// after that.
func (f *logFollower) run(ctx context.Context) error {
	var group, stream, token string
	for {
		job, err := f.describe(ctx)
		if err != nil {
			return err
		}
		// Read the status before draining: output is all stored before a
		// job is recorded as finished.
		finished := job.Status == types.JobStatusSucceeded || job.Status == types.JobStatusFailed
		g, s, attemptOver, err := logTarget(job, f.attempt)
		switch {
		case errors.Is(err, errNoStream) && f.follow && !finished:
		case err != nil:
			return fmt.Errorf("%s: %w", f.jobID, err)
		default:
			if s != stream {
				if stream != "" {
					fmt.Fprintf(f.errOut, "gantry: job %s: a new attempt logs to %s\n", f.jobID, s)
				}
				group, stream, token = g, s, ""
			}
			token, err = f.drain(ctx, group, stream, token)
			var nf *logtypes.ResourceNotFoundException
			if errors.As(err, &nf) && f.follow && !finished {
				err = nil // not created yet
			}
			if err != nil {
				return err
			}
			if !f.follow || finished || attemptOver {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.interval):
		}
	}
}

func (f *logFollower) describe(ctx context.Context) (*types.JobDetail, error) {
	out, err := f.batch.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{f.jobID}})
	if err != nil {
		return nil, err
	}
	if len(out.Jobs) == 0 {
		return nil, fmt.Errorf("no such job: %s", f.jobID)
	}
	return &out.Jobs[0], nil
}

// logTarget returns the log group and stream of the attempt asked for (from
// 1; 0 for the latest, or the running one), and whether that attempt is
// over while the job may go on.
func logTarget(job *types.JobDetail, attempt int) (group, stream string, over bool, err error) {
	if ap := job.ArrayProperties; ap != nil && ap.Size != nil && ap.Index == nil {
		return "", "", false, fmt.Errorf("an array job has no output of its own: ask for a child, %s:0 to %s:%d",
			aws.ToString(job.JobId), aws.ToString(job.JobId), aws.ToInt32(ap.Size)-1)
	}
	c := job.Container
	if c == nil {
		return "", "", false, errors.New("the job has no container (multi-node jobs are not supported)")
	}
	group = defaultLogGroup
	if lc := c.LogConfiguration; lc != nil && lc.Options["awslogs-group"] != "" {
		group = lc.Options["awslogs-group"]
	}
	running := job.Status == types.JobStatusRunning && aws.ToString(c.LogStreamName) != ""
	n := len(job.Attempts)
	switch {
	case attempt == 0 && running:
		stream = aws.ToString(c.LogStreamName)
	case attempt == 0 && n > 0:
		stream, over = attemptStream(job.Attempts[n-1]), false
	case attempt == 0:
		return "", "", false, fmt.Errorf("%w (status %s)", errNoStream, job.Status)
	case attempt <= n:
		stream, over = attemptStream(job.Attempts[attempt-1]), true
	case attempt == n+1 && running:
		stream = aws.ToString(c.LogStreamName)
	case attempt == n+1 && job.Status != types.JobStatusSucceeded && job.Status != types.JobStatusFailed:
		return "", "", false, fmt.Errorf("attempt %d: %w (status %s)", attempt, errNoStream, job.Status)
	default:
		return "", "", false, fmt.Errorf("attempt %d: the job has %d attempts", attempt, n)
	}
	if stream == "" {
		return "", "", false, errors.New("the attempt has no log stream (it never started)")
	}
	return group, stream, over, nil
}

func attemptStream(a types.AttemptDetail) string {
	if a.Container == nil {
		return ""
	}
	return aws.ToString(a.Container.LogStreamName)
}

// drain prints the stream's events after token (from the head if empty)
// up to its end, and returns the token to resume from: GetLogEvents hands
// back the token it was sent at the end of the stream.
func (f *logFollower) drain(ctx context.Context, group, stream, token string) (string, error) {
	for {
		in := &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true),
		}
		if token != "" {
			in.NextToken = aws.String(token)
		}
		out, err := f.logs.GetLogEvents(ctx, in)
		if err != nil {
			return token, err
		}
		for _, e := range out.Events {
			if err := f.print(e); err != nil {
				return token, err
			}
		}
		next := aws.ToString(out.NextForwardToken)
		if next == token || next == "" {
			return token, nil
		}
		token = next
	}
}

func (f *logFollower) print(e logtypes.OutputLogEvent) error {
	if f.json {
		return json.NewEncoder(f.out).Encode(awsShape(e))
	}
	_, err := fmt.Fprintln(f.out, aws.ToString(e.Message))
	return err
}
