package bench

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
)

// ClientConfig configures NewClient.
type ClientConfig struct {
	Endpoint                     string
	AccessKeyID, SecretAccessKey string
	// MotoCompat truncates non-integer "vcpus" numbers in responses to
	// integers. moto 5.x reports a job's resourceRequirements VCPU of
	// "0.25" as "vcpus": 0.25 in DescribeJobs, where the Batch API model
	// has an integer, and aws-sdk-go-v2 then fails to decode the whole
	// response (botocore silently truncates it). The field is not used by
	// any scenario.
	MotoCompat bool
}

// NewClient returns a Batch client for the endpoint with static
// credentials, region us-east-1 and no retries: a benchmark counts every
// error rather than let the SDK hide it (and the SDK's retry token bucket
// would throttle a load generator).
func NewClient(cfg ClientConfig) *batch.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64 // several submitters and pollers share it
	return batch.New(batch.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		BaseEndpoint: aws.String(cfg.Endpoint),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   copyBodyClient{c: &http.Client{Transport: tr, Timeout: time.Minute}, motoCompat: cfg.MotoCompat},
	})
}

// copyBodyClient sends a private copy of each request body. aws-sdk-go-v2
// closes the request body as soon as the response headers are in; when
// net/http's write loop is not done with it yet, the connection is closed
// and a large response still being read fails (aws/aws-sdk-go-v2#2737; the
// SDK's retryer normally hides it, and this client does not retry).
type copyBodyClient struct {
	c          *http.Client
	motoCompat bool
}

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
	resp, err := d.c.Do(r)
	if err != nil || !d.motoCompat {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = fractionalVCPUs.ReplaceAll(b, []byte("${1}${2}"))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// fractionalVCPUs matches a "vcpus" member with a fractional number (see
// ClientConfig.MotoCompat).
var fractionalVCPUs = regexp.MustCompile(`("vcpus"\s*:\s*)(-?[0-9]+)\.[0-9]+`)
