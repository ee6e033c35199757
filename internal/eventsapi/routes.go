package eventsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/schedule"
	"github.com/gantrybatch/gantry/store"
)

// Gantry-native routes, read by the gantry CLI.
const (
	DeliveriesPath = "/gantry/v1/deliveries"
	SchedulesPath  = "/gantry/v1/schedules"
)

// Routes returns Gantry's own read-only routes for the CLI, keyed by
// ServeMux pattern; merge them into httpapi.Server.Extra.
//
//   - GET /gantry/v1/deliveries?rule=R&state=DEAD|PENDING|DELIVERED&limit=N&nextToken=T:
//     deliveries newest first (DeliveryList); state may list several,
//     comma-separated; DEAD deliveries are the dead-letter records.
//   - GET /gantry/v1/schedules?count=N: every rule with a
//     ScheduleExpression and its next N fire times (default 5).
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET " + DeliveriesPath: http.HandlerFunc(h.serveDeliveries),
		"GET " + SchedulesPath:  http.HandlerFunc(h.serveSchedules),
	}
}

// Delivery is one delivery in the deliveries route's answer. Times are
// RFC 3339 in UTC.
type Delivery struct {
	ID            int64           `json:"id"`
	Rule          string          `json:"rule"`
	TargetID      string          `json:"targetId"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	CreatedAt     string          `json:"createdAt"`
	UpdatedAt     string          `json:"updatedAt,omitempty"`
	NextAttemptAt string          `json:"nextAttemptAt,omitempty"`
	LastError     string          `json:"lastError,omitempty"`
	Result        string          `json:"result,omitempty"`
	EventID       string          `json:"eventId,omitempty"`
	Target        json.RawMessage `json:"target,omitempty"`
	Event         json.RawMessage `json:"event,omitempty"`
}

// DeliveriesPage is the deliveries route's answer.
type DeliveriesPage struct {
	Deliveries []Delivery `json:"deliveries"`
	NextToken  string     `json:"nextToken,omitempty"`
}

// Schedule is one scheduled rule in the schedules route's answer.
type Schedule struct {
	Name       string   `json:"name"`
	Expression string   `json:"expression"`
	Timezone   string   `json:"timezone,omitempty"`
	State      string   `json:"state"`
	LastFireAt string   `json:"lastFireAt,omitempty"`
	NextFires  []string `json:"nextFires"`
	Error      string   `json:"error,omitempty"`
}

// SchedulesPage is the schedules route's answer.
type SchedulesPage struct {
	Schedules []Schedule `json:"schedules"`
}

func rfc3339(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

func (h *Handler) routeError(w http.ResponseWriter, r *http.Request, err error) {
	status := h.srv.WriteError(w, r, err)
	h.cfg.Logger.DebugContext(r.Context(), "gantry route", "path", r.URL.Path, "status", status)
}

func (h *Handler) serveDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &store.DeliveryListParams{Rule: q.Get("rule"), Newest: true, Limit: 100}
	if s := q.Get("state"); s != "" {
		for _, st := range strings.Split(strings.ToUpper(s), ",") {
			switch st {
			case store.DeliveryPending, store.DeliveryDelivered, store.DeliveryDead:
				p.States = append(p.States, st)
			default:
				h.routeError(w, r, validationf("state: %q must be PENDING, DELIVERED or DEAD", st))
				return
			}
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			h.routeError(w, r, validationf("limit: %q must be a number from 1 to 1000", s))
			return
		}
		p.Limit = n
	}
	if s := q.Get("nextToken"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			h.routeError(w, r, validationf("nextToken: %q is not a token this route returned", s))
			return
		}
		p.AfterID = id
	}
	want := p.Limit
	p.Limit++
	list, err := h.cfg.Store.DeliveryList(r.Context(), p)
	if err != nil {
		h.routeError(w, r, fmt.Errorf("list deliveries: %w", err))
		return
	}
	out := DeliveriesPage{Deliveries: make([]Delivery, 0, len(list))}
	if len(list) > want {
		list = list[:want]
		out.NextToken = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	for _, d := range list {
		out.Deliveries = append(out.Deliveries, deliveryOut(d))
	}
	h.srv.WriteJSON(w, http.StatusOK, out)
}

func deliveryOut(d *store.Delivery) Delivery {
	o := Delivery{
		ID: d.ID, Rule: d.Rule, TargetID: d.TargetID, State: d.State, Attempts: d.Attempts,
		CreatedAt: rfc3339(d.CreatedAt), UpdatedAt: rfc3339(d.UpdatedAt), LastError: d.LastError, Result: d.Result,
	}
	if d.State == store.DeliveryPending {
		o.NextAttemptAt = rfc3339(d.NextAttemptAt)
	}
	if json.Valid(d.Target) {
		o.Target = d.Target
	}
	if json.Valid(d.Event) {
		o.Event = d.Event
		var env struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(d.Event, &env) == nil {
			o.EventID = env.ID
		}
	}
	return o
}

func (h *Handler) serveSchedules(w http.ResponseWriter, r *http.Request) {
	count := 5
	if s := r.URL.Query().Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			h.routeError(w, r, validationf("count: %q must be a number from 0 to 100", s))
			return
		}
		count = n
	}
	ctx := r.Context()
	rules, err := h.cfg.Store.RuleList(ctx, &store.RuleListParams{})
	if err != nil {
		h.routeError(w, r, fmt.Errorf("list rules: %w", err))
		return
	}
	states, err := h.cfg.Store.ScheduleStateList(ctx)
	if err != nil {
		h.routeError(w, r, fmt.Errorf("list schedule states: %w", err))
		return
	}
	byRule := make(map[string]*store.ScheduleState, len(states))
	for _, st := range states {
		byRule[st.Rule] = st
	}
	now := h.cfg.Now()
	out := SchedulesPage{Schedules: []Schedule{}}
	for _, rule := range rules {
		if rule.ScheduleExpression == "" {
			continue
		}
		out.Schedules = append(out.Schedules, nextFires(rule, byRule[rule.Name], now, count))
	}
	h.srv.WriteJSON(w, http.StatusOK, out)
}

// stateKey is what the scheduler records in ScheduleState.Expression: the
// expression and, when set, the time zone.
func stateKey(expr, zone string) string {
	if zone == "" {
		return expr
	}
	return expr + " " + zone
}

// nextFires describes a scheduled rule with its next count fire times: from
// the scheduler's NextFireAt when it was computed for the rule's current
// expression, else from now (a rate anchored at the rule's creation).
func nextFires(rule *gantry.Rule, st *store.ScheduleState, now time.Time, count int) Schedule {
	s := Schedule{Name: rule.Name, Expression: rule.ScheduleExpression, Timezone: rule.ScheduleExpressionTimezone,
		State: rule.State, NextFires: []string{}}
	if st != nil {
		s.LastFireAt = rfc3339(st.LastFireAt)
	}
	if rule.State != gantry.RuleStateEnabled || count == 0 {
		return s
	}
	loc := time.UTC
	if z := rule.ScheduleExpressionTimezone; z != "" {
		var err error
		if loc, err = time.LoadLocation(z); err != nil {
			s.Error = err.Error()
			return s
		}
	}
	sc, err := schedule.ParseInZone(rule.ScheduleExpression, loc)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	anchor := time.UnixMilli(rule.CreatedAt)
	var t time.Time
	if st != nil && st.NextFireAt > 0 && st.Expression == stateKey(rule.ScheduleExpression, rule.ScheduleExpressionTimezone) {
		t = time.UnixMilli(st.NextFireAt).In(loc)
	} else {
		t = sc.NextAfter(anchor, now)
	}
	for i := 0; i < count && !t.IsZero(); i++ {
		s.NextFires = append(s.NextFires, t.Format(time.RFC3339))
		t = sc.NextAfter(anchor, t)
	}
	return s
}
