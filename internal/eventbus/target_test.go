package eventbus

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
)

func (tb *testBundle) putAPIDestination(t *testing.T, name, endpoint, method string, conn *gantry.Connection) string {
	t.Helper()
	ctx := context.Background()
	conn.ConnectionArn = "arn:aws:events:us-east-1:123456789012:connection/" + conn.Name + "/5b3f1e36-8f0b-4f43-9d4a-000000000001"
	if conn.ConnectionState == "" {
		conn.ConnectionState = gantry.ConnectionStateAuthorized
	}
	require.NoError(t, tb.st.ConnectionInsert(ctx, conn))
	d := &gantry.APIDestination{
		Name: name, ApiDestinationState: gantry.APIDestinationStateActive, ConnectionArn: conn.ConnectionArn,
		ApiDestinationArn:  "arn:aws:events:us-east-1:123456789012:api-destination/" + name + "/0c2a9b8e-0000-4000-8000-000000000002",
		InvocationEndpoint: endpoint, HttpMethod: method,
	}
	require.NoError(t, tb.st.APIDestinationInsert(ctx, d))
	return d.ApiDestinationArn
}

// An API destination call carries the connection's authorization, the
// target's path, header and query parameters, the connection's invocation
// parameters, and the body the InputTransformer shapes.
func TestAPIDestination(t *testing.T) {
	t.Parallel()
	transformer := &gantry.InputTransformer{
		InputPathsMap: map[string]string{"status": "$.detail.status", "job": "$.detail.jobName", "reason": "$.detail.statusReason"},
		InputTemplate: `{"text": "Job <job> is <status>: <reason>", "status": <status>, "rule": <aws.events.rule-name>}`,
	}
	wantBody := map[string]any{"text": `Job nightly is FAILED: exit "1" <oops>`, "status": "FAILED", "rule": "r"}

	var tokenFetches atomic.Int32
	tokens := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
		tokenFetches.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != "client-1" || pass != "s3cret" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok-` + strconv.Itoa(n) + `","token_type":"Bearer","expires_in":3600}`))
	})

	tests := map[string]struct {
		conn *gantry.Connection
		// check verifies the request's authorization; it answers 401 to
		// reject it.
		check func(r request) bool
		// verify checks the accepted request further, in the test goroutine.
		verify func(t *testing.T, r request)
		// wantTokenFetches is how many OAuth tokens the delivery fetched.
		wantTokenFetches int32
		wantBodyExtra    map[string]any
	}{
		"basic": {
			conn: &gantry.Connection{AuthorizationType: gantry.ConnectionAuthBasic, AuthParameters: &gantry.ConnectionAuthParameters{
				BasicAuthParameters: &gantry.ConnectionBasicAuth{Username: "alice", Password: "pa:ss"},
			}},
			check: func(r request) bool {
				return r.Header.Get("Authorization") == "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:pa:ss"))
			},
		},
		"api key with invocation parameters": {
			conn: &gantry.Connection{AuthorizationType: gantry.ConnectionAuthAPIKey, AuthParameters: &gantry.ConnectionAuthParameters{
				ApiKeyAuthParameters: &gantry.ConnectionAPIKeyAuth{ApiKeyName: "X-Api-Key", ApiKeyValue: "k-123"},
				InvocationHttpParameters: &gantry.ConnectionHTTPParams{
					HeaderParameters:      []gantry.ConnectionParameter{{Key: "X-Conn", Value: "c1"}},
					QueryStringParameters: []gantry.ConnectionParameter{{Key: "cq", Value: "v&1"}},
					BodyParameters:        []gantry.ConnectionParameter{{Key: "channel", Value: "#ops", IsValueSecret: true}},
				},
			}},
			check: func(r request) bool { return r.Header.Get("X-Api-Key") == "k-123" },
			verify: func(t *testing.T, r request) {
				require.Equal(t, "c1", r.Header.Get("X-Conn"))
				require.Equal(t, []string{"v&1"}, r.Query["cq"])
			},
			wantBodyExtra: map[string]any{"channel": "#ops"},
		},
		"oauth client credentials": {
			conn: &gantry.Connection{AuthorizationType: gantry.ConnectionAuthOAuthClientCreds, AuthParameters: &gantry.ConnectionAuthParameters{
				OAuthParameters: &gantry.ConnectionOAuth{
					AuthorizationEndpoint: tokens.URL + "/oauth/token", HttpMethod: "POST",
					ClientParameters:    &gantry.ConnectionOAuthClient{ClientID: "client-1", ClientSecret: "s3cret"},
					OAuthHttpParameters: &gantry.ConnectionHTTPParams{BodyParameters: []gantry.ConnectionParameter{{Key: "scope", Value: "events"}}},
				},
			}},
			check: func(r request) bool {
				return r.Header.Get("Authorization") == "Bearer tok-1"
			},
			wantTokenFetches: 1,
		},
		"oauth refresh on 401": {
			conn: &gantry.Connection{AuthorizationType: gantry.ConnectionAuthOAuthClientCreds, AuthParameters: &gantry.ConnectionAuthParameters{
				OAuthParameters: &gantry.ConnectionOAuth{
					AuthorizationEndpoint: tokens.URL + "/oauth/token", HttpMethod: "POST",
					ClientParameters: &gantry.ConnectionOAuthClient{ClientID: "client-1", ClientSecret: "s3cret"},
				},
			}},
			check: func(r request) bool {
				// Only the second token fetched is accepted.
				return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") && r.Header.Get("Authorization") != "Bearer tok-1" &&
					r.Header.Get("Authorization") != "Bearer tok-3" && r.Header.Get("Authorization") != "Bearer tok-4"
			},
			wantTokenFetches: 2,
		},
	}
	var serial sync.Mutex // the token endpoint's counter is shared
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			serial.Lock()
			defer serial.Unlock()
			tokenFetches.Store(0)
			tokens.mu.Lock()
			tokens.reqs = nil
			tokens.mu.Unlock()

			tb := setup(t)
			var authorized atomic.Int32
			api := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
				rc := request{Header: r.Header, Query: r.URL.Query()}
				if !tc.check(rc) {
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
				authorized.Add(1)
				w.WriteHeader(http.StatusAccepted)
			})
			tc.conn.Name = "conn"
			arn := tb.putAPIDestination(t, "dest", api.URL+"/hooks/*/items/*", "PUT", tc.conn)
			tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern}, &gantry.Target{
				Id: "t", Arn: arn, InputTransformer: transformer,
				HttpParameters: &gantry.HttpTargetParameters{
					PathParameterValues:   []string{"team a", "42"},
					HeaderParameters:      map[string]string{"X-Target": "t1"},
					QueryStringParameters: map[string]string{"tq": "x y"},
				},
				RetryPolicy: &gantry.TargetRetryPolicy{MaximumRetryAttempts: ptr[int32](0)},
			})
			tb.jobEvent(t, "FAILED", time.Now())
			tb.newBus(t, nil).Notify()

			d := tb.waitDelivery(t, "r", store.DeliveryDelivered)
			require.Equal(t, "202", d.Result)
			require.Equal(t, int32(1), authorized.Load())
			reqs := api.requests()
			last := reqs[len(reqs)-1]
			require.Equal(t, http.MethodPut, last.Method)
			require.Equal(t, "/hooks/team a/items/42", last.Path)
			require.Equal(t, []string{"x y"}, last.Query["tq"])
			require.Equal(t, "t1", last.Header.Get("X-Target"))
			require.Equal(t, "application/json; charset=utf-8", last.Header.Get("Content-Type"))
			require.Equal(t, userAgentAPIDest, last.Header.Get("User-Agent"))
			want := map[string]any{}
			for k, v := range wantBody {
				want[k] = v
			}
			for k, v := range tc.wantBodyExtra {
				want[k] = v
			}
			requireJSON(t, want, last.Body)
			if tc.verify != nil {
				tc.verify(t, last)
			}
			require.Equal(t, tc.wantTokenFetches, tokenFetches.Load())
			if tc.wantTokenFetches > 0 {
				tr := tokens.requests()[0]
				require.Equal(t, "/oauth/token", tr.Path)
				form, err := url.ParseQuery(tr.Body)
				require.NoError(t, err)
				require.Equal(t, "client_credentials", form.Get("grant_type"))
				if name == "oauth client credentials" {
					require.Equal(t, "events", form.Get("scope"))
				}
			}
		})
	}
}

// Deliveries to an INACTIVE API destination fail; with no retries allowed
// they are DEAD at once, the reason kept.
func TestAPIDestinationInactive(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	api := newReceiver(t, nil)
	arn := tb.putAPIDestination(t, "dest", api.URL, "POST", &gantry.Connection{Name: "c", AuthorizationType: gantry.ConnectionAuthAPIKey,
		AuthParameters: &gantry.ConnectionAuthParameters{ApiKeyAuthParameters: &gantry.ConnectionAPIKeyAuth{ApiKeyName: "k", ApiKeyValue: "v"}}})
	d, err := tb.st.APIDestinationGet(context.Background(), "dest")
	require.NoError(t, err)
	d.ApiDestinationState = gantry.APIDestinationStateInactive
	require.NoError(t, tb.st.APIDestinationUpdate(context.Background(), d))
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern},
		&gantry.Target{Id: "t", Arn: arn, RetryPolicy: &gantry.TargetRetryPolicy{MaximumRetryAttempts: ptr[int32](0)}})
	tb.jobEvent(t, "FAILED", time.Now())
	tb.newBus(t, nil).Notify()
	dl := tb.waitDelivery(t, "r", store.DeliveryDead)
	require.Contains(t, dl.LastError, "INACTIVE")
	require.Empty(t, api.requests())
	tb.requireOutcomes(t, []string{"api-destination/dead"})
}

// fakeSubmitter records SubmitJobOnce calls; fail decides each call's error.
type fakeSubmitter struct {
	mu    sync.Mutex
	calls []submitCall
	fail  func(n int) error
}

type submitCall struct {
	in    *gantry.SubmitJobInput
	jobID string
}

func (f *fakeSubmitter) SubmitJobOnce(ctx context.Context, in *gantry.SubmitJobInput, jobID string) (*control.SubmitJobOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, submitCall{in: in, jobID: jobID})
	if f.fail != nil {
		if err := f.fail(len(f.calls)); err != nil {
			return nil, err
		}
	}
	return &control.SubmitJobOutput{JobID: jobID, JobName: in.JobName, JobArn: "arn:aws:batch:us-east-1:123456789012:job/" + jobID}, nil
}

func (f *fakeSubmitter) get() []submitCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]submitCall(nil), f.calls...)
}

// A Batch target submits a job with the BatchParameters and the Parameters
// and ContainerOverrides of the transformed input; a retried delivery
// submits with the same job ID.
func TestBatchTarget(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	sub := &fakeSubmitter{fail: func(n int) error {
		if n == 1 {
			return errors.New("database is locked") // a server-side failure: retried
		}
		return nil
	}}
	queue := "arn:aws:batch:us-east-1:123456789012:job-queue/next"
	tb.putRule(t, &gantry.Rule{Name: "chain", EventPattern: `{"detail":{"status":["SUCCEEDED"]}}`}, &gantry.Target{
		Id: "next", Arn: queue,
		BatchParameters: &gantry.BatchTargetParameters{
			JobDefinition: "report:3", JobName: "after-nightly",
			ArrayProperties: &gantry.BatchTargetArrayProperties{Size: 4},
			RetryStrategy:   &gantry.BatchTargetRetryStrategy{Attempts: 2},
		},
		InputTransformer: &gantry.InputTransformer{
			InputPathsMap: map[string]string{"job": "$.detail.jobId", "name": "$.detail.jobName"},
			InputTemplate: `{"Parameters": {"upstream": <job>, "label": "from <name>"},
			  "ContainerOverrides": {"Command": ["report", "--after", <job>],
			    "Environment": [{"Name": "UPSTREAM", "Value": <name>}],
			    "ResourceRequirements": [{"Type": "VCPU", "Value": "2"}], "InstanceType": "m5.large"},
			  "Ignored": true}`,
		},
	})
	tb.jobEvent(t, "SUCCEEDED", time.Now())
	tb.newBus(t, func(c *Config) { c.Submitter = sub }).Notify()

	d := tb.waitDelivery(t, "chain", store.DeliveryDelivered)
	require.Equal(t, 2, d.Attempts)
	require.Equal(t, JobID(d.ID), d.Result)
	calls := sub.get()
	require.Len(t, calls, 2)
	require.Equal(t, calls[0].jobID, calls[1].jobID)
	require.Equal(t, JobID(d.ID), calls[1].jobID)
	size, attempts := int32(4), int32(2)
	want := &gantry.SubmitJobInput{
		JobQueue: queue, JobDefinition: "report:3", JobName: "after-nightly",
		ArrayProperties: &gantry.ArrayProperties{Size: &size},
		RetryStrategy:   &gantry.RetryStrategy{Attempts: &attempts},
		Parameters:      map[string]string{"upstream": "11111111-2222-3333-4444-555555555555", "label": "from nightly"},
		ContainerOverrides: &gantry.ContainerOverrides{
			Command:              []string{"report", "--after", "11111111-2222-3333-4444-555555555555"},
			Environment:          []gantry.KeyValuePair{{Name: "UPSTREAM", Value: "nightly"}},
			ResourceRequirements: []gantry.ResourceRequirement{{Type: "VCPU", Value: "2"}},
			InstanceType:         "m5.large",
		},
	}
	require.Equal(t, want, calls[1].in)
	tb.requireOutcomes(t, []string{"batch/retry", "batch/delivered"})
}

// A ClientException (an unknown queue, say) is not retried.
func TestBatchTargetClientError(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	sub := &fakeSubmitter{fail: func(int) error { return gantry.ClientErrorf("jobQueue: nope does not exist") }}
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern}, &gantry.Target{
		Id: "t", Arn: "arn:aws:batch:us-east-1:123456789012:job-queue/nope",
		BatchParameters: &gantry.BatchTargetParameters{JobDefinition: "d", JobName: "n"},
	})
	tb.jobEvent(t, "FAILED", time.Now())
	tb.newBus(t, func(c *Config) { c.Submitter = sub }).Notify()
	d := tb.waitDelivery(t, "r", store.DeliveryDead)
	require.Equal(t, 1, d.Attempts)
	require.Contains(t, d.LastError, "does not exist")
	require.Len(t, sub.get(), 1)
}

func TestBatchInput(t *testing.T) {
	t.Parallel()
	target := &gantry.Target{Arn: "arn:aws:batch:r:a:job-queue/q", BatchParameters: &gantry.BatchTargetParameters{
		JobDefinition: "d", JobName: "n", ArrayProperties: &gantry.BatchTargetArrayProperties{Size: 1},
	}}
	tests := map[string]struct {
		input   string
		want    *gantry.SubmitJobInput
		wantErr string
	}{
		"camelCase": {
			input: `{"parameters": {"a": "1", "n": 2, "b": true}, "containerOverrides": {"command": ["x"], "environment": [{"name": "K", "value": "V"}], "resourceRequirements": [{"type": "MEMORY", "value": "512"}], "instanceType": "t3"}}`,
			want: &gantry.SubmitJobInput{JobQueue: target.Arn, JobDefinition: "d", JobName: "n",
				Parameters: map[string]string{"a": "1", "n": "2", "b": "true"},
				ContainerOverrides: &gantry.ContainerOverrides{Command: []string{"x"}, InstanceType: "t3",
					Environment:          []gantry.KeyValuePair{{Name: "K", Value: "V"}},
					ResourceRequirements: []gantry.ResourceRequirement{{Type: "MEMORY", Value: "512"}}}},
		},
		"not an object":      {input: `"just text"`, want: &gantry.SubmitJobInput{JobQueue: target.Arn, JobDefinition: "d", JobName: "n"}},
		"whole event":        {input: `{"version":"0","detail":{}}`, want: &gantry.SubmitJobInput{JobQueue: target.Arn, JobDefinition: "d", JobName: "n"}},
		"bad command":        {input: `{"ContainerOverrides": {"Command": "x"}}`, wantErr: "Command"},
		"bad parameters":     {input: `{"Parameters": {"a": {"b": 1}}}`, wantErr: "Parameters"},
		"invalid JSON input": {input: `{"Parameters": `, wantErr: "not valid JSON"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := batchInput(target, []byte(tc.input))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := batchInput(&gantry.Target{Arn: target.Arn}, nil)
	require.ErrorContains(t, err, "BatchParameters")
}

func TestJobIDDeterministic(t *testing.T) {
	t.Parallel()
	require.Equal(t, JobID(42), JobID(42))
	require.NotEqual(t, JobID(42), JobID(43))
	require.Len(t, JobID(1), 36)
}

func TestTargetKindAndArn(t *testing.T) {
	t.Parallel()
	require.Equal(t, KindWebhook, targetKind("https://hooks.slack.com/services/x"))
	require.Equal(t, KindBatch, targetKind("arn:aws:batch:us-east-1:1:job-queue/q"))
	require.Equal(t, KindAPIDestination, targetKind("arn:aws:events:us-east-1:1:api-destination/d/uuid"))
	require.Equal(t, "", targetKind("arn:aws:sqs:us-east-1:1:q"))
	require.Equal(t, "d", arnResource("arn:aws:events:us-east-1:1:api-destination/d/uuid", "api-destination/"))
	require.Equal(t, "d", arnResource("arn:aws:events:us-east-1:1:api-destination/d", "api-destination/"))
	require.Equal(t, "c", arnResource("arn:aws:events:us-east-1:1:connection/c/uuid", "connection/"))
}

// An unsupported target ARN is a dead letter at once.
func TestUnsupportedTarget(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern}, &gantry.Target{Id: "t", Arn: "arn:aws:sqs:us-east-1:123456789012:q"})
	tb.jobEvent(t, "FAILED", time.Now())
	tb.newBus(t, nil).Notify()
	d := tb.waitDelivery(t, "r", store.DeliveryDead)
	require.Contains(t, d.LastError, "unsupported target")
}

func requireJSON(t *testing.T, want map[string]any, body string) {
	t.Helper()
	var got map[string]any
	require.NoError(t, jsonUnmarshal([]byte(body), &got), "body %q", body)
	require.Equal(t, want, got)
}
