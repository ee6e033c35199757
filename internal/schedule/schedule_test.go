package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"rate 1 minute":             "rate(1 minute)",
		"rate minutes":              "rate(5 minutes)",
		"rate 1 hour":               "rate(1 hour)",
		"rate hours":                "rate(12 hours)",
		"rate 1 day":                "rate(1 day)",
		"rate days":                 "rate(7 days)",
		"rate leading zero":         "rate(05 minutes)",
		"daily":                     "cron(0 10 * * ? *)",
		"weekdays":                  "cron(0 18 ? * MON-FRI *)",
		"every 5 min business":      "cron(0/5 8-17 ? * MON-FRI *)",
		"last day":                  "cron(15 12 L * ? *)",
		"nearest weekday":           "cron(0 9 15W * ? *)",
		"last weekday":              "cron(0 9 LW * ? *)",
		"last friday":               "cron(0 9 ? * 6L *)",
		"last friday by name":       "cron(0 9 ? * FRIL *)",
		"second tuesday":            "cron(0 9 ? * 3#2 *)",
		"second tuesday by name":    "cron(0 9 ? * TUE#2 *)",
		"fifth monday":              "cron(0 9 ? * 2#5 *)",
		"L alone in dow":            "cron(0 9 ? * L *)",
		"star dom":                  "cron(0 9 * JAN,FEB ? *)",
		"star dow":                  "cron(0 9 ? * * *)",
		"star slash":                "cron(*/15 * * * ? *)",
		"range slash":               "cron(10-50/20 * * * ? *)",
		"dom step":                  "cron(0 0 1/5 * ? *)",
		"month names range step":    "cron(0 0 1 JAN-DEC/3 ? *)",
		"lower case names":          "cron(0 9 ? jan mon-fri *)",
		"lower case L and W":        "cron(0 9 lw * ? *)",
		"wrapping hours":            "cron(0 22-2 * * ? *)",
		"wrapping days of week":     "cron(0 9 ? * FRI-MON *)",
		"year bounds":               "cron(0 0 1 1 ? 1970,2199)",
		"year range step":           "cron(0 0 1 1 ? 2025-2031/2)",
		"leading zeros":             "cron(00 08 01 01 ? 2030)",
		"whitespace between fields": "cron(0  10\t* * ? *)",
		"max increment":             "cron(0/60 * * * ? *)",
		"list of ranges":            "cron(0,30 1-3,5,20-23 1-7,15 * ? *)",
		"feb 30 never fires":        "cron(0 0 30 2 ? *)",
	}
	for name, expr := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", expr, err)
			}
			if got := s.String(); got != expr {
				t.Errorf("String() = %q, want %q", got, expr)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		expr       string
		wantField  string
		wantReason string // a substring of Error.Reason
	}{
		"empty":                      {"", "", "must be rate(value unit) or cron("},
		"upper case wrapper":         {"RATE(5 minutes)", "", "must be rate"},
		"unknown wrapper":            {"at(2024-01-01T00:00:00)", "", "must be rate"},
		"unclosed":                   {"cron(0 10 * * ? *", "", "must be"},
		"rate zero":                  {"rate(0 minutes)", "rate", "at least 1"},
		"rate negative":              {"rate(-1 minutes)", "rate", "not a positive integer"},
		"rate fraction":              {"rate(1.5 hours)", "rate", "not a positive integer"},
		"rate plural with 1":         {"rate(1 minutes)", "rate", "must be singular (minute)"},
		"rate singular with 5":       {"rate(5 minute)", "rate", "must be plural (minutes)"},
		"rate singular day":          {"rate(2 day)", "rate", "plural"},
		"rate seconds":               {"rate(30 seconds)", "rate", "minute(s), hour(s) or day(s)"},
		"rate weeks":                 {"rate(2 weeks)", "rate", "minute(s), hour(s) or day(s)"},
		"rate no unit":               {"rate(5)", "rate", "value unit"},
		"rate two spaces":            {"rate(5  minutes)", "rate", "one space"},
		"rate no space":              {"rate(5minutes)", "rate", "value unit"},
		"rate extra word":            {"rate(5 minutes now)", "rate", "one space"},
		"rate overflow":              {"rate(999999999999999999 days)", "rate", "too large"},
		"rate too many digits":       {"rate(9999999999999999999999 minutes)", "rate", "too large"},
		"five fields":                {"cron(0 10 * * ?)", "", "5 fields; want 6"},
		"seven fields":               {"cron(0 0 10 * * ? *)", "", "7 fields; want 6"},
		"minute 60":                  {"cron(60 10 * * ? *)", "minutes", "out of range (want 0-59)"},
		"hour 24":                    {"cron(0 24 * * ? *)", "hours", "out of range (want 0-23)"},
		"dom 0":                      {"cron(0 0 0 * ? *)", "day-of-month", "out of range (want 1-31)"},
		"dom 32":                     {"cron(0 0 32 * ? *)", "day-of-month", "out of range"},
		"month 13":                   {"cron(0 0 1 13 ? *)", "month", "out of range (want 1-12 or JAN-DEC)"},
		"month name":                 {"cron(0 0 1 JANUARY ? *)", "month", "not a valid value"},
		"dow 0 (unix sunday)":        {"cron(0 0 ? * 0 *)", "day-of-week", "out of range (want 1-7 or SUN-SAT)"},
		"dow 8":                      {"cron(0 0 ? * 8 *)", "day-of-week", "out of range"},
		"year 1969":                  {"cron(0 0 1 1 ? 1969)", "year", "out of range (want 1970-2199)"},
		"year 2200":                  {"cron(0 0 1 1 ? 2200)", "year", "out of range"},
		"year reversed":              {"cron(0 0 1 1 ? 2030-2025)", "year", "reversed"},
		"both star":                  {"cron(0 10 * * * *)", "day-of-week", "must be ? because day-of-month is *"},
		"star dow without ?":         {"cron(0 10 1 * * *)", "day-of-month", "must be ? because day-of-week is *"},
		"both ?":                     {"cron(0 10 ? * ? *)", "", "both ?"},
		"both set":                   {"cron(0 10 1 * MON *)", "", "exactly one of them must be ?"},
		"? in a list":                {"cron(0 10 ?,1 * ? *)", "day-of-month", "? must be the whole field"},
		"? in hours":                 {"cron(0 ? * * ? *)", "hours", "only in day-of-month and day-of-week"},
		"slash in dow":               {"cron(0 10 ? * MON/2 *)", "day-of-week", "/ (increment) is not allowed"},
		"two #":                      {"cron(0 10 ? * 3#2,5#1 *)", "day-of-week", "only one # is allowed"},
		"# in a list":                {"cron(0 10 ? * 3#2,5 *)", "day-of-week", "must be the whole field"},
		"# sixth":                    {"cron(0 10 ? * 3#6 *)", "day-of-week", "must be 1-5"},
		"# zeroth":                   {"cron(0 10 ? * 3#0 *)", "day-of-week", "must be 1-5"},
		"# bad day":                  {"cron(0 10 ? * 8#1 *)", "day-of-week", "before #"},
		"# in dom":                   {"cron(0 10 3#2 * ? *)", "day-of-month", "# only in day-of-week"},
		"L in a dom list":            {"cron(0 10 L,15 * ? *)", "day-of-month", "must each be the whole field"},
		"L offset":                   {"cron(0 10 L-2 * ? *)", "day-of-month", "must each be the whole field"},
		"W range":                    {"cron(0 10 1-5W * ? *)", "day-of-month", "must each be the whole field"},
		"W alone":                    {"cron(0 10 W * ? *)", "day-of-month", "must each be the whole field"},
		"W day 32":                   {"cron(0 10 32W * ? *)", "day-of-month", "out of range 1-31"},
		"W day 0":                    {"cron(0 10 0W * ? *)", "day-of-month", "out of range 1-31"},
		"nL in a dow list":           {"cron(0 10 ? * 6L,2 *)", "day-of-week", "must each be the whole field"},
		"nL bad day":                 {"cron(0 10 ? * 9L *)", "day-of-week", "before L"},
		"W in dow":                   {"cron(0 10 ? * 2W *)", "day-of-week", "L and W are allowed only"},
		"L in minutes":               {"cron(L 10 * * ? *)", "minutes", "L and W are allowed only"},
		"L in year":                  {"cron(0 10 * * ? L)", "year", "L and W are allowed only"},
		"zero increment":             {"cron(0/0 10 * * ? *)", "minutes", "increment must be 1-60"},
		"increment too large":        {"cron(0/61 10 * * ? *)", "minutes", "increment must be 1-60"},
		"increment not a number":     {"cron(0/x 10 * * ? *)", "minutes", "positive integer"},
		"empty list item":            {"cron(0 10 1,,2 * ? *)", "day-of-month", "empty value"},
		"range without end":          {"cron(0 10- * * ? *)", "hours", "missing value"},
		"letters":                    {"cron(a 10 * * ? *)", "minutes", "not a valid value"},
		"negative":                   {"cron(-1 10 * * ? *)", "minutes", "missing value"},
		"plus sign":                  {"cron(+1 10 * * ? *)", "minutes", "not a valid value"},
		"unix seconds field (7)":     {"cron(0 0 10 * * ? 2024)", "", "want 6"},
		"seconds in minute position": {"cron(0 0 10 * ? * *)", "", "want 6"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tc.expr, s)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if e.Expr != tc.expr {
				t.Errorf("Expr = %q, want %q", e.Expr, tc.expr)
			}
			if e.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (error: %v)", e.Field, tc.wantField, err)
			}
			if !strings.Contains(e.Reason, tc.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q", e.Reason, tc.wantReason)
			}
			if tc.wantField != "" && !strings.Contains(err.Error(), tc.wantField+": ") {
				t.Errorf("Error() = %q does not name the field %q", err.Error(), tc.wantField)
			}
		})
	}
}

func TestZeroScheduleNeverFires(t *testing.T) {
	t.Parallel()
	var s Schedule
	if got := s.Next(time.Now()); !got.IsZero() {
		t.Errorf("Next = %v, want the zero time", got)
	}
}

func TestParseInZoneNilIsUTC(t *testing.T) {
	t.Parallel()
	s, err := ParseInZone("cron(0 10 * * ? *)", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Next = %v, want %v in UTC", got, want)
	}
}
