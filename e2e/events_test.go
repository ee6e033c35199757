package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	batchtypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/eventsapi"
	"github.com/gantrybatch/gantry/internal/gantrytest"
	"github.com/gantrybatch/gantry/internal/server"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
)

const (
	eventsTimeout = 30 * time.Second
	queueARN      = "arn:aws:batch:us-east-1:000000000000:job-queue/"
	roleARN       = "arn:aws:iam::000000000000:role/gantry-events"
)

// withEvents tunes a test server's event delivery.
func withEvents(fn func(*server.EventsConfig)) gantrytest.Option {
	return gantrytest.WithConfig(func(c *server.Config) { fn(&c.Events) })
}

func putRule(t *testing.T, eb *eventbridge.Client, in *eventbridge.PutRuleInput) string {
	t.Helper()
	out, err := eb.PutRule(ctx, in)
	require.NoError(t, err)
	return aws.ToString(out.RuleArn)
}

func putTargets(t *testing.T, eb *eventbridge.Client, rule string, targets ...types.Target) {
	t.Helper()
	out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: targets})
	require.NoError(t, err)
	require.Zero(t, out.FailedEntryCount, "%+v", out.FailedEntries)
}

// firedAtTarget is a Batch target submitting jobName, with the event's time
// as the job's "firedAt" parameter.
func firedAtTarget(id, queue, definition, jobName string) types.Target {
	return types.Target{
		Id: aws.String(id), Arn: aws.String(queueARN + queue), RoleArn: aws.String(roleARN),
		BatchParameters: &types.BatchParameters{JobDefinition: aws.String(definition), JobName: aws.String(jobName)},
		InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"t": "$.time"},
			InputTemplate: aws.String(`{"Parameters": {"firedAt": <t>}}`),
		},
	}
}

// TestEventsFailedJobCallsWebhooks: a FAILED job sends its AWS-shaped "Batch
// Job State Change" event to an API destination (with its connection's API
// key) and to a plain webhook URL.
func TestEventsFailedJobCallsWebhooks(t *testing.T) {
	t.Parallel()
	s := gantrytest.New(t)
	eb := newEventsClient(s.URL())
	env := gantrytest.Setup(t, s.Batch, "evfail", 2, "false")
	rcv := newReceiver(t, ok)

	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{
		Name: aws.String("alerts"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
				ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("s3cret"),
			},
		},
	})
	require.NoError(t, err)
	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{
		Name: aws.String("alerts"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(rcv.URL + "/alerts"), HttpMethod: types.ApiDestinationHttpMethodPost,
	})
	require.NoError(t, err)
	putRule(t, eb, &eventbridge.PutRuleInput{
		Name:         aws.String("job-failed"),
		EventPattern: aws.String(`{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}`),
	})
	putTargets(t, eb, "job-failed",
		types.Target{Id: aws.String("alerts"), Arn: dest.ApiDestinationArn},
		types.Target{Id: aws.String("hook"), Arn: aws.String(rcv.URL + "/hook")},
	)

	before := time.Now().Truncate(time.Second)
	id := submitNamed(t, s.Batch, "doomed", env)
	job := wait(t, s.Batch, id, batchtypes.JobStatusFailed)

	byPath := map[string]received{}
	for range 2 {
		r := rcv.next(eventsTimeout)
		byPath[r.Path] = r
	}
	require.Contains(t, byPath, "/alerts")
	require.Contains(t, byPath, "/hook")
	require.Equal(t, "s3cret", byPath["/alerts"].Header.Get("X-Api-Key"), "the connection's API key")
	require.Equal(t, http.MethodPost, byPath["/alerts"].Method)
	var ids []string
	for path, r := range byPath {
		e := parseEvent(t, r.Body)
		require.Equal(t, "0", e.Version, path)
		_, err := uuid.Parse(e.ID)
		require.NoError(t, err, "%s: id %q", path, e.ID)
		ids = append(ids, e.ID)
		require.Equal(t, "Batch Job State Change", e.DetailType, path)
		require.Equal(t, "aws.batch", e.Source, path)
		require.Equal(t, "000000000000", e.Account, path)
		require.Equal(t, "us-east-1", e.Region, path)
		require.Equal(t, []string{aws.ToString(job.JobArn)}, e.Resources, path)
		at, err := time.Parse(time.RFC3339, e.Time)
		require.NoError(t, err, "%s: time %q", path, e.Time)
		require.True(t, strings.HasSuffix(e.Time, "Z"), e.Time)
		require.False(t, at.Before(before) || at.After(time.Now()), "%s: time %s", path, e.Time)
		var detail struct {
			JobID, JobName, JobQueue, Status, StatusReason string
			Container                                      struct{ ExitCode *int }
		}
		require.NoError(t, json.Unmarshal(e.Detail, &detail))
		require.Equal(t, "FAILED", detail.Status, path)
		require.Equal(t, id, detail.JobID, path)
		require.Equal(t, "doomed", detail.JobName, path)
		require.Equal(t, aws.ToString(job.JobQueue), detail.JobQueue, path)
		require.NotNil(t, detail.Container.ExitCode, path)
		require.Equal(t, 1, *detail.Container.ExitCode, path)
	}
	require.Equal(t, ids[0], ids[1], "both targets get the same event")

	// Exactly one delivery per target, both DELIVERED: the other
	// transitions of the job did not match.
	ds := waitDeliveries(t, s.URL(), "job-failed", store.DeliveryDelivered, 2, eventsTimeout)
	for _, d := range ds {
		require.Equal(t, 1, d.Attempts)
		require.Equal(t, ids[0], d.EventID)
	}
	require.Equal(t, 2, rcv.count())
}

// TestEventsSucceededJobSubmitsNextJob chains two jobs: the first one's
// SUCCEEDED event submits the second through a Batch job queue target, its
// InputTransformer feeding the job's Parameters from the event.
func TestEventsSucceededJobSubmitsNextJob(t *testing.T) {
	t.Parallel()
	s := gantrytest.New(t)
	eb := newEventsClient(s.URL())
	env := gantrytest.Setup(t, s.Batch, "evchain", 2, "sh", "-c", "echo upstream=Ref::upstream")
	putRule(t, eb, &eventbridge.PutRuleInput{
		Name: aws.String("then-second"),
		EventPattern: aws.String(`{"source":["aws.batch"],"detail-type":["Batch Job State Change"],
			"detail":{"status":["SUCCEEDED"],"jobName":["first"]}}`),
	})
	putTargets(t, eb, "then-second", types.Target{
		Id: aws.String("next"), Arn: aws.String(queueARN + env.Queue), RoleArn: aws.String(roleARN),
		BatchParameters: &types.BatchParameters{
			JobDefinition: aws.String(env.JobDefinition), JobName: aws.String("second"),
			RetryStrategy: &types.BatchRetryStrategy{Attempts: 2},
		},
		InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"name": "$.detail.jobName", "id": "$.detail.jobId"},
			InputTemplate: aws.String(`{"Parameters": {"upstream": "<name>/<id>"}}`),
		},
	})

	first := submitNamed(t, s.Batch, "first", env)
	wait(t, s.Batch, first, batchtypes.JobStatusSucceeded)

	second := waitJobNamed(t, s.Batch, env.Queue, "second", eventsTimeout)
	job := wait(t, s.Batch, second, batchtypes.JobStatusSucceeded)
	require.Equal(t, map[string]string{"upstream": "first/" + first}, job.Parameters)
	require.Equal(t, []string{"sh", "-c", "echo upstream=first/" + first}, job.Container.Command)
	require.Equal(t, int32(2), aws.ToInt32(job.RetryStrategy.Attempts))

	ds := waitDeliveries(t, s.URL(), "then-second", store.DeliveryDelivered, 1, eventsTimeout)
	require.Equal(t, second, ds[0].Result, "the delivery records the job it submitted")
	// The second job's own SUCCEEDED event does not match (jobName), so
	// nothing else was submitted.
	require.Len(t, jobsNamed(t, s.Batch, env.Queue, "second"), 1)
}

// TestEventsSchedulesSubmitJobs waits for the first fire of a real
// rate(1 minute) rule and of an every-minute cron rule, each submitting a
// job through a Batch target. (The cron arithmetic, with an injected clock,
// is tested in internal/eventsched.)
func TestEventsSchedulesSubmitJobs(t *testing.T) {
	t.Parallel()
	s := gantrytest.New(t)
	eb := newEventsClient(s.URL())
	env := gantrytest.Setup(t, s.Batch, "evsched", 2, "echo", "Ref::firedAt")

	before := time.Now()
	putRule(t, eb, &eventbridge.PutRuleInput{Name: aws.String("every-minute"), ScheduleExpression: aws.String("rate(1 minute)")})
	after := time.Now()
	putTargets(t, eb, "every-minute", firedAtTarget("tick", env.Queue, env.JobDefinition, "tick"))
	putRule(t, eb, &eventbridge.PutRuleInput{Name: aws.String("on-the-minute"), ScheduleExpression: aws.String("cron(* * * * ? *)")})
	cronCreated := time.Now()
	putTargets(t, eb, "on-the-minute", firedAtTarget("tick", env.Queue, env.JobDefinition, "cron-tick"))

	// The cron rule fires at the next whole minute.
	cronID := waitJobNamed(t, s.Batch, env.Queue, "cron-tick", 75*time.Second)
	cronJob := wait(t, s.Batch, cronID, batchtypes.JobStatusSucceeded)
	cronAt, err := time.Parse(time.RFC3339, cronJob.Parameters["firedAt"])
	require.NoError(t, err, "firedAt %q", cronJob.Parameters["firedAt"])
	require.Zero(t, cronAt.Second(), "a cron fires on whole minutes: %s", cronAt)
	require.True(t, cronAt.After(cronCreated) && !cronAt.After(cronCreated.Add(time.Minute)),
		"cron fired at %s for a rule created at %s", cronAt, cronCreated)
	require.GreaterOrEqual(t, aws.ToInt64(cronJob.CreatedAt), cronAt.UnixMilli(), "submitted at or after its time")

	// The rate rule fires one minute after its creation.
	rateID := waitJobNamed(t, s.Batch, env.Queue, "tick", 75*time.Second)
	rateJob := wait(t, s.Batch, rateID, batchtypes.JobStatusSucceeded)
	rateAt, err := time.Parse(time.RFC3339, rateJob.Parameters["firedAt"])
	require.NoError(t, err, "firedAt %q", rateJob.Parameters["firedAt"])
	require.False(t, rateAt.Before(before.Add(time.Minute).Truncate(time.Second)) || rateAt.After(after.Add(time.Minute)),
		"rate(1 minute) created between %s and %s fired at %s; schedules: %+v", before, after, rateAt, schedules(t, s.URL()))
	require.GreaterOrEqual(t, aws.ToInt64(rateJob.CreatedAt), rateAt.UnixMilli())
	require.Equal(t, []string{"echo", rateJob.Parameters["firedAt"]}, rateJob.Container.Command)

	// The schedule's durable position moved on by one interval.
	sc := schedules(t, s.URL())["every-minute"]
	last, err := time.Parse(time.RFC3339Nano, sc.LastFireAt)
	require.NoError(t, err, "lastFireAt %q", sc.LastFireAt)
	require.Equal(t, rateAt, last.Truncate(time.Second))
	require.NotEmpty(t, sc.NextFires)
	next, err := time.Parse(time.RFC3339, sc.NextFires[0])
	require.NoError(t, err)
	require.Equal(t, last.Add(time.Minute).Truncate(time.Second), next)
	require.Len(t, jobsNamed(t, s.Batch, env.Queue, "tick"), 1, "fired once")
}

// TestEventsWebhookRetriedUntilDelivered: a receiver that fails three times
// gets the event a fourth time, after backoff delays bounded by the
// exponential ceiling, and the delivery ends DELIVERED after 4 attempts.
func TestEventsWebhookRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	const base = 200 * time.Millisecond
	s := gantrytest.New(t, withEvents(func(c *server.EventsConfig) { c.RetryBase = base }))
	eb := newEventsClient(s.URL())
	rcv := newReceiver(t, func(n int, _ *http.Request, _ <-chan struct{}) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	putRule(t, eb, &eventbridge.PutRuleInput{Name: aws.String("flaky"), EventPattern: aws.String(`{"source":["test.retry"]}`)})
	putTargets(t, eb, "flaky", types.Target{Id: aws.String("hook"), Arn: aws.String(rcv.URL + "/flaky")})
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("test.retry"), DetailType: aws.String("ping"), Detail: aws.String(`{"n":1}`),
	}}})
	require.NoError(t, err)
	require.Zero(t, out.FailedEntryCount)
	eventID := aws.ToString(out.Entries[0].EventId)

	var got []received
	for range 4 {
		got = append(got, rcv.next(eventsTimeout))
	}
	for i, r := range got {
		e := parseEvent(t, r.Body)
		require.Equal(t, eventID, e.ID, "attempt %d carries the same event", i+1)
		require.JSONEq(t, `{"n":1}`, string(e.Detail))
		if i > 0 {
			// Full jitter under a doubling ceiling: base, 2*base, 4*base,
			// plus the loop's reaction time.
			gap := r.At.Sub(got[i-1].At)
			ceiling := base<<(i-1) + time.Second
			require.LessOrEqual(t, gap, ceiling, "gap before attempt %d", i+1)
		}
	}
	ds := waitDeliveries(t, s.URL(), "flaky", store.DeliveryDelivered, 1, eventsTimeout)
	require.Equal(t, 4, ds[0].Attempts)
	require.Equal(t, eventID, ds[0].EventID)
	require.Equal(t, 4, rcv.count(), "no attempt after the success")
	m := scrape(t, s.URL())
	require.Equal(t, 3.0, m("gantry_event_deliveries_total", map[string]string{"target": "webhook", "outcome": "retry"}))
	require.Equal(t, 1.0, m("gantry_event_deliveries_total", map[string]string{"target": "webhook", "outcome": "delivered"}))
}

// TestEventsUnansweredWebhookIsDeadLettered: a receiver that never answers
// times out on every attempt; after MaximumRetryAttempts the delivery is
// DEAD, and the dead-letter record keeps the event and the error.
func TestEventsUnansweredWebhookIsDeadLettered(t *testing.T) {
	t.Parallel()
	s := gantrytest.New(t, withEvents(func(c *server.EventsConfig) {
		c.RetryBase, c.HTTPTimeout = 50*time.Millisecond, 300*time.Millisecond
	}))
	eb := newEventsClient(s.URL())
	rcv := newReceiver(t, func(_ int, r *http.Request, done <-chan struct{}) int {
		select { // never answer; give up when the caller does
		case <-r.Context().Done():
		case <-done:
		}
		return 0
	})
	putRule(t, eb, &eventbridge.PutRuleInput{Name: aws.String("black-hole"), EventPattern: aws.String(`{"source":["test.dead"]}`)})
	putTargets(t, eb, "black-hole", types.Target{
		Id: aws.String("hook"), Arn: aws.String(rcv.URL + "/void"),
		RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(2)},
	})
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("test.dead"), DetailType: aws.String("lost"), Detail: aws.String(`{"important":true}`),
	}}})
	require.NoError(t, err)
	require.Zero(t, out.FailedEntryCount)

	dead := waitDeliveries(t, s.URL(), "black-hole", store.DeliveryDead, 1, eventsTimeout)[0]
	require.Equal(t, 3, dead.Attempts, "one attempt and MaximumRetryAttempts=2 retries")
	require.Contains(t, dead.LastError, "MaximumRetryAttempts")
	require.Equal(t, aws.ToString(out.Entries[0].EventId), dead.EventID)
	e := parseEvent(t, dead.Event)
	require.Equal(t, "test.dead", e.Source)
	require.JSONEq(t, `{"important":true}`, string(e.Detail))
	require.Equal(t, 3, rcv.count())

	require.Empty(t, deliveries(t, s.URL(), "black-hole", store.DeliveryPending))

	// The dead-letter record, as `gantry rules deliveries --dead` shows it.
	var cli []eventsapi.Delivery
	js := gantryCLI(t, s.URL(), "rules", "deliveries", "--dead", "--output", "json")
	require.NoError(t, json.Unmarshal([]byte(js), &cli), js)
	require.Len(t, cli, 1, js)
	require.Equal(t, "black-hole", cli[0].Rule)
	require.Equal(t, store.DeliveryDead, cli[0].State)
	require.Equal(t, 3, cli[0].Attempts)
	table := gantryCLI(t, s.URL(), "rules", "deliveries", "--dead")
	require.Contains(t, table, "black-hole", table)
	require.Contains(t, table, "DEAD", table)
}

// TestEventsRestartMidDeliveryLosesNothing kills the server binary with
// SIGKILL while a webhook call is in flight: after the restart the event is
// delivered again (at-least-once) and the delivery ends DELIVERED. A
// schedule that came due while the server was down fires once after the
// restart, and not again after a second crash.
func TestEventsRestartMidDeliveryLosesNothing(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	args := []string{"--event-retry-base", "100ms"}
	s := startServer(t, dataDir, args...)
	eb := newEventsClient(s.URL())
	env := gantrytest.Setup(t, s.Batch, "evcrash", 2, "echo", "Ref::firedAt")
	rcv := newReceiver(t, func(n int, r *http.Request, done <-chan struct{}) int {
		if n == 1 { // hang until the server dies
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return 0
		}
		return http.StatusOK
	})
	putRule(t, eb, &eventbridge.PutRuleInput{Name: aws.String("crash-hook"), EventPattern: aws.String(`{"source":["test.crash"]}`)})
	putTargets(t, eb, "crash-hook", types.Target{Id: aws.String("hook"), Arn: aws.String(rcv.URL + "/hook")})
	putRule(t, eb, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")})
	putTargets(t, eb, "tick", firedAtTarget("tick", env.Queue, env.JobDefinition, "tick"))

	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("test.crash"), DetailType: aws.String("ping"), Detail: aws.String(`{"k":"v"}`),
	}}})
	require.NoError(t, err)
	eventID := aws.ToString(out.Entries[0].EventId)
	first := rcv.next(eventsTimeout) // in flight, hanging
	s.Kill9()

	// While the server is down, the schedule's next time comes due (as if
	// the outage had lasted past it).
	due := time.Now().Add(-2 * time.Second).Truncate(time.Millisecond)
	setNextFire(t, dataDir, "tick", "rate(1 minute)", due)

	s2 := startServer(t, dataDir, args...)
	again := rcv.next(eventsTimeout)
	require.Equal(t, eventID, parseEvent(t, first.Body).ID)
	require.Equal(t, eventID, parseEvent(t, again.Body).ID, "the same event, delivered again")
	d := waitDeliveries(t, s2.URL(), "crash-hook", store.DeliveryDelivered, 1, eventsTimeout)[0]
	require.Equal(t, 1, d.Attempts, "the attempt cut by the crash left no record")

	// The due schedule fired once, for its scheduled time.
	tickID := waitJobNamed(t, s2.Batch, env.Queue, "tick", eventsTimeout)
	tick := wait(t, s2.Batch, tickID, batchtypes.JobStatusSucceeded)
	require.Equal(t, due.UTC().Format(time.RFC3339), tick.Parameters["firedAt"])

	// A second crash, right after the fire: the next process does not fire
	// the same time again.
	s2.Kill9()
	s3 := startServer(t, dataDir, args...)
	require.Never(t, func() bool {
		out, err := s3.Batch.ListJobs(ctx, &batch.ListJobsInput{
			JobQueue: aws.String(env.Queue),
			Filters:  []batchtypes.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"tick"}}},
		})
		return err != nil || len(out.JobSummaryList) != 1
	}, 3*time.Second, 100*time.Millisecond, "the scheduled time fired again after the restart (or ListJobs failed)")
	sc := schedules(t, s3.URL())["tick"]
	last, err := time.Parse(time.RFC3339Nano, sc.LastFireAt)
	require.NoError(t, err, "lastFireAt %q", sc.LastFireAt)
	require.True(t, last.Equal(due), "lastFireAt %s, due %s", last, due)
	require.Equal(t, due.Add(time.Minute).UTC().Format(time.RFC3339), sc.NextFires[0])
	require.Equal(t, 2, rcv.count(), "nothing delivered a third time")
}

// setNextFire rewrites a scheduled rule's position in a stopped server's
// database.
func setNextFire(t *testing.T, dataDir, rule, expr string, at time.Time) {
	t.Helper()
	st, err := storesqlite.Open(ctx, storesqlite.Config{Path: filepath.Join(dataDir, "gantry.db")})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.ScheduleStateUpsert(ctx, &store.ScheduleState{Rule: rule, NextFireAt: at.UnixMilli(), Expression: expr}))
}

// submitNamed submits a job of env's definition to env's queue.
func submitNamed(t *testing.T, c *batch.Client, name string, env gantrytest.Env) string {
	t.Helper()
	return submit(t, c, &batch.SubmitJobInput{
		JobName: aws.String(name), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
	})
}

// TestEventsREADME runs the README's "Events and schedules" aws CLI block
// as written (only the endpoint and the Slack URL point at this test's
// server and receiver), after the quick start's resources, then fails a job
// and checks the Slack message.
func TestEventsREADME(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "aws", "--version")
	s := gantrytest.New(t)
	rcv := newReceiver(t, ok)

	// The quick start's queue and job definition.
	_, err := s.Batch.CreateComputeEnvironment(ctx, ceInput("local", 4))
	require.NoError(t, err)
	_, err = s.Batch.CreateJobQueue(ctx, queueInput("default", 1, "local"))
	require.NoError(t, err)
	def := jobDefInput("hello", "sh", "-c", "echo hello; echo Ref::who")
	def.Parameters = map[string]string{"who": "world"}
	_, err = s.Batch.RegisterJobDefinition(ctx, def)
	require.NoError(t, err)

	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	script := shellBlockAfter(t, string(readme), "## Events and schedules")
	require.Contains(t, script, "http://127.0.0.1:8420")
	require.Contains(t, script, "https://hooks.slack.com/services/T000/B000/XXXX")
	script = strings.ReplaceAll(script, "http://127.0.0.1:8420", s.URL())
	script = strings.ReplaceAll(script, "https://hooks.slack.com", rcv.URL)
	cctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Env = awsEnv("gantry", "gantry", "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "README block:\n%s\noutput:\n%s", script, out)

	eb := newEventsClient(s.URL())
	for rule, wantArn := range map[string]string{
		"nightly-hello": queueARN + "default",
		"job-failed":    "arn:aws:events:us-east-1:000000000000:api-destination/slack/",
	} {
		ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)})
		require.NoError(t, err)
		require.Len(t, ts.Targets, 1, rule)
		require.True(t, strings.HasPrefix(aws.ToString(ts.Targets[0].Arn), wantArn), "%s: %s", rule, aws.ToString(ts.Targets[0].Arn))
	}
	sc := schedules(t, s.URL())["nightly-hello"]
	require.NotEmpty(t, sc.NextFires)
	next, err := time.Parse(time.RFC3339, sc.NextFires[0])
	require.NoError(t, err)
	require.Equal(t, "02:00:00", next.UTC().Format(time.TimeOnly))
	require.True(t, next.After(time.Now()) && next.Before(time.Now().Add(24*time.Hour)), "next fire %s", next)

	// The README's next step: `gantry schedules`.
	listing := gantryCLI(t, s.URL(), "schedules")
	require.Contains(t, listing, "nightly-hello")
	require.Contains(t, listing, next.UTC().Format(time.RFC3339))

	// A failing job posts the README's Slack message.
	id := submit(t, s.Batch, &batch.SubmitJobInput{
		JobName: aws.String("broken"), JobQueue: aws.String("default"), JobDefinition: aws.String("hello"),
		ContainerOverrides: &batchtypes.ContainerOverrides{Command: []string{"false"}},
	})
	job := wait(t, s.Batch, id, batchtypes.JobStatusFailed)
	msg := rcv.next(eventsTimeout)
	require.Equal(t, "/services/T000/B000/XXXX", msg.Path)
	require.JSONEq(t, `{"text": "Job broken failed: `+aws.ToString(job.StatusReason)+`"}`, string(msg.Body))
}

// shellBlockAfter returns the first ```sh block after heading in a
// Markdown document.
func shellBlockAfter(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	require.True(t, ok, "heading %q not found", heading)
	_, rest, ok = strings.Cut(rest, "```sh\n")
	require.True(t, ok, "no sh block after %q", heading)
	block, _, ok := strings.Cut(rest, "\n```")
	require.True(t, ok, "unterminated sh block after %q", heading)
	return block
}
