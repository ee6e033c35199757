package eventsched

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/schedule"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storesqlite"
)

var ctx = context.Background()

// testBundle is a scheduler over a real SQLite file.
type testBundle struct {
	t        *testing.T
	dbPath   string
	store    store.Store
	sched    *Scheduler
	notified atomic.Int64
}

func setup(t *testing.T, opts ...func(*Config)) *testBundle {
	t.Helper()
	b := &testBundle{t: t, dbPath: filepath.Join(t.TempDir(), "gantry.db")}
	b.store = openStore(t, b.dbPath)
	b.sched = b.newScheduler(b.store, opts...)
	return b
}

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := storesqlite.Open(ctx, storesqlite.Config{Path: path, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (b *testBundle) newScheduler(st store.Store, opts ...func(*Config)) *Scheduler {
	cfg := Config{
		Store: st, Region: "eu-west-1", AccountID: "123456789012", Logger: testLogger(b.t),
		Now:    func() time.Time { panic("tests pass now to RunOnce") },
		Notify: func() { b.notified.Add(1) },
	}
	for _, o := range opts {
		o(&cfg)
	}
	return New(cfg)
}

// putRule stores an ENABLED scheduled rule created at created, with one
// target.
func (b *testBundle) putRule(name, expr, zone string, created time.Time) {
	b.t.Helper()
	require.NoError(b.t, b.store.RuleInsert(ctx, &gantry.Rule{
		Name: name, Arn: "arn:aws:events:eu-west-1:123456789012:rule/" + name,
		ScheduleExpression: expr, ScheduleExpressionTimezone: zone,
		State: gantry.RuleStateEnabled, EventBusName: gantry.DefaultEventBus, CreatedAt: created.UnixMilli(),
	}))
	require.NoError(b.t, b.store.RuleTargetUpsert(ctx, name, []*gantry.Target{
		{Id: "hook", Arn: "http://127.0.0.1:1/hook"},
	}))
}

func (b *testBundle) setState(name, state string) {
	b.t.Helper()
	r, err := b.store.RuleGet(ctx, name)
	require.NoError(b.t, err)
	r.State = state
	require.NoError(b.t, b.store.RuleUpdate(ctx, r))
}

// run is RunOnce at now, which must not fail.
func (b *testBundle) run(s *Scheduler, now time.Time) (int, time.Time) {
	b.t.Helper()
	n, next, err := s.RunOnce(ctx, now)
	require.NoError(b.t, err)
	return n, next
}

type envelope struct {
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

// fired returns the envelopes of a rule's deliveries, oldest first.
func (b *testBundle) fired(rule string) []envelope {
	b.t.Helper()
	ds, err := b.store.DeliveryList(ctx, &store.DeliveryListParams{Rule: rule})
	require.NoError(b.t, err)
	var out []envelope
	for _, d := range ds {
		require.Equal(b.t, int64(0), d.EventID)
		require.Equal(b.t, store.DeliveryPending, d.State)
		var e envelope
		require.NoError(b.t, json.Unmarshal(d.Event, &e), "%s", d.Event)
		out = append(out, e)
	}
	return out
}

func (b *testBundle) firedTimes(rule string) []string {
	b.t.Helper()
	var times []string
	for _, e := range b.fired(rule) {
		times = append(times, e.Time)
	}
	return times
}

func (b *testBundle) state(rule string) *store.ScheduleState {
	b.t.Helper()
	st, err := b.store.ScheduleStateGet(ctx, rule)
	require.NoError(b.t, err)
	return st
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRateFiresEachMinuteOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := at("2026-01-05T10:00:30.250Z")
	b.putRule("every-minute", "rate(1 minute)", "", t0)

	n, next := b.run(b.sched, t0.Add(time.Second))
	require.Zero(t, n, "first sight never fires")
	require.Equal(t, t0.Add(time.Minute), next.UTC(), "anchored at the rule's creation")
	require.Empty(t, b.fired("every-minute"))

	n, _ = b.run(b.sched, t0.Add(59*time.Second))
	require.Zero(t, n)
	for i := 1; i <= 3; i++ {
		due := t0.Add(time.Duration(i) * time.Minute)
		n, next = b.run(b.sched, due)
		require.Equal(t, 1, n, "minute %d", i)
		require.Equal(t, due.Add(time.Minute), next.UTC())
		// Again and again within the same minute: nothing more.
		for _, later := range []time.Duration{0, time.Millisecond, 30 * time.Second, 59 * time.Second} {
			n, _ = b.run(b.sched, due.Add(later))
			require.Zero(t, n)
		}
	}
	require.Equal(t, []string{"2026-01-05T10:01:30Z", "2026-01-05T10:02:30Z", "2026-01-05T10:03:30Z"}, b.firedTimes("every-minute"))
	st := b.state("every-minute")
	require.Equal(t, t0.Add(3*time.Minute).UnixMilli(), st.LastFireAt)
	require.Equal(t, t0.Add(4*time.Minute).UnixMilli(), st.NextFireAt)
	require.Equal(t, "rate(1 minute)", st.Expression)
	require.Equal(t, int64(3), b.notified.Load(), "the bus is woken once per fire")

	// The envelope is EventBridge's "Scheduled Event".
	evs := b.fired("every-minute")
	e := evs[0]
	require.Equal(t, "0", e.Version)
	require.Equal(t, "Scheduled Event", e.DetailType)
	require.Equal(t, "aws.events", e.Source)
	require.Equal(t, "123456789012", e.Account)
	require.Equal(t, "eu-west-1", e.Region)
	require.Equal(t, []string{"arn:aws:events:eu-west-1:123456789012:rule/every-minute"}, e.Resources)
	require.JSONEq(t, `{}`, string(e.Detail))
	require.Len(t, e.ID, 36)
	require.NotEqual(t, e.ID, evs[1].ID)
}

// TestRuleCreatedAfterThePassClock covers a rule whose creation time is
// later than the clock a pass read (created while the pass ran): its first
// time is a whole interval after its creation, never the creation itself.
func TestRuleCreatedAfterThePassClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := at("2026-01-05T10:00:30.250Z")
	b.putRule("tick", "rate(1 minute)", "", created)
	n, next := b.run(b.sched, created.Add(-5*time.Millisecond))
	require.Zero(t, n, "first sight never fires")
	require.Equal(t, created.Add(time.Minute), next.UTC())
	n, _ = b.run(b.sched, created.Add(time.Millisecond))
	require.Zero(t, n, "nothing is due at the creation time")
	require.Empty(t, b.fired("tick"))
}

func TestConcurrentSchedulersFireOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := at("2026-01-05T10:00:00Z")
	b.putRule("shared", "rate(1 minute)", "", t0)
	// Three schedulers: two over this store handle, one over a second
	// handle on the same file (another process, or a replica).
	scheds := []*Scheduler{b.sched, b.newScheduler(b.store), b.newScheduler(openStore(t, b.dbPath))}
	var total atomic.Int64
	for minute := 0; minute <= 5; minute++ { // minute 0: first sight, racing too
		now := t0.Add(time.Duration(minute)*time.Minute + 5*time.Second)
		var wg sync.WaitGroup
		for _, s := range scheds {
			for range 4 {
				wg.Go(func() {
					n, _, err := s.RunOnce(ctx, now)
					if err != nil {
						t.Errorf("RunOnce: %v", err)
					}
					total.Add(int64(n))
				})
			}
		}
		wg.Wait()
		require.Equal(t, int64(minute), total.Load(), "fires after minute %d", minute)
	}
	require.Equal(t, []string{
		"2026-01-05T10:01:00Z", "2026-01-05T10:02:00Z", "2026-01-05T10:03:00Z",
		"2026-01-05T10:04:00Z", "2026-01-05T10:05:00Z",
	}, b.firedTimes("shared"))
}

func TestCronFiresAtItsTimes(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		expr, zone string
		created    string
		wantFires  []string // successive scheduled times, UTC
	}{
		"daily at noon UTC": {
			expr: "cron(0 12 * * ? *)", created: "2026-03-01T08:00:00Z",
			wantFires: []string{"2026-03-01T12:00:00Z", "2026-03-02T12:00:00Z", "2026-03-03T12:00:00Z"},
		},
		"last day of the month": {
			expr: "cron(0 9 L * ? *)", created: "2026-02-10T00:00:00Z",
			wantFires: []string{"2026-02-28T09:00:00Z", "2026-03-31T09:00:00Z", "2026-04-30T09:00:00Z"},
		},
		"weekday nearest the 15th": {
			// 15 Aug 2026 is a Saturday, 15 Nov 2026 a Sunday.
			expr: "cron(30 6 15W * ? *)", created: "2026-08-01T00:00:00Z",
			wantFires: []string{"2026-08-14T06:30:00Z", "2026-09-15T06:30:00Z", "2026-10-15T06:30:00Z", "2026-11-16T06:30:00Z"},
		},
		"third Friday": {
			expr: "cron(0 18 ? * 6#3 *)", created: "2026-01-01T00:00:00Z",
			wantFires: []string{"2026-01-16T18:00:00Z", "2026-02-20T18:00:00Z", "2026-03-20T18:00:00Z"},
		},
		"last Friday": {
			expr: "cron(0 18 ? * 6L *)", created: "2026-01-01T00:00:00Z",
			wantFires: []string{"2026-01-30T18:00:00Z", "2026-02-27T18:00:00Z"},
		},
		"weekdays of one year only": {
			expr: "cron(0 0 ? * MON-FRI 2027)", created: "2026-12-30T00:00:00Z",
			wantFires: []string{"2027-01-01T00:00:00Z", "2027-01-04T00:00:00Z", "2027-01-05T00:00:00Z"},
		},
		"9:00 in Paris, winter": {
			expr: "cron(0 9 * * ? *)", zone: "Europe/Paris", created: "2026-01-10T00:00:00Z",
			wantFires: []string{"2026-01-10T08:00:00Z", "2026-01-11T08:00:00Z"},
		},
		"9:00 in Paris across the switch to summer time": {
			expr: "cron(0 9 * * ? *)", zone: "Europe/Paris", created: "2026-03-28T12:00:00Z",
			wantFires: []string{"2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"},
		},
		"2:30 in New York skips the missing hour": {
			// Clocks go forward on 8 March 2026: 02:30 does not exist that day.
			expr: "cron(30 2 * * ? *)", zone: "America/New_York", created: "2026-03-06T12:00:00Z",
			wantFires: []string{"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			created := at(tc.created)
			b.putRule("r", tc.expr, tc.zone, created)
			n, next := b.run(b.sched, created)
			require.Zero(t, n)
			for i, want := range tc.wantFires {
				require.Equal(t, want, next.UTC().Format(time.RFC3339), "next fire %d", i)
				// One second early: nothing.
				n, _ = b.run(b.sched, next.Add(-time.Second))
				require.Zero(t, n)
				n, next = b.run(b.sched, next)
				require.Equal(t, 1, n)
			}
			require.Equal(t, tc.wantFires, b.firedTimes("r"))
			require.Equal(t, at(tc.wantFires[len(tc.wantFires)-1]).UnixMilli(), b.state("r").LastFireAt)
		})
	}
}

func TestCronPastItsLastYearStops(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := at("2026-12-31T23:00:00Z")
	b.putRule("once", "cron(30 23 31 12 ? 2026)", "", created)
	_, next := b.run(b.sched, created)
	require.Equal(t, at("2026-12-31T23:30:00Z"), next.UTC())
	n, next := b.run(b.sched, next)
	require.Equal(t, 1, n)
	require.True(t, next.IsZero(), "no more fire times")
	require.Zero(t, b.state("once").NextFireAt)
	n, next = b.run(b.sched, at("2030-01-01T00:00:00Z"))
	require.Zero(t, n)
	require.True(t, next.IsZero())
}

func TestRestartNeitherRefiresNorLoses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := at("2026-01-05T10:00:00Z")
	b.putRule("r", "rate(1 minute)", "", t0)
	b.run(b.sched, t0)
	n, _ := b.run(b.sched, t0.Add(time.Minute))
	require.Equal(t, 1, n)
	require.NoError(t, b.store.Close())

	// A new process on the same database, at the same instant: the fire
	// already committed is not repeated...
	st2 := openStore(t, b.dbPath)
	b.store = st2
	s2 := b.newScheduler(st2)
	n, _ = b.run(s2, t0.Add(time.Minute+time.Second))
	require.Zero(t, n)
	// ...and a time that came due while it was down (within the catch-up
	// window) fires once.
	n, next := b.run(s2, t0.Add(2*time.Minute+20*time.Second))
	require.Equal(t, 1, n)
	require.Equal(t, t0.Add(3*time.Minute), next.UTC())
	require.Equal(t, []string{"2026-01-05T10:01:00Z", "2026-01-05T10:02:00Z"}, b.firedTimes("r"))
}

func TestCatchupFiresOnlyTheLatestMissedTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := at("2026-01-05T10:00:00Z")
	b.putRule("r", "rate(1 minute)", "", t0)
	b.run(b.sched, t0)
	// Down for three hours: 180 times were due, the last at 13:00.
	n, next := b.run(b.sched, t0.Add(3*time.Hour+10*time.Second))
	require.Equal(t, 1, n)
	require.Equal(t, []string{"2026-01-05T13:00:00Z"}, b.firedTimes("r"))
	require.Equal(t, t0.Add(3*time.Hour+time.Minute), next.UTC())
	n, _ = b.run(b.sched, t0.Add(3*time.Hour+20*time.Second))
	require.Zero(t, n)
}

func TestCatchupWindow(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time { return at("2026-06-10T" + s + "Z") }
	for name, tc := range map[string]struct {
		window   time.Duration
		back     time.Time
		wantFire []string
		wantNext string
	}{
		"default window: the missed 02:00 runs at 07:00": {
			back: day("07:00:00"), wantFire: []string{"2026-06-10T02:00:00Z"}, wantNext: "2026-06-11T02:00:00Z",
		},
		"one hour window: too old, skipped": {
			window: time.Hour, back: day("07:00:00"), wantNext: "2026-06-11T02:00:00Z",
		},
		"one hour window: recent enough": {
			window: time.Hour, back: day("02:59:00"), wantFire: []string{"2026-06-10T02:00:00Z"}, wantNext: "2026-06-11T02:00:00Z",
		},
		"down two days: only the latest, yesterday's is skipped": {
			back: at("2026-06-12T03:00:00Z"), wantFire: []string{"2026-06-12T02:00:00Z"}, wantNext: "2026-06-13T02:00:00Z",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *Config) { c.CatchupWindow = tc.window })
			b.putRule("nightly", "cron(0 2 * * ? *)", "", day("01:00:00"))
			b.run(b.sched, day("01:00:00"))
			n, next := b.run(b.sched, tc.back)
			require.Equal(t, len(tc.wantFire), n)
			require.Equal(t, tc.wantFire, b.firedTimes("nightly"))
			require.Equal(t, tc.wantNext, next.UTC().Format(time.RFC3339))
			// Whatever happened, the missed times never fire later.
			n, _ = b.run(b.sched, tc.back.Add(time.Minute))
			require.Zero(t, n)
		})
	}
}

func TestPlanFireCountsSkipped(t *testing.T) {
	t.Parallel()
	sc, err := schedule.Parse("rate(1 minute)")
	require.NoError(t, err)
	first := at("2026-01-05T10:01:00Z")
	p := planFire(sc, first, first.Add(3*time.Hour), DefaultCatchupWindow)
	require.Equal(t, first.Add(3*time.Hour), p.At.UTC())
	require.Equal(t, 180, p.Skipped)
	require.Equal(t, first.Add(3*time.Hour+time.Minute), p.Next.UTC())

	p = planFire(sc, first, first.Add(30*time.Second), DefaultCatchupWindow)
	require.Equal(t, first, p.At.UTC())
	require.Zero(t, p.Skipped, "on time")

	p = planFire(sc, first, first.Add(25*time.Hour), DefaultCatchupWindow)
	require.Equal(t, first.Add(25*time.Hour), p.At.UTC())
	require.Equal(t, 25*60, p.Skipped)

	cron, err := schedule.Parse("cron(0 2 * * ? *)")
	require.NoError(t, err)
	first = at("2026-06-10T02:00:00Z")
	p = planFire(cron, first, at("2026-06-20T01:00:00Z"), time.Hour)
	require.True(t, p.At.IsZero())
	require.Equal(t, 10, p.Skipped)
	require.Equal(t, at("2026-06-20T02:00:00Z"), p.Next.UTC())
}

func TestDisabledRuleNeitherFiresNorCatchesUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := at("2026-01-05T10:00:00Z")
	b.putRule("r", "rate(5 minutes)", "", t0)
	b.run(b.sched, t0)
	b.setState("r", gantry.RuleStateDisabled)
	n, next := b.run(b.sched, t0.Add(5*time.Minute))
	require.Zero(t, n)
	require.True(t, next.IsZero())
	_, err := b.store.ScheduleStateGet(ctx, "r")
	require.ErrorIs(t, err, gantry.ErrNotFound, "a disabled rule's position is forgotten")
	n, _ = b.run(b.sched, t0.Add(12*time.Minute))
	require.Zero(t, n)

	// Enabled again at 10:13: no catch-up of 10:05 and 10:10; the rate
	// keeps its grid, from the rule's creation.
	b.setState("r", gantry.RuleStateEnabled)
	n, next = b.run(b.sched, t0.Add(13*time.Minute))
	require.Zero(t, n)
	require.Equal(t, t0.Add(15*time.Minute), next.UTC())
	n, _ = b.run(b.sched, t0.Add(15*time.Minute))
	require.Equal(t, 1, n)
	require.Equal(t, []string{"2026-01-05T10:15:00Z"}, b.firedTimes("r"))
}

func TestChangedExpressionStartsOver(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := at("2026-01-05T10:00:00Z")
	b.putRule("r", "rate(1 minute)", "", t0)
	b.run(b.sched, t0)
	r, err := b.store.RuleGet(ctx, "r")
	require.NoError(t, err)
	r.ScheduleExpression = "cron(0 12 * * ? *)"
	require.NoError(t, b.store.RuleUpdate(ctx, r))
	// 10:01 was due under the old expression; the new one starts over.
	n, next := b.run(b.sched, t0.Add(90*time.Second))
	require.Zero(t, n)
	require.Equal(t, at("2026-01-05T12:00:00Z"), next.UTC())
	require.Equal(t, "cron(0 12 * * ? *)", b.state("r").Expression)

	// Removing the schedule (an event pattern rule now) forgets the state.
	r.ScheduleExpression, r.EventPattern = "", `{"source":["aws.batch"]}`
	require.NoError(t, b.store.RuleUpdate(ctx, r))
	b.run(b.sched, t0.Add(2*time.Minute))
	_, err = b.store.ScheduleStateGet(ctx, "r")
	require.ErrorIs(t, err, gantry.ErrNotFound)
}

func TestRuleWithoutTargetsAdvances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := at("2026-01-05T10:00:00Z")
	require.NoError(t, b.store.RuleInsert(ctx, &gantry.Rule{
		Name: "lonely", Arn: "arn:aws:events:eu-west-1:123456789012:rule/lonely", ScheduleExpression: "rate(1 minute)",
		State: gantry.RuleStateEnabled, EventBusName: gantry.DefaultEventBus, CreatedAt: t0.UnixMilli(),
	}))
	b.run(b.sched, t0)
	n, _ := b.run(b.sched, t0.Add(time.Minute))
	require.Equal(t, 1, n)
	require.Empty(t, b.fired("lonely"))
	require.Equal(t, t0.Add(2*time.Minute).UnixMilli(), b.state("lonely").NextFireAt)
}

// TestLoopFiresOnTime runs the real loop with the real clock: a rule whose
// next fire time is a moment away fires by itself, and Close stops the
// loop.
func TestLoopFiresOnTime(t *testing.T) {
	t.Parallel()
	notified := make(chan struct{}, 10)
	b := setup(t, func(c *Config) {
		c.Now = time.Now
		c.Notify = func() { notified <- struct{}{} }
	})
	now := time.Now()
	b.putRule("soon", "rate(1 hour)", "", now)
	// Put the rule's position 300 ms ahead, as if it had been created an
	// hour ago.
	due := now.Add(300 * time.Millisecond)
	require.NoError(t, b.store.ScheduleStateUpsert(ctx, &store.ScheduleState{Rule: "soon", NextFireAt: due.UnixMilli(), Expression: "rate(1 hour)"}))
	b.sched.Start(ctx)
	b.sched.Start(ctx) // idempotent
	t.Cleanup(func() { _ = b.sched.Close(ctx) })
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not fire within 10s")
	}
	require.False(t, time.Now().Before(due), "fired early")
	require.Equal(t, []string{due.UTC().Format(time.RFC3339)}, b.firedTimes("soon"))
	require.Equal(t, due.Add(time.Hour).UnixMilli(), b.state("soon").NextFireAt)

	// RulesChanged wakes the loop: a new rule gets its position at once.
	b.putRule("later", "cron(0 12 * * ? *)", "", time.Now())
	b.sched.RulesChanged()
	require.Eventually(t, func() bool {
		_, err := b.store.ScheduleStateGet(ctx, "later")
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, b.sched.Close(ctx))
	require.NoError(t, b.sched.Close(ctx), "idempotent")
}
