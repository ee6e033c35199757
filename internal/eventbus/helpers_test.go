package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	// failedPattern matches the FAILED job events of the tests.
	failedPattern = `{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}`
)

type testBundle struct {
	st       store.Store
	dir      string
	outcomes *outcomeLog
}

type outcomeLog struct {
	mu   sync.Mutex
	list []string // kind/outcome
}

func (o *outcomeLog) add(kind, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, kind+"/"+outcome)
}

func (o *outcomeLog) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.list...)
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	dir := t.TempDir()
	return &testBundle{st: openStore(t, dir), dir: dir, outcomes: &outcomeLog{}}
}

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := storesqlite.Open(context.Background(), storesqlite.Config{Path: filepath.Join(dir, "gantry.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newBus starts a Bus on the bundle's store with test timings; fn adjusts
// the configuration first. The Bus is closed when the test ends.
func (tb *testBundle) newBus(t *testing.T, fn func(*Config)) *Bus {
	t.Helper()
	cfg := Config{
		Store: tb.st, Region: testRegion, AccountID: testAccount,
		Logger:       testLogger(t),
		RetryBase:    5 * time.Millisecond,
		RetryMax:     40 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
		Workers:      4,
		OnDelivery:   tb.outcomes.add,
		HTTPClient:   &http.Client{Timeout: 5 * time.Second},
	}
	if fn != nil {
		fn(&cfg)
	}
	b := New(cfg)
	b.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

func (tb *testBundle) putRule(t *testing.T, r *gantry.Rule, targets ...*gantry.Target) {
	t.Helper()
	ctx := context.Background()
	r.EventBusName = gantry.DefaultEventBus
	if r.State == "" {
		r.State = gantry.RuleStateEnabled
	}
	r.Arn = "arn:aws:events:" + testRegion + ":" + testAccount + ":rule/" + r.Name
	require.NoError(t, tb.st.RuleInsert(ctx, r))
	if len(targets) > 0 {
		require.NoError(t, tb.st.RuleTargetUpsert(ctx, r.Name, targets))
	}
}

// jobEvent writes a "Batch Job State Change" event to the outbox.
func (tb *testBundle) jobEvent(t *testing.T, status string, at time.Time) *store.Event {
	t.Helper()
	detail, err := json.Marshal(map[string]any{
		"jobName": "nightly", "jobId": "11111111-2222-3333-4444-555555555555", "status": status,
		"jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/main", "statusReason": `exit "1" <oops>`,
	})
	require.NoError(t, err)
	ev := &store.Event{
		Time: at.UnixMilli(), DetailType: control.DetailTypeJobStateChange, Source: control.EventSource,
		Resources: []string{"arn:aws:batch:us-east-1:123456789012:job/11111111-2222-3333-4444-555555555555"},
		Detail:    detail,
	}
	require.NoError(t, tb.st.EventInsert(context.Background(), ev))
	return ev
}

func (tb *testBundle) deliveries(t *testing.T, rule string) []*store.Delivery {
	t.Helper()
	ds, err := tb.st.DeliveryList(context.Background(), &store.DeliveryListParams{Rule: rule})
	require.NoError(t, err)
	return ds
}

// waitDelivery waits until the rule's only delivery reaches state.
func (tb *testBundle) waitDelivery(t *testing.T, rule, state string) *store.Delivery {
	t.Helper()
	var got *store.Delivery
	waitFor(t, "delivery of "+rule+" "+state, func() bool {
		ds := tb.deliveries(t, rule)
		if len(ds) == 1 && ds[0].State == state {
			got = ds[0]
			return true
		}
		return false
	})
	return got
}

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// request is what a receiver saw.
type request struct {
	Method string
	Path   string
	Query  map[string][]string
	Header http.Header
	Body   string
}

// receiver is a real HTTP server on 127.0.0.1 that records requests and
// answers with respond (200 if nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(n int, r *http.Request, w http.ResponseWriter) // n counts from 1
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request, w http.ResponseWriter)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(n, r, w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func ptr[T any](v T) *T { return &v }

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// requireOutcomes waits until the OnDelivery hook has seen want (it runs
// just after the delivery's update commits, so a test that saw the new
// state in the store may be a moment early), then checks it exactly.
func (tb *testBundle) requireOutcomes(t *testing.T, want []string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("delivery outcomes %v", want), func() bool { return len(tb.outcomes.get()) >= len(want) })
	require.Equal(t, want, tb.outcomes.get())
}
