package schedule

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ValidationMessage is the message AWS returns, with the code
// ValidationException, for any ScheduleExpression it rejects. API layers
// should answer with it; the *Error text is for logs and CLI users.
const ValidationMessage = "Parameter ScheduleExpression is not valid."

// ErrInvalid is matched (errors.Is) by every error Parse returns.
var ErrInvalid = errors.New("invalid schedule expression")

// Error describes why an expression was rejected.
type Error struct {
	// Expr is the expression as given.
	Expr string
	// Field names the offending part: "rate", a cron field ("minutes",
	// "hours", "day-of-month", "month", "day-of-week", "year"), or "" when
	// the expression as a whole is malformed.
	Field string
	// Reason states the rule that was broken.
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("invalid schedule expression %q: %s", e.Expr, e.Reason)
	}
	return fmt.Sprintf("invalid schedule expression %q: %s: %s", e.Expr, e.Field, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Schedule is a parsed ScheduleExpression. It is immutable and safe for
// concurrent use. The zero Schedule never fires; use Parse or ParseInZone.
type Schedule struct {
	expr     string
	loc      *time.Location
	interval time.Duration // rate(...) only
	cron     *cronSpec     // cron(...) only
}

// Parse parses a rate(...) or cron(...) expression evaluated in UTC, as for
// EventBridge rules.
func Parse(expr string) (*Schedule, error) {
	return ParseInZone(expr, time.UTC)
}

// ParseInZone parses expr like Parse but evaluates cron fields on the wall
// clock of loc (EventBridge Scheduler's ScheduleExpressionTimezone). A nil
// loc means UTC. Rates are durations and ignore loc.
func ParseInZone(expr string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := &Schedule{expr: expr, loc: loc}
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		d, err := parseRate(expr[len("rate(") : len(expr)-1])
		if err != nil {
			return nil, &Error{Expr: expr, Field: "rate", Reason: err.Error()}
		}
		s.interval = d
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		c, field, err := parseCron(expr[len("cron(") : len(expr)-1])
		if err != nil {
			return nil, &Error{Expr: expr, Field: field, Reason: err.Error()}
		}
		s.cron = c
	default:
		return nil, &Error{Expr: expr, Reason: "must be rate(value unit) or cron(minutes hours day-of-month month day-of-week year)"}
	}
	return s, nil
}

// String returns the expression as it was given to Parse.
func (s *Schedule) String() string { return s.expr }

// Next returns the first fire time strictly after after, in the schedule's
// location, or the zero time if there is none (a cron whose years are all
// past). For a rate it is NextAfter(after, after), one interval later.
func (s *Schedule) Next(after time.Time) time.Time {
	return s.NextAfter(after, after)
}

// NextAfter returns the first fire time strictly after after of a schedule
// anchored at start (the rule's creation time or the schedule's StartDate),
// in the schedule's location, or the zero time if there is none.
//
// A rate fires at start + k*interval for k >= 0, so the result is start
// itself while after is before start. A cron fires at its matching times
// that are not before start.
func (s *Schedule) NextAfter(start, after time.Time) time.Time {
	if s.loc == nil {
		return time.Time{} // the zero Schedule
	}
	if s.cron != nil {
		if after.Before(start) {
			after = start.Add(-time.Nanosecond)
		}
		return s.cron.next(after, s.loc)
	}
	if after.Before(start) {
		return start.In(s.loc)
	}
	// k = floor((after-start)/interval) + 1, computed in whole seconds (the
	// interval is whole minutes) so that spans beyond time.Duration's 292
	// years do not saturate.
	iv := int64(s.interval / time.Second)
	diff := after.Unix() - start.Unix()
	if after.Nanosecond() < start.Nanosecond() {
		diff-- // borrow: the sub-second part of after-start is then positive
	}
	k := diff/iv + 1
	if diff < 0 || k > math.MaxInt64/iv || start.Unix() > 0 && k*iv > math.MaxInt64-start.Unix() {
		return time.Time{} // int64 seconds overflow: beyond any real schedule
	}
	return time.Unix(start.Unix()+k*iv, int64(start.Nanosecond())).In(s.loc)
}

// parseRate parses the inside of rate(...), "N unit".
func parseRate(body string) (time.Duration, error) {
	value, unit, ok := strings.Cut(body, " ")
	if !ok || value == "" || unit == "" || strings.ContainsAny(unit, " \t") {
		return 0, errors.New("must be \"value unit\" separated by one space")
	}
	if !allDigits(value) {
		return 0, fmt.Errorf("value %q is not a positive integer", value)
	}
	if len(value) > 18 {
		return 0, fmt.Errorf("value %s is too large", value)
	}
	n, _ := strconv.ParseInt(value, 10, 64)
	if n < 1 {
		return 0, fmt.Errorf("value %d must be at least 1", n)
	}
	var per time.Duration
	singular := strings.TrimSuffix(unit, "s")
	switch singular {
	case "minute":
		per = time.Minute
	case "hour":
		per = time.Hour
	case "day":
		per = 24 * time.Hour
	default:
		return 0, fmt.Errorf("unit %q must be minute(s), hour(s) or day(s)", unit)
	}
	if n == 1 && unit != singular {
		return 0, fmt.Errorf("unit must be singular (%s) when the value is 1", singular)
	}
	if n > 1 && unit == singular {
		return 0, fmt.Errorf("unit must be plural (%ss) when the value is greater than 1", singular)
	}
	if n > int64(math.MaxInt64/per) {
		return 0, fmt.Errorf("value %d is too large", n)
	}
	return time.Duration(n) * per, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
