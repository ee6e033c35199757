package eventsched

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/eventbus"
	"github.com/gantrybatch/gantry/internal/schedule"
	"github.com/gantrybatch/gantry/store"
)

// RunOnce is one pass at time now: it records the position of rules seen
// for the first time (or changed), forgets disabled and unscheduled ones,
// and fires every rule whose NextFireAt is due. It returns how many
// scheduled times it fired and the earliest NextFireAt left (zero if none).
// A rule that fails does not stop the others; their errors are joined.
//
// RunOnce is safe to call concurrently, from one Scheduler or several over
// the same database: each scheduled time fires once.
func (s *Scheduler) RunOnce(ctx context.Context, now time.Time) (fired int, next time.Time, err error) {
	// States first, then rules: a state whose rule is missing from the later
	// list really is orphaned.
	states, err := s.cfg.Store.ScheduleStateList(ctx)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("list schedule states: %w", err)
	}
	rules, err := s.cfg.Store.RuleList(ctx, &store.RuleListParams{})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("list rules: %w", err)
	}
	byRule := make(map[string]*store.ScheduleState, len(states))
	for _, st := range states {
		byRule[st.Rule] = st
	}
	var errs []error
	seen := make(map[string]bool, len(rules))
	for _, r := range rules {
		if r.ScheduleExpression == "" {
			continue
		}
		seen[r.Name] = true
		n, ok, err := s.runRule(ctx, r, byRule[r.Name], now)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
			continue
		}
		if ok {
			fired++
		}
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	for name := range byRule {
		if !seen[name] {
			if err := s.forget(ctx, name); err != nil {
				errs = append(errs, fmt.Errorf("rule %s: %w", name, err))
			}
		}
	}
	if fired > 0 {
		s.cfg.Notify()
	}
	return fired, next, errors.Join(errs...)
}

// runRule handles one scheduled rule: it returns the rule's NextFireAt after
// the pass and whether a scheduled time fired.
func (s *Scheduler) runRule(ctx context.Context, r *gantry.Rule, st *store.ScheduleState, now time.Time) (time.Time, bool, error) {
	if r.State != gantry.RuleStateEnabled {
		if st != nil {
			return time.Time{}, false, s.forget(ctx, r.Name)
		}
		return time.Time{}, false, nil
	}
	sc, err := s.parse(r.ScheduleExpression, r.ScheduleExpressionTimezone)
	if err != nil {
		return time.Time{}, false, err
	}
	key := stateKey(r.ScheduleExpression, r.ScheduleExpressionTimezone)
	if st == nil || st.Expression != key {
		return s.start(ctx, r, sc, st, key, now)
	}
	if st.NextFireAt == 0 {
		return time.Time{}, false, nil // a cron whose years are all past
	}
	due := time.UnixMilli(st.NextFireAt)
	if due.After(now) {
		return due, false, nil
	}
	return s.fire(ctx, r, sc, st, now)
}

// start records the first scheduled time after now of a rule seen for the
// first time, or whose expression changed. Nothing fires.
func (s *Scheduler) start(ctx context.Context, r *gantry.Rule, sc *schedule.Schedule, old *store.ScheduleState, key string, now time.Time) (time.Time, bool, error) {
	anchor := now
	if r.CreatedAt > 0 {
		anchor = time.UnixMilli(r.CreatedAt)
	}
	// The first time is strictly after both now and the rule's creation: a
	// rule created a moment after this pass read the clock must not fire
	// at its own creation time (NextAfter returns start itself when after
	// is before it).
	next := sc.NextAfter(anchor, later(now, anchor))
	st := &store.ScheduleState{Rule: r.Name, NextFireAt: millis(next), Expression: key}
	if old != nil {
		st.LastFireAt = old.LastFireAt
	}
	var cur *store.ScheduleState
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		cur = nil
		got, err := tx.ScheduleStateGet(ctx, r.Name)
		switch {
		case err == nil:
			if got.Expression == key {
				cur = got // another scheduler got there first
				return nil
			}
			if old == nil || got.NextFireAt != old.NextFireAt || got.Expression != old.Expression {
				cur = got // changed meanwhile: look again next pass
				return nil
			}
		case !errors.Is(err, gantry.ErrNotFound):
			return err
		case old != nil:
			return nil // forgotten meanwhile (disabled); the next pass sees it
		}
		return tx.ScheduleStateUpsert(ctx, st)
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("start schedule: %w", err)
	}
	if cur != nil {
		if cur.NextFireAt == 0 {
			return time.Time{}, false, nil
		}
		return time.UnixMilli(cur.NextFireAt), false, nil
	}
	s.cfg.Logger.InfoContext(ctx, "schedule started", "rule", r.Name, "expression", key,
		"next_fire_at", formatTime(next))
	return next, false, nil
}

// plan is what one due rule does: fire At (zero: every due time is older
// than the catch-up window), skip Skipped earlier times (AtLeast when the
// count stopped at maxCount), and move NextFireAt to Next (zero: never).
type plan struct {
	At      time.Time
	Skipped int
	AtLeast bool
	Next    time.Time
}

// maxCount bounds the walk that counts skipped times for the log line.
const maxCount = 100_000

// planFire decides what a rule whose NextFireAt (first, <= now) is due
// does at now: the most recent due scheduled time fires if it is no older
// than window; the times before it are skipped.
func planFire(sc *schedule.Schedule, first, now time.Time, window time.Duration) plan {
	var p plan
	// Scheduled times run first, sc.NextAfter(first, first), ... (first
	// anchors a rate on its grid; a cron ignores the anchor past it).
	p.Next = sc.NextAfter(first, now)
	cutoff := now.Add(-window)
	from := first
	if from.Before(cutoff) {
		from = sc.NextAfter(first, cutoff.Add(-time.Nanosecond)) // first time >= cutoff
	}
	if !from.IsZero() && !from.After(now) {
		p.At = latest(sc, first, from, now)
	}
	// Count the due times that do not fire.
	end := now.Add(time.Nanosecond) // times <= now
	if !p.At.IsZero() {
		end = p.At
	}
	for t := first; !t.IsZero() && t.Before(end); t = sc.NextAfter(first, t) {
		if p.Skipped == maxCount {
			p.AtLeast = true
			break
		}
		p.Skipped++
	}
	return p
}

// latest is the last scheduled time <= now, from a scheduled time from <=
// now on.
func latest(sc *schedule.Schedule, anchor, from, now time.Time) time.Time {
	if strings.HasPrefix(sc.String(), "rate(") {
		// A fixed grid: step back one interval from the next time.
		iv := sc.NextAfter(anchor, anchor).Sub(anchor)
		if n := sc.NextAfter(anchor, now); !n.IsZero() && iv > 0 {
			return n.Add(-iv)
		}
	}
	t := from
	for {
		n := sc.NextAfter(anchor, t)
		if n.IsZero() || n.After(now) {
			return t
		}
		t = n
	}
}

// fire fires a due rule in one transaction that checks NextFireAt did not
// move (compare-and-swap), inserts the deliveries and advances the state.
func (s *Scheduler) fire(ctx context.Context, r *gantry.Rule, sc *schedule.Schedule, st *store.ScheduleState, now time.Time) (time.Time, bool, error) {
	first := time.UnixMilli(st.NextFireAt)
	p := planFire(sc, first, now, s.cfg.CatchupWindow)
	var envelope []byte
	if !p.At.IsZero() {
		var err error
		if envelope, err = s.envelope(r, p.At); err != nil {
			return time.Time{}, false, err
		}
	}
	newState := &store.ScheduleState{Rule: r.Name, NextFireAt: millis(p.Next), LastFireAt: st.LastFireAt, Expression: st.Expression}
	if !p.At.IsZero() {
		newState.LastFireAt = p.At.UnixMilli()
	}
	var (
		lost       *store.ScheduleState // set when another scheduler moved first
		deliveries int
	)
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		lost, deliveries = nil, 0
		cur, err := tx.ScheduleStateGet(ctx, r.Name)
		if errors.Is(err, gantry.ErrNotFound) {
			lost = &store.ScheduleState{}
			return nil
		}
		if err != nil {
			return err
		}
		if cur.NextFireAt != st.NextFireAt || cur.Expression != st.Expression {
			lost = cur
			return nil
		}
		rule, err := tx.RuleGet(ctx, r.Name)
		if errors.Is(err, gantry.ErrNotFound) {
			lost = &store.ScheduleState{}
			return nil
		}
		if err != nil {
			return err
		}
		if rule.State != gantry.RuleStateEnabled || stateKey(rule.ScheduleExpression, rule.ScheduleExpressionTimezone) != st.Expression {
			lost = &store.ScheduleState{} // the next pass sees the change
			return nil
		}
		if envelope != nil {
			targets, err := tx.RuleTargetList(ctx, r.Name)
			if err != nil {
				return err
			}
			ds, err := eventbus.NewDeliveries(r.Name, 0, targets, envelope, p.At.UnixMilli())
			if err != nil {
				return err
			}
			if len(ds) > 0 {
				if err := tx.DeliveryInsert(ctx, ds); err != nil {
					return err
				}
			}
			deliveries = len(ds)
		}
		return tx.ScheduleStateUpsert(ctx, newState)
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("fire schedule: %w", err)
	}
	if lost != nil {
		if lost.NextFireAt == 0 {
			return time.Time{}, false, nil
		}
		return time.UnixMilli(lost.NextFireAt), false, nil
	}
	log := s.cfg.Logger.With("rule", r.Name, "expression", st.Expression)
	if p.Skipped > 0 {
		skipped := fmt.Sprint(p.Skipped)
		if p.AtLeast {
			skipped = "at least " + skipped
		}
		log.WarnContext(ctx, "schedule missed fires while down", "skipped", skipped,
			"first_missed", formatTime(first), "catchup_window", s.cfg.CatchupWindow.String(),
			"fired", formatTime(p.At))
	}
	if p.At.IsZero() {
		return p.Next, false, nil
	}
	log.InfoContext(ctx, "schedule fired", "scheduled_time", formatTime(p.At),
		"late", now.Sub(p.At).Round(time.Millisecond).String(), "deliveries", deliveries,
		"next_fire_at", formatTime(p.Next))
	return p.Next, true, nil
}

// envelope is the "Scheduled Event" of rule r for scheduled time at.
func (s *Scheduler) envelope(r *gantry.Rule, at time.Time) ([]byte, error) {
	arn := r.Arn
	if arn == "" {
		arn = fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.cfg.Region, s.cfg.AccountID, r.Name)
	}
	b, err := eventbus.Envelope(&store.Event{
		UUID: uuid.NewString(), Time: at.UnixMilli(), DetailType: DetailType, Source: Source,
		Resources: []string{arn}, Detail: json.RawMessage(`{}`),
	}, s.cfg.Region, s.cfg.AccountID)
	if err != nil {
		return nil, fmt.Errorf("scheduled event envelope: %w", err)
	}
	return b, nil
}

// forget deletes the state of a rule that is disabled, deleted or no longer
// scheduled, after checking so in the transaction.
func (s *Scheduler) forget(ctx context.Context, name string) error {
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		r, err := tx.RuleGet(ctx, name)
		switch {
		case errors.Is(err, gantry.ErrNotFound):
		case err != nil:
			return err
		case r.ScheduleExpression != "" && r.State == gantry.RuleStateEnabled:
			return nil // enabled again meanwhile
		}
		if err := tx.ScheduleStateDelete(ctx, name); err != nil && !errors.Is(err, gantry.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget schedule: %w", err)
	}
	return nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
