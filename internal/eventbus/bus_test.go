package eventbus

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

func TestEnvelope(t *testing.T) {
	t.Parallel()
	ev := &store.Event{
		ID: 7, UUID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		Time:       time.Date(2026, 11, 21, 10, 0, 0, 450e6, time.UTC).UnixMilli(),
		DetailType: "Batch Job State Change", Source: "aws.batch",
		Resources: []string{"arn:aws:batch:us-east-1:123456789012:job/j1"},
		Detail:    []byte(`{ "jobName": "a<b>", "status" : "FAILED" }`),
	}
	got, err := Envelope(ev, "us-east-1", "123456789012")
	require.NoError(t, err)
	require.Equal(t, `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Batch Job State Change",`+
		`"source":"aws.batch","account":"123456789012","time":"2026-11-21T10:00:00Z","region":"us-east-1",`+
		`"resources":["arn:aws:batch:us-east-1:123456789012:job/j1"],"detail":{"jobName":"a<b>","status":"FAILED"}}`, string(got))

	got, err = Envelope(&store.Event{UUID: "u", Source: "my.app", DetailType: "x"}, "r", "a")
	require.NoError(t, err)
	require.Contains(t, string(got), `"resources":[],"detail":{}`)

	_, err = Envelope(&store.Event{Detail: []byte(`{"a":`)}, "r", "a")
	require.Error(t, err)
}

func TestNewDeliveries(t *testing.T) {
	t.Parallel()
	targets := []*gantry.Target{{Id: "a", Arn: "http://x"}, {Id: "b", Arn: "http://y", Input: `{"k":1}`}}
	ds, err := NewDeliveries("r1", 9, targets, []byte(`{"e":1}`), 1234)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	for i, d := range ds {
		require.Equal(t, store.DeliveryPending, d.State)
		require.Equal(t, "r1", d.Rule)
		require.Equal(t, int64(9), d.EventID)
		require.Equal(t, targets[i].Id, d.TargetID)
		require.Equal(t, int64(1234), d.CreatedAt)
		require.Equal(t, int64(1234), d.NextAttemptAt)
		require.JSONEq(t, `{"e":1}`, string(d.Event))
	}
	require.JSONEq(t, `{"Id":"b","Arn":"http://y","Input":"{\"k\":1}"}`, string(ds[1].Target))
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := New(Config{Store: nopStore{}, RetryBase: 100 * time.Millisecond, RetryMax: time.Second})
	for attempts, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 80: time.Second} {
		for range 50 {
			d := b.backoff(attempts)
			require.GreaterOrEqual(t, d, time.Millisecond)
			require.LessOrEqual(t, d, ceiling, "attempts %d", attempts)
		}
	}
}

// nopStore is enough of a store.Store for New in pure tests.
type nopStore struct{ store.Store }

// A FAILED job event reaches the webhook of the matching rule as the exact
// AWS envelope; a rule that does not match and a disabled rule get nothing.
func TestWebhookReceivesEnvelope(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	hit := newReceiver(t, nil)
	miss := newReceiver(t, nil)
	disabled := newReceiver(t, nil)
	tb.putRule(t, &gantry.Rule{Name: "on-failed", EventPattern: failedPattern}, &gantry.Target{Id: "hook", Arn: hit.URL + "/hook?src=gantry"})
	tb.putRule(t, &gantry.Rule{Name: "on-succeeded", EventPattern: `{"detail":{"status":["SUCCEEDED"]}}`}, &gantry.Target{Id: "hook", Arn: miss.URL})
	tb.putRule(t, &gantry.Rule{Name: "off", EventPattern: failedPattern, State: gantry.RuleStateDisabled}, &gantry.Target{Id: "hook", Arn: disabled.URL})

	ev := tb.jobEvent(t, "FAILED", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	b := tb.newBus(t, nil)
	b.Notify()

	d := tb.waitDelivery(t, "on-failed", store.DeliveryDelivered)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, "200", d.Result)
	require.Equal(t, ev.ID, d.EventID)

	reqs := hit.requests()
	require.Len(t, reqs, 1)
	want := `{"version":"0","id":"` + ev.UUID + `","detail-type":"Batch Job State Change","source":"aws.batch",` +
		`"account":"123456789012","time":"2026-11-21T10:00:00Z","region":"us-east-1",` +
		`"resources":["arn:aws:batch:us-east-1:123456789012:job/11111111-2222-3333-4444-555555555555"],` +
		`"detail":{"jobId":"11111111-2222-3333-4444-555555555555","jobName":"nightly",` +
		`"jobQueue":"arn:aws:batch:us-east-1:123456789012:job-queue/main","status":"FAILED","statusReason":"exit \"1\" <oops>"}}`
	require.Equal(t, want, reqs[0].Body)
	require.Equal(t, http.MethodPost, reqs[0].Method)
	require.Equal(t, "/hook", reqs[0].Path)
	require.Equal(t, []string{"gantry"}, reqs[0].Query["src"])
	require.Equal(t, "application/json; charset=utf-8", reqs[0].Header.Get("Content-Type"))

	// The deliveries of one event are created in one transaction: the others
	// would exist by now.
	require.Empty(t, tb.deliveries(t, "on-succeeded"))
	require.Empty(t, tb.deliveries(t, "off"))
	require.Empty(t, miss.requests())
	require.Empty(t, disabled.requests())
	tb.requireOutcomes(t, []string{"webhook/delivered"})
}

// A receiver that fails three times is retried with growing delays and the
// fourth attempt delivers.
func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	var mu sync.Mutex
	var seen []*store.Delivery // the row as each retry found it
	rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
		if n > 1 {
			ds, err := tb.st.DeliveryList(r.Context(), &store.DeliveryListParams{Rule: "r"})
			if err == nil && len(ds) == 1 {
				mu.Lock()
				seen = append(seen, ds[0])
				mu.Unlock()
			}
		}
		if n <= 3 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern}, &gantry.Target{Id: "t", Arn: rc.URL})
	tb.jobEvent(t, "FAILED", time.Now())
	tb.newBus(t, nil).Notify()

	d := tb.waitDelivery(t, "r", store.DeliveryDelivered)
	require.Equal(t, 4, d.Attempts)
	require.Equal(t, "204", d.Result)
	require.Len(t, rc.requests(), 4)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 3)
	prev := d.CreatedAt
	for i, s := range seen {
		require.Equal(t, i+1, s.Attempts)
		require.Equal(t, store.DeliveryPending, s.State)
		require.Equal(t, "HTTP 503: try later", s.LastError)
		require.Less(t, prev, s.NextAttemptAt, "NextAttemptAt must grow")
		prev = s.NextAttemptAt
	}
	tb.requireOutcomes(t, []string{"webhook/retry", "webhook/retry", "webhook/retry", "webhook/delivered"})
}

// A receiver that never answers times out on every attempt; after
// MaximumRetryAttempts retries the delivery is DEAD with the error kept.
func TestHangingReceiverGoesDead(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
		<-r.Context().Done() // never answers
	})
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern},
		&gantry.Target{Id: "t", Arn: rc.URL, RetryPolicy: &gantry.TargetRetryPolicy{MaximumRetryAttempts: ptr[int32](2)}})
	tb.jobEvent(t, "FAILED", time.Now())
	tb.newBus(t, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} }).Notify()

	d := tb.waitDelivery(t, "r", store.DeliveryDead)
	require.Equal(t, 3, d.Attempts) // the first attempt and 2 retries
	require.Contains(t, d.LastError, "Client.Timeout")
	require.Contains(t, d.LastError, "MaximumRetryAttempts 2")
	require.Len(t, rc.requests(), 3)
	tb.requireOutcomes(t, []string{"webhook/retry", "webhook/retry", "webhook/dead"})
}

// A 4xx other than 401/407/409/429 is not retried; 429 is.
func TestClientErrorsStatus(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		code      int
		wantState string
		wantCalls int
	}{
		"400 dead at once": {code: 400, wantState: store.DeliveryDead, wantCalls: 1},
		"404 dead at once": {code: 404, wantState: store.DeliveryDead, wantCalls: 1},
		"429 retried":      {code: 429, wantState: store.DeliveryDead, wantCalls: 2},
		"409 retried":      {code: 409, wantState: store.DeliveryDead, wantCalls: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t)
			rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
				http.Error(w, "no: "+strconv.Itoa(tc.code), tc.code)
			})
			tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern},
				&gantry.Target{Id: "t", Arn: rc.URL, RetryPolicy: &gantry.TargetRetryPolicy{MaximumRetryAttempts: ptr[int32](1)}})
			tb.jobEvent(t, "FAILED", time.Now())
			tb.newBus(t, nil).Notify()
			d := tb.waitDelivery(t, "r", tc.wantState)
			require.Equal(t, tc.wantCalls, d.Attempts)
			require.Contains(t, d.LastError, "HTTP "+strconv.Itoa(tc.code)+": no: "+strconv.Itoa(tc.code))
			require.Equal(t, strconv.Itoa(tc.code), d.Result)
			require.Len(t, rc.requests(), tc.wantCalls)
		})
	}
}

// An event older than MaximumEventAgeInSeconds is not retried.
func TestMaximumEventAge(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
		now.Add(61_000) // each attempt takes a simulated minute
		http.Error(w, "down", http.StatusBadGateway)
	})
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern},
		&gantry.Target{Id: "t", Arn: rc.URL, RetryPolicy: &gantry.TargetRetryPolicy{MaximumEventAgeInSeconds: ptr[int32](60)}})
	tb.jobEvent(t, "FAILED", clock())
	tb.newBus(t, func(c *Config) { c.Now = clock }).Notify()
	d := tb.waitDelivery(t, "r", store.DeliveryDead)
	require.Equal(t, 1, d.Attempts)
	require.Contains(t, d.LastError, "MaximumEventAgeInSeconds 60")
}

// A rule created after an event was written does not match it; a rule
// added while the Bus runs matches the events after RulesChanged.
func TestRuleCreationTime(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	rc := newReceiver(t, nil)
	old := tb.jobEvent(t, "FAILED", time.Now().Add(-time.Minute))
	b := tb.newBus(t, nil)
	tb.putRule(t, &gantry.Rule{Name: "late", EventPattern: failedPattern, CreatedAt: time.Now().UnixMilli()},
		&gantry.Target{Id: "t", Arn: rc.URL})
	b.RulesChanged()
	ev := tb.jobEvent(t, "FAILED", time.Now().Add(time.Second))
	b.Notify()
	d := tb.waitDelivery(t, "late", store.DeliveryDelivered)
	require.Equal(t, ev.ID, d.EventID)
	require.NotEqual(t, old.ID, d.EventID)
	require.Len(t, rc.requests(), 1)
}

// Stopping a Bus while a delivery is in flight leaves it PENDING; a new
// Bus on the same store delivers it, and the receiver acknowledges it once.
func TestRestartMidDelivery(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	entered := make(chan struct{}, 1)
	var acked atomic.Int32
	rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
		if n == 1 {
			entered <- struct{}{}
			<-r.Context().Done() // blocks until the first Bus gives up
			return
		}
		acked.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern}, &gantry.Target{Id: "t", Arn: rc.URL})
	tb.jobEvent(t, "FAILED", time.Now())

	first := New(Config{Store: tb.st, Region: testRegion, AccountID: testAccount, Logger: testLogger(t),
		PollInterval: 20 * time.Millisecond, OnDelivery: tb.outcomes.add})
	first.Start(context.Background())
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, first.Close(ctx))
	ds := tb.deliveries(t, "r")
	require.Len(t, ds, 1)
	require.Equal(t, store.DeliveryPending, ds[0].State)
	require.Equal(t, 0, ds[0].Attempts)
	require.Empty(t, tb.outcomes.get())

	tb.newBus(t, nil).Notify()
	d := tb.waitDelivery(t, "r", store.DeliveryDelivered)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, int32(1), acked.Load())
	require.Len(t, rc.requests(), 2)
	tb.requireOutcomes(t, []string{"webhook/delivered"})
}

// The cursor is durable: after a restart (a new store handle on the same
// file) no event is matched twice.
func TestCursorSurvivesRestart(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	rc := newReceiver(t, nil)
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern}, &gantry.Target{Id: "t", Arn: rc.URL})
	e1 := tb.jobEvent(t, "FAILED", time.Now())
	tb.jobEvent(t, "SUCCEEDED", time.Now())

	first := New(Config{Store: tb.st, Region: testRegion, AccountID: testAccount, Logger: testLogger(t), PollInterval: 20 * time.Millisecond})
	first.Start(context.Background())
	first.Notify()
	tb.waitDelivery(t, "r", store.DeliveryDelivered)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, first.Close(ctx))
	require.NoError(t, tb.st.Close())

	tb.st = openStore(t, tb.dir)
	cur, err := tb.st.MetaGet(ctx, cursorKey)
	require.NoError(t, err)
	require.Equal(t, strconv.FormatInt(e1.ID+1, 10), cur)
	e3 := tb.jobEvent(t, "FAILED", time.Now())
	tb.newBus(t, nil).Notify()
	waitFor(t, "second delivery", func() bool {
		ds := tb.deliveries(t, "r")
		return len(ds) == 2 && ds[0].State == store.DeliveryDelivered && ds[1].State == store.DeliveryDelivered
	})
	ds := tb.deliveries(t, "r")
	require.Equal(t, []int64{e1.ID, e3.ID}, []int64{ds[0].EventID, ds[1].EventID})
	reqs := rc.requests()
	require.Len(t, reqs, 2)
	require.True(t, strings.Contains(reqs[0].Body, `"id":"`+e1.UUID+`"`))
	require.True(t, strings.Contains(reqs[1].Body, `"id":"`+e3.UUID+`"`))
}

// A rule disabled in the store is honoured at once, even before the Bus
// reloads its rules (another replica may have disabled it).
func TestRuleDisabledBeforeReload(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	rc := newReceiver(t, nil)
	tb.putRule(t, &gantry.Rule{Name: "r", EventPattern: failedPattern}, &gantry.Target{Id: "t", Arn: rc.URL})
	tb.jobEvent(t, "FAILED", time.Now())
	b := tb.newBus(t, nil)
	b.Notify()
	tb.waitDelivery(t, "r", store.DeliveryDelivered) // the rules are loaded

	ctx := context.Background()
	r, err := tb.st.RuleGet(ctx, "r")
	require.NoError(t, err)
	r.State = gantry.RuleStateDisabled
	require.NoError(t, tb.st.RuleUpdate(ctx, r))
	ev := tb.jobEvent(t, "FAILED", time.Now())
	b.Notify()
	waitFor(t, "the cursor to pass the event", func() bool {
		cur, err := tb.st.MetaGet(ctx, cursorKey)
		return err == nil && cur == strconv.FormatInt(ev.ID, 10)
	})
	require.Len(t, tb.deliveries(t, "r"), 1)
	require.Len(t, rc.requests(), 1)
}

// Deliveries that another component inserts (a schedule firing) are sent
// after Notify, with the target's HttpParameters.
func TestExternalDeliveries(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	rc := newReceiver(t, nil)
	b := tb.newBus(t, func(c *Config) { c.PollInterval = time.Hour }) // only Notify wakes it
	target := &gantry.Target{Id: "t", Arn: rc.URL, Input: `{"scheduled":true}`, HttpParameters: &gantry.HttpTargetParameters{
		HeaderParameters: map[string]string{"X-Token": "abc"}, QueryStringParameters: map[string]string{"q": "1"},
	}}
	env, err := Envelope(&store.Event{UUID: "e1", Time: time.Now().UnixMilli(), DetailType: "Scheduled Event", Source: "aws.events"}, testRegion, testAccount)
	require.NoError(t, err)
	ds, err := NewDeliveries("every-minute", 0, []*gantry.Target{target}, env, time.Now().UnixMilli())
	require.NoError(t, err)
	require.NoError(t, tb.st.InTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.DeliveryInsert(ctx, ds)
	}))
	b.Notify()
	d := tb.waitDelivery(t, "every-minute", store.DeliveryDelivered)
	require.Equal(t, int64(0), d.EventID)
	reqs := rc.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, `{"scheduled":true}`, reqs[0].Body)
	require.Equal(t, "abc", reqs[0].Header.Get("X-Token"))
	require.Equal(t, []string{"1"}, reqs[0].Query["q"])
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	tb := newTokenBucket(50)
	ctx := context.Background()
	start := time.Now()
	for range 50 { // the burst: one second's worth
		require.NoError(t, tb.wait(ctx))
	}
	require.Less(t, time.Since(start), 500*time.Millisecond)
	start = time.Now()
	for range 5 {
		require.NoError(t, tb.wait(ctx))
	}
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond) // 5 more at 50/s
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for tb.wait(cctx) == nil { // drain what refilled meanwhile
	}
	require.ErrorIs(t, tb.wait(cctx), context.Canceled)
}

// TestWantsEventsFollowsRules checks the outbox switch: conservative until
// the rules are loaded and right after RulesChanged, false while no
// enabled pattern rule exists, true while one does. Consumed events leave
// the outbox.
func TestWantsEventsFollowsRules(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	b := tb.newBus(t, nil)
	// The first load finds no rule.
	tb.jobEvent(t, "FAILED", time.Now())
	b.Notify()
	waitFor(t, "the bus to find no rule", func() bool { return !b.WantsEvents() })
	waitFor(t, "the consumed event to leave the outbox", func() bool {
		evs, err := tb.st.EventList(context.Background(), &store.EventListParams{})
		require.NoError(t, err)
		return len(evs) == 0
	})

	// A schedule-only or disabled rule does not want job events.
	tb.putRule(t, &gantry.Rule{Name: "off", EventPattern: failedPattern, State: gantry.RuleStateDisabled})
	b.RulesChanged() // true at once, until the reload that follows (which may already have run)
	waitFor(t, "the reload to find no enabled pattern rule", func() bool { return !b.WantsEvents() })

	hook := newReceiver(t, nil)
	tb.putRule(t, &gantry.Rule{Name: "on-failed", EventPattern: failedPattern}, &gantry.Target{Id: "hook", Arn: hook.URL})
	b.RulesChanged()
	require.True(t, b.WantsEvents(), "the reload after a change to an enabled pattern rule keeps it on")
	tb.jobEvent(t, "FAILED", time.Now())
	b.Notify()
	tb.waitDelivery(t, "on-failed", store.DeliveryDelivered)
	require.True(t, b.WantsEvents(), "an enabled pattern rule exists")
	evs, err := tb.st.EventList(context.Background(), &store.EventListParams{})
	require.NoError(t, err)
	require.Empty(t, evs, "matched events live on in their deliveries only")
}

// TestEnvelopeValueMatchesEnvelope checks that the value the dispatcher
// matches is exactly the decoded envelope targets receive.
func TestEnvelopeValueMatchesEnvelope(t *testing.T) {
	t.Parallel()
	for name, ev := range map[string]*store.Event{
		"job": {ID: 1, UUID: "u1", Time: 1_763_700_000_123, DetailType: "Batch Job State Change", Source: "aws.batch",
			Resources: []string{"arn:aws:batch:us-east-1:1:job/x"}, Detail: []byte(`{"status":"FAILED","n":1.5,"tags":{"a":"<b>"},"list":[1,"x",null,true]}`)},
		"no detail, no resources": {ID: 2, UUID: "u2", Time: 0, DetailType: "custom", Source: "my.app"},
	} {
		t.Run(name, func(t *testing.T) {
			env, err := Envelope(ev, testRegion, testAccount)
			require.NoError(t, err)
			var want any
			require.NoError(t, json.Unmarshal(env, &want))
			got, err := envelopeValue(ev, testRegion, testAccount)
			require.NoError(t, err)
			require.Equal(t, want, any(got))
		})
	}
}
