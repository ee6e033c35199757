package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

const batchLogGroup = "/aws/batch/job"

// newLogsClient returns a CloudWatch Logs client for a Gantry endpoint,
// without retries (so that an error is never hidden).
func newLogsClient(endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   gantrytest.CopyBodyClient{C: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}},
	})
}

// logsEnv is a server with a queue and a definition, and both clients.
type logsEnv struct {
	srv  *gantrytest.Server
	c    *batch.Client
	logs *cloudwatchlogs.Client
	gantrytest.Env
}

func newLogsEnv(t *testing.T, name string) logsEnv {
	t.Helper()
	srv := gantrytest.New(t)
	return logsEnv{srv: srv, c: srv.Batch, logs: newLogsClient(srv.URL()), Env: gantrytest.Setup(t, srv.Batch, name, 4)}
}

// run submits a job running sh -c script, waits for it to succeed and
// returns its log stream.
func (e logsEnv) run(t *testing.T, def, script string) string {
	t.Helper()
	id := submit(t, e.c, &batch.SubmitJobInput{
		JobName: aws.String("logs"), JobQueue: aws.String(e.Queue), JobDefinition: aws.String(def),
		ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", script}},
	})
	j := wait(t, e.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
	require.Equal(t, types.JobStatusSucceeded, j.Status, aws.ToString(j.StatusReason))
	stream := aws.ToString(j.Container.LogStreamName)
	require.NotEmpty(t, stream)
	return stream
}

func eventMessages(events []logtypes.OutputLogEvent) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func TestLogsGetLogEvents(t *testing.T) {
	t.Parallel()
	e := newLogsEnv(t, "logsget")
	stream := e.run(t, e.JobDefinition, "echo one; echo two; echo three >&2")
	require.True(t, strings.HasPrefix(stream, e.JobDefinition+"/default/"), stream)

	head, err := e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), Limit: aws.Int32(2),
	})
	require.NoError(t, err)
	require.Equal(t, []string{"one", "two"}, eventMessages(head.Events))
	require.NotZero(t, aws.ToInt64(head.Events[0].Timestamp))
	require.NotZero(t, aws.ToInt64(head.Events[0].IngestionTime))

	tail, err := e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String(stream), Limit: aws.Int32(2),
	})
	require.NoError(t, err)
	require.Equal(t, []string{"two", "three"}, eventMessages(tail.Events), "newest first by default")

	// By ARN, to the end of the stream: the same token comes back.
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:" + batchLogGroup),
		LogStreamName:      aws.String(stream), StartFromHead: aws.Bool(true), NextToken: head.NextForwardToken,
	}
	rest, err := e.logs.GetLogEvents(ctx, in)
	require.NoError(t, err)
	require.Equal(t, []string{"three"}, eventMessages(rest.Events))
	in.NextToken = rest.NextForwardToken
	end, err := e.logs.GetLogEvents(ctx, in)
	require.NoError(t, err)
	require.Empty(t, end.Events)
	require.Equal(t, aws.ToString(rest.NextForwardToken), aws.ToString(end.NextForwardToken))

	streams, err := e.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(batchLogGroup), LogStreamNamePrefix: aws.String(e.JobDefinition + "/"),
	})
	require.NoError(t, err)
	require.Len(t, streams.LogStreams, 1)
	s := streams.LogStreams[0]
	require.Equal(t, stream, aws.ToString(s.LogStreamName))
	require.Equal(t, "arn:aws:logs:us-east-1:000000000000:log-group:/aws/batch/job:log-stream:"+stream, aws.ToString(s.Arn))
	require.Equal(t, aws.ToInt64(head.Events[0].Timestamp), aws.ToInt64(s.FirstEventTimestamp))
	require.GreaterOrEqual(t, aws.ToInt64(s.LastEventTimestamp), aws.ToInt64(s.FirstEventTimestamp))
	require.NotZero(t, aws.ToInt64(s.CreationTime))

	groups, err := e.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/batch")})
	require.NoError(t, err)
	require.Len(t, groups.LogGroups, 1)
	require.Equal(t, batchLogGroup, aws.ToString(groups.LogGroups[0].LogGroupName))
	require.Nil(t, groups.LogGroups[0].RetentionInDays)

	// Retention shows in DescribeLogGroups.
	_, err = e.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(batchLogGroup), RetentionInDays: aws.Int32(30)})
	require.NoError(t, err)
	groups, err = e.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	require.NoError(t, err)
	require.Equal(t, int32(30), aws.ToInt32(groups.LogGroups[0].RetentionInDays))
	_, err = e.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(batchLogGroup), RetentionInDays: aws.Int32(2)})
	var ipe *logtypes.InvalidParameterException
	require.ErrorAs(t, err, &ipe)

	// Errors come as the SDK's modelled exceptions.
	_, err = e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String("nope")})
	var rnf *logtypes.ResourceNotFoundException
	require.ErrorAs(t, err, &rnf)
	_, err = e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String(stream), Limit: aws.Int32(10001)})
	require.ErrorAs(t, err, &ipe)
	require.Contains(t, aws.ToString(ipe.Message), "limit")
}

func TestLogsFilterLogEvents(t *testing.T) {
	t.Parallel()
	e := newLogsEnv(t, "logsfilter")
	a := e.run(t, e.JobDefinition, `echo 'alpha ERROR disk full'; echo 'alpha INFO all good'; echo '{"level":"error","n":5,"who":"a"}'`)
	b := e.run(t, e.JobDefinition, `echo 'beta WARN disk slow'; echo 'beta INFO all good'; echo '{"level":"info","n":1,"who":"b"}'`)

	filter := func(pattern string) []string {
		t.Helper()
		var got []string
		p := cloudwatchlogs.NewFilterLogEventsPaginator(e.logs, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String(batchLogGroup), LogStreamNamePrefix: aws.String(e.JobDefinition + "/"),
			FilterPattern: aws.String(pattern), Limit: aws.Int32(2),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			for _, ev := range page.Events {
				require.NotEmpty(t, aws.ToString(ev.EventId))
				require.NotZero(t, aws.ToInt64(ev.IngestionTime))
				stream := "a"
				if aws.ToString(ev.LogStreamName) == b {
					stream = "b"
				} else {
					require.Equal(t, a, aws.ToString(ev.LogStreamName))
				}
				got = append(got, stream+": "+aws.ToString(ev.Message))
			}
		}
		return got
	}
	for name, tc := range map[string]struct {
		pattern string
		want    []string
	}{
		"term":        {"ERROR", []string{"a: alpha ERROR disk full"}},
		"two terms":   {"disk slow", []string{"b: beta WARN disk slow"}},
		"phrase":      {`"all good"`, []string{"a: alpha INFO all good", "b: beta INFO all good"}},
		"OR":          {"?ERROR ?WARN", []string{"a: alpha ERROR disk full", "b: beta WARN disk slow"}},
		"exclusion":   {"disk -alpha", []string{"b: beta WARN disk slow"}},
		"JSON":        {`{ $.level = "error" }`, []string{`a: {"level":"error","n":5,"who":"a"}`}},
		"JSON number": {`{ $.n > 0 && $.who != "a" }`, []string{`b: {"level":"info","n":1,"who":"b"}`}},
		"everything": {"", []string{
			"a: alpha ERROR disk full", "a: alpha INFO all good", `a: {"level":"error","n":5,"who":"a"}`,
			"b: beta WARN disk slow", "b: beta INFO all good", `b: {"level":"info","n":1,"who":"b"}`,
		}},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, filter(tc.pattern))
		})
	}

	// Both named streams, the ? terms across them.
	out, err := e.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(batchLogGroup), LogStreamNames: []string{a, b}, FilterPattern: aws.String("?full ?slow"),
	})
	require.NoError(t, err)
	require.Len(t, out.Events, 2)
	require.Nil(t, out.NextToken)

	_, err = e.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(batchLogGroup), LogStreamNames: []string{a}, LogStreamNamePrefix: aws.String("x"),
	})
	var ipe *logtypes.InvalidParameterException
	require.ErrorAs(t, err, &ipe)
}

func TestLogsAwslogsOptions(t *testing.T) {
	t.Parallel()
	e := newLogsEnv(t, "logsopts")
	in := jobDefInput("custom-logs", "true")
	in.ContainerProperties.LogConfiguration = &types.LogConfiguration{
		LogDriver: types.LogDriverAwslogs,
		Options:   map[string]string{"awslogs-group": "/custom/app", "awslogs-stream-prefix": "myapp"},
	}
	_, err := e.c.RegisterJobDefinition(ctx, in)
	require.NoError(t, err)
	stream := e.run(t, "custom-logs", "echo from custom")
	require.True(t, strings.HasPrefix(stream, "myapp/default/"), stream)

	out, err := e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("/custom/app"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true),
	})
	require.NoError(t, err)
	require.Equal(t, []string{"from custom"}, eventMessages(out.Events))
	streams, err := e.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String("/custom/app"), LogStreamNamePrefix: aws.String("myapp/"),
	})
	require.NoError(t, err)
	require.Len(t, streams.LogStreams, 1)
	groups, err := e.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/custom/")})
	require.NoError(t, err)
	require.Len(t, groups.LogGroups, 1)
	require.Equal(t, "/custom/app", aws.ToString(groups.LogGroups[0].LogGroupName))
	// Not in the default group.
	_, err = e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String(stream)})
	var rnf *logtypes.ResourceNotFoundException
	require.ErrorAs(t, err, &rnf)
}

// TestLogsLargeStream pages a 100,000-line stream forward to its end (the
// token coming back) and backward from its end: every line once, in order.
func TestLogsLargeStream(t *testing.T) {
	t.Parallel()
	e := newLogsEnv(t, "logsbig")
	start := time.Now()
	stream := e.run(t, e.JobDefinition, "seq 1 100000")
	t.Logf("job ran in %v", time.Since(start).Round(time.Millisecond))

	const n = 100_000
	check := func(t *testing.T, got []string) {
		t.Helper()
		require.Len(t, got, n)
		for i, m := range got {
			if m != strconv.Itoa(i+1) {
				t.Fatalf("event %d is %q, want %d", i, m, i+1)
			}
		}
	}
	t.Run("forward", func(t *testing.T) {
		start := time.Now()
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
		var got []string
		pages := 0
		for {
			out, err := e.logs.GetLogEvents(ctx, in)
			require.NoError(t, err)
			pages++
			require.Less(t, pages, 100, "forward paging does not end")
			if in.NextToken != nil && aws.ToString(out.NextForwardToken) == *in.NextToken {
				require.Empty(t, out.Events)
				break
			}
			got = append(got, eventMessages(out.Events)...)
			in.NextToken = out.NextForwardToken
		}
		check(t, got)
		t.Logf("forward: %d pages in %v", pages, time.Since(start).Round(time.Millisecond))
	})
	t.Run("backward", func(t *testing.T) {
		start := time.Now()
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(batchLogGroup), LogStreamName: aws.String(stream), Limit: aws.Int32(7000)}
		var pages [][]string
		for {
			out, err := e.logs.GetLogEvents(ctx, in)
			require.NoError(t, err)
			require.Less(t, len(pages), 100, "backward paging does not end")
			if in.NextToken != nil && aws.ToString(out.NextBackwardToken) == *in.NextToken {
				require.Empty(t, out.Events)
				break
			}
			pages = append(pages, eventMessages(out.Events))
			in.NextToken = out.NextBackwardToken
		}
		var got []string
		for i := len(pages) - 1; i >= 0; i-- {
			got = append(got, pages[i]...)
		}
		check(t, got)
		t.Logf("backward: %d pages in %v", len(pages), time.Since(start).Round(time.Millisecond))
	})
	t.Run("filter", func(t *testing.T) {
		start := time.Now()
		p := cloudwatchlogs.NewFilterLogEventsPaginator(e.logs, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String(batchLogGroup), FilterPattern: aws.String(`%^9999[0-9]$%`),
		})
		var got []string
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			for _, ev := range page.Events {
				got = append(got, aws.ToString(ev.Message))
			}
		}
		require.Equal(t, []string{"99990", "99991", "99992", "99993", "99994", "99995", "99996", "99997", "99998", "99999"}, got)
		t.Logf("filter: %v", time.Since(start).Round(time.Millisecond))
	})
}

// TestLogsAWSCLI reads logs with the installed aws CLI.
func TestLogsAWSCLI(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "aws", "--version")
	e := newLogsEnv(t, "logscli")
	stream := e.run(t, e.JobDefinition, `echo 'hello from the cli'; echo 'second line'; echo '{"level":"error"}'`)
	awsLogs := func(args ...string) []byte {
		t.Helper()
		cctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, bin, append([]string{"logs", "--endpoint-url", e.srv.URL()}, args...)...)
		cmd.Env = awsEnv("AKIDEXAMPLE", "secret")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws logs %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
		}
		return out.Bytes()
	}
	var got struct {
		Events []struct {
			Message       string `json:"message"`
			Timestamp     int64  `json:"timestamp"`
			LogStreamName string `json:"logStreamName"`
		} `json:"events"`
		NextForwardToken string `json:"nextForwardToken"`
	}
	out := awsLogs("get-log-events", "--log-group-name", batchLogGroup, "--log-stream-name", stream, "--start-from-head")
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	require.Len(t, got.Events, 3, string(out))
	require.Equal(t, "hello from the cli", got.Events[0].Message)
	require.NotZero(t, got.Events[0].Timestamp)
	require.True(t, strings.HasPrefix(got.NextForwardToken, "f/"), got.NextForwardToken)

	got.Events = nil
	out = awsLogs("filter-log-events", "--log-group-name", batchLogGroup, "--filter-pattern", `"second line"`)
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	require.Len(t, got.Events, 1, string(out))
	require.Equal(t, "second line", got.Events[0].Message)
	require.Equal(t, stream, got.Events[0].LogStreamName)

	got.Events = nil
	out = awsLogs("filter-log-events", "--log-group-name", batchLogGroup, "--log-stream-names", stream, "--filter-pattern", `{ $.level = "error" }`)
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	require.Len(t, got.Events, 1, string(out))
	require.Equal(t, `{"level":"error"}`, got.Events[0].Message)

	var groups struct {
		LogGroups []struct {
			LogGroupName string `json:"logGroupName"`
		} `json:"logGroups"`
	}
	out = awsLogs("describe-log-groups")
	require.NoError(t, json.Unmarshal(out, &groups), string(out))
	require.Equal(t, batchLogGroup, groups.LogGroups[0].LogGroupName, fmt.Sprint(groups))
}
