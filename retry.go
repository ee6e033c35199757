package gantry

import (
	"strconv"
	"strings"
)

// AttemptOutcome is what a finished attempt reports to the retry strategy.
type AttemptOutcome struct {
	// ExitCode is nil when the container never ran or its exit is unknown.
	ExitCode     *int32
	Reason       string // container reason
	StatusReason string // attempt status reason
}

// ShouldRetry applies a retry strategy (reference §5.4) after attempt number
// `attempt` (1-based) failed: the evaluateOnExit rules are scanned in order
// and the first whose given fields all match decides (EXIT stops, RETRY
// retries while attempts remain); no match means retry. Timeouts, cancels and
// terminations are never retried; callers do not ask.
func ShouldRetry(rs *RetryStrategy, attempt int, out AttemptOutcome) bool {
	max := 1
	if rs != nil && rs.Attempts != nil {
		max = int(*rs.Attempts)
	}
	if attempt >= max {
		return false
	}
	for _, rule := range rs.EvaluateOnExit {
		if rule.matches(out) {
			return strings.EqualFold(rule.Action, "RETRY")
		}
	}
	return true
}

func (e EvaluateOnExit) matches(out AttemptOutcome) bool {
	if e.OnExitCode == "" && e.OnReason == "" && e.OnStatusReason == "" {
		return false
	}
	if e.OnExitCode != "" {
		if out.ExitCode == nil || !globMatch(e.OnExitCode, strconv.Itoa(int(*out.ExitCode))) {
			return false
		}
	}
	if e.OnReason != "" && !globMatch(e.OnReason, out.Reason) {
		return false
	}
	if e.OnStatusReason != "" && !globMatch(e.OnStatusReason, out.StatusReason) {
		return false
	}
	return true
}

// globMatch matches s against a pattern whose only wildcard is a trailing
// '*' (a prefix match); otherwise the match is exact and case-sensitive.
func globMatch(pattern, s string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(s, p)
	}
	return pattern == s
}
