package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// awsEvents runs `aws events --endpoint-url <endpoint> ...`.
func awsEvents(t *testing.T, bin, endpoint string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"events", "--endpoint-url", endpoint}, args...)...)
	cmd.Env = awsEnv("gantry", "gantry")
	cmd.WaitDelay = 2 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("aws events %s: timed out: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String(), err
}

func awsEventsOK(t *testing.T, bin, endpoint string, v any, args ...string) {
	t.Helper()
	stdout, stderr, err := awsEvents(t, bin, endpoint, args...)
	require.NoError(t, err, "aws events %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), stdout, stderr)
	if v != nil {
		require.NoError(t, json.Unmarshal([]byte(stdout), v), "aws events %s printed %q", args[0], stdout)
	}
}

// gantryCLI runs the gantry binary as a client of endpoint.
func gantryCLI(t *testing.T, endpoint string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gantryBinary(t), append(args, "--endpoint", endpoint)...)
	cmd.Env = awsEnv("gantry", "gantry")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	require.NoError(t, err, "gantry %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errb.String())
	return out.String()
}

const failedPattern = `{"source":["my.app"],"detail-type":["Job Report"],"detail":{"status":["FAILED"]}}`

// TestAWSCLIEvents drives the EventBridge API with `aws events
// --endpoint-url`: a rule, a webhook target, test-event-pattern, put-events
// delivered to a receiver on 127.0.0.1, then the gantry CLI's view of it.
func TestAWSCLIEvents(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "aws", "--version")
	srv := gantrytest.New(t)
	url := srv.URL()
	hook := newReceiver(t, ok)

	var rule struct{ RuleArn string }
	awsEventsOK(t, bin, url, &rule, "put-rule", "--name", "failed-reports", "--event-pattern", failedPattern)
	require.Equal(t, "arn:aws:events:us-east-1:000000000000:rule/failed-reports", rule.RuleArn)
	awsEventsOK(t, bin, url, nil, "put-rule", "--name", "nightly", "--schedule-expression", "cron(0 2 * * ? *)", "--state", "DISABLED")

	var put struct {
		FailedEntryCount int
		FailedEntries    []struct{ TargetId, ErrorCode, ErrorMessage string }
	}
	awsEventsOK(t, bin, url, &put, "put-targets", "--rule", "failed-reports", "--targets",
		`[{"Id":"hook","Arn":"`+hook.URL+`/alert","InputPath":"$.detail"},{"Id":"lambda","Arn":"arn:aws:lambda:us-east-1:000000000000:function:f"}]`)
	require.Equal(t, 1, put.FailedEntryCount)
	require.Equal(t, "lambda", put.FailedEntries[0].TargetId)
	require.Contains(t, put.FailedEntries[0].ErrorMessage, "Gantry does not deliver to")

	var rules struct {
		Rules []struct{ Name, State, EventPattern, ScheduleExpression string }
	}
	awsEventsOK(t, bin, url, &rules, "list-rules")
	require.Len(t, rules.Rules, 2)
	require.Equal(t, "failed-reports", rules.Rules[0].Name)
	require.Equal(t, failedPattern, rules.Rules[0].EventPattern)
	require.Equal(t, "DISABLED", rules.Rules[1].State)

	var targets struct {
		Targets []struct{ Id, Arn, InputPath string }
	}
	awsEventsOK(t, bin, url, &targets, "list-targets-by-rule", "--rule", "failed-reports")
	require.Len(t, targets.Targets, 1)
	require.Equal(t, "$.detail", targets.Targets[0].InputPath)

	event := `{"id":"1","source":"my.app","detail-type":"Job Report","account":"000000000000","time":"2024-03-01T12:00:00Z",` +
		`"region":"us-east-1","resources":[],"detail":{"status":"FAILED"}}`
	var tested struct{ Result bool }
	awsEventsOK(t, bin, url, &tested, "test-event-pattern", "--event-pattern", failedPattern, "--event", event)
	require.True(t, tested.Result)
	_, stderr, err := awsEvents(t, bin, url, "test-event-pattern", "--event-pattern", `{"source":"my.app"}`, "--event", event)
	require.Error(t, err)
	require.Contains(t, stderr, "InvalidEventPatternException")
	_, stderr, err = awsEvents(t, bin, url, "describe-rule", "--name", "missing")
	require.Error(t, err)
	require.Contains(t, stderr, "ResourceNotFoundException")

	var sent struct {
		FailedEntryCount int
		Entries          []struct{ EventId string }
	}
	awsEventsOK(t, bin, url, &sent, "put-events", "--entries",
		`[{"Source":"my.app","DetailType":"Job Report","Detail":"{\"status\":\"FAILED\",\"job\":\"j-1\"}"}]`)
	require.Zero(t, sent.FailedEntryCount)
	require.Regexp(t, uuidRE, sent.Entries[0].EventId)

	// The bus delivers the event's detail (InputPath) to the webhook.
	require.JSONEq(t, `{"status":"FAILED","job":"j-1"}`, string(hook.next(20*time.Second).Body))

	// The gantry CLI shows the rules, the schedule and the delivery.
	out := gantryCLI(t, url, "rules")
	require.Contains(t, out, "failed-reports")
	require.Regexp(t, `nightly\s+DISABLED\s+cron\(0 2 \* \* \? \*\)\s+0`, out)
	out = gantryCLI(t, url, "schedules", "--count", "2")
	require.Contains(t, out, "nightly")
	var deliveries []struct {
		Rule, TargetID, State, EventID string
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		require.NoError(t, json.Unmarshal([]byte(gantryCLI(t, url, "rules", "deliveries", "--rule", "failed-reports", "-o", "json")), &deliveries))
		if len(deliveries) == 1 && deliveries[0].State == "DELIVERED" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the delivery was not recorded as DELIVERED: %+v", deliveries)
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, sent.Entries[0].EventId, deliveries[0].EventID)
	require.Equal(t, "hook", deliveries[0].TargetID)
	out = gantryCLI(t, url, "rules", "show", "failed-reports")
	require.Contains(t, out, "Targets (1):")
	require.Contains(t, out, "DELIVERED")
	out = gantryCLI(t, url, "rules", "deliveries", "--dead")
	require.NotContains(t, out, "failed-reports", "nothing is dead")
}

// boto3Events is run by TestBoto3Events: rules, targets, connections, API
// destinations, events and modeled exceptions through boto3. It prints one
// JSON summary line.
const boto3Events = `
import json, sys
import boto3
from botocore.exceptions import ClientError

ev = boto3.client("events", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="x", aws_secret_access_key="x")
out = {}
out["rule_arn"] = ev.put_rule(Name="py-rule", EventPattern=json.dumps({"source": ["py.app"]}),
                              Tags=[{"Key": "gantry:ScheduleExpressionTimezone", "Value": "Europe/Paris"}])["RuleArn"]
for i in range(3):
    ev.put_rule(Name="py-sched-%d" % i, ScheduleExpression="rate(%d minutes)" % (i + 2))
names = []
for page in ev.get_paginator("list_rules").paginate(NamePrefix="py-sched", PaginationConfig={"PageSize": 2}):
    names += [r["Name"] for r in page["Rules"]]
out["paged_names"] = names
conn = ev.create_connection(Name="py-conn", AuthorizationType="API_KEY",
                            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "X-Key", "ApiKeyValue": "secret"}})
out["conn_state"] = conn["ConnectionState"]
desc = ev.describe_connection(Name="py-conn")
out["api_key_value_hidden"] = "ApiKeyValue" not in desc["AuthParameters"]["ApiKeyAuthParameters"]
dest = ev.create_api_destination(Name="py-dest", ConnectionArn=conn["ConnectionArn"],
                                 InvocationEndpoint="https://hooks.example.com/x", HttpMethod="POST")
out["dest_arn"] = dest["ApiDestinationArn"]
res = ev.put_targets(Rule="py-rule", Targets=[{"Id": "dest", "Arn": dest["ApiDestinationArn"],
    "InputTransformer": {"InputPathsMap": {"s": "$.source"}, "InputTemplate": "{\"text\": <s>}"}}])
out["put_targets_failed"] = res["FailedEntryCount"]
out["targets"] = [t["Id"] for t in ev.list_targets_by_rule(Rule="py-rule")["Targets"]]
out["rule_names_by_target"] = ev.list_rule_names_by_target(TargetArn=dest["ApiDestinationArn"])["RuleNames"]
try:
    ev.delete_rule(Name="py-rule")
except ClientError as e:
    out["delete_with_targets"] = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
try:
    ev.describe_rule(Name="nope")
except ev.exceptions.ResourceNotFoundException as e:
    out["not_found"] = e.response["Error"]["Message"]
r = ev.put_events(Entries=[{"Source": "py.app", "DetailType": "t", "Detail": "{}"},
                           {"Source": "aws.batch", "DetailType": "t", "Detail": "{}"}])
out["put_events"] = [r["FailedEntryCount"], [e.get("ErrorCode", "") for e in r["Entries"]]]
out["test_pattern"] = ev.test_event_pattern(EventPattern=json.dumps({"source": ["py.app"]}), Event=json.dumps({
    "id": "1", "account": "000000000000", "source": "py.app", "time": "2024-03-01T12:00:00Z",
    "region": "us-east-1", "resources": [], "detail-type": "t", "detail": {}}))["Result"]
out["tags"] = ev.list_tags_for_resource(ResourceARN=out["rule_arn"])["Tags"]
print(json.dumps(out))
`

// TestBoto3Events drives the EventBridge API with boto3.
func TestBoto3Events(t *testing.T) {
	t.Parallel()
	python := requireTool(t, "python3", "-c", "import boto3, botocore")
	srv := gantrytest.New(t)
	script := filepath.Join(t.TempDir(), "events.py")
	require.NoError(t, os.WriteFile(script, []byte(boto3Events), 0o600))

	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, srv.URL())
	cmd.Env = awsEnv("unused", "unused", "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	require.False(t, errors.As(err, &exitErr) && ctx.Err() != nil, "events.py timed out")
	require.NoError(t, err, "events.py\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())

	var s struct {
		RuleArn           string            `json:"rule_arn"`
		PagedNames        []string          `json:"paged_names"`
		ConnState         string            `json:"conn_state"`
		APIKeyValueHidden bool              `json:"api_key_value_hidden"`
		DestArn           string            `json:"dest_arn"`
		PutTargetsFailed  int               `json:"put_targets_failed"`
		Targets           []string          `json:"targets"`
		RuleNamesByTarget []string          `json:"rule_names_by_target"`
		DeleteWithTargets string            `json:"delete_with_targets"`
		NotFound          string            `json:"not_found"`
		PutEvents         []json.RawMessage `json:"put_events"`
		TestPattern       bool              `json:"test_pattern"`
		Tags              []struct{ Key, Value string }
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &s), "stdout: %s", stdout.String())
	require.Equal(t, "arn:aws:events:us-east-1:000000000000:rule/py-rule", s.RuleArn)
	require.Equal(t, []string{"py-sched-0", "py-sched-1", "py-sched-2"}, s.PagedNames)
	require.Equal(t, "AUTHORIZED", s.ConnState)
	require.True(t, s.APIKeyValueHidden)
	require.Regexp(t, `^arn:aws:events:us-east-1:000000000000:api-destination/py-dest/`, s.DestArn)
	require.Zero(t, s.PutTargetsFailed)
	require.Equal(t, []string{"dest"}, s.Targets)
	require.Equal(t, []string{"py-rule"}, s.RuleNamesByTarget)
	require.Equal(t, "ValidationException: Rule can't be deleted since it has targets.", s.DeleteWithTargets)
	require.Equal(t, "Rule nope does not exist on EventBus default.", s.NotFound)
	require.JSONEq(t, `[1, ["", "NotAuthorizedForSourceException"]]`, "["+string(s.PutEvents[0])+","+string(s.PutEvents[1])+"]")
	require.True(t, s.TestPattern)
	require.Len(t, s.Tags, 1)
}
