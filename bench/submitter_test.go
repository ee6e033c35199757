package bench_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/bench"
	"github.com/gantrybatch/gantry/internal/gantrytest"
	"github.com/gantrybatch/gantry/internal/server"
	"github.com/gantrybatch/gantry/internal/sigv4auth"
)

// leanClients are the HTTPSubmitter clients every submitter test runs with.
var leanClients = []string{bench.SubmitClientHTTP, bench.SubmitClientWire}

// eachLeanClient runs test once per lean client, in parallel subtests.
func eachLeanClient(t *testing.T, test func(t *testing.T, client string)) {
	t.Parallel()
	for _, client := range leanClients {
		t.Run(client, func(t *testing.T) {
			t.Parallel()
			test(t, client)
		})
	}
}

// captured is one request as the test server saw it.
type captured struct {
	method, path string
	header       http.Header
	body         []byte
	sigErr       error // what sigv4auth.Verifier said of the signature
}

// recorder is an httptest handler that checks each request's SigV4
// signature with Gantry's verifier, keeps the request, and answers with
// the next queued status and body (a SubmitJob output by default).
type recorder struct {
	mu       sync.Mutex
	reqs     []captured
	verifier *sigv4auth.Verifier
	answer   func(w http.ResponseWriter)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sigErr := rec.verifier.Verify(r) // leaves the body readable
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, captured{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: b, sigErr: sigErr})
	answer := rec.answer
	rec.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"jobArn":"arn:aws:batch:us-east-1:000000000000:job/j-1","jobName":"n","jobId":"j-1"}`)
}

func (rec *recorder) take(t *testing.T) captured {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.reqs, 1)
	c := rec.reqs[0]
	rec.reqs = nil
	return c
}

var authzShape = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/[0-9]{8}/us-east-1/batch/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

// TestHTTPSubmitterRequest sends the same inputs through aws-sdk-go-v2 and
// the lean client to a recording server: same method, path, content type
// and body (byte for byte where the input has no maps, whose key order
// the SDK does not fix), a well-formed Authorization header that Gantry's
// SigV4 verifier accepts, and the output decoded.
func TestHTTPSubmitterRequest(t *testing.T) { eachLeanClient(t, testHTTPSubmitterRequest) }

func testHTTPSubmitterRequest(t *testing.T, client string) {
	rec := &recorder{verifier: &sigv4auth.Verifier{Credentials: map[string]string{"AKIDEXAMPLE": "secret"}}}
	ts := httptest.NewServer(rec)
	defer ts.Close()
	ccfg := bench.ClientConfig{Endpoint: ts.URL + "/", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	sdk := bench.NewClient(ccfg)
	lean, err := bench.NewLeanSubmitter(client, ccfg, 4)
	require.NoError(t, err)

	inputs := map[string]*batch.SubmitJobInput{
		"plain": {JobName: aws.String("a<b>&c"), JobQueue: aws.String("q"), JobDefinition: aws.String("d:1")},
		"every encoded member but maps": {
			JobName: aws.String("n"), JobQueue: aws.String("arn:aws:batch:us-east-1:000000000000:job-queue/q"), JobDefinition: aws.String("d"),
			ArrayProperties:            &types.ArrayProperties{Size: aws.Int32(10)},
			DependsOn:                  []types.JobDependency{{JobId: aws.String("x")}, {JobId: aws.String("y"), Type: types.ArrayJobDependencyNToN}},
			PropagateTags:              aws.Bool(false),
			RetryStrategy:              &types.RetryStrategy{Attempts: aws.Int32(3)},
			SchedulingPriorityOverride: aws.Int32(0),
			ShareIdentifier:            aws.String("s"),
			Timeout:                    &types.JobTimeout{AttemptDurationSeconds: aws.Int32(60)},
		},
		"empty members": {JobName: aws.String("n"), JobQueue: aws.String("q"), JobDefinition: aws.String("d"), DependsOn: []types.JobDependency{}, ArrayProperties: &types.ArrayProperties{}, Parameters: map[string]string{}},
		"maps": {
			JobName: aws.String("n"), JobQueue: aws.String("q"), JobDefinition: aws.String("d"),
			Parameters: map[string]string{"a": "1", "b": "2", "c": "3"}, Tags: map[string]string{"k": "v", "l": "w"},
		},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			_, err := sdk.SubmitJob(t.Context(), in)
			require.NoError(t, err)
			want := rec.take(t)
			out, err := lean.SubmitJob(t.Context(), in)
			require.NoError(t, err)
			got := rec.take(t)
			require.Equal(t, &batch.SubmitJobOutput{
				JobArn: aws.String("arn:aws:batch:us-east-1:000000000000:job/j-1"), JobName: aws.String("n"), JobId: aws.String("j-1"),
			}, out)

			require.Equal(t, "POST", got.method)
			require.Equal(t, want.path, got.path)
			require.Equal(t, "/v1/submitjob", got.path)
			require.Equal(t, want.header.Get("Content-Type"), got.header.Get("Content-Type"))
			require.Equal(t, "application/json", got.header.Get("Content-Type"))
			if name == "maps" {
				var w, g any
				require.NoError(t, json.Unmarshal(want.body, &w))
				require.NoError(t, json.Unmarshal(got.body, &g))
				require.Equal(t, w, g)
			} else {
				require.Equal(t, string(want.body), string(got.body))
			}

			require.NoError(t, want.sigErr)
			require.NoError(t, got.sigErr)
			m := authzShape.FindStringSubmatch(got.header.Get("Authorization"))
			require.NotNil(t, m, "Authorization %q", got.header.Get("Authorization"))
			require.Equal(t, "content-length;content-type;host;x-amz-date", m[1])
			require.Regexp(t, `^[0-9]{8}T[0-9]{6}Z$`, got.header.Get("X-Amz-Date"))
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		bad, err := bench.NewLeanSubmitter(client, bench.ClientConfig{Endpoint: ts.URL, AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wrong"}, 1)
		require.NoError(t, err)
		_, err = bad.SubmitJob(t.Context(), inputs["plain"])
		require.NoError(t, err) // the recorder answers anyway
		require.Error(t, rec.take(t).sigErr)
	})

	t.Run("unsupported members", func(t *testing.T) {
		in := &batch.SubmitJobInput{JobName: aws.String("n"), ContainerOverrides: &types.ContainerOverrides{}}
		_, err := lean.SubmitJob(t.Context(), in)
		require.ErrorContains(t, err, "containerOverrides")
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Empty(t, rec.reqs, "nothing is sent")
	})
}

// TestHTTPSubmitterErrors checks how error answers are decoded: the type
// from X-Amzn-ErrorType or the body's __type (without namespace or
// suffix), the message, and the status.
func TestHTTPSubmitterErrors(t *testing.T) { eachLeanClient(t, testHTTPSubmitterErrors) }

func testHTTPSubmitterErrors(t *testing.T, client string) {
	tests := map[string]struct {
		status            int
		header, body      string
		code, msg         string
		fault             smithy.ErrorFault
		wantErrorContains string
	}{
		"header":           {400, "ClientException:http://internal.amazon.com/", `{"message":"bad queue"}`, "ClientException", "bad queue", smithy.FaultClient, "HTTP 400: api error ClientException: bad queue"},
		"__type":           {400, "", `{"__type":"com.amazonaws.batch#ClientException","Message":"m"}`, "ClientException", "m", smithy.FaultClient, "ClientException: m"},
		"server":           {500, "ServerException", `{"message":"boom"}`, "ServerException", "boom", smithy.FaultServer, "HTTP 500"},
		"not JSON":         {502, "", "bad gateway", "UnknownError", "bad gateway", smithy.FaultServer, "HTTP 502"},
		"no body":          {503, "", "", "UnknownError", "Service Unavailable", smithy.FaultServer, "HTTP 503"},
		"2xx, not JSON":    {200, "", "nope", "", "", smithy.FaultUnknown, "decode response"},
		"throttled, typed": {429, "TooManyRequestsException", `{"message":"slow down"}`, "TooManyRequestsException", "slow down", smithy.FaultClient, "TooManyRequestsException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("X-Amzn-ErrorType", tc.header)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer ts.Close()
			lean, err := bench.NewLeanSubmitter(client, bench.ClientConfig{Endpoint: ts.URL, AccessKeyID: "a", SecretAccessKey: "s"}, 1)
			require.NoError(t, err)
			_, err = lean.SubmitJob(t.Context(), &batch.SubmitJobInput{JobName: aws.String("n")})
			require.ErrorContains(t, err, tc.wantErrorContains)
			if tc.code == "" {
				return
			}
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tc.code, ae.ErrorCode())
			require.Equal(t, tc.msg, ae.ErrorMessage())
			require.Equal(t, tc.fault, ae.ErrorFault())
			var be *bench.APIError
			require.ErrorAs(t, err, &be)
			require.Equal(t, tc.status, be.StatusCode)
		})
	}

	for _, endpoint := range []string{"", "127.0.0.1:1", "ftp://x"} {
		_, err := bench.NewLeanSubmitter(client, bench.ClientConfig{Endpoint: endpoint}, 1)
		require.Error(t, err, endpoint)
	}
}

// TestHTTPSubmitterGantry submits through the lean client to a Gantry that
// requires SigV4: jobs arrive as submitted (array size, dependency), and
// the server's errors come back typed.
func TestHTTPSubmitterGantry(t *testing.T) { eachLeanClient(t, testHTTPSubmitterGantry) }

func testHTTPSubmitterGantry(t *testing.T, client string) {
	creds := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(creds, []byte("AKIDEXAMPLE secret\n"), 0o600))
	srv := gantrytest.New(t, gantrytest.WithConfig(func(c *server.Config) { c.CredentialsFile = creds }))
	env := gantrytest.Setup(t, srv.Batch, "lean", 1)
	ccfg := bench.ClientConfig{Endpoint: srv.URL(), AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	lean, err := bench.NewLeanSubmitter(client, ccfg, 2)
	require.NoError(t, err)
	ctx := t.Context()

	first, err := lean.SubmitJob(ctx, &batch.SubmitJobInput{
		JobName: aws.String("first"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
	})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(first.JobId))
	require.Equal(t, "first", aws.ToString(first.JobName))
	require.Contains(t, aws.ToString(first.JobArn), aws.ToString(first.JobId))
	arr, err := lean.SubmitJob(ctx, &batch.SubmitJobInput{
		JobName: aws.String("arr"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)},
		DependsOn:       []types.JobDependency{{JobId: first.JobId}},
		Parameters:      map[string]string{"p": "v"},
	})
	require.NoError(t, err)
	d, err := srv.Batch.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{aws.ToString(arr.JobId)}})
	require.NoError(t, err)
	require.Len(t, d.Jobs, 1)
	j := d.Jobs[0]
	require.Equal(t, "arr", aws.ToString(j.JobName))
	require.Equal(t, int32(3), aws.ToInt32(j.ArrayProperties.Size))
	require.Len(t, j.DependsOn, 1)
	require.Equal(t, aws.ToString(first.JobId), aws.ToString(j.DependsOn[0].JobId))
	require.Equal(t, "v", j.Parameters["p"])

	_, err = lean.SubmitJob(ctx, &batch.SubmitJobInput{
		JobName: aws.String("x"), JobQueue: aws.String("no-such-queue"), JobDefinition: aws.String(env.JobDefinition),
	})
	require.ErrorContains(t, err, "ClientException")
	var ae *bench.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusBadRequest, ae.StatusCode)
	require.Equal(t, "ClientException", ae.Code)
	require.Contains(t, ae.Message, "no-such-queue")
	require.True(t, strings.Contains(err.Error(), ae.Message))

	bad, err := bench.NewLeanSubmitter(client, bench.ClientConfig{Endpoint: srv.URL(), AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wrong"}, 1)
	require.NoError(t, err)
	_, err = bad.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String(env.Queue), JobDefinition: aws.String(env.JobDefinition)})
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, http.StatusForbidden, ae.StatusCode)
	require.Equal(t, "InvalidSignatureException", ae.Code)
}
