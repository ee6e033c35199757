package eventsapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/store"
)

const queueARN = "arn:aws:batch:eu-west-1:123456789012:job-queue/q"

func batchTarget(id string) types.Target {
	return types.Target{Id: aws.String(id), Arn: aws.String(queueARN),
		BatchParameters: &types.BatchParameters{JobDefinition: aws.String("def"), JobName: aws.String("next"),
			ArrayProperties: &types.BatchArrayProperties{Size: 3}, RetryStrategy: &types.BatchRetryStrategy{Attempts: 2}},
		InputTransformer: &types.InputTransformer{InputPathsMap: map[string]string{"job": "$.detail.jobId"},
			InputTemplate: aws.String(`{"Parameters":{"upstream":<job>}}`)},
		RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(600)},
	}
}

// createDestination makes a connection and an API destination and returns
// the destination's ARN.
func (b *testBundle) createDestination(t *testing.T, name string) string {
	t.Helper()
	conn, err := b.eb.CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String(name + "-conn"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("X-Token"), ApiKeyValue: aws.String("s3cret")}}})
	require.NoError(t, err)
	d, err := b.eb.CreateApiDestination(ctx(t), &eventbridge.CreateApiDestinationInput{Name: aws.String(name),
		ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String("https://hooks.example.com/x"), HttpMethod: types.ApiDestinationHttpMethodPost})
	require.NoError(t, err)
	return aws.ToString(d.ApiDestinationArn)
}

func TestPutTargets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.putRule(t, "r", batchPattern)
	destARN := b.createDestination(t, "slack")

	out, err := b.eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{
		batchTarget("batch"),
		{Id: aws.String("slack"), Arn: aws.String(destARN), InputPath: aws.String("$.detail"),
			HttpParameters: &types.HttpParameters{HeaderParameters: map[string]string{"X-A": "1"}}},
		{Id: aws.String("hook"), Arn: aws.String("http://127.0.0.1:8080/hook"), Input: aws.String(`{"fixed":true}`)},
		{Id: aws.String("lambda"), Arn: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:f")},
		{Id: aws.String("nobatchparams"), Arn: aws.String(queueARN)},
		{Id: aws.String("badinput"), Arn: aws.String("https://example.com"), Input: aws.String("{nope")},
		{Id: aws.String("both"), Arn: aws.String("https://example.com"), Input: aws.String("{}"), InputPath: aws.String("$.detail")},
		{Id: aws.String("nodest"), Arn: aws.String("arn:aws:events:eu-west-1:123456789012:api-destination/none")},
		{Id: aws.String("badpath"), Arn: aws.String("https://example.com"), InputPath: aws.String("detail")},
		{Id: aws.String("otherqueue"), Arn: aws.String("arn:aws:batch:us-west-2:123456789012:job-queue/q"),
			BatchParameters: &types.BatchParameters{JobDefinition: aws.String("d"), JobName: aws.String("n")}},
	}})
	require.NoError(t, err)
	failed := map[string]string{}
	for _, f := range out.FailedEntries {
		failed[aws.ToString(f.TargetId)] = aws.ToString(f.ErrorCode) + ": " + aws.ToString(f.ErrorMessage)
	}
	require.EqualValues(t, 7, out.FailedEntryCount, "%v", failed)
	require.Contains(t, failed["lambda"], "Gantry does not deliver to")
	require.Contains(t, failed["lambda"], "job-queue/NAME")
	require.Contains(t, failed["nobatchparams"], "Parameter(s) BatchParameters must be specified for target: nobatchparams.")
	require.Contains(t, failed["badinput"], "valid JSON")
	require.Contains(t, failed["both"], "Only one of Input, InputPath or InputTransformer")
	require.Contains(t, failed["nodest"], "ResourceNotFoundException: API destination none does not exist.")
	require.Contains(t, failed["badpath"], "JSONPath")
	require.Contains(t, failed["otherqueue"], "not a job queue ARN of this Gantry")

	list, err := b.eb.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	require.NoError(t, err)
	require.Len(t, list.Targets, 3)
	byID := map[string]types.Target{}
	for _, tg := range list.Targets {
		byID[aws.ToString(tg.Id)] = tg
	}
	bt := byID["batch"]
	require.Equal(t, "def", aws.ToString(bt.BatchParameters.JobDefinition))
	require.EqualValues(t, 3, bt.BatchParameters.ArrayProperties.Size)
	require.EqualValues(t, 2, bt.BatchParameters.RetryStrategy.Attempts)
	require.Equal(t, "$.detail.jobId", bt.InputTransformer.InputPathsMap["job"])
	require.EqualValues(t, 3, aws.ToInt32(bt.RetryPolicy.MaximumRetryAttempts))
	require.Equal(t, "1", byID["slack"].HttpParameters.HeaderParameters["X-A"])
	require.Equal(t, `{"fixed":true}`, aws.ToString(byID["hook"].Input))

	// The stored target is the gantry.Target the dispatcher reads.
	stored, err := b.store.RuleTargetList(ctx(t), "r")
	require.NoError(t, err)
	require.Len(t, stored, 3)

	names, err := b.eb.ListRuleNamesByTarget(ctx(t), &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(queueARN)})
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, names.RuleNames)

	// Replacing a target by Id, then going over the quota of 5.
	tg := batchTarget("batch")
	tg.BatchParameters.JobName = aws.String("renamed")
	_, err = b.eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{tg}})
	require.NoError(t, err)
	more := []types.Target{}
	for i := range 3 {
		more = append(more, types.Target{Id: aws.String(fmt.Sprintf("h%d", i)), Arn: aws.String("https://example.com")})
	}
	_, err = b.eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: more})
	require.Contains(t, apiErr(t, err, codeLimitExceeded), "at most 5 targets")
	list, err = b.eb.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	require.NoError(t, err)
	require.Len(t, list.Targets, 3, "a refused request stores nothing")
	for _, tg := range list.Targets {
		if aws.ToString(tg.Id) == "batch" {
			require.Equal(t, "renamed", aws.ToString(tg.BatchParameters.JobName))
		}
	}

	// RemoveTargets ignores unknown ids.
	rm, err := b.eb.RemoveTargets(ctx(t), &eventbridge.RemoveTargetsInput{Rule: aws.String("r"), Ids: []string{"hook", "ghost"}})
	require.NoError(t, err)
	require.Zero(t, rm.FailedEntryCount)
	list, err = b.eb.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")})
	require.NoError(t, err)
	require.Len(t, list.Targets, 2)
}

func TestPutTargetsRequestErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.putRule(t, "r", batchPattern)
	tests := map[string]struct {
		in      map[string]any
		code    string
		message string
	}{
		"unknown rule":     {map[string]any{"Rule": "none", "Targets": []any{map[string]any{"Id": "a", "Arn": "https://x"}}}, codeNotFound, "Rule none does not exist"},
		"bad id":           {map[string]any{"Rule": "r", "Targets": []any{map[string]any{"Id": "a b", "Arn": "https://x"}}}, codeValidation, "targets.1.member.id"},
		"no arn":           {map[string]any{"Rule": "r", "Targets": []any{map[string]any{"Id": "a"}}}, codeValidation, "targets.1.member.arn"},
		"retries too many": {map[string]any{"Rule": "r", "Targets": []any{map[string]any{"Id": "a", "Arn": "https://x", "RetryPolicy": map[string]any{"MaximumRetryAttempts": 186}}}}, codeValidation, "between 0 and 185"},
		"age too short":    {map[string]any{"Rule": "r", "Targets": []any{map[string]any{"Id": "a", "Arn": "https://x", "RetryPolicy": map[string]any{"MaximumEventAgeInSeconds": 59}}}}, codeValidation, "between 60 and 86400"},
		"no template":      {map[string]any{"Rule": "r", "Targets": []any{map[string]any{"Id": "a", "Arn": "https://x", "InputTransformer": map[string]any{}}}}, codeValidation, "inputTemplate"},
		"duplicate ids":    {map[string]any{"Rule": "r", "Targets": []any{map[string]any{"Id": "a", "Arn": "https://x"}, map[string]any{"Id": "a", "Arn": "https://y"}}}, codeValidation, "more than once"},
		"no targets":       {map[string]any{"Rule": "r", "Targets": []any{}}, codeValidation, "between 1 and 100"},
		"other bus":        {map[string]any{"Rule": "r", "EventBusName": "x", "Targets": []any{map[string]any{"Id": "a", "Arn": "https://x"}}}, codeNotFound, "Event bus x does not exist."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, b.fails(t, "PutTargets", tc.in, tc.code), tc.message)
		})
	}
	t.Run("too many paths", func(t *testing.T) {
		t.Parallel()
		paths := map[string]string{}
		for i := range 101 {
			paths[fmt.Sprintf("p%d", i)] = "$.detail"
		}
		var out targetsOutput
		b.ok(t, "PutTargets", map[string]any{"Rule": "r", "Targets": []any{map[string]any{"Id": "many", "Arn": "https://x",
			"InputTransformer": map[string]any{"InputPathsMap": paths, "InputTemplate": "<p1>"}}}}, &out)
		require.Equal(t, 1, out.FailedEntryCount)
		require.Contains(t, out.FailedEntries[0].ErrorMessage, "at most 100")
	})
	t.Run("remove from unknown rule", func(t *testing.T) {
		t.Parallel()
		b.fails(t, "RemoveTargets", map[string]any{"Rule": "none", "Ids": []string{"a"}}, codeNotFound)
		b.fails(t, "RemoveTargets", map[string]any{"Rule": "r"}, codeValidation)
	})
}

func TestListTargetsPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.putRule(t, "r", batchPattern)
	var targets []types.Target
	for i := range 5 {
		targets = append(targets, types.Target{Id: aws.String(fmt.Sprintf("t%d", i)), Arn: aws.String("https://example.com")})
	}
	_, err := b.eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: targets})
	require.NoError(t, err)
	var ids []string
	in := &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), Limit: aws.Int32(2)}
	for range 10 {
		out, err := b.eb.ListTargetsByRule(ctx(t), in)
		require.NoError(t, err)
		for _, tg := range out.Targets {
			ids = append(ids, aws.ToString(tg.Id))
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	require.Equal(t, []string{"t0", "t1", "t2", "t3", "t4"}, ids)
	_, err = b.eb.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("none")})
	apiErr(t, err, codeNotFound)
}

func TestPutEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	when := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	out, err := b.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("my.app"), DetailType: aws.String("Order Placed"), Detail: aws.String(`{ "id": 7 }`), Resources: []string{"arn:x"}, Time: &when},
		{Source: aws.String("aws.batch"), DetailType: aws.String("Batch Job State Change"), Detail: aws.String(`{}`)},
		{Source: aws.String("my.app"), DetailType: aws.String("x"), Detail: aws.String(`[1]`)},
		{Source: aws.String("my.app"), Detail: aws.String(`{}`)},
		{Source: aws.String("my.app"), DetailType: aws.String("x"), Detail: aws.String(`{}`), EventBusName: aws.String("other")},
		{Source: aws.String("my.app"), DetailType: aws.String("Later"), Detail: aws.String(`{}`), EventBusName: aws.String("default")},
	}})
	require.NoError(t, err)
	require.EqualValues(t, 4, out.FailedEntryCount)
	require.Len(t, out.Entries, 6)
	require.NotEmpty(t, aws.ToString(out.Entries[0].EventId))
	require.Equal(t, "NotAuthorizedForSourceException", aws.ToString(out.Entries[1].ErrorCode))
	require.Equal(t, "MalformedDetail", aws.ToString(out.Entries[2].ErrorCode))
	require.Equal(t, "InvalidArgument", aws.ToString(out.Entries[3].ErrorCode))
	require.Contains(t, aws.ToString(out.Entries[3].ErrorMessage), "DetailType")
	require.Equal(t, "ResourceNotFoundException", aws.ToString(out.Entries[4].ErrorCode))
	require.NotEmpty(t, aws.ToString(out.Entries[5].EventId))
	require.EqualValues(t, 1, b.eventsAdded.Load())

	events, err := b.store.EventList(ctx(t), &store.EventListParams{})
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, aws.ToString(out.Entries[0].EventId), events[0].UUID)
	require.Equal(t, when.UnixMilli(), events[0].Time)
	require.Equal(t, "my.app", events[0].Source)
	require.Equal(t, "Order Placed", events[0].DetailType)
	require.Equal(t, []string{"arn:x"}, events[0].Resources)
	require.JSONEq(t, `{"id":7}`, string(events[0].Detail))
	require.Equal(t, t0, events[1].Time, "no Time is the handler's now")

	// All refused: nothing is written and nobody is woken.
	out, err = b.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("aws.s3"), DetailType: aws.String("x"), Detail: aws.String(`{}`)}}})
	require.NoError(t, err)
	require.EqualValues(t, 1, out.FailedEntryCount)
	require.EqualValues(t, 1, b.eventsAdded.Load())

	var entries []types.PutEventsRequestEntry
	for range 11 {
		entries = append(entries, types.PutEventsRequestEntry{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String("{}")})
	}
	_, err = b.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: entries})
	apiErr(t, err, codeValidation)
	big := `{"x":"` + strings.Repeat("a", 300*1024) + `"}`
	_, err = b.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: entries[:1:1]})
	require.NoError(t, err)
	_, err = b.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(big)}}})
	require.Contains(t, apiErr(t, err, codeValidation), "over the limit")

	// Time may be a string too (epoch seconds or RFC 3339).
	var raw putEventsOutput
	b.ok(t, "PutEvents", map[string]any{"Entries": []any{
		map[string]any{"Source": "a", "DetailType": "b", "Detail": "{}", "Time": "2024-03-01T12:00:00Z"},
		map[string]any{"Source": "a", "DetailType": "b", "Detail": "{}", "Time": 1709294400.5},
	}}, &raw)
	require.Zero(t, raw.FailedEntryCount)
	msg := b.fails(t, "PutEvents", map[string]any{"Entries": []any{map[string]any{"Source": "a", "DetailType": "b", "Detail": "{}", "Time": "yesterday"}}}, codeValidation)
	require.Contains(t, msg, "Time")
}

func TestTestEventPattern(t *testing.T) {
	t.Parallel()
	b := setup(t)
	event := func(status string) string {
		return `{"version":"0","id":"1","detail-type":"Batch Job State Change","source":"aws.batch","account":"123456789012",` +
			`"time":"2024-03-01T12:00:00Z","region":"eu-west-1","resources":[],"detail":{"status":"` + status + `"}}`
	}
	out, err := b.eb.TestEventPattern(ctx(t), &eventbridge.TestEventPatternInput{EventPattern: aws.String(batchPattern), Event: aws.String(event("FAILED"))})
	require.NoError(t, err)
	require.True(t, out.Result)
	out, err = b.eb.TestEventPattern(ctx(t), &eventbridge.TestEventPatternInput{EventPattern: aws.String(batchPattern), Event: aws.String(event("SUCCEEDED"))})
	require.NoError(t, err)
	require.False(t, out.Result)

	_, err = b.eb.TestEventPattern(ctx(t), &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"detail":{"status":[{"prefix":1}]}}`), Event: aws.String(event("FAILED"))})
	require.Contains(t, apiErr(t, err, codeInvalidPattern), "Event pattern is not valid. Reason:")
	for _, bad := range []string{`{"source":"x"}`, `not json`, `{"id":"1","account":"a","source":"s","time":"2024-03-01T12:00:00Z","region":"r","resources":"x","detail-type":"d"}`,
		`{"id":"1","account":"a","source":"s","time":"noon","region":"r","resources":[],"detail-type":"d"}`} {
		_, err = b.eb.TestEventPattern(ctx(t), &eventbridge.TestEventPatternInput{EventPattern: aws.String(batchPattern), Event: aws.String(bad)})
		require.Contains(t, apiErr(t, err, codeValidation), "Parameter Event is not valid.", bad)
	}
}

func TestConnections(t *testing.T) {
	t.Parallel()
	b := setup(t)
	basic, err := b.eb.CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String("basic"), Description: aws.String("d"),
		AuthorizationType: types.ConnectionAuthorizationTypeBasic,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{
			BasicAuthParameters: &types.CreateConnectionBasicAuthRequestParameters{Username: aws.String("u"), Password: aws.String("pw")},
			InvocationHttpParameters: &types.ConnectionHttpParameters{HeaderParameters: []types.ConnectionHeaderParameter{
				{Key: aws.String("X-Secret"), Value: aws.String("hidden"), IsValueSecret: true}, {Key: aws.String("X-Plain"), Value: aws.String("shown")}}},
		}})
	require.NoError(t, err)
	require.Regexp(t, `^arn:aws:events:eu-west-1:123456789012:connection/basic/[0-9a-f-]{36}$`, aws.ToString(basic.ConnectionArn))
	require.Equal(t, types.ConnectionStateAuthorized, basic.ConnectionState)
	require.Equal(t, time.UnixMilli(t0).UTC(), basic.CreationTime.UTC())

	_, err = b.eb.CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String("oauth"),
		AuthorizationType: types.ConnectionAuthorizationTypeOauthClientCredentials,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{OAuthParameters: &types.CreateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String("https://auth.example.com/token"), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters: &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("id"), ClientSecret: aws.String("cs")}}}})
	require.NoError(t, err)

	d, err := b.eb.DescribeConnection(ctx(t), &eventbridge.DescribeConnectionInput{Name: aws.String("basic")})
	require.NoError(t, err)
	require.Equal(t, "u", aws.ToString(d.AuthParameters.BasicAuthParameters.Username))
	require.Regexp(t, `^arn:aws:secretsmanager:eu-west-1:123456789012:secret:events!connection/basic/`, aws.ToString(d.SecretArn))
	require.Equal(t, "d", aws.ToString(d.Description))
	hp := d.AuthParameters.InvocationHttpParameters.HeaderParameters
	require.Len(t, hp, 2)
	require.Empty(t, aws.ToString(hp[0].Value), "secret values are not returned")
	require.Equal(t, "shown", aws.ToString(hp[1].Value))
	var raw map[string]any
	b.ok(t, "DescribeConnection", map[string]any{"Name": "oauth"}, &raw)
	rawJSON, _ := json.Marshal(raw)
	require.NotContains(t, string(rawJSON), "cs")
	require.Contains(t, string(rawJSON), `"ClientID":"id"`)
	stored, err := b.store.ConnectionGet(ctx(t), "basic")
	require.NoError(t, err)
	require.Equal(t, "pw", stored.AuthParameters.BasicAuthParameters.Password, "the store keeps the secrets for delivery")

	// Update: a new password; then switch to API_KEY, which needs its block.
	b.ms.Add(1000)
	up, err := b.eb.UpdateConnection(ctx(t), &eventbridge.UpdateConnectionInput{Name: aws.String("basic"),
		AuthParameters: &types.UpdateConnectionAuthRequestParameters{BasicAuthParameters: &types.UpdateConnectionBasicAuthRequestParameters{Password: aws.String("pw2")}}})
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(t0+1000).UTC(), up.LastModifiedTime.UTC())
	stored, err = b.store.ConnectionGet(ctx(t), "basic")
	require.NoError(t, err)
	require.Equal(t, "u", stored.AuthParameters.BasicAuthParameters.Username)
	require.Equal(t, "pw2", stored.AuthParameters.BasicAuthParameters.Password)
	_, err = b.eb.UpdateConnection(ctx(t), &eventbridge.UpdateConnectionInput{Name: aws.String("basic"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey})
	apiErr(t, err, codeValidation)

	// Deauthorize and list by state, paged.
	_, err = b.eb.DeauthorizeConnection(ctx(t), &eventbridge.DeauthorizeConnectionInput{Name: aws.String("oauth")})
	require.NoError(t, err)
	l, err := b.eb.ListConnections(ctx(t), &eventbridge.ListConnectionsInput{ConnectionState: types.ConnectionStateDeauthorized})
	require.NoError(t, err)
	require.Len(t, l.Connections, 1)
	require.Equal(t, "oauth", aws.ToString(l.Connections[0].Name))
	l, err = b.eb.ListConnections(ctx(t), &eventbridge.ListConnectionsInput{Limit: aws.Int32(1)})
	require.NoError(t, err)
	require.Len(t, l.Connections, 1)
	require.NotNil(t, l.NextToken)
	l, err = b.eb.ListConnections(ctx(t), &eventbridge.ListConnectionsInput{Limit: aws.Int32(1), NextToken: l.NextToken})
	require.NoError(t, err)
	require.Equal(t, "oauth", aws.ToString(l.Connections[0].Name))
	require.Nil(t, l.NextToken)

	// Errors.
	_, err = b.eb.CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String("basic"), AuthorizationType: types.ConnectionAuthorizationTypeBasic,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{BasicAuthParameters: &types.CreateConnectionBasicAuthRequestParameters{Username: aws.String("u"), Password: aws.String("p")}}})
	apiErr(t, err, codeAlreadyExists)
	_, err = b.eb.CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String("x"), AuthorizationType: types.ConnectionAuthorizationTypeBasic,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
	apiErr(t, err, codeValidation)
	msg := b.fails(t, "CreateConnection", map[string]any{"Name": "x", "AuthorizationType": "BASIC", "AuthParameters": map[string]any{"BasicAuthParameters": map[string]any{"Username": "u"}}}, codeValidation)
	require.Contains(t, msg, "password")
	_, err = b.eb.DescribeConnection(ctx(t), &eventbridge.DescribeConnectionInput{Name: aws.String("none")})
	apiErr(t, err, codeNotFound)

	del, err := b.eb.DeleteConnection(ctx(t), &eventbridge.DeleteConnectionInput{Name: aws.String("basic")})
	require.NoError(t, err)
	require.Equal(t, basic.ConnectionArn, del.ConnectionArn)
	_, err = b.eb.DeleteConnection(ctx(t), &eventbridge.DeleteConnectionInput{Name: aws.String("basic")})
	apiErr(t, err, codeNotFound)
}

func TestAPIDestinations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn, err := b.eb.CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String("c"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}}})
	require.NoError(t, err)

	created, err := b.eb.CreateApiDestination(ctx(t), &eventbridge.CreateApiDestinationInput{Name: aws.String("local"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String("http://127.0.0.1:9999/hook"), HttpMethod: types.ApiDestinationHttpMethodPost})
	require.NoError(t, err, "http is allowed on loopback hosts")
	require.Regexp(t, `^arn:aws:events:eu-west-1:123456789012:api-destination/local/[0-9a-f-]{36}$`, aws.ToString(created.ApiDestinationArn))
	require.Equal(t, types.ApiDestinationStateActive, created.ApiDestinationState)
	d, err := b.eb.DescribeApiDestination(ctx(t), &eventbridge.DescribeApiDestinationInput{Name: aws.String("local")})
	require.NoError(t, err)
	require.EqualValues(t, 300, aws.ToInt32(d.InvocationRateLimitPerSecond))
	require.Equal(t, conn.ConnectionArn, d.ConnectionArn)
	require.Equal(t, types.ApiDestinationHttpMethodPost, d.HttpMethod)

	_, err = b.eb.UpdateApiDestination(ctx(t), &eventbridge.UpdateApiDestinationInput{Name: aws.String("local"), HttpMethod: types.ApiDestinationHttpMethodPut, InvocationRateLimitPerSecond: aws.Int32(5)})
	require.NoError(t, err)
	d, err = b.eb.DescribeApiDestination(ctx(t), &eventbridge.DescribeApiDestinationInput{Name: aws.String("local")})
	require.NoError(t, err)
	require.Equal(t, types.ApiDestinationHttpMethodPut, d.HttpMethod)
	require.EqualValues(t, 5, aws.ToInt32(d.InvocationRateLimitPerSecond))
	require.Equal(t, "http://127.0.0.1:9999/hook", aws.ToString(d.InvocationEndpoint))

	for name, in := range map[string]*eventbridge.CreateApiDestinationInput{
		"public http": {Name: aws.String("x"), ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String("http://example.com"), HttpMethod: types.ApiDestinationHttpMethodPost},
		"bad method":  {Name: aws.String("x"), ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String("https://example.com"), HttpMethod: "TRACE"},
		"bad conn":    {Name: aws.String("x"), ConnectionArn: aws.String("arn:aws:sqs:x"), InvocationEndpoint: aws.String("https://example.com"), HttpMethod: types.ApiDestinationHttpMethodPost},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.eb.CreateApiDestination(ctx(t), in)
			apiErr(t, err, codeValidation)
		})
	}
	_, err = b.eb.CreateApiDestination(ctx(t), &eventbridge.CreateApiDestinationInput{Name: aws.String("x"), InvocationEndpoint: aws.String("https://example.com"), HttpMethod: types.ApiDestinationHttpMethodPost,
		ConnectionArn: aws.String("arn:aws:events:eu-west-1:123456789012:connection/gone/00000000-0000-0000-0000-000000000000")})
	apiErr(t, err, codeNotFound)
	_, err = b.eb.CreateApiDestination(ctx(t), &eventbridge.CreateApiDestinationInput{Name: aws.String("local"), ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String("https://example.com"), HttpMethod: types.ApiDestinationHttpMethodPost})
	apiErr(t, err, codeAlreadyExists)

	_, err = b.eb.CreateApiDestination(ctx(t), &eventbridge.CreateApiDestinationInput{Name: aws.String("remote"), ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String("https://example.com/x"), HttpMethod: types.ApiDestinationHttpMethodGet})
	require.NoError(t, err)
	l, err := b.eb.ListApiDestinations(ctx(t), &eventbridge.ListApiDestinationsInput{ConnectionArn: conn.ConnectionArn, Limit: aws.Int32(1)})
	require.NoError(t, err)
	require.Len(t, l.ApiDestinations, 1)
	require.Equal(t, "local", aws.ToString(l.ApiDestinations[0].Name))
	require.NotNil(t, l.NextToken)
	l, err = b.eb.ListApiDestinations(ctx(t), &eventbridge.ListApiDestinationsInput{NamePrefix: aws.String("rem")})
	require.NoError(t, err)
	require.Len(t, l.ApiDestinations, 1)

	_, err = b.eb.DeleteApiDestination(ctx(t), &eventbridge.DeleteApiDestinationInput{Name: aws.String("local")})
	require.NoError(t, err)
	_, err = b.eb.DescribeApiDestination(ctx(t), &eventbridge.DescribeApiDestinationInput{Name: aws.String("local")})
	apiErr(t, err, codeNotFound)
	require.Positive(t, b.rulesChanged.Load())
}
