package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	batchtypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/eventsapi"
	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// newEventsClient is an aws-sdk-go-v2 EventBridge client for a Gantry
// endpoint, without retries (as the Batch test clients).
func newEventsClient(endpoint string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   gantrytest.CopyBodyClient{C: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}},
	})
}

// received is one request a receiver got.
type received struct {
	N      int // 1 for the first request
	Method string
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a real HTTP endpoint on 127.0.0.1 standing for a webhook
// (Slack, PagerDuty, ...). respond chooses the status of the n-th request;
// it may block, and should then return when the request's context or done
// ends.
type receiver struct {
	*httptest.Server
	t    *testing.T
	done chan struct{} // closed when the test ends
	got  chan received

	mu   sync.Mutex
	n    int
	reqs []received
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request, done <-chan struct{}) int) *receiver {
	t.Helper()
	rc := &receiver{t: t, done: make(chan struct{}), got: make(chan received, 1000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		req := received{N: rc.n, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
		rc.reqs = append(rc.reqs, req)
		rc.mu.Unlock()
		rc.got <- req
		if status := respond(req.N, r, rc.done); status > 0 {
			w.WriteHeader(status)
		}
	}))
	t.Cleanup(func() {
		close(rc.done)
		rc.Close()
	})
	return rc
}

// ok answers 200 to every request.
func ok(int, *http.Request, <-chan struct{}) int { return http.StatusOK }

// next returns the next request, or fails the test after timeout.
func (rc *receiver) next(timeout time.Duration) received {
	rc.t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(timeout):
		rc.t.Fatalf("receiver: no request within %v", timeout)
		return received{}
	}
}

// count is the number of requests so far.
func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// awsEvent is the EventBridge envelope a target receives.
type awsEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func parseEvent(t *testing.T, b []byte) awsEvent {
	t.Helper()
	var e awsEvent
	require.NoError(t, json.Unmarshal(b, &e), "event body: %s", b)
	return e
}

// deliveries reads GET /gantry/v1/deliveries (newest first).
func deliveries(t *testing.T, endpoint, rule, state string) []eventsapi.Delivery {
	t.Helper()
	q := url.Values{"rule": {rule}}
	if state != "" {
		q.Set("state", state)
	}
	resp, err := http.Get(endpoint + eventsapi.DeliveriesPath + "?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var page eventsapi.DeliveriesPage
	require.NoError(t, json.Unmarshal(b, &page), "%s", b)
	return page.Deliveries
}

// waitDeliveries polls the deliveries of a rule until there are n, all in
// state, and returns them.
func waitDeliveries(t *testing.T, endpoint, rule, state string, n int, timeout time.Duration) []eventsapi.Delivery {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ds := deliveries(t, endpoint, rule, "")
		done := len(ds) == n
		for _, d := range ds {
			done = done && d.State == state
		}
		if done {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("rule %s: want %d deliveries %s within %v, have %+v", rule, n, state, timeout, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// schedules reads GET /gantry/v1/schedules, by rule name.
func schedules(t *testing.T, endpoint string) map[string]eventsapi.Schedule {
	t.Helper()
	resp, err := http.Get(endpoint + eventsapi.SchedulesPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var page eventsapi.SchedulesPage
	require.NoError(t, json.Unmarshal(b, &page), "%s", b)
	out := map[string]eventsapi.Schedule{}
	for _, s := range page.Schedules {
		out[s.Name] = s
	}
	return out
}

// jobsNamed lists the jobs of a queue with a name, in any status.
func jobsNamed(t *testing.T, c *batch.Client, queue, name string) []batchtypes.JobSummary {
	t.Helper()
	out, err := c.ListJobs(ctx, &batch.ListJobsInput{
		JobQueue: aws.String(queue),
		Filters:  []batchtypes.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{name}}},
	})
	require.NoError(t, err)
	return out.JobSummaryList
}

// waitJobNamed polls until a job of that name exists in the queue and
// returns its id.
func waitJobNamed(t *testing.T, c *batch.Client, queue, name string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if js := jobsNamed(t, c, queue, name); len(js) > 0 {
			require.Len(t, js, 1, "jobs named %s", name)
			return aws.ToString(js[0].JobId)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no job named %s in %s within %v", name, queue, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
