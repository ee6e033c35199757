package sigv4auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/gantrybatch/gantry"
)

var testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

const testHost = "gantry.test:8080"

// signOpts says how a test request is signed; zero fields take the defaults
// of defaultSignOpts.
type signOpts struct {
	key, secret, token string
	service, region    string
	at                 time.Time
	payloadHash        string
	expires            time.Duration // presigned only
}

func defaultSignOpts(o signOpts) signOpts {
	if o.key == "" {
		o.key = testKeyID
	}
	if o.secret == "" {
		o.secret = testSecret
	}
	if o.service == "" {
		o.service = "batch"
	}
	if o.region == "" {
		o.region = "us-east-1"
	}
	if o.at.IsZero() {
		o.at = testNow
	}
	return o
}

func bodyHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// newServerRequest builds a request as net/http's server hands it to a
// handler: RequestURI set, Host separate from the headers.
func newServerRequest(method, target, body string, headers map[string]string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.Host = testHost
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

// signed returns a server-side request signed with the SDK signer the way
// aws-sdk-go-v2 clients sign (header authentication).
func signed(t *testing.T, method, target, body string, headers map[string]string, o signOpts) *http.Request {
	t.Helper()
	o = defaultSignOpts(o)
	r := newServerRequest(method, target, body, headers)
	hash := o.payloadHash
	if hash == "" {
		hash = bodyHash(body)
	}
	creds := aws.Credentials{AccessKeyID: o.key, SecretAccessKey: o.secret, SessionToken: o.token}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, r, hash, o.service, o.region, o.at); err != nil {
		t.Fatal(err)
	}
	return r
}

// presigned returns a server-side GET request for a URL presigned with the SDK
// signer.
func presigned(t *testing.T, target string, o signOpts) *http.Request {
	t.Helper()
	o = defaultSignOpts(o)
	r := newServerRequest(http.MethodGet, target, "", nil)
	if o.expires > 0 {
		q := r.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(int(o.expires/time.Second)))
		r.URL.RawQuery = q.Encode()
	}
	creds := aws.Credentials{AccessKeyID: o.key, SecretAccessKey: o.secret, SessionToken: o.token}
	signedURL, _, err := v4.NewSigner().PresignHTTP(t.Context(), creds, r, bodyHash(""), o.service, o.region, o.at)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(signedURL)
	if err != nil {
		t.Fatal(err)
	}
	return newServerRequest(http.MethodGet, u.EscapedPath()+"?"+u.RawQuery, "", nil)
}

// setAuthz rewrites the Authorization header with fn.
func setAuthz(r *http.Request, fn func(string) string) *http.Request {
	r.Header.Set("Authorization", fn(r.Header.Get("Authorization")))
	return r
}

func replaceAuthz(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

func TestVerify(t *testing.T) {
	t.Parallel()

	const submitBody = `{"jobName":"hello","jobQueue":"q","jobDefinition":"jd"}`
	jsonCT := map[string]string{"Content-Type": "application/json"}
	logsHeaders := map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DescribeLogGroups"}

	tests := map[string]struct {
		build       func(t *testing.T) *http.Request
		maxSkew     time.Duration
		wantCode    string // "" means success
		wantMessage string
	}{
		"valid POST with body": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{})
			},
		},
		"valid JSON 1.1 for logs, other region": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/", "{}", logsHeaders, signOpts{service: "logs", region: "eu-north-1"})
			},
		},
		"valid events": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/", "{}", map[string]string{"X-Amz-Target": "AWSEvents.ListRules"}, signOpts{service: "events"})
			},
		},
		"valid GET with encoded ARN in the path": {
			build: func(t *testing.T) *http.Request { return signed(t, "GET", testARNPath, "", nil, signOpts{}) },
		},
		"valid DELETE with repeated query keys": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "DELETE", testARNPath+"?tagKeys=b&tagKeys=a%20b&tagKeys=a", "", nil, signOpts{})
			},
		},
		"valid with session token": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{token: "session/token+="})
			},
		},
		"valid with upper-case signature hex": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{})
				return setAuthz(r, func(s string) string {
					i := strings.Index(s, "Signature=") + len("Signature=")
					return s[:i] + strings.ToUpper(s[i:])
				})
			},
		},
		"valid 14 minutes old": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{at: testNow.Add(-14 * time.Minute)})
			},
		},
		"valid 14 minutes ahead": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{at: testNow.Add(14 * time.Minute)})
			},
		},
		"valid with matching X-Amz-Content-Sha256": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, map[string]string{"X-Amz-Content-Sha256": bodyHash(submitBody)}, signOpts{})
			},
		},
		"valid UNSIGNED-PAYLOAD without a body": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "GET", testARNPath, "", map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}, signOpts{payloadHash: "UNSIGNED-PAYLOAD"})
			},
		},
		"valid path signed in botocore's normalized form": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "POST", "/v1/describejobqueues", "{}", jsonCT, signOpts{})
				r.RequestURI = "/v1//./describejobqueues"
				r.URL.Path = r.RequestURI
				return r
			},
		},
		"valid presigned URL": {
			build: func(t *testing.T) *http.Request {
				return presigned(t, testARNPath, signOpts{expires: 5 * time.Minute, at: testNow.Add(-4 * time.Minute)})
			},
		},
		"valid presigned URL with session token": {
			build: func(t *testing.T) *http.Request { return presigned(t, testARNPath, signOpts{token: "tok"}) },
		},

		"no authentication": {
			build:    func(t *testing.T) *http.Request { return newServerRequest("POST", "/v1/submitjob", submitBody, jsonCT) },
			wantCode: gantry.ErrCodeMissingAuthToken,
		},
		"blank Authorization header": {
			build: func(t *testing.T) *http.Request {
				return newServerRequest("GET", testARNPath, "", map[string]string{"Authorization": " "})
			},
			wantCode: gantry.ErrCodeMissingAuthToken,
		},
		"unknown access key": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{key: "AKIAUNKNOWN"})
			},
			wantCode:    gantry.ErrCodeUnrecognizedClient,
			wantMessage: `unknown access key ID "AKIAUNKNOWN"`,
		},
		"wrong secret": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{secret: "nope"})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "does not match the signature you provided",
		},
		"body changed after signing": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{})
				r.Body = io.NopCloser(strings.NewReader(strings.Replace(submitBody, "hello", "HELLO", 1)))
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "does not match the signature you provided",
		},
		"query changed after signing": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "DELETE", testARNPath+"?tagKeys=a", "", nil, signOpts{})
				r.URL.RawQuery, r.RequestURI = "tagKeys=a&tagKeys=b", testARNPath+"?tagKeys=a&tagKeys=b"
				return r
			},
			wantCode: gantry.ErrCodeInvalidSignature,
		},
		"path changed after signing": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "GET", testARNPath, "", nil, signOpts{})
				r.RequestURI = strings.Replace(testARNPath, "%2Fq", "%2Fother", 1)
				return r
			},
			wantCode: gantry.ErrCodeInvalidSignature,
		},
		"method changed after signing": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "GET", testARNPath, "", nil, signOpts{})
				r.Method = "DELETE"
				return r
			},
			wantCode: gantry.ErrCodeInvalidSignature,
		},
		"signed header changed": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "POST", "/", "{}", logsHeaders, signOpts{service: "logs"})
				r.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
				return r
			},
			wantCode: gantry.ErrCodeInvalidSignature,
		},
		"host changed": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{})
				r.Host = "evil.test:8080"
				return r
			},
			wantCode: gantry.ErrCodeInvalidSignature,
		},
		"signed header missing from the request": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "POST", "/", "{}", logsHeaders, signOpts{service: "logs"})
				r.Header.Del("X-Amz-Target")
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "signed header x-amz-target is not present",
		},
		"signs user-agent": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{})
				r.Header.Set("User-Agent", "x")
				return setAuthz(r, replaceAuthz(";x-amz-date", ";user-agent;x-amz-date"))
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Signing the user-agent header is not supported",
		},
		"SigV2-style header": {
			build: func(t *testing.T) *http.Request {
				return newServerRequest("GET", testARNPath, "", map[string]string{"Authorization": "AWS AKIAGANTRYTEST:c2lnbmF0dXJl", "X-Amz-Date": "20250304T050607Z"})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: `Unsupported Authorization algorithm "AWS"`,
		},
		"missing Signature": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "GET", testARNPath, "", nil, signOpts{})
				return setAuthz(r, func(s string) string { return s[:strings.Index(s, ", Signature=")] })
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "requires 'Signature' parameter",
		},
		"parameter without =": {
			build: func(t *testing.T) *http.Request {
				return setAuthz(signed(t, "GET", testARNPath, "", nil, signOpts{}), func(s string) string { return s + ", junk" })
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: `"junk" is not a key=value pair`,
		},
		"two Authorization headers": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "GET", testARNPath, "", nil, signOpts{})
				r.Header.Add("Authorization", r.Header.Get("Authorization"))
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Only one Authorization header",
		},
		"credential without region": {
			build: func(t *testing.T) *http.Request {
				return setAuthz(signed(t, "GET", testARNPath, "", nil, signOpts{}), replaceAuthz("/us-east-1/batch/", "/batch/"))
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "is malformed",
		},
		"credential for another service": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "GET", testARNPath, "", nil, signOpts{service: "s3"})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "not 's3'",
		},
		"credential with bad terminator": {
			build: func(t *testing.T) *http.Request {
				return setAuthz(signed(t, "GET", testARNPath, "", nil, signOpts{}), replaceAuthz("aws4_request", "aws5_request"))
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "valid terminator",
		},
		"credential date differs from X-Amz-Date": {
			build: func(t *testing.T) *http.Request {
				return setAuthz(signed(t, "GET", testARNPath, "", nil, signOpts{}), replaceAuthz("/20250304/", "/20250303/"))
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Date in Credential scope (20250303) does not match",
		},
		"no X-Amz-Date": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "GET", testARNPath, "", nil, signOpts{})
				r.Header.Del("X-Amz-Date")
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "requires the X-Amz-Date header",
		},
		"malformed X-Amz-Date": {
			build: func(t *testing.T) *http.Request {
				r := signed(t, "GET", testARNPath, "", nil, signOpts{})
				r.Header.Set("X-Amz-Date", "2025-03-04T05:06:07Z")
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "ISO8601 basic format",
		},
		"signature not hex": {
			build: func(t *testing.T) *http.Request {
				return setAuthz(signed(t, "GET", testARNPath, "", nil, signOpts{}), func(s string) string {
					return s[:strings.Index(s, "Signature=")] + "Signature=" + strings.Repeat("zz", 32)
				})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "64 hexadecimal characters",
		},
		"host not signed": {
			build: func(t *testing.T) *http.Request {
				return setAuthz(signed(t, "GET", testARNPath, "", nil, signOpts{}), replaceAuthz("SignedHeaders=host;", "SignedHeaders="))
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "must include host",
		},
		"upper-case SignedHeaders": {
			build: func(t *testing.T) *http.Request {
				return setAuthz(signed(t, "GET", testARNPath, "", nil, signOpts{}), replaceAuthz("host;", "Host;"))
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "lower-case header names",
		},
		"16 minutes old": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{at: testNow.Add(-16 * time.Minute)})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Signature expired: 20250304T045007Z is now earlier than 20250304T045107Z (20250304T050607Z - 15 min.)",
		},
		"16 minutes ahead": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{at: testNow.Add(16 * time.Minute)})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Signature not yet current",
		},
		"older than a custom MaxSkew": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, jsonCT, signOpts{at: testNow.Add(-2 * time.Minute)})
			},
			maxSkew:     time.Minute,
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "(20250304T050607Z - 1 min.)",
		},
		"X-Amz-Content-Sha256 does not match the body": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, map[string]string{"X-Amz-Content-Sha256": bodyHash("other")}, signOpts{payloadHash: bodyHash("other")})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "'x-amz-content-sha256' header does not match",
		},
		"UNSIGNED-PAYLOAD with a body": {
			build: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", submitBody, map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}, signOpts{payloadHash: "UNSIGNED-PAYLOAD"})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "UNSIGNED-PAYLOAD is accepted only for requests without a body",
		},
		"presigned URL with wrong secret": {
			build:       func(t *testing.T) *http.Request { return presigned(t, testARNPath, signOpts{secret: "nope"}) },
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "does not match the signature you provided",
		},
		"presigned URL for another path": {
			build: func(t *testing.T) *http.Request {
				r := presigned(t, testARNPath, signOpts{})
				r.RequestURI = strings.Replace(r.RequestURI, "%2Fq?", "%2Fother?", 1)
				return r
			},
			wantCode: gantry.ErrCodeInvalidSignature,
		},
		"presigned URL expired": {
			build: func(t *testing.T) *http.Request {
				return presigned(t, testARNPath, signOpts{expires: time.Minute, at: testNow.Add(-2 * time.Minute)})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "the presigned URL expired at 20250304T050507Z",
		},
		"presigned URL from the future": {
			build: func(t *testing.T) *http.Request {
				return presigned(t, testARNPath, signOpts{at: testNow.Add(time.Hour)})
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Signature not yet current",
		},
		"presigned URL with bad X-Amz-Expires": {
			build: func(t *testing.T) *http.Request {
				r := presigned(t, testARNPath, signOpts{expires: time.Minute})
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=60", "X-Amz-Expires=604801", 1)
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "X-Amz-Expires must be a number of seconds from 1 to 604800",
		},
		"presigned URL without signature": {
			build: func(t *testing.T) *http.Request {
				r := presigned(t, testARNPath, signOpts{})
				q := r.URL.Query()
				q.Del("X-Amz-Signature")
				r.URL.RawQuery = q.Encode()
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "must include 'X-Amz-Signature'",
		},
		"presigned URL and Authorization header": {
			build: func(t *testing.T) *http.Request {
				r := presigned(t, testARNPath, signOpts{})
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
				return r
			},
			wantCode:    gantry.ErrCodeInvalidSignature,
			wantMessage: "Only one auth mechanism allowed",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := &Verifier{
				Credentials: map[string]string{testKeyID: testSecret},
				Now:         func() time.Time { return testNow },
				MaxSkew:     tc.maxSkew,
			}
			r := tc.build(t)
			var before string
			if r.Body != nil {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Fatal(err)
				}
				before = string(b)
				r.Body = io.NopCloser(strings.NewReader(before))
			}

			err := v.Verify(r)

			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
			} else {
				var gerr *gantry.Error
				if !errors.As(err, &gerr) || gerr.Code != tc.wantCode || !strings.Contains(gerr.Message, tc.wantMessage) {
					t.Fatalf("Verify = %v, want %s containing %q", err, tc.wantCode, tc.wantMessage)
				}
			}
			if r.Body != nil {
				after, err := io.ReadAll(r.Body)
				if err != nil || string(after) != before {
					t.Errorf("body after Verify = %q, %v; want %q", after, err, before)
				}
			}
		})
	}
}

func TestVerifyZeroValueRejects(t *testing.T) {
	t.Parallel()
	r := signed(t, "GET", testARNPath, "", nil, signOpts{at: time.Now()})
	var v Verifier
	if code := gantry.ErrorCode(v.Verify(r)); code != gantry.ErrCodeUnrecognizedClient {
		t.Errorf("zero Verifier: code %s, want %s", code, gantry.ErrCodeUnrecognizedClient)
	}
}

func TestRemoveDotSegments(t *testing.T) {
	t.Parallel()
	// Expected values produced by botocore.utils.remove_dot_segments.
	tests := map[string]string{
		"/":                  "/",
		"/v1/submitjob":      "/v1/submitjob",
		"//v1//submitjob":    "/v1/submitjob",
		"/v1/./a/../b/":      "/v1/b/",
		"/..":                "/",
		"/a/b/..":            "/a",
		"/a%2F..%2Fb":        "/a%2F..%2Fb",
		"/v1/tags/arn%3Aaws": "/v1/tags/arn%3Aaws",
	}
	for in, want := range tests {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}
