package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gantrybatch/gantry/internal/eventbus"
	"github.com/gantrybatch/gantry/internal/eventsapi"
	"github.com/gantrybatch/gantry/internal/eventsched"
)

// EventsConfig tunes EventBridge delivery and schedules (issue 7). The zero
// value is the defaults.
type EventsConfig struct {
	// RetryBase is the first delay before a failed delivery is retried
	// (default 1s); it doubles with each attempt, with jitter, up to 5 min.
	RetryBase time.Duration
	// HTTPTimeout bounds each webhook and API destination call (default
	// 5s, as AWS API destinations).
	HTTPTimeout time.Duration
	// PollInterval is the longest time between two scans of the outbox
	// and the due deliveries (default 250ms). Job transitions committed by
	// the API and the runner wake the bus at once; the scheduler's own
	// transitions (RUNNABLE, STARTING, ...) are picked up by this scan.
	PollInterval time.Duration
	// ScheduleCatchupWindow is how old the most recent scheduled time
	// missed during downtime may be and still fire once after a restart
	// (default 24h; see internal/eventsched).
	ScheduleCatchupWindow time.Duration
}

// Event defaults.
const (
	DefaultEventRetryBase    = time.Second
	DefaultEventHTTPTimeout  = 5 * time.Second
	DefaultEventPollInterval = 250 * time.Millisecond
)

func (c *EventsConfig) applyDefaults() {
	c.RetryBase = cmp.Or(c.RetryBase, DefaultEventRetryBase)
	c.HTTPTimeout = cmp.Or(c.HTTPTimeout, DefaultEventHTTPTimeout)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultEventPollInterval)
	c.ScheduleCatchupWindow = cmp.Or(c.ScheduleCatchupWindow, eventsched.DefaultCatchupWindow)
}

func (c *EventsConfig) validate() error {
	if c.RetryBase < 0 || c.HTTPTimeout < 0 || c.PollInterval < 0 || c.ScheduleCatchupWindow < 0 {
		return errors.New("event retry base, HTTP timeout, poll interval and schedule catch-up window must not be negative")
	}
	return nil
}

// events is the EventBridge side of the server: the AWSEvents API, the bus
// that matches the outbox and delivers to targets, and the scheduler that
// fires scheduled rules.
type events struct {
	api   *eventsapi.Handler
	bus   *eventbus.Bus
	sched *eventsched.Scheduler
}

// newEvents wires the EventBridge parts over the server's store and control
// service (the Batch targets' submitter).
func (s *Server) newEvents(cfg Config) (*events, error) {
	ec := cfg.Events
	ec.applyDefaults()
	if err := ec.validate(); err != nil {
		return nil, err
	}
	e := &events{}
	e.bus = eventbus.New(eventbus.Config{
		Store: s.store, Submitter: s.control, Region: cfg.Region, AccountID: cfg.AccountID, Logger: cfg.Logger,
		HTTPClient: &http.Client{Timeout: ec.HTTPTimeout},
		RetryBase:  ec.RetryBase, PollInterval: ec.PollInterval,
		OnDelivery: s.metrics.EventDelivery,
	})
	// Job state changes go to the outbox only while a pattern rule may
	// match them.
	s.control.Transitioner().Wanted = e.bus.WantsEvents
	e.sched = eventsched.New(eventsched.Config{
		Store: s.store, Region: cfg.Region, AccountID: cfg.AccountID, Logger: cfg.Logger,
		Notify: e.bus.Notify, CatchupWindow: ec.ScheduleCatchupWindow,
	})
	e.api = eventsapi.New(eventsapi.Config{
		Store: s.store, Region: cfg.Region, AccountID: cfg.AccountID, Logger: cfg.Logger,
		RulesChanged: func() {
			e.bus.RulesChanged()
			e.sched.RulesChanged()
		},
		EventsAdded: e.bus.Notify,
	})
	return e, nil
}

// notify wakes the bus after a committed change that may have written
// outbox events.
// notify wakes the bus after a commit that may have written outbox events:
// only while it wants events at all (see eventbus.Bus.WantsEvents).
func (e *events) notify() {
	if e != nil && e.bus.WantsEvents() {
		e.bus.Notify()
	}
}

func (e *events) start(ctx context.Context) {
	e.bus.Start(ctx)
	e.sched.Start(ctx)
}

// close stops the scheduler (a fire is one transaction) and then the bus,
// whose in-flight deliveries stay PENDING in the store if ctx ends first:
// the next start delivers them again.
func (e *events) close(ctx context.Context) error {
	var errs []error
	if err := e.sched.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := e.bus.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("event bus: %w", err))
	}
	return errors.Join(errs...)
}
