package eventsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
)

const (
	region  = "eu-west-1"
	account = "123456789012"
	t0      = int64(1_700_000_000_000) // 2023-11-14T22:13:20Z
)

type testBundle struct {
	store        store.Store
	h            *Handler
	srv          *httptest.Server
	eb           *eventbridge.Client
	ms           *atomic.Int64 // the handler's clock
	rulesChanged *atomic.Int64
	eventsAdded  *atomic.Int64
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	st, err := storesqlite.Open(context.Background(), storesqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	b := &testBundle{store: st, ms: &atomic.Int64{}, rulesChanged: &atomic.Int64{}, eventsAdded: &atomic.Int64{}}
	b.ms.Store(t0)
	b.h = New(Config{
		Store: st, Region: region, AccountID: account,
		Now:          func() time.Time { return time.UnixMilli(b.ms.Load()) },
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		RulesChanged: func() { b.rulesChanged.Add(1) },
		EventsAdded:  func() { b.eventsAdded.Add(1) },
	})
	mux := http.NewServeMux()
	mux.Handle("POST /", b.h)
	for pattern, rh := range b.h.Routes() {
		mux.Handle(pattern, rh)
	}
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	b.eb = eventbridge.New(eventbridge.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(b.srv.URL),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   copyBodyClient{c: b.srv.Client()},
	})
	return b
}

// copyBodyClient sends a private copy of each request body (see
// gantrytest.CopyBodyClient, which this package cannot import: the server
// imports it).
type copyBodyClient struct{ c *http.Client }

func (d copyBodyClient) Do(r *http.Request) (*http.Response, error) {
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
	return d.c.Do(r)
}

func ctx(t *testing.T) context.Context { return t.Context() }

// call sends one raw JSON request; it returns the status and the body.
func (b *testBundle) call(t *testing.T, op string, in any) (int, []byte) {
	t.Helper()
	var body []byte
	if s, ok := in.(string); ok {
		body = []byte(s)
	} else {
		var err error
		body, err = json.Marshal(in)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", TargetPrefix+"."+op)
	req.Header.Set("Content-Type", contentType)
	resp, err := b.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, contentType, resp.Header.Get("Content-Type"))
	return resp.StatusCode, out
}

// ok is a raw call that must succeed; it decodes the answer into out.
func (b *testBundle) ok(t *testing.T, op string, in, out any) {
	t.Helper()
	status, body := b.call(t, op, in)
	require.Equal(t, http.StatusOK, status, "%s: %s", op, body)
	if out != nil {
		require.NoError(t, json.Unmarshal(body, out), string(body))
	}
}

// fails is a raw call that must be a 400 with code; it returns the message.
func (b *testBundle) fails(t *testing.T, op string, in any, code string) string {
	t.Helper()
	status, body := b.call(t, op, in)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, http.StatusBadRequest, status, "%s: %s", op, body)
	require.Equal(t, code, e.Type, "%s: %s", op, e.Message)
	return e.Message
}

// apiErr requires err to be an API error with code and returns its message.
func apiErr(t *testing.T, err error, code string) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "want an API error %s, got %v", code, err)
	require.Equal(t, code, ae.ErrorCode(), ae.ErrorMessage())
	return ae.ErrorMessage()
}

func (b *testBundle) putRule(t *testing.T, name, pattern string) string {
	t.Helper()
	out, err := b.eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)})
	require.NoError(t, err)
	return aws.ToString(out.RuleArn)
}

const batchPattern = `{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}`

func TestPutRuleAndDescribe(t *testing.T) {
	t.Parallel()
	b := setup(t)

	arn := b.putRule(t, "failed-jobs", batchPattern)
	require.Equal(t, "arn:aws:events:eu-west-1:123456789012:rule/failed-jobs", arn)
	require.EqualValues(t, 1, b.rulesChanged.Load())

	got, err := b.eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("failed-jobs")})
	require.NoError(t, err)
	require.Equal(t, arn, aws.ToString(got.Arn))
	require.Equal(t, batchPattern, aws.ToString(got.EventPattern))
	require.Equal(t, types.RuleStateEnabled, got.State)
	require.Equal(t, "default", aws.ToString(got.EventBusName))

	// An update replaces every member: the description goes, a schedule
	// comes, the state is the one given.
	_, err = b.eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("failed-jobs"), Description: aws.String("d"),
		EventBusName:       aws.String("arn:aws:events:eu-west-1:123456789012:event-bus/default"),
		ScheduleExpression: aws.String("rate(5 minutes)"), State: types.RuleStateDisabled})
	require.NoError(t, err)
	got, err = b.eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("failed-jobs"), EventBusName: aws.String("default")})
	require.NoError(t, err)
	require.Empty(t, aws.ToString(got.EventPattern))
	require.Equal(t, "rate(5 minutes)", aws.ToString(got.ScheduleExpression))
	require.Equal(t, "d", aws.ToString(got.Description))
	require.Equal(t, types.RuleStateDisabled, got.State)
	stored, err := b.store.RuleGet(ctx(t), "failed-jobs")
	require.NoError(t, err)
	require.Equal(t, t0, stored.CreatedAt, "an update keeps the creation time")
	require.EqualValues(t, 2, b.rulesChanged.Load())

	_, err = b.eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("nope")})
	require.Equal(t, "Rule nope does not exist on EventBus default.", apiErr(t, err, codeNotFound))
}

func TestPutRuleValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := map[string]struct {
		in      map[string]any
		code    string
		message string
	}{
		"no pattern nor schedule": {map[string]any{"Name": "r"}, codeValidation, "Parameter(s) EventPattern or ScheduleExpression must be specified."},
		"bad pattern":             {map[string]any{"Name": "r", "EventPattern": `{"source":"aws.batch"}`}, codeInvalidPattern, "Event pattern is not valid. Reason: source: "},
		"pattern not JSON":        {map[string]any{"Name": "r", "EventPattern": `{`}, codeInvalidPattern, "Event pattern is not valid. Reason: "},
		"bad schedule":            {map[string]any{"Name": "r", "ScheduleExpression": "rate(1 minutes)"}, codeValidation, "Parameter ScheduleExpression is not valid."},
		"bad cron":                {map[string]any{"Name": "r", "ScheduleExpression": "cron(0 12 * * * *)"}, codeValidation, "Parameter ScheduleExpression is not valid."},
		"bad zone":                {map[string]any{"Name": "r", "ScheduleExpression": "cron(0 12 * * ? *)", "ScheduleExpressionTimezone": "Mars/Olympus"}, codeValidation, "ScheduleExpressionTimezone"},
		"zone without schedule":   {map[string]any{"Name": "r", "EventPattern": `{"source":["x"]}`, "ScheduleExpressionTimezone": "Europe/Paris"}, codeValidation, "only valid with a ScheduleExpression"},
		"bad name":                {map[string]any{"Name": "a b", "ScheduleExpression": "rate(1 minute)"}, codeValidation, "at 'name' failed to satisfy constraint"},
		"long name":               {map[string]any{"Name": string(bytes.Repeat([]byte("a"), 65)), "ScheduleExpression": "rate(1 minute)"}, codeValidation, "length between 1 and 64"},
		"no name":                 {map[string]any{"ScheduleExpression": "rate(1 minute)"}, codeValidation, "Value null at 'name'"},
		"other bus":               {map[string]any{"Name": "r", "EventBusName": "orders", "ScheduleExpression": "rate(1 minute)"}, codeNotFound, "Event bus orders does not exist."},
		"bad state":               {map[string]any{"Name": "r", "ScheduleExpression": "rate(1 minute)", "State": "ON"}, codeValidation, "enum value set"},
		"cloudtrail state":        {map[string]any{"Name": "r", "ScheduleExpression": "rate(1 minute)", "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"}, codeValidation, "CloudTrail"},
		"wrong type":              {map[string]any{"Name": 5}, codeValidation, "Name: must be of type string"},
		"tag without key":         {map[string]any{"Name": "r", "ScheduleExpression": "rate(1 minute)", "Tags": []map[string]any{{"Value": "v"}}}, codeValidation, "tags.1.member.key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg := b.fails(t, "PutRule", tc.in, tc.code)
			require.Contains(t, msg, tc.message)
		})
	}
	t.Run("a valid cron is accepted", func(t *testing.T) {
		t.Parallel()
		_, err := b.eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("ok"), ScheduleExpression: aws.String("cron(0/5 * * * ? *)")})
		require.NoError(t, err)
	})
}

func TestPutRuleTimezone(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// The Gantry member.
	b.ok(t, "PutRule", map[string]any{"Name": "paris", "ScheduleExpression": "cron(0 9 * * ? *)", "ScheduleExpressionTimezone": "Europe/Paris"}, nil)
	var d ruleOutput
	b.ok(t, "DescribeRule", map[string]any{"Name": "paris"}, &d)
	require.Equal(t, "Europe/Paris", d.ScheduleExpressionTimezone)
	require.Equal(t, account, d.CreatedBy)
	sdk, err := b.eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("paris")})
	require.NoError(t, err, "SDKs skip the extension member")
	require.Equal(t, "cron(0 9 * * ? *)", aws.ToString(sdk.ScheduleExpression))

	// The tag, for SDKs without the member; it survives updates and
	// follows TagResource/UntagResource.
	_, err = b.eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("ny"), ScheduleExpression: aws.String("cron(0 9 * * ? *)"),
		Tags: []types.Tag{{Key: aws.String(TimezoneTag), Value: aws.String("America/New_York")}, {Key: aws.String("team"), Value: aws.String("a")}}})
	require.NoError(t, err)
	zone := func(name string) string {
		r, err := b.store.RuleGet(ctx(t), name)
		require.NoError(t, err)
		return r.ScheduleExpressionTimezone
	}
	require.Equal(t, "America/New_York", zone("ny"))
	_, err = b.eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("ny"), ScheduleExpression: aws.String("cron(0 10 * * ? *)")})
	require.NoError(t, err)
	require.Equal(t, "America/New_York", zone("ny"))

	arn := "arn:aws:events:eu-west-1:123456789012:rule/ny"
	_, err = b.eb.TagResource(ctx(t), &eventbridge.TagResourceInput{ResourceARN: aws.String(arn), Tags: []types.Tag{{Key: aws.String(TimezoneTag), Value: aws.String("Asia/Tokyo")}}})
	require.NoError(t, err)
	require.Equal(t, "Asia/Tokyo", zone("ny"))
	_, err = b.eb.TagResource(ctx(t), &eventbridge.TagResourceInput{ResourceARN: aws.String(arn), Tags: []types.Tag{{Key: aws.String(TimezoneTag), Value: aws.String("Nowhere/Land")}}})
	apiErr(t, err, codeValidation)
	require.Equal(t, "Asia/Tokyo", zone("ny"), "a refused tag changes nothing")
	_, err = b.eb.UntagResource(ctx(t), &eventbridge.UntagResourceInput{ResourceARN: aws.String(arn), TagKeys: []string{TimezoneTag}})
	require.NoError(t, err)
	require.Empty(t, zone("ny"))

	tags, err := b.eb.ListTagsForResource(ctx(t), &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	require.NoError(t, err)
	require.Len(t, tags.Tags, 1)
	require.Equal(t, "team", aws.ToString(tags.Tags[0].Key))

	_, err = b.eb.ListTagsForResource(ctx(t), &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:events:eu-west-1:123456789012:rule/none")})
	apiErr(t, err, codeNotFound)
	_, err = b.eb.TagResource(ctx(t), &eventbridge.TagResourceInput{ResourceARN: aws.String("arn:aws:sqs:eu-west-1:123456789012:q"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	apiErr(t, err, codeValidation)
}

func TestListRulesPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, n := range []string{"a1", "a2", "a3", "a4", "a5", "b1"} {
		b.putRule(t, n, `{"source":["x"]}`)
	}
	var names []string
	p := eventbridge.ListRulesInput{NamePrefix: aws.String("a"), Limit: aws.Int32(2)}
	pages := 0
	for {
		out, err := b.eb.ListRules(ctx(t), &p)
		require.NoError(t, err)
		pages++
		for _, r := range out.Rules {
			names = append(names, aws.ToString(r.Name))
			require.Equal(t, types.RuleStateEnabled, r.State)
		}
		if out.NextToken == nil {
			break
		}
		p.NextToken = out.NextToken
	}
	require.Equal(t, []string{"a1", "a2", "a3", "a4", "a5"}, names)
	require.Equal(t, 3, pages)

	all, err := b.eb.ListRules(ctx(t), &eventbridge.ListRulesInput{})
	require.NoError(t, err)
	require.Len(t, all.Rules, 6)
	require.Nil(t, all.NextToken)

	_, err = b.eb.ListRules(ctx(t), &eventbridge.ListRulesInput{Limit: aws.Int32(101)})
	apiErr(t, err, codeValidation)
	_, err = b.eb.ListRules(ctx(t), &eventbridge.ListRulesInput{NextToken: aws.String("garbage!")})
	apiErr(t, err, codeValidation)
}

func TestEnableDisableDeleteRule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.putRule(t, "r", `{"source":["x"]}`)
	state := func() types.RuleState {
		out, err := b.eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("r")})
		require.NoError(t, err)
		return out.State
	}
	_, err := b.eb.DisableRule(ctx(t), &eventbridge.DisableRuleInput{Name: aws.String("r")})
	require.NoError(t, err)
	require.Equal(t, types.RuleStateDisabled, state())
	_, err = b.eb.EnableRule(ctx(t), &eventbridge.EnableRuleInput{Name: aws.String("r")})
	require.NoError(t, err)
	require.Equal(t, types.RuleStateEnabled, state())
	_, err = b.eb.EnableRule(ctx(t), &eventbridge.EnableRuleInput{Name: aws.String("none")})
	apiErr(t, err, codeNotFound)

	_, err = b.eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("hook"), Arn: aws.String("http://127.0.0.1:9/hook")}}})
	require.NoError(t, err)
	_, err = b.eb.DeleteRule(ctx(t), &eventbridge.DeleteRuleInput{Name: aws.String("r"), Force: true})
	require.Equal(t, "Rule can't be deleted since it has targets.", apiErr(t, err, codeValidation))
	_, err = b.eb.RemoveTargets(ctx(t), &eventbridge.RemoveTargetsInput{Rule: aws.String("r"), Ids: []string{"hook"}})
	require.NoError(t, err)
	before := b.rulesChanged.Load()
	_, err = b.eb.DeleteRule(ctx(t), &eventbridge.DeleteRuleInput{Name: aws.String("r")})
	require.NoError(t, err)
	require.Equal(t, before+1, b.rulesChanged.Load())
	_, err = b.store.RuleGet(ctx(t), "r")
	require.Error(t, err)
	_, err = b.eb.DeleteRule(ctx(t), &eventbridge.DeleteRuleInput{Name: aws.String("r")})
	require.NoError(t, err, "deleting a rule that is gone succeeds, as on AWS")
}

// TestDisableRuleResetsSchedule checks that disabling a scheduled rule
// drops its schedule position in the same transaction, so re-enabling it
// cannot catch up a fire that fell due while it was disabled.
func TestDisableRuleResetsSchedule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")})
	require.NoError(t, err)
	require.NoError(t, b.store.ScheduleStateUpsert(ctx(t), &store.ScheduleState{Rule: "tick", NextFireAt: t0 + 60_000, Expression: "rate(1 minute)"}))
	_, err = b.eb.DisableRule(ctx(t), &eventbridge.DisableRuleInput{Name: aws.String("tick")})
	require.NoError(t, err)
	_, err = b.store.ScheduleStateGet(ctx(t), "tick")
	require.ErrorIs(t, err, gantry.ErrNotFound)
}

func TestEventBus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	out, err := b.eb.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{})
	require.NoError(t, err)
	require.Equal(t, "default", aws.ToString(out.Name))
	require.Equal(t, "arn:aws:events:eu-west-1:123456789012:event-bus/default", aws.ToString(out.Arn))
	_, err = b.eb.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("other")})
	apiErr(t, err, codeNotFound)
	list, err := b.eb.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
	require.NoError(t, err)
	require.Len(t, list.EventBuses, 1)
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	b := setup(t)
	msg := b.fails(t, "CreateArchive", map[string]any{}, codeUnknownOp)
	require.Contains(t, msg, "AWSEvents.CreateArchive")
	b.fails(t, "PutRule", `[1]`, codeValidation)
	b.fails(t, "PutRule", `{"Name":`, codeValidation)
	msg = b.fails(t, "PutTargets", map[string]any{"Rule": "r", "Targets": "x"}, codeValidation)
	require.Contains(t, msg, "Targets")

	resp, err := b.srv.Client().Get(b.srv.URL + DeliveriesPath + "?state=LOST")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	req, err := http.NewRequest(http.MethodPut, b.srv.URL+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", "AWSEvents.ListRules")
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, codeUnknownOp, rec.Header().Get("X-Amzn-ErrorType"))
}
