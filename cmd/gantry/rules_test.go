package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/eventsapi"
	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// TestRulesCommands drives `gantry rules`, `rules show`, `rules
// deliveries` and `schedules` against a real server: rules made with the
// SDK, an event delivered to a webhook, one target that is never reachable.
func TestRulesCommands(t *testing.T) {
	t.Parallel()
	srv := gantrytest.New(t)
	url := srv.URL()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(hook.Close)
	eb := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		HTTPClient:  gantrytest.CopyBodyClient{C: &http.Client{}},
	})
	ctx := context.Background()
	_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("orders"), EventPattern: aws.String(`{"source": ["shop"]}`)})
	require.NoError(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("orders"), Targets: []ebtypes.Target{
		{Id: aws.String("hook"), Arn: aws.String(hook.URL), RetryPolicy: &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)}},
	}})
	require.NoError(t, err)
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("hourly"), ScheduleExpression: aws.String("cron(0 * * * ? *)")})
	require.NoError(t, err)

	out := mustCLI(t, "rules", "--endpoint", url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^NAME\s+STATE\s+PATTERN OR SCHEDULE\s+TARGETS$`, lines[0])
	require.Regexp(t, `^hourly\s+ENABLED\s+cron\(0 \* \* \* \? \*\)\s+0$`, lines[1])
	require.Regexp(t, `^orders\s+ENABLED\s+\{"source":\["shop"\]\}\s+1$`, lines[2])

	var rows []ruleRow
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "rules", "--endpoint", url, "-o", "json")), &rows))
	require.Len(t, rows, 2)
	require.Equal(t, 1, rows[1].Targets)

	out = mustCLI(t, "schedules", "--endpoint", url, "--count", "2")
	require.Regexp(t, `hourly\s+ENABLED\s+cron\(0 \* \* \* \? \*\)\s+-\s+-\s+\S+:00:00Z, \S+:00:00Z`, out)
	var scheds []eventsapi.Schedule
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "schedules", "--endpoint", url, "-o", "json")), &scheds))
	require.Len(t, scheds, 1)
	require.Len(t, scheds[0].NextFires, 5)

	_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"n":1}`)}}})
	require.NoError(t, err)
	var ds []eventsapi.Delivery
	deadline := time.Now().Add(jobTimeout)
	for {
		require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "rules", "deliveries", "--endpoint", url, "-o", "json")), &ds))
		if len(ds) == 1 && ds[0].State == "DELIVERED" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the event was not delivered: %+v", ds)
		time.Sleep(20 * time.Millisecond)
	}

	out = mustCLI(t, "rules", "show", "orders", "--endpoint", url)
	require.Contains(t, out, "Event pattern:  {\"source\":[\"shop\"]}")
	require.Regexp(t, `hook\s+`+hook.URL+`\s+max retries 0`, out)
	require.Contains(t, out, "Last deliveries (1):")
	require.Regexp(t, `\d+\s+hook\s+DELIVERED\s+1\s`, out)
	out = mustCLI(t, "rules", "show", "hourly", "--endpoint", url, "--count", "3")
	require.Regexp(t, `Next fires:\s+\S+, \S+, \S+\n`, out)
	var detail map[string]any
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "rules", "show", "orders", "--endpoint", url, "-o", "json")), &detail))
	require.Equal(t, "orders", detail["Rule"].(map[string]any)["Name"])
	require.NotContains(t, detail["Rule"], "ResultMetadata")

	out = mustCLI(t, "rules", "deliveries", "--endpoint", url, "--dead")
	require.Equal(t, 1, strings.Count(out, "\n"), "only the header: nothing is dead\n%s", out)
	_, err = runCLI(t, "rules", "show", "missing", "--endpoint", url)
	require.ErrorContains(t, err, "ResourceNotFoundException")
	_, err = runCLI(t, "rules", "deliveries", "--endpoint", url, "--dead", "--state", "PENDING")
	require.ErrorContains(t, err, "contradict")
}
