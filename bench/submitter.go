package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/smithy-go"
)

// Submitter sends SubmitJob calls: *batch.Client, or the lean
// HTTPSubmitter. The scenarios send every SubmitJob through one, so that
// a load generator sharing the server's CPUs can choose the cheaper
// client (Config.SubmitClient).
type Submitter interface {
	SubmitJob(ctx context.Context, in *batch.SubmitJobInput, optFns ...func(*batch.Options)) (*batch.SubmitJobOutput, error)
}

// Names of the SubmitJob clients (Config.SubmitClient).
const (
	// SubmitClientSDK is aws-sdk-go-v2's Batch client (NewClient).
	SubmitClientSDK = "sdk"
	// SubmitClientHTTP is HTTPSubmitter: the same request, built and
	// signed by hand on net/http.
	SubmitClientHTTP = "http"
	// SubmitClientWire is HTTPSubmitter on connections of its own
	// (NewWireSubmitter): the same request again, without net/http's
	// client transport.
	SubmitClientWire = "wire"
)

// SubmitClients lists the SubmitJob client names.
var SubmitClients = []string{SubmitClientSDK, SubmitClientHTTP, SubmitClientWire}

// NewLeanSubmitter returns the HTTPSubmitter of the named client:
// SubmitClientHTTP or SubmitClientWire.
func NewLeanSubmitter(client string, cfg ClientConfig, conns int) (*HTTPSubmitter, error) {
	switch client {
	case SubmitClientHTTP:
		return NewHTTPSubmitter(cfg, conns)
	case SubmitClientWire:
		return NewWireSubmitter(cfg)
	}
	return nil, fmt.Errorf("submit client %q is not a lean client (want %s or %s)", client, SubmitClientHTTP, SubmitClientWire)
}

// Batch's signing name and the region the clients sign for.
const (
	signingService = "batch"
	signingRegion  = "us-east-1"
)

// maxSubmitResponse bounds the SubmitJob response body read.
const maxSubmitResponse = 1 << 20

// HTTPSubmitter sends SubmitJob as aws-sdk-go-v2 does on the wire (rest-json:
// POST /v1/submitjob, Content-Type application/json, the same JSON members,
// SigV4 for service "batch" in us-east-1), at a fraction of the SDK's CPU
// cost per call (no middleware stack, no per-call endpoint resolution, no
// generic serializers), over net/http (NewHTTPSubmitter) or over
// connections of its own (NewWireSubmitter), cheaper still. Like
// NewClient's client it never retries a call the server may have taken.
// It is safe for concurrent use.
//
// It encodes the SubmitJobInput members the scenarios use, and a few more
// (see encodeSubmitJob); an input with any other member set is refused
// rather than sent without it. Unlike the SDK it does not check required
// members before sending: the server does.
type HTTPSubmitter struct {
	url    string
	u      *url.URL // url parsed, read only
	creds  aws.Credentials
	signer *v4.Signer
	client *http.Client // nil: wire
	wire   *wirePool
	now    func() time.Time
}

// submitTimeout bounds a call of the lean clients, as NewClient's does.
const submitTimeout = time.Minute

// NewHTTPSubmitter returns a lean SubmitJob client for cfg's endpoint and
// credentials whose connection pool keeps up to conns idle keep-alive
// connections (at least 64).
func NewHTTPSubmitter(cfg ClientConfig, conns int) (*HTTPSubmitter, error) {
	s, err := newLeanSubmitter(cfg)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0 // no limit overall
	tr.MaxIdleConnsPerHost = max(64, conns)
	tr.DisableCompression = true
	s.client = &http.Client{Transport: tr, Timeout: submitTimeout}
	return s, nil
}

// NewWireSubmitter returns a lean SubmitJob client that sends the same
// requests as NewHTTPSubmitter's on HTTP/1.1 keep-alive connections of its
// own (wirePool): a connection per concurrent call, kept for the next.
func NewWireSubmitter(cfg ClientConfig) (*HTTPSubmitter, error) {
	s, err := newLeanSubmitter(cfg)
	if err != nil {
		return nil, err
	}
	u := s.u
	host, serverName := u.Host, ""
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	if u.Scheme == "https" {
		serverName = u.Hostname()
	}
	s.wire = newWirePool(host, serverName, submitTimeout)
	return s, nil
}

func newLeanSubmitter(cfg ClientConfig) (*HTTPSubmitter, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("endpoint %q: want an http(s) URL", cfg.Endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/submitjob"
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return &HTTPSubmitter{
		url:    u.String(),
		u:      u,
		creds:  aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, Source: "gantrybench"},
		signer: v4.NewSigner(),
		now:    time.Now,
	}, nil
}

// SubmitJob sends one SubmitJob call. optFns are not supported (an error).
// A non-2xx answer is returned as an *APIError.
func (s *HTTPSubmitter) SubmitJob(ctx context.Context, in *batch.SubmitJobInput, optFns ...func(*batch.Options)) (*batch.SubmitJobOutput, error) {
	if len(optFns) > 0 {
		return nil, errors.New("SubmitJob: the http client takes no per-call options")
	}
	body, err := encodeSubmitJob(in)
	if err != nil {
		return nil, fmt.Errorf("SubmitJob: %w", err)
	}
	var req *http.Request
	if s.wire != nil {
		// Only what the signer and the wire client read: no body
		// reader, no URL parsed per call.
		u := *s.u
		req = &http.Request{
			Method: http.MethodPost, URL: &u, Host: u.Host, ContentLength: int64(len(body)),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}},
		}
	} else if req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("SubmitJob: %w", err)
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := s.signer.SignHTTP(ctx, s.creds, req, hex.EncodeToString(sum[:]), signingService, signingRegion, s.now()); err != nil {
		return nil, fmt.Errorf("SubmitJob: sign: %w", err)
	}
	resp, err := s.do(ctx, req, body)
	if err != nil {
		return nil, fmt.Errorf("SubmitJob: %w", err)
	}
	b := resp.body
	if resp.status < 200 || resp.status > 299 {
		return nil, fmt.Errorf("SubmitJob: %w", decodeAPIError(resp, b))
	}
	var out struct {
		JobArn  *string `json:"jobArn"`
		JobName *string `json:"jobName"`
		JobID   *string `json:"jobId"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("SubmitJob: decode response (HTTP %d): %w", resp.status, err)
	}
	return &batch.SubmitJobOutput{JobArn: out.JobArn, JobName: out.JobName, JobId: out.JobID}, nil
}

// do sends req through the client's transport.
func (s *HTTPSubmitter) do(ctx context.Context, req *http.Request, body []byte) (*wireResponse, error) {
	if s.wire != nil {
		return s.wire.do(ctx, req, body, maxSubmitResponse)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSubmitResponse))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	return &wireResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// APIError is an AWS error answer to an HTTPSubmitter call. It implements
// smithy.APIError, as the SDK's errors do.
type APIError struct {
	StatusCode int
	Code       string // e.g. ClientException
	Message    string
}

var _ smithy.APIError = (*APIError)(nil)

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d: api error %s: %s", e.StatusCode, e.Code, e.Message)
}

// ErrorCode is the AWS error type.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is the message of the answer.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault is the server's for a 5xx answer, the client's otherwise.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.StatusCode >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// decodeAPIError reads the error type as the SDK does for rest-json: the
// X-Amzn-ErrorType header, else the body's "__type" (or "code"), without a
// "namespace#" prefix or a ":suffix"; the message is the body's "message"
// (or "Message").
func decodeAPIError(resp *wireResponse, body []byte) *APIError {
	var doc struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(body, &doc) // a non-JSON body leaves the fields empty
	code := resp.header.Get("X-Amzn-ErrorType")
	for _, c := range []string{doc.Type, doc.Code} {
		if code == "" {
			code = c
		}
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = "UnknownError"
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.MessageU
	}
	if msg == "" && len(body) > 0 {
		msg = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	if msg == "" {
		msg = http.StatusText(resp.status)
	}
	return &APIError{StatusCode: resp.status, Code: code, Message: msg}
}

// submitJobBody is the JSON document of a SubmitJob request, with the
// Batch API model's member names. Pointers (to slices and maps too) are
// sent when set, as the SDK sends every member that is not nil.
type submitJobBody struct {
	ArrayProperties            *arrayPropertiesBody `json:"arrayProperties,omitempty"`
	DependsOn                  *[]jobDependencyBody `json:"dependsOn,omitempty"`
	JobDefinition              *string              `json:"jobDefinition,omitempty"`
	JobName                    *string              `json:"jobName,omitempty"`
	JobQueue                   *string              `json:"jobQueue,omitempty"`
	Parameters                 *map[string]string   `json:"parameters,omitempty"`
	PropagateTags              *bool                `json:"propagateTags,omitempty"`
	RetryStrategy              *retryStrategyBody   `json:"retryStrategy,omitempty"`
	SchedulingPriorityOverride *int32               `json:"schedulingPriorityOverride,omitempty"`
	ShareIdentifier            *string              `json:"shareIdentifier,omitempty"`
	Tags                       *map[string]string   `json:"tags,omitempty"`
	Timeout                    *jobTimeoutBody      `json:"timeout,omitempty"`
}

type arrayPropertiesBody struct {
	Size *int32 `json:"size,omitempty"`
}

type jobDependencyBody struct {
	JobID *string `json:"jobId,omitempty"`
	Type  string  `json:"type,omitempty"`
}

type retryStrategyBody struct {
	Attempts *int32 `json:"attempts,omitempty"`
}

type jobTimeoutBody struct {
	AttemptDurationSeconds *int32 `json:"attemptDurationSeconds,omitempty"`
}

// encodeSubmitJob encodes in as the SDK would. It refuses members it does
// not encode (the overrides, retryStrategy.evaluateOnExit).
func encodeSubmitJob(in *batch.SubmitJobInput) ([]byte, error) {
	if in == nil {
		return nil, errors.New("nil input")
	}
	var unsupported []string
	for name, set := range map[string]bool{
		"containerOverrides":                   in.ContainerOverrides != nil,
		"nodeOverrides":                        in.NodeOverrides != nil,
		"ecsPropertiesOverride":                in.EcsPropertiesOverride != nil,
		"eksPropertiesOverride":                in.EksPropertiesOverride != nil,
		"consumableResourcePropertiesOverride": in.ConsumableResourcePropertiesOverride != nil,
		"retryStrategy.evaluateOnExit":         in.RetryStrategy != nil && in.RetryStrategy.EvaluateOnExit != nil,
	} {
		if set {
			unsupported = append(unsupported, name)
		}
	}
	if len(unsupported) > 0 {
		return nil, fmt.Errorf("the http client does not encode %s (use -submit-client sdk)", strings.Join(unsupported, ", "))
	}
	b := submitJobBody{
		JobDefinition: in.JobDefinition, JobName: in.JobName, JobQueue: in.JobQueue,
		PropagateTags: in.PropagateTags, SchedulingPriorityOverride: in.SchedulingPriorityOverride,
		ShareIdentifier: in.ShareIdentifier,
	}
	if in.ArrayProperties != nil {
		b.ArrayProperties = &arrayPropertiesBody{Size: in.ArrayProperties.Size}
	}
	if in.DependsOn != nil {
		deps := make([]jobDependencyBody, len(in.DependsOn))
		for i, d := range in.DependsOn {
			deps[i] = jobDependencyBody{JobID: d.JobId, Type: string(d.Type)}
		}
		b.DependsOn = &deps
	}
	if in.Parameters != nil {
		b.Parameters = &in.Parameters
	}
	if in.Tags != nil {
		b.Tags = &in.Tags
	}
	if in.RetryStrategy != nil {
		b.RetryStrategy = &retryStrategyBody{Attempts: in.RetryStrategy.Attempts}
	}
	if in.Timeout != nil {
		b.Timeout = &jobTimeoutBody{AttemptDurationSeconds: in.Timeout.AttemptDurationSeconds}
	}
	// The SDK does not escape <, > and & as encoding/json does by default.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&b); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
