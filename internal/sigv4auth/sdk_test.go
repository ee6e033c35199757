package sigv4auth

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/smithy-go"

	"github.com/gantrybatch/gantry"
)

// Keys shared by the real-client tests. The secret holds '/' and '+' like
// real AWS secrets do.
const (
	testKeyID  = "AKIAGANTRYTEST"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testARN    = "arn:aws:batch:us-east-1:000000000000:job-queue/q"
	// testARNPath is how clients put testARN in the path.
	testARNPath = "/v1/tags/arn%3Aaws%3Abatch%3Aus-east-1%3A000000000000%3Ajob-queue%2Fq"
)

// seenRequest is what the handler behind the middleware received.
type seenRequest struct {
	method, path, query, body string
}

// testServer is an httptest server on 127.0.0.1 running Middleware over a
// handler that answers {} and records what reached it.
type testServer struct {
	URL string

	mu   sync.Mutex
	seen []seenRequest
}

// startServer starts a test server whose verifier knows testKeyID. clockOffset
// shifts the verifier's clock, to pretend requests were signed that long ago.
func startServer(t *testing.T, clockOffset time.Duration) *testServer {
	t.Helper()
	ts := &testServer{}
	v := &Verifier{
		Credentials: map[string]string{testKeyID: testSecret, "AKIAOTHER": "other-secret"},
		Now:         func() time.Time { return time.Now().Add(clockOffset) },
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ts.mu.Lock()
		ts.seen = append(ts.seen, seenRequest{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body)})
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	})
	srv := httptest.NewServer(Middleware(v, api))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server listens on %s, want 127.0.0.1", srv.URL)
	}
	ts.URL = srv.URL
	return ts
}

// requests returns the requests the API handler saw, in order.
func (ts *testServer) requests() []seenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]seenRequest(nil), ts.seen...)
}

func newBatchClient(url string, creds aws.CredentialsProvider, region string) *batch.Client {
	return batch.NewFromConfig(aws.Config{
		Region:           region,
		Credentials:      creds,
		RetryMaxAttempts: 1,
	}, func(o *batch.Options) {
		o.BaseEndpoint = aws.String(url)
	})
}

// batchCalls are the calls each credential case makes: the rest-json POST
// form and the three tag APIs with the ARN in the path.
var batchCalls = map[string]func(context.Context, *batch.Client) error{
	"SubmitJob": func(ctx context.Context, c *batch.Client) error {
		_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{
			JobName: aws.String("hello"), JobQueue: aws.String("q"), JobDefinition: aws.String("jd:1"),
			Parameters: map[string]string{"msg": "spaces and ünïcode / slashes"},
		})
		return err
	},
	"DescribeJobQueues": func(ctx context.Context, c *batch.Client) error {
		_, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{})
		return err
	},
	"ListTagsForResource": func(ctx context.Context, c *batch.Client) error {
		_, err := c.ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(testARN)})
		return err
	},
	"TagResource": func(ctx context.Context, c *batch.Client) error {
		_, err := c.TagResource(ctx, &batch.TagResourceInput{ResourceArn: aws.String(testARN), Tags: map[string]string{"team": "a b"}})
		return err
	},
	"UntagResource": func(ctx context.Context, c *batch.Client) error {
		_, err := c.UntagResource(ctx, &batch.UntagResourceInput{ResourceArn: aws.String(testARN), TagKeys: []string{"team", "a key/with=odd&chars"}})
		return err
	},
}

// TestGoSDK drives the middleware with aws-sdk-go-v2's Batch client.
func TestGoSDK(t *testing.T) {
	t.Parallel()

	tests := map[string]struct {
		creds       aws.CredentialsProvider
		region      string
		clockOffset time.Duration
		wantCode    string // "" means success
		wantMessage string
	}{
		"valid key": {
			creds: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		},
		"valid key, other region": {
			creds:  credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
			region: "ap-southeast-2",
		},
		"valid key with session token": {
			creds: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, "FwoGZXIvYXdzEXAMPLETOKEN//+="),
		},
		"wrong secret": {
			creds:       credentials.NewStaticCredentialsProvider(testKeyID, "not-the-secret", ""),
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "does not match the signature you provided",
		},
		"secret of another key": {
			creds:    credentials.NewStaticCredentialsProvider(testKeyID, "other-secret", ""),
			wantCode: gantry.ErrCodeInvalidSignature,
		},
		"unknown key": {
			creds:       credentials.NewStaticCredentialsProvider("AKIAUNKNOWN", testSecret, ""),
			wantCode:    gantry.ErrCodeUnrecognizedClient,
			wantMessage: "The security token included in the request is invalid",
		},
		"anonymous": {
			creds:    aws.AnonymousCredentials{},
			wantCode: gantry.ErrCodeMissingAuthToken,
		},
		"signed an hour ago": {
			creds:       credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
			clockOffset: time.Hour,
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Signature expired",
		},
		"signed an hour ahead": {
			creds:       credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
			clockOffset: -time.Hour,
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Signature not yet current",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, tc.clockOffset)
			client := newBatchClient(ts.URL, tc.creds, cmp.Or(tc.region, "us-east-1"))
			for call, do := range batchCalls {
				err := do(t.Context(), client)
				if tc.wantCode == "" {
					if err != nil {
						t.Errorf("%s: %v", call, err)
					}
					continue
				}
				checkSDKError(t, call, err, tc.wantCode, tc.wantMessage)
			}
			if tc.wantCode != "" {
				if seen := ts.requests(); len(seen) != 0 {
					t.Errorf("rejected requests reached the handler: %+v", seen)
				}
				return
			}
			checkSeen(t, ts.requests())
		})
	}
}

// checkSeen verifies the handler got the calls of batchCalls intact: the
// body, the encoded ARN in the path and the repeated query key.
func checkSeen(t *testing.T, seen []seenRequest) {
	t.Helper()
	if len(seen) != len(batchCalls) {
		t.Fatalf("handler saw %d requests, want %d: %+v", len(seen), len(batchCalls), seen)
	}
	var submit, untag *seenRequest
	for i, r := range seen {
		switch {
		case r.path == "/v1/submitjob":
			submit = &seen[i]
		case r.method == http.MethodDelete:
			untag = &seen[i]
		}
	}
	if submit == nil || !strings.Contains(submit.body, `"jobName":"hello"`) {
		t.Errorf("SubmitJob body did not reach the handler intact: %+v", submit)
	}
	if untag == nil || untag.path != testARNPath || strings.Count(untag.query, "tagKeys=") != 2 {
		t.Errorf("UntagResource request = %+v, want path %s and two tagKeys", untag, testARNPath)
	}
}

func checkSDKError(t *testing.T, call string, err error, wantCode, wantMessage string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Errorf("%s: error = %v, want API error %s", call, err, wantCode)
		return
	}
	if apiErr.ErrorCode() != wantCode || !strings.Contains(apiErr.ErrorMessage(), wantMessage) {
		t.Errorf("%s: error = %s %q, want %s containing %q", call, apiErr.ErrorCode(), apiErr.ErrorMessage(), wantCode, wantMessage)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("%s: error = %v, want HTTP 403", call, err)
	}
}
