package eventbus

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/store"
)

// Submitter submits the job of a Batch target. control.Service implements it.
type Submitter interface {
	SubmitJobOnce(ctx context.Context, in *gantry.SubmitJobInput, jobID string) (*control.SubmitJobOutput, error)
}

var _ Submitter = (*control.Service)(nil)

// Config configures a Bus.
type Config struct {
	Store     store.Store
	Submitter Submitter
	// Region and AccountID fill the event envelope and rule ARNs.
	Region, AccountID string
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// HTTPClient calls webhooks and API destinations. The default times out
	// after 5 s, as AWS API destinations do.
	HTTPClient *http.Client
	// RetryBase is the first retry delay (default 1 s); it doubles with each
	// attempt, with full jitter, up to RetryMax (default 5 min).
	RetryBase time.Duration
	RetryMax  time.Duration
	// PollInterval is the longest sleep between scans of the outbox and the
	// deliveries (default 1 s); Notify wakes the loop sooner.
	PollInterval time.Duration
	// Workers is how many deliveries run at once (default 16).
	Workers int
	// OnDelivery, if set, observes each delivery attempt's outcome: kind is
	// batch, api-destination or webhook (unknown for an unsupported ARN);
	// outcome delivered, retry or dead.
	OnDelivery func(targetKind, outcome string)
}

// Target kinds and delivery outcomes reported to OnDelivery.
const (
	KindBatch          = "batch"
	KindAPIDestination = "api-destination"
	KindWebhook        = "webhook"

	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeDead      = "dead"
)

// Meta key of the dispatcher's cursor: the ID of the last outbox event it
// matched.
const cursorKey = "eventbus.cursor"

// Tuning constants.
const (
	eventBatch       = 500             // outbox events per dispatch transaction
	ruleReload       = 5 * time.Second // rules are reloaded at least this often
	pruneEvery       = time.Minute     // how often old rows are deleted
	eventRetention   = 24 * time.Hour  // matched events kept this long
	deliveryRetained = 7 * 24 * time.Hour
	pruneLimit       = 5000 // rows per table per prune
)

// Bus consumes the outbox and delivers events to rule targets. Start it once;
// Close stops it.
type Bus struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	sem  chan struct{} // worker slots

	rulesDirty chan struct{} // RulesChanged signal (buffered 1)
	// wantsEvents: see WantsEvents.
	wantsEvents atomic.Bool

	mu       sync.Mutex
	inflight map[int64]struct{} // deliveries being sent by this process
	recent   map[int64]struct{} // finished since the last claim scan began
	retryAt  map[int64]int64    // retries this process scheduled: id -> ms
	started  bool
	cancel   context.CancelFunc
	done     chan struct{}
	workers  sync.WaitGroup

	// Owned by the loop goroutine.
	rules       *ruleSet
	cursor      int64 // as of the last dispatch transaction
	cursorKnown bool
	lastPrune   time.Time

	http *httpSender
}

// New returns a Bus; it does nothing until Start.
func New(cfg Config) *Bus {
	if cfg.Store == nil {
		panic("eventbus: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	cfg.RetryBase = cmp.Or(cfg.RetryBase, time.Second)
	cfg.RetryMax = cmp.Or(cfg.RetryMax, 5*time.Minute)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, time.Second)
	cfg.Workers = cmp.Or(cfg.Workers, 16)
	b := &Bus{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "eventbus"),
		wake:       make(chan struct{}, 1),
		sem:        make(chan struct{}, cfg.Workers),
		rulesDirty: make(chan struct{}, 1),
		inflight:   map[int64]struct{}{},
		recent:     map[int64]struct{}{},
		retryAt:    map[int64]int64{},
		done:       make(chan struct{}),
	}
	b.http = newHTTPSender(b)
	b.wantsEvents.Store(true) // until the first load of the rules
	return b
}

// Start runs the dispatcher and delivery loops until ctx is done or Close
// is called. It returns at once; a second call does nothing.
func (b *Bus) Start(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return
	}
	b.started = true
	ctx, b.cancel = context.WithCancel(ctx)
	go b.run(ctx)
}

// Close stops the loops, cancels deliveries in flight (they stay PENDING and
// are delivered again later) and waits for the workers, or for ctx.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	started, cancel := b.started, b.cancel
	b.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Notify tells the Bus that new outbox events or deliveries exist.
func (b *Bus) Notify() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// WantsEvents reports whether an enabled rule with an event pattern may
// exist: if not, job state changes need not be written to the outbox at
// all (they would match nothing; EventBridge too only matches events that
// happen after a rule takes effect). It is true until the first load of
// the rules, from every RulesChanged call until the reload that follows,
// and whenever the last load found a pattern rule. Rules created on
// another replica are seen by the periodic reload (ruleReload).
func (b *Bus) WantsEvents() bool { return b.wantsEvents.Load() }

// RulesChanged tells the Bus to reload its rules before the next dispatch.
func (b *Bus) RulesChanged() {
	b.wantsEvents.Store(true)
	select {
	case b.rulesDirty <- struct{}{}:
	default:
	}
	b.Notify()
}

func (b *Bus) now() time.Time { return b.cfg.Now() }

func (b *Bus) run(ctx context.Context) {
	defer close(b.done)
	defer b.workers.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		b.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		timer.Reset(b.sleepFor())
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
			timer.Stop() // Go 1.23+: no stale value is left in timer.C
		case <-timer.C:
		}
	}
}

// passResult is what one pass of the loop did.
type passResult struct {
	Events            int // outbox events matched
	DeliveriesStarted int
}

// runOnce is one pass of the loop, in phases: reload the rules if needed,
// dispatch the outbox, start due deliveries, prune old rows.
func (b *Bus) runOnce(ctx context.Context) passResult {
	start := time.Now()
	if err := b.reloadRulesIfStale(ctx); err != nil && ctx.Err() == nil {
		b.log.WarnContext(ctx, "load rules", "error", err)
	}
	rulesDone := time.Now()
	matched := 0
	for ctx.Err() == nil && b.rules != nil {
		n, err := b.dispatchOnce(ctx)
		if err != nil {
			if ctx.Err() == nil {
				b.log.WarnContext(ctx, "dispatch outbox", "error", err)
			}
			break
		}
		matched += n
		if n < eventBatch {
			break
		}
	}
	dispatchDone := time.Now()
	started, err := b.claim(ctx)
	if err != nil && ctx.Err() == nil {
		b.log.WarnContext(ctx, "list due deliveries", "error", err)
	}
	claimDone := time.Now()
	if ctx.Err() == nil && time.Since(b.lastPrune) >= pruneEvery {
		b.lastPrune = time.Now()
		b.prune(ctx)
	}
	if matched > 0 || started > 0 {
		b.log.DebugContext(ctx, "eventbus pass", "events", matched, "deliveries_started", started,
			"rules_ms", rulesDone.Sub(start).Milliseconds(), "dispatch_ms", dispatchDone.Sub(rulesDone).Milliseconds(),
			"claim_ms", claimDone.Sub(dispatchDone).Milliseconds(), "total_ms", time.Since(start).Milliseconds())
	}
	return passResult{Events: matched, DeliveriesStarted: started}
}

// sleepFor is how long the loop may sleep: until the earliest retry this
// process scheduled, at most PollInterval.
func (b *Bus) sleepFor() time.Duration {
	wait := b.cfg.PollInterval
	now := b.now().UnixMilli()
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, at := range b.retryAt {
		if at <= now {
			delete(b.retryAt, id) // due: the next scan picks it up
			return 0
		}
		if d := time.Duration(at-now) * time.Millisecond; d < wait {
			wait = d
		}
	}
	return wait
}

func (b *Bus) prune(ctx context.Context) {
	now := b.now()
	if b.cursor > 0 {
		n, err := b.cfg.Store.EventDeleteThrough(ctx, b.cursor, now.Add(-eventRetention).UnixMilli(), pruneLimit)
		if err != nil {
			b.log.WarnContext(ctx, "prune outbox", "error", err)
		} else if n > 0 {
			b.log.InfoContext(ctx, "pruned outbox events", "count", n)
		}
	}
	n, err := b.cfg.Store.DeliveryDeleteFinished(ctx, now.Add(-deliveryRetained).UnixMilli(), pruneLimit)
	if err != nil {
		b.log.WarnContext(ctx, "prune deliveries", "error", err)
	} else if n > 0 {
		b.log.InfoContext(ctx, "pruned finished deliveries", "count", n)
	}
}

func (b *Bus) report(kind, outcome string) {
	if b.cfg.OnDelivery != nil {
		b.cfg.OnDelivery(kind, outcome)
	}
}
