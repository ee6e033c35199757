package eventsched

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gantrybatch/gantry/internal/bgloop"
	"github.com/gantrybatch/gantry/internal/schedule"
	"github.com/gantrybatch/gantry/store"
)

// Defaults and the envelope of a scheduled event.
const (
	// DefaultCatchupWindow is how old the most recent missed scheduled time
	// may be and still fire after downtime (EventBridge's default
	// MaximumEventAgeInSeconds).
	DefaultCatchupWindow = 24 * time.Hour
	// DefaultRescan is the longest sleep between two passes.
	DefaultRescan = 30 * time.Second
	// DetailType and Source are the envelope of every scheduled event.
	DetailType = "Scheduled Event"
	Source     = "aws.events"
)

// Config configures a Scheduler.
type Config struct {
	// Store holds the rules, their targets and schedule states, and receives
	// the deliveries (required).
	Store store.Store
	// Region and AccountID go into each event's envelope.
	Region, AccountID string
	// Now is the clock (default time.Now). The loop started by Start sleeps
	// in real time, so tests with a fake clock call RunOnce instead.
	Now func() time.Time
	// Logger receives a line per fire and per skipped catch-up (default
	// slog.Default()).
	Logger *slog.Logger
	// Notify wakes the event bus after a fire committed its deliveries
	// (optional).
	Notify func()
	// CatchupWindow is the age limit of a missed scheduled time that fires
	// after downtime (default DefaultCatchupWindow); see the package doc.
	CatchupWindow time.Duration
	// Rescan is the longest sleep between passes (default DefaultRescan),
	// which bounds how late a change made by another process is seen.
	Rescan time.Duration
}

func (c *Config) mustValidate() {
	switch {
	case c.Store == nil:
		panic("eventsched: Config.Store is required")
	case c.CatchupWindow < 0, c.Rescan < 0:
		panic("eventsched: CatchupWindow and Rescan must not be negative")
	}
}

// Scheduler fires scheduled rules; see the package doc.
type Scheduler struct {
	cfg  Config
	wake chan struct{}

	bg     bgloop.Loop
	mu     sync.Mutex                    // guards parsed
	parsed map[string]*schedule.Schedule // by stateKey
}

// New returns a Scheduler; Start runs it. It panics on a programming error
// in cfg (no Store, negative durations).
func New(cfg Config) *Scheduler {
	cfg.mustValidate()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	cfg.CatchupWindow = cmp.Or(cfg.CatchupWindow, DefaultCatchupWindow)
	cfg.Rescan = cmp.Or(cfg.Rescan, DefaultRescan)
	return &Scheduler{cfg: cfg, wake: make(chan struct{}, 1), parsed: map[string]*schedule.Schedule{}}
}

// Start runs passes in the background until Close: one at once, then one
// at the earliest next fire time, on RulesChanged, or every Rescan. It is
// idempotent.
func (s *Scheduler) Start(ctx context.Context) { s.bg.Start(ctx, s.loop) }

// Close stops the loop and waits for the current pass to end. A fire is one
// transaction, so stopping never leaves half of one. It is idempotent and
// returns ctx's error if the pass outlives ctx.
func (s *Scheduler) Close(ctx context.Context) error {
	if err := s.bg.Stop(ctx); err != nil {
		return fmt.Errorf("eventsched: close: %w", err)
	}
	return nil
}

// RulesChanged asks for a pass now (a rule or its targets changed). It never
// blocks.
func (s *Scheduler) RulesChanged() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// minSleep keeps a loop whose next fire time is already past (a pass that
// lost a race, a clock that stepped back) from spinning.
const minSleep = 10 * time.Millisecond

// errorSleep is the longest sleep after a failed pass.
const errorSleep = time.Second

func (s *Scheduler) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := s.cfg.Now()
		_, next, err := s.RunOnce(ctx, now)
		if ctx.Err() != nil {
			return
		}
		sleep := s.cfg.Rescan
		if !next.IsZero() {
			sleep = min(sleep, next.Sub(now))
		}
		if err != nil {
			s.cfg.Logger.ErrorContext(ctx, "schedule pass failed", "error", err)
			sleep = min(sleep, errorSleep)
		}
		timer.Reset(max(sleep, minSleep))
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			timer.Stop() // Go 1.23+: Reset then discards nothing stale
		case <-timer.C:
		}
	}
}

// stateKey is what ScheduleState.Expression records: the expression and,
// when set, the time zone.
func stateKey(expr, zone string) string {
	if zone == "" {
		return expr
	}
	return expr + " " + zone
}

// parse returns the rule's schedule, cached by key.
func (s *Scheduler) parse(expr, zone string) (*schedule.Schedule, error) {
	key := stateKey(expr, zone)
	s.mu.Lock()
	sc, ok := s.parsed[key]
	s.mu.Unlock()
	if ok {
		return sc, nil
	}
	loc := time.UTC
	if zone != "" {
		var err error
		if loc, err = time.LoadLocation(zone); err != nil {
			return nil, fmt.Errorf("schedule time zone %q: %w", zone, err)
		}
	}
	sc, err := schedule.ParseInZone(expr, loc)
	if err != nil {
		return nil, fmt.Errorf("schedule expression: %w", err)
	}
	s.mu.Lock()
	s.parsed[key] = sc
	s.mu.Unlock()
	return sc, nil
}
