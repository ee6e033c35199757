package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/eventinput"
	"github.com/gantrybatch/gantry/store"
)

// attempt is the outcome of one try at a delivery.
type attempt struct {
	result string // what the target returned: a job ID, an HTTP status
	err    error
	// permanent marks a failure retrying cannot fix (a 4xx, a missing job
	// queue, an input that cannot be shaped).
	permanent bool
	// retryAfter is the target's Retry-After, if it sent one.
	retryAfter time.Duration
}

func failed(err error) attempt    { return attempt{err: err} }
func permanent(err error) attempt { return attempt{err: err, permanent: true} }

// claim starts workers for due PENDING deliveries, as many as there are free
// worker slots, oldest first. It returns how many it started.
func (b *Bus) claim(ctx context.Context) (int, error) {
	free := cap(b.sem) - len(b.sem)
	if free <= 0 || ctx.Err() != nil {
		return 0, nil
	}
	b.mu.Lock()
	// A delivery that finishes from here on may still look due in the list
	// read below (read before its update committed): recent skips those.
	clear(b.recent)
	busy := len(b.inflight)
	b.mu.Unlock()
	ds, err := b.cfg.Store.DeliveryList(ctx, &store.DeliveryListParams{
		States: []string{store.DeliveryPending}, DueBefore: b.now().UnixMilli(), Limit: free + busy,
	})
	if err != nil {
		return 0, err
	}
	started := 0
	for _, d := range ds {
		b.mu.Lock()
		_, busy := b.inflight[d.ID]
		_, done := b.recent[d.ID]
		if busy || done {
			b.mu.Unlock()
			continue
		}
		select {
		case b.sem <- struct{}{}:
		default:
			b.mu.Unlock()
			return started, nil
		}
		b.inflight[d.ID] = struct{}{}
		delete(b.retryAt, d.ID)
		b.workers.Add(1)
		b.mu.Unlock()
		started++
		go func() {
			defer b.workers.Done()
			defer func() {
				b.mu.Lock()
				delete(b.inflight, d.ID)
				b.recent[d.ID] = struct{}{}
				b.mu.Unlock()
				<-b.sem
				b.Notify() // a slot is free; a retry may be due soon
			}()
			b.deliver(ctx, d)
		}()
	}
	return started, nil
}

// retryPolicy returns the target's limits: retries after the first attempt,
// and the oldest age (ms) at which an event is still tried.
func retryPolicy(t *gantry.Target) (maxRetries int, maxAgeMillis int64) {
	maxRetries, maxAge := gantry.DefaultEventMaximumRetries, int64(gantry.DefaultEventMaximumAgeInSeconds)
	if p := t.RetryPolicy; p != nil {
		if p.MaximumRetryAttempts != nil {
			maxRetries = int(*p.MaximumRetryAttempts)
		}
		if p.MaximumEventAgeInSeconds != nil {
			maxAge = int64(*p.MaximumEventAgeInSeconds)
		}
	}
	return maxRetries, maxAge * 1000
}

// targetKind names the kind of target an ARN designates, or "".
func targetKind(arn string) string {
	switch {
	case strings.HasPrefix(arn, "http://") || strings.HasPrefix(arn, "https://"):
		return KindWebhook
	case strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":batch:") && strings.Contains(arn, ":job-queue/"):
		return KindBatch
	case strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":events:") && strings.Contains(arn, ":api-destination/"):
		return KindAPIDestination
	}
	return ""
}

// deliver makes one attempt at d and records its outcome. If the Bus is
// closing and the attempt was cut short, it records nothing: the delivery
// stays PENDING and is tried again after a restart.
func (b *Bus) deliver(ctx context.Context, d *store.Delivery) {
	var t gantry.Target
	kind := "unknown"
	var at attempt
	if err := json.Unmarshal(d.Target, &t); err != nil {
		at = permanent(fmt.Errorf("stored target is not valid: %w", err))
	} else {
		kind = targetKind(t.Arn)
		at = b.attempt(ctx, d, &t, kind)
		if kind == "" {
			kind = "unknown"
		}
	}
	if at.err != nil && ctx.Err() != nil {
		return // closing: leave it PENDING
	}
	b.record(context.WithoutCancel(ctx), d, &t, kind, at)
}

// attempt shapes the input and calls the target once.
func (b *Bus) attempt(ctx context.Context, d *store.Delivery, t *gantry.Target, kind string) attempt {
	_, maxAge := retryPolicy(t)
	if age := b.now().UnixMilli() - d.CreatedAt; age > maxAge {
		return permanent(fmt.Errorf("event older than MaximumEventAgeInSeconds (%d s)", maxAge/1000))
	}
	if kind == "" {
		return permanent(fmt.Errorf("unsupported target ARN %q", t.Arn))
	}
	input, err := eventinput.Render(t, d.Event, eventinput.Context{
		RuleName: d.Rule, RuleArn: b.ruleArn(d.Rule),
	})
	if err != nil {
		return permanent(err)
	}
	switch kind {
	case KindBatch:
		return b.sendBatch(ctx, d, t, input)
	case KindAPIDestination:
		return b.http.sendAPIDestination(ctx, t, input)
	default:
		return b.http.sendWebhook(ctx, t, input)
	}
}

func (b *Bus) ruleArn(rule string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", b.cfg.Region, b.cfg.AccountID, rule)
}

// record writes the outcome of an attempt: DELIVERED, PENDING with the next
// attempt time, or DEAD.
func (b *Bus) record(ctx context.Context, d *store.Delivery, t *gantry.Target, kind string, at attempt) {
	now := b.now()
	d.Attempts++
	d.UpdatedAt = now.UnixMilli()
	outcome := OutcomeDelivered
	switch {
	case at.err == nil:
		d.State, d.Result = store.DeliveryDelivered, at.result
	default:
		d.LastError = truncate(at.err.Error(), 2048)
		if at.result != "" {
			d.Result = at.result
		}
		maxRetries, maxAge := retryPolicy(t)
		delay := b.backoff(d.Attempts)
		if at.retryAfter > delay {
			delay = at.retryAfter
		}
		next := now.Add(delay).UnixMilli()
		switch {
		case at.permanent:
			d.State = store.DeliveryDead
		case d.Attempts > maxRetries:
			d.State = store.DeliveryDead
			d.LastError = truncate(fmt.Sprintf("%s (after %d attempts; MaximumRetryAttempts %d)", at.err, d.Attempts, maxRetries), 2048)
		case next-d.CreatedAt > maxAge:
			d.State = store.DeliveryDead
			d.LastError = truncate(fmt.Sprintf("%s (the next attempt would pass MaximumEventAgeInSeconds %d)", at.err, maxAge/1000), 2048)
		default:
			d.State, d.NextAttemptAt = store.DeliveryPending, next
			outcome = OutcomeRetry
		}
		if d.State == store.DeliveryDead {
			outcome = OutcomeDead
		}
	}
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := b.cfg.Store.DeliveryUpdate(uctx, d); err != nil {
		// The row stays as it was (PENDING): it is tried again.
		b.log.ErrorContext(ctx, "record delivery", "delivery_id", d.ID, "rule", d.Rule, "error", err)
		return
	}
	b.report(kind, outcome)
	switch outcome {
	case OutcomeDelivered:
		b.log.DebugContext(ctx, "delivered", "delivery_id", d.ID, "rule", d.Rule, "target_id", d.TargetID,
			"attempts", d.Attempts, "result", d.Result)
	case OutcomeRetry:
		b.mu.Lock()
		b.retryAt[d.ID] = d.NextAttemptAt
		b.mu.Unlock()
		b.log.InfoContext(ctx, "delivery failed, will retry", "delivery_id", d.ID, "rule", d.Rule,
			"target_id", d.TargetID, "attempts", d.Attempts, "next_attempt_at", time.UnixMilli(d.NextAttemptAt).UTC(),
			"error", d.LastError)
	case OutcomeDead:
		b.log.WarnContext(ctx, "delivery dead", "delivery_id", d.ID, "rule", d.Rule, "target_id", d.TargetID,
			"target_arn", t.Arn, "event_id", d.EventID, "attempts", d.Attempts, "error", d.LastError)
	}
}

// backoff is the delay before the attempt after the given number of
// attempts: RetryBase·2^(attempts-1) capped by RetryMax, with full jitter
// (uniform in [1 ms, cap]) so that many failing deliveries spread out.
func (b *Bus) backoff(attempts int) time.Duration {
	ceiling := b.cfg.RetryMax
	if shift := attempts - 1; shift < 40 {
		if d := b.cfg.RetryBase << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	if ceiling <= time.Millisecond {
		return time.Millisecond
	}
	return time.Millisecond + rand.N(ceiling-time.Millisecond+1)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
