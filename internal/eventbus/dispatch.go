package eventbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/eventinput"
	"github.com/gantrybatch/gantry/internal/eventpattern"
	"github.com/gantrybatch/gantry/store"
)

// envelope is the AWS event envelope, members in AWS's order.
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

// Envelope renders an outbox event as the AWS event envelope JSON:
//
//	{"version":"0","id":UUID,"detail-type":..,"source":..,"account":..,
//	 "time":"2026-11-21T10:00:00Z","region":..,"resources":[..],"detail":{..}}
func Envelope(ev *store.Event, region, account string) ([]byte, error) {
	detail := json.RawMessage("{}")
	if len(bytes.TrimSpace(ev.Detail)) > 0 {
		// Minified, and without encoding/json's \u003c escapes: as AWS writes it.
		compact, err := eventinput.Compact(ev.Detail)
		if err != nil {
			return nil, fmt.Errorf("event %d: detail: %w", ev.ID, err)
		}
		detail = compact
	}
	resources := ev.Resources
	if resources == nil {
		resources = []string{}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	err := enc.Encode(envelope{
		Version: "0", ID: ev.UUID, DetailType: ev.DetailType, Source: ev.Source, Account: account,
		Time: time.UnixMilli(ev.Time).UTC().Format("2006-01-02T15:04:05Z"), Region: region,
		Resources: resources, Detail: detail,
	})
	if err != nil {
		return nil, fmt.Errorf("event %d: encode envelope: %w", ev.ID, err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// envelopeValue is the decoded form of Envelope(ev) (what json.Unmarshal
// would make of it), built with one decode of the detail: the dispatcher
// matches every event but renders the envelope only for those that match.
func envelopeValue(ev *store.Event, region, account string) (map[string]any, error) {
	var detail any = map[string]any{}
	if len(bytes.TrimSpace(ev.Detail)) > 0 {
		if err := json.Unmarshal(ev.Detail, &detail); err != nil {
			return nil, fmt.Errorf("event %d: detail: %w", ev.ID, err)
		}
	}
	resources := make([]any, len(ev.Resources))
	for i, r := range ev.Resources {
		resources[i] = r
	}
	return map[string]any{
		"version": "0", "id": ev.UUID, "detail-type": ev.DetailType, "source": ev.Source, "account": account,
		"time": time.UnixMilli(ev.Time).UTC().Format("2006-01-02T15:04:05Z"), "region": region,
		"resources": resources, "detail": detail,
	}, nil
}

// NewDeliveries builds PENDING deliveries of one event envelope to every
// target of a rule (eventID is 0 for a scheduled event). Each keeps a copy of
// its target as it is now.
func NewDeliveries(rule string, eventID int64, targets []*gantry.Target, envelope []byte, nowMillis int64) ([]*store.Delivery, error) {
	ds := make([]*store.Delivery, 0, len(targets))
	for _, t := range targets {
		tj, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("rule %q target %q: %w", rule, t.Id, err)
		}
		ds = append(ds, &store.Delivery{
			EventID: eventID, Rule: rule, TargetID: t.Id, Target: tj, Event: envelope,
			State: store.DeliveryPending, CreatedAt: nowMillis, NextAttemptAt: nowMillis, UpdatedAt: nowMillis,
		})
	}
	return ds, nil
}

// ruleSet is the compiled patterns of the enabled rules.
type ruleSet struct {
	set      eventpattern.Set
	rules    map[string]*gantry.Rule
	loadedAt time.Time
}

// reloadRulesIfStale reloads the rules after RulesChanged or every
// ruleReload, so that several replicas converge.
func (b *Bus) reloadRulesIfStale(ctx context.Context) error {
	dirty := false
	select {
	case <-b.rulesDirty:
		dirty = true
	default:
	}
	if !dirty && b.rules != nil && time.Since(b.rules.loadedAt) < ruleReload {
		return nil
	}
	rs, err := b.loadRules(ctx)
	if err != nil {
		if dirty { // try again next pass
			b.RulesChanged()
		}
		return err
	}
	b.rules = rs
	select {
	case <-b.rulesDirty: // changed again meanwhile: stay conservative
		b.rulesDirty <- struct{}{}
	default:
		b.wantsEvents.Store(rs.set.Len() > 0)
	}
	return nil
}

func (b *Bus) loadRules(ctx context.Context) (*ruleSet, error) {
	rs := &ruleSet{rules: map[string]*gantry.Rule{}, loadedAt: time.Now()}
	after := ""
	for {
		page, err := b.cfg.Store.RuleList(ctx, &store.RuleListParams{AfterName: after, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		for _, r := range page {
			if r.State != gantry.RuleStateEnabled || r.EventPattern == "" {
				continue
			}
			p, err := eventpattern.Compile([]byte(r.EventPattern))
			if err != nil { // PutRule validates; a bad stored pattern matches nothing
				b.log.WarnContext(ctx, "rule pattern does not compile", "rule", r.Name, "error", err)
				continue
			}
			rs.set.Put(r.Name, p)
			rs.rules[r.Name] = r
		}
		if len(page) < 1000 {
			return rs, nil
		}
		after = page[len(page)-1].Name
	}
}

// readCursor returns the ID of the last matched outbox event.
func readCursor(ctx context.Context, tx store.Tx) (int64, error) {
	v, err := tx.MetaGet(ctx, cursorKey)
	if errors.Is(err, gantry.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("meta %s: %q is not a number: %w", cursorKey, v, err)
	}
	return n, nil
}

// dispatchOnce matches one batch of outbox events after the cursor and, in
// the same transaction, inserts their deliveries and advances the cursor. It
// returns how many events it consumed.
func (b *Bus) dispatchOnce(ctx context.Context) (int, error) {
	if b.cursorKnown {
		// A read on the pool first: most passes find nothing and need not
		// take the writer.
		evs, err := b.cfg.Store.EventList(ctx, &store.EventListParams{AfterID: b.cursor, Limit: 1})
		if err != nil || len(evs) == 0 {
			return 0, err
		}
	}
	var consumed, created int
	var cursor int64
	err := b.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		consumed, created = 0, 0
		// A rule changed after the rules were loaded: match nothing with
		// the old set. (The writer is single, so every event this
		// transaction can read was committed before it began; a rule
		// committed before such an event signalled RulesChanged before
		// that, hence before now.)
		if len(b.rulesDirty) > 0 {
			return errRulesChanged
		}
		var err error
		if cursor, err = readCursor(ctx, tx); err != nil {
			return err
		}
		evs, err := tx.EventList(ctx, &store.EventListParams{AfterID: cursor, Limit: eventBatch})
		if err != nil || len(evs) == 0 {
			return err
		}
		if b.rules == nil || b.rules.set.Len() == 0 {
			// No pattern rule is loaded. If the store has no rule at all
			// (the common case of a server without rules), the events
			// match nothing: skip building and decoding their envelopes.
			some, err := tx.RuleList(ctx, &store.RuleListParams{Limit: 1})
			if err != nil {
				return err
			}
			if len(some) == 0 {
				cursor = evs[len(evs)-1].ID
				consumed = len(evs)
				if _, err := tx.EventDeleteThrough(ctx, cursor, math.MaxInt64, 0); err != nil {
					return err
				}
				return tx.MetaSet(ctx, cursorKey, strconv.FormatInt(cursor, 10))
			}
		}
		now := b.now().UnixMilli()
		checked := map[string]*liveRule{}
		var ds []*store.Delivery
		var matches []string
		for _, ev := range evs {
			decoded, err := envelopeValue(ev, b.cfg.Region, b.cfg.AccountID)
			if err != nil { // never block the outbox on one bad event
				b.log.WarnContext(ctx, "skip outbox event", "event_id", ev.ID, "error", err)
				continue
			}
			matches = b.rules.set.AppendMatches(matches[:0], decoded)
			if len(matches) == 0 {
				continue // most events: no envelope bytes needed
			}
			env, err := Envelope(ev, b.cfg.Region, b.cfg.AccountID)
			if err != nil {
				b.log.WarnContext(ctx, "skip outbox event", "event_id", ev.ID, "error", err)
				continue
			}
			slices.Sort(matches)
			for _, name := range matches {
				lr, ok := checked[name]
				if !ok {
					if lr, err = b.liveRule(ctx, tx, name); err != nil {
						return err
					}
					checked[name] = lr
				}
				if lr == nil || (lr.rule.CreatedAt > 0 && lr.rule.CreatedAt > ev.Time) {
					continue // gone, disabled, or created after the event happened
				}
				if lr.pattern != nil && !lr.pattern.MatchValue(decoded) {
					continue // the pattern changed since the rules were loaded
				}
				more, err := NewDeliveries(name, ev.ID, lr.targets, env, now)
				if err != nil {
					return err
				}
				ds = append(ds, more...)
			}
		}
		if err := tx.DeliveryInsert(ctx, ds); err != nil {
			return err
		}
		cursor = evs[len(evs)-1].ID
		if err := tx.MetaSet(ctx, cursorKey, strconv.FormatInt(cursor, 10)); err != nil {
			return err
		}
		// Matched events live on in their deliveries (which hold the
		// envelope): the outbox rows are done with.
		if _, err := tx.EventDeleteThrough(ctx, cursor, math.MaxInt64, 0); err != nil {
			return err
		}
		consumed, created = len(evs), len(ds)
		return nil
	})
	if errors.Is(err, errRulesChanged) {
		b.Notify() // reload and match again at once
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	b.cursor, b.cursorKnown = cursor, true
	if consumed > 0 {
		b.log.DebugContext(ctx, "matched outbox events", "events", consumed, "deliveries", created, "cursor", cursor)
	}
	return consumed, nil
}

// errRulesChanged aborts a dispatch transaction whose rule set is stale.
var errRulesChanged = errors.New("eventbus: rules changed")

// liveRule is a matched rule as the dispatch transaction reads it.
type liveRule struct {
	rule    *gantry.Rule
	targets []*gantry.Target
	// pattern is set when the stored pattern differs from the loaded one.
	pattern *eventpattern.Pattern
}

// liveRule reads a matched rule and its targets in the dispatch
// transaction, so that a rule disabled, deleted or changed since the rule set
// was loaded (by another replica, say) is honoured. It returns nil if the
// rule no longer takes events.
func (b *Bus) liveRule(ctx context.Context, tx store.Tx, name string) (*liveRule, error) {
	r, err := tx.RuleGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get rule %q: %w", name, err)
	}
	if r.State != gantry.RuleStateEnabled || r.EventPattern == "" {
		return nil, nil
	}
	lr := &liveRule{rule: r}
	if loaded := b.rules.rules[name]; loaded == nil || loaded.EventPattern != r.EventPattern {
		if lr.pattern, err = eventpattern.Compile([]byte(r.EventPattern)); err != nil {
			return nil, nil // a stored pattern that does not compile matches nothing
		}
		b.RulesChanged()
	}
	if lr.targets, err = tx.RuleTargetList(ctx, name); err != nil && !errors.Is(err, gantry.ErrNotFound) {
		return nil, fmt.Errorf("targets of rule %q: %w", name, err)
	}
	return lr, nil
}
