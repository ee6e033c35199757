package sigv4auth

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantrybatch/gantry"
)

// requireTool returns the path of an installed program that must work for
// the real-client tests. When it is missing or broken the test fails if the
// CI environment variable is set (CI installs it), and is skipped otherwise.
func requireTool(t *testing.T, name string, probe ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil && len(probe) > 0 {
		if out, perr := exec.Command(path, probe...).CombinedOutput(); perr != nil {
			err = fmt.Errorf("%s %s: %v: %s", name, strings.Join(probe, " "), perr, out)
		}
	}
	if err != nil {
		msg := fmt.Sprintf("%s is needed to test against a real AWS client: %v", name, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: this is a failure, not a skip)")
		}
		t.Skip(msg + " (set CI=1 to make this a failure)")
	}
	return path
}

// isolatedAWSEnv returns the process environment without AWS_* variables, and
// with config files that do not exist, so a developer's profile, region or
// endpoint settings cannot leak into the tests. extra is appended.
func isolatedAWSEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	return append(env, extra...)
}

// botoCase is one call made by testdata/botocore_matrix.py.
type botoCase struct {
	Name         string         `json:"name"`
	Endpoint     string         `json:"endpoint"`
	Region       string         `json:"region"`
	Service      string         `json:"service"`
	Operation    string         `json:"operation"`
	Params       map[string]any `json:"params,omitempty"`
	AccessKey    string         `json:"access_key,omitempty"`
	SecretKey    string         `json:"secret_key,omitempty"`
	SessionToken string         `json:"session_token,omitempty"`
	Anonymous    bool           `json:"anonymous,omitempty"`
	Presign      bool           `json:"presign,omitempty"`

	wantCode    string // "" means success
	wantMessage string
}

type botoResult struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// botoCalls are the calls made for each credential case: Batch rest-json
// (POST with a body, and the tag APIs with the ARN in the path) and the
// JSON 1.1 APIs of CloudWatch Logs and EventBridge.
var botoCalls = []struct {
	service, operation string
	params             map[string]any
}{
	{"batch", "submit_job", map[string]any{"jobName": "hello", "jobQueue": "q", "jobDefinition": "jd:1", "parameters": map[string]string{"msg": "spaces and ünïcode / slashes"}}},
	{"batch", "describe_job_queues", nil},
	{"batch", "list_tags_for_resource", map[string]any{"resourceArn": testARN}},
	{"batch", "tag_resource", map[string]any{"resourceArn": testARN, "tags": map[string]string{"team": "a b"}}},
	{"batch", "untag_resource", map[string]any{"resourceArn": testARN, "tagKeys": []string{"team", "a key/with=odd&chars"}}},
	{"logs", "describe_log_groups", map[string]any{"logGroupNamePrefix": "/aws/batch/job"}},
	{"events", "list_rules", nil},
}

// TestBotocore runs the credential matrix through botocore (boto3), driven by
// testdata/botocore_matrix.py, against real servers on 127.0.0.1.
func TestBotocore(t *testing.T) {
	t.Parallel()
	python := requireTool(t, "python3", "-c", "import boto3, botocore")

	ok := startServer(t, 0)
	skewed := startServer(t, time.Hour) // the server clock is an hour ahead

	type credCase struct {
		name, endpoint, region string
		key, secret, token     string
		anonymous              bool
		wantCode, wantMessage  string
	}
	credCases := []credCase{
		{name: "valid key", endpoint: ok.URL, key: testKeyID, secret: testSecret},
		{name: "valid key, other region", endpoint: ok.URL, key: testKeyID, secret: testSecret, region: "eu-central-1"},
		{name: "valid key with session token", endpoint: ok.URL, key: testKeyID, secret: testSecret, token: "FwoGZXIvYXdzEXAMPLETOKEN//+="},
		{name: "wrong secret", endpoint: ok.URL, key: testKeyID, secret: "not-the-secret", wantCode: gantry.ErrCodeInvalidSignature, wantMessage: "does not match the signature you provided"},
		{name: "unknown key", endpoint: ok.URL, key: "AKIAUNKNOWN", secret: testSecret, wantCode: gantry.ErrCodeUnrecognizedClient},
		{name: "anonymous", endpoint: ok.URL, anonymous: true, wantCode: gantry.ErrCodeMissingAuthToken},
		{name: "signed an hour ago", endpoint: skewed.URL, key: testKeyID, secret: testSecret, wantCode: gantry.ErrCodeInvalidSignature, wantMessage: "Signature expired"},
	}

	var cases []botoCase
	for _, cc := range credCases {
		for _, call := range botoCalls {
			cases = append(cases, botoCase{
				Name:     cc.name + "/" + call.service + "." + call.operation,
				Endpoint: cc.endpoint, Region: cmp.Or(cc.region, "us-east-1"),
				Service: call.service, Operation: call.operation, Params: call.params,
				AccessKey: cc.key, SecretKey: cc.secret, SessionToken: cc.token, Anonymous: cc.anonymous,
				wantCode: cc.wantCode, wantMessage: cc.wantMessage,
			})
		}
	}
	// Presigned URLs (query authentication), GET with the ARN in the path.
	presign := botoCase{Endpoint: ok.URL, Region: "us-east-1", Service: "batch", Operation: "list_tags_for_resource",
		Params: map[string]any{"resourceArn": testARN}, AccessKey: testKeyID, Presign: true}
	good, bad := presign, presign
	good.Name, good.SecretKey = "presigned/valid key", testSecret
	bad.Name, bad.SecretKey = "presigned/wrong secret", "not-the-secret"
	bad.wantCode = gantry.ErrCodeInvalidSignature
	cases = append(cases, good, bad)

	results := runBotocore(t, python, cases)
	for _, c := range cases {
		got, found := results[c.Name]
		switch {
		case !found:
			t.Errorf("%s: no result from botocore_matrix.py", c.Name)
		case c.wantCode == "" && !got.OK:
			t.Errorf("%s: failed with %d %s: %s", c.Name, got.Status, got.Code, got.Message)
		case c.wantCode != "" && (got.OK || got.Status != 403 || got.Code != c.wantCode || !strings.Contains(got.Message, c.wantMessage)):
			t.Errorf("%s: got %+v, want 403 %s containing %q", c.Name, got, c.wantCode, c.wantMessage)
		}
	}

	// Everything the handler saw came from the three successful credential
	// cases and the good presigned URL; check the Batch ones arrived intact.
	for _, r := range ok.requests() {
		if r.path == "/v1/submitjob" && !strings.Contains(r.body, `"jobName": "hello"`) && !strings.Contains(r.body, `"jobName":"hello"`) {
			t.Errorf("SubmitJob body did not reach the handler intact: %+v", r)
		}
		if r.method == "DELETE" && (r.path != testARNPath || strings.Count(r.query, "tagKeys=") != 2) {
			t.Errorf("UntagResource request = %+v, want path %s and two tagKeys", r, testARNPath)
		}
	}
	if n, want := len(ok.requests()), 3*len(botoCalls)+1; n != want {
		t.Errorf("handler saw %d requests, want %d (rejected ones must not get through)", n, want)
	}
	if n := len(skewed.requests()); n != 0 {
		t.Errorf("handler behind the skewed server saw %d requests, want 0", n)
	}
}

func runBotocore(t *testing.T, python string, cases []botoCase) map[string]botoResult {
	t.Helper()
	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), python, filepath.Join("testdata", "botocore_matrix.py"))
	cmd.Env = isolatedAWSEnv(t)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore_matrix.py: %v\n%s", err, stderr.String())
	}
	results := map[string]botoResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r botoResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("botocore_matrix.py printed %q: %v", sc.Text(), err)
		}
		results[r.Name] = r
	}
	return results
}

// TestAWSCLI makes real `aws` CLI calls (v1 here, built on botocore, with its
// own request path) against the middleware.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	aws := requireTool(t, "aws", "--version")
	ts := startServer(t, 0)

	tests := map[string]struct {
		args        []string
		secret      string
		wantCode    string // "" means exit 0
		wantHandler string // a path the handler must have seen
	}{
		"list-tags-for-resource": {
			args:        []string{"batch", "list-tags-for-resource", "--resource-arn", testARN},
			secret:      testSecret,
			wantHandler: testARNPath,
		},
		"untag-resource": {
			args:        []string{"batch", "untag-resource", "--resource-arn", testARN, "--tag-keys", "a", "b"},
			secret:      testSecret,
			wantHandler: testARNPath,
		},
		"logs describe-log-groups": {
			args:        []string{"logs", "describe-log-groups"},
			secret:      testSecret,
			wantHandler: "/",
		},
		"wrong secret": {
			args:     []string{"batch", "list-tags-for-resource", "--resource-arn", testARN},
			secret:   "not-the-secret",
			wantCode: gantry.ErrCodeInvalidSignature,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := append(tc.args, "--endpoint-url", ts.URL, "--region", "us-east-1", "--output", "json")
			cmd := exec.CommandContext(t.Context(), aws, args...)
			cmd.Env = isolatedAWSEnv(t, "AWS_ACCESS_KEY_ID="+testKeyID, "AWS_SECRET_ACCESS_KEY="+tc.secret)
			out, err := cmd.CombinedOutput()
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				for _, r := range ts.requests() {
					if r.path == tc.wantHandler {
						return
					}
				}
				t.Errorf("handler never saw %s; it saw %+v", tc.wantHandler, ts.requests())
				return
			}
			if err == nil || !strings.Contains(string(out), tc.wantCode) {
				t.Errorf("aws %s: err = %v, output %q; want a failure naming %s", strings.Join(args, " "), err, out, tc.wantCode)
			}
		})
	}
}
