package gantry

import "testing"

func TestShouldRetry(t *testing.T) {
	t.Parallel()
	i32 := func(v int32) *int32 { return &v }
	rs := func(attempts int32, rules ...EvaluateOnExit) *RetryStrategy {
		return &RetryStrategy{Attempts: i32(attempts), EvaluateOnExit: rules}
	}
	tests := map[string]struct {
		rs      *RetryStrategy
		attempt int
		out     AttemptOutcome
		want    bool
	}{
		"no strategy":              {nil, 1, AttemptOutcome{ExitCode: i32(1)}, false},
		"attempts left, no rules":  {rs(3), 1, AttemptOutcome{ExitCode: i32(1)}, true},
		"attempts exhausted":       {rs(3), 3, AttemptOutcome{ExitCode: i32(1)}, false},
		"exit rule matches":        {rs(3, EvaluateOnExit{OnExitCode: "2", Action: "EXIT"}), 1, AttemptOutcome{ExitCode: i32(2)}, false},
		"exit rule does not match": {rs(3, EvaluateOnExit{OnExitCode: "2", Action: "EXIT"}), 1, AttemptOutcome{ExitCode: i32(3)}, true},
		"first match wins": {rs(3,
			EvaluateOnExit{OnExitCode: "1*", Action: "RETRY"},
			EvaluateOnExit{OnReason: "*", Action: "EXIT"}), 1, AttemptOutcome{ExitCode: i32(137)}, true},
		"catch-all exit": {rs(3,
			EvaluateOnExit{OnExitCode: "1", Action: "RETRY"},
			EvaluateOnExit{OnReason: "*", Action: "exit"}), 1, AttemptOutcome{ExitCode: i32(2)}, false},
		"status reason prefix": {rs(3,
			EvaluateOnExit{OnStatusReason: "Host EC2*", Action: "RETRY"},
			EvaluateOnExit{OnReason: "*", Action: "EXIT"}), 1, AttemptOutcome{StatusReason: "Host EC2 (instance i-1) terminated."}, true},
		"all given fields must match": {rs(3,
			EvaluateOnExit{OnExitCode: "1", OnReason: "OutOfMemory*", Action: "EXIT"}), 1, AttemptOutcome{ExitCode: i32(1), Reason: "other"}, true},
		"exit code rule needs an exit code": {rs(3, EvaluateOnExit{OnExitCode: "*", Action: "EXIT"}), 1, AttemptOutcome{}, true},
		"case sensitive":                    {rs(3, EvaluateOnExit{OnReason: "oom", Action: "EXIT"}), 1, AttemptOutcome{Reason: "OOM"}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := ShouldRetry(tc.rs, tc.attempt, tc.out); got != tc.want {
				t.Errorf("ShouldRetry = %v, want %v", got, tc.want)
			}
		})
	}
}
