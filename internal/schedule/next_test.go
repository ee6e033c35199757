package schedule

import (
	"testing"
	"time"
	_ "time/tzdata" // the zone tests must not depend on the machine's zoneinfo

	"github.com/google/go-cmp/cmp"
)

const layout = "2006-01-02 15:04:05 MST"

// at parses "2006-01-02 15:04[:05]" as a wall-clock time in loc.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04"} {
		if v, err := time.ParseInLocation(l, s, loc); err == nil {
			return v
		}
	}
	t.Fatalf("bad time %q", s)
	return time.Time{}
}

func loadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// format renders fire times with their zone abbreviation, so a test shows
// which side of a DST change a time is on; zero times render as "none".
func format(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, v := range ts {
		if v.IsZero() {
			out[i] = "none"
			continue
		}
		out[i] = v.Format(layout)
	}
	return out
}

// TestNextUTC follows successive fire times (Next of the previous result)
// from an injected reference time.
func TestNextUTC(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		expr  string
		after string
		want  []string
	}{
		"daily at 10": {
			"cron(0 10 * * ? *)", "2024-01-01 09:59:59.999",
			[]string{"2024-01-01 10:00:00 UTC", "2024-01-02 10:00:00 UTC"},
		},
		"strictly after": {
			"cron(0 10 * * ? *)", "2024-01-01 10:00",
			[]string{"2024-01-02 10:00:00 UTC"},
		},
		"weekdays at 18 skip the weekend": {
			"cron(0 18 ? * MON-FRI *)", "2024-01-05 18:00", // a Friday
			[]string{"2024-01-08 18:00:00 UTC", "2024-01-09 18:00:00 UTC"},
		},
		"every 5 minutes in business hours": {
			"cron(0/5 8-17 ? * MON-FRI *)", "2024-01-05 17:52",
			[]string{"2024-01-05 17:55:00 UTC", "2024-01-08 08:00:00 UTC", "2024-01-08 08:05:00 UTC"},
		},
		"every minute rounds up seconds": {
			"cron(* * * * ? *)", "2024-01-01 10:00:30",
			[]string{"2024-01-01 10:01:00 UTC", "2024-01-01 10:02:00 UTC"},
		},
		"a/b starts at a": {
			"cron(1/20 * * * ? *)", "2024-01-01 10:00",
			[]string{"2024-01-01 10:01:00 UTC", "2024-01-01 10:21:00 UTC", "2024-01-01 10:41:00 UTC", "2024-01-01 11:01:00 UTC"},
		},
		"last day of month in a leap year": {
			"cron(15 12 L * ? *)", "2024-01-31 12:15",
			[]string{"2024-02-29 12:15:00 UTC", "2024-03-31 12:15:00 UTC", "2024-04-30 12:15:00 UTC"},
		},
		"last day of february in a common year": {
			"cron(15 12 L * ? *)", "2023-02-01 00:00",
			[]string{"2023-02-28 12:15:00 UTC", "2023-03-31 12:15:00 UTC"},
		},
		"15W: Saturday moves to Friday, Sunday to Monday": {
			"cron(0 9 15W * ? *)", "2024-06-01 00:00", // 15 Jun is a Saturday, 15 Sep a Sunday
			[]string{"2024-06-14 09:00:00 UTC", "2024-07-15 09:00:00 UTC", "2024-08-15 09:00:00 UTC", "2024-09-16 09:00:00 UTC"},
		},
		"1W on a Saturday does not cross into the previous month": {
			"cron(0 9 1W * ? *)", "2024-05-31 00:00", // 1 Jun 2024 is a Saturday
			[]string{"2024-06-03 09:00:00 UTC", "2024-07-01 09:00:00 UTC"},
		},
		"31W on a Sunday does not cross into the next month, and skips short months": {
			"cron(0 9 31W * ? *)", "2024-03-01 00:00", // 31 Mar 2024 is a Sunday
			[]string{"2024-03-29 09:00:00 UTC", "2024-05-31 09:00:00 UTC", "2024-07-31 09:00:00 UTC"},
		},
		"LW: last weekday of the month": {
			"cron(0 9 LW * ? *)", "2024-02-01 00:00", // 29 Feb Thu, 31 Mar Sun, 30 Apr Tue, 31 May Fri, 30 Jun Sun
			[]string{"2024-02-29 09:00:00 UTC", "2024-03-29 09:00:00 UTC", "2024-04-30 09:00:00 UTC", "2024-05-31 09:00:00 UTC", "2024-06-28 09:00:00 UTC"},
		},
		"LW when the month ends on a Saturday": {
			"cron(0 9 LW * ? *)", "2024-08-01 00:00", // 31 Aug 2024 is a Saturday
			[]string{"2024-08-30 09:00:00 UTC"},
		},
		"6L: last Friday": {
			"cron(0 9 ? * 6L *)", "2024-01-01 00:00",
			[]string{"2024-01-26 09:00:00 UTC", "2024-02-23 09:00:00 UTC", "2024-03-29 09:00:00 UTC"},
		},
		"3#2: second Tuesday": {
			"cron(0 9 ? * 3#2 *)", "2024-01-01 00:00",
			[]string{"2024-01-09 09:00:00 UTC", "2024-02-13 09:00:00 UTC", "2024-03-12 09:00:00 UTC"},
		},
		"2#5: fifth Monday skips months without one": {
			"cron(0 9 ? * MON#5 *)", "2024-01-01 00:00",
			[]string{"2024-01-29 09:00:00 UTC", "2024-04-29 09:00:00 UTC", "2024-07-29 09:00:00 UTC", "2024-09-30 09:00:00 UTC"},
		},
		"L alone in day-of-week is every Saturday": {
			"cron(0 9 ? * L *)", "2024-01-01 00:00",
			[]string{"2024-01-06 09:00:00 UTC", "2024-01-13 09:00:00 UTC"},
		},
		"day-of-week 1 is Sunday and 7 Saturday": {
			"cron(0 9 ? * 1,7 *)", "2024-01-01 00:00",
			[]string{"2024-01-06 09:00:00 UTC", "2024-01-07 09:00:00 UTC", "2024-01-13 09:00:00 UTC"},
		},
		"Feb 29 only in leap years": {
			"cron(0 0 29 2 ? *)", "2024-03-01 00:00",
			[]string{"2028-02-29 00:00:00 UTC", "2032-02-29 00:00:00 UTC"},
		},
		"2100 is not a leap year": {
			"cron(0 0 29 2 ? 2096-2104)", "2096-03-01 00:00",
			[]string{"2104-02-29 00:00:00 UTC", "none"},
		},
		"31st skips 30-day months and February": {
			"cron(0 0 31 * ? *)", "2024-01-31 00:00",
			[]string{"2024-03-31 00:00:00 UTC", "2024-05-31 00:00:00 UTC", "2024-07-31 00:00:00 UTC"},
		},
		"30 February never fires": {
			"cron(0 0 30 2 ? *)", "2024-01-01 00:00",
			[]string{"none"},
		},
		"wrapping hour range": {
			"cron(0 22-1 * * ? *)", "2024-01-31 21:00",
			[]string{"2024-01-31 22:00:00 UTC", "2024-01-31 23:00:00 UTC", "2024-02-01 00:00:00 UTC", "2024-02-01 01:00:00 UTC", "2024-02-01 22:00:00 UTC"},
		},
		"wrapping day-of-week range": {
			"cron(0 9 ? * FRI-MON *)", "2024-01-05 00:00",
			[]string{"2024-01-05 09:00:00 UTC", "2024-01-06 09:00:00 UTC", "2024-01-07 09:00:00 UTC", "2024-01-08 09:00:00 UTC", "2024-01-12 09:00:00 UTC"},
		},
		"month names and year end": {
			"cron(0 0 1 JAN,JUL ? *)", "2024-07-01 00:00",
			[]string{"2025-01-01 00:00:00 UTC", "2025-07-01 00:00:00 UTC"},
		},
		"year step": {
			"cron(0 0 1 1 ? 2024/4)", "2024-06-01 00:00",
			[]string{"2028-01-01 00:00:00 UTC", "2032-01-01 00:00:00 UTC"},
		},
		"past year never fires": {
			"cron(0 0 1 1 ? 2020)", "2024-01-01 00:00",
			[]string{"none"},
		},
		"before 1970 starts at 1970": {
			"cron(0 0 1 1 ? *)", "1960-06-01 00:00",
			[]string{"1970-01-01 00:00:00 UTC", "1971-01-01 00:00:00 UTC"},
		},
		"last year is 2199": {
			"cron(0 0 31 12 ? *)", "2198-12-31 00:00",
			[]string{"2199-12-31 00:00:00 UTC", "none"},
		},
		"after 2199": {
			"cron(* * * * ? *)", "2200-01-01 00:00",
			[]string{"none"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]time.Time, 0, len(tc.want))
			prev := at(t, time.UTC, tc.after)
			for range tc.want {
				prev = s.Next(prev)
				got = append(got, prev)
				if prev.IsZero() {
					break
				}
			}
			if diff := cmp.Diff(tc.want, format(got)); diff != "" {
				t.Errorf("%s from %s (-want +got):\n%s", tc.expr, tc.after, diff)
			}
		})
	}
}

// TestNextInZone covers ParseInZone and daylight saving time: a wall-clock
// time skipped when clocks go forward does not fire, and one repeated when
// clocks go back fires once, at its first occurrence.
func TestNextInZone(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		zone  string
		expr  string
		after string // wall clock in zone
		want  []string
	}{
		"New York daily 09:00 keeps local time across spring forward": {
			"America/New_York", "cron(0 9 * * ? *)", "2024-03-09 00:00",
			[]string{"2024-03-09 09:00:00 EST", "2024-03-10 09:00:00 EDT", "2024-03-11 09:00:00 EDT"},
		},
		"New York 02:30 does not exist on 10 March 2024": {
			"America/New_York", "cron(30 2 * * ? *)", "2024-03-09 00:00",
			[]string{"2024-03-09 02:30:00 EST", "2024-03-11 02:30:00 EDT"},
		},
		"New York every 30 minutes across the gap": {
			"America/New_York", "cron(0/30 * * * ? *)", "2024-03-10 01:00",
			[]string{"2024-03-10 01:30:00 EST", "2024-03-10 03:00:00 EDT", "2024-03-10 03:30:00 EDT"},
		},
		"New York 01:30 occurs twice on 3 November 2024 and fires once": {
			"America/New_York", "cron(30 1 * * ? *)", "2024-11-02 12:00",
			[]string{"2024-11-03 01:30:00 EDT", "2024-11-04 01:30:00 EST"},
		},
		"New York every 30 minutes does not repeat the repeated hour": {
			"America/New_York", "cron(0/30 * * * ? *)", "2024-11-03 00:45",
			[]string{"2024-11-03 01:00:00 EDT", "2024-11-03 01:30:00 EDT", "2024-11-03 02:00:00 EST", "2024-11-03 02:30:00 EST"},
		},
		"Berlin 02:30 does not exist on 31 March 2024": {
			"Europe/Berlin", "cron(30 2 ? * SUN *)", "2024-03-30 00:00",
			[]string{"2024-04-07 02:30:00 CEST"},
		},
		"Berlin 02:30 on 27 October 2024 fires at its first occurrence": {
			"Europe/Berlin", "cron(30 2 27 10 ? 2024)", "2024-10-01 00:00",
			[]string{"2024-10-27 02:30:00 CEST", "none"},
		},
		"Lord Howe shifts by 30 minutes": {
			"Australia/Lord_Howe", "cron(15 2 * * ? *)", "2024-10-05 12:00", // 02:00 -> 02:30 on 6 Oct
			[]string{"2024-10-07 02:15:00 +11"},
		},
		"Lord Howe repeats 30 minutes and fires once": {
			"Australia/Lord_Howe", "cron(45 1 ? * SUN *)", "2024-04-06 12:00", // 02:00 +11 -> 01:30 +1030 on 7 Apr
			[]string{"2024-04-07 01:45:00 +11", "2024-04-14 01:45:00 +1030"},
		},
		"Sydney repeated 02:30 fires at its first occurrence": {
			"Australia/Sydney", "cron(30 2 7 4 ? 2024)", "2024-04-01 00:00",
			[]string{"2024-04-07 02:30:00 AEDT", "none"},
		},
		"Kolkata half-hour offset without DST": {
			"Asia/Kolkata", "cron(0 9 L * ? *)", "2024-01-31 09:00",
			[]string{"2024-02-29 09:00:00 IST"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			loc := loadLocation(t, tc.zone)
			s, err := ParseInZone(tc.expr, loc)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]time.Time, 0, len(tc.want))
			prev := at(t, loc, tc.after)
			for range tc.want {
				prev = s.Next(prev)
				got = append(got, prev)
				if prev.IsZero() {
					break
				}
			}
			if diff := cmp.Diff(tc.want, format(got)); diff != "" {
				t.Errorf("%s in %s from %s (-want +got):\n%s", tc.expr, tc.zone, tc.after, diff)
			}
		})
	}
}

// TestNextInRepeatedHour starts inside the second pass of a repeated hour:
// every wall-clock time left in it already fired in the first pass.
func TestNextInRepeatedHour(t *testing.T) {
	t.Parallel()
	ny := loadLocation(t, "America/New_York")
	s, err := ParseInZone("cron(0/15 * * * ? *)", ny)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Date(2024, 11, 3, 6, 10, 0, 0, time.UTC) // 01:10 EST, the second 01:10
	if got, want := s.Next(after).Format(layout), "2024-11-03 02:00:00 EST"; got != want {
		t.Errorf("Next(%v) = %s, want %s", after.In(ny), got, want)
	}
	first := time.Date(2024, 11, 3, 5, 10, 0, 0, time.UTC) // 01:10 EDT, the first 01:10
	if got, want := s.Next(first).Format(layout), "2024-11-03 01:15:00 EDT"; got != want {
		t.Errorf("Next(%v) = %s, want %s", first.In(ny), got, want)
	}
}

func TestRateNextAfter(t *testing.T) {
	t.Parallel()
	start := at(t, time.UTC, "2024-01-01 10:00:07.5")
	tests := map[string]struct {
		expr  string
		start time.Time
		after string
		want  string
	}{
		"before the anchor: the anchor":     {"rate(5 minutes)", start, "2024-01-01 09:00", "2024-01-01 10:00:07.5"},
		"at the anchor: one interval later": {"rate(5 minutes)", start, "2024-01-01 10:00:07.5", "2024-01-01 10:05:07.5"},
		"between fires: the next on grid":   {"rate(5 minutes)", start, "2024-01-01 10:12", "2024-01-01 10:15:07.5"},
		"on a fire: strictly after":         {"rate(5 minutes)", start, "2024-01-01 10:15:07.5", "2024-01-01 10:20:07.5"},
		"just before a fire":                {"rate(5 minutes)", start, "2024-01-01 10:15:07.4999", "2024-01-01 10:15:07.5"},
		"sub-second borrow":                 {"rate(1 minute)", start, "2024-01-01 10:01:07.1", "2024-01-01 10:01:07.5"},
		"hours":                             {"rate(1 hour)", start, "2024-01-02 00:00", "2024-01-02 00:00:07.5"},
		"days long after":                   {"rate(3 days)", start, "2030-06-01 00:00", "2030-06-01 10:00:07.5"},
		"beyond Duration's 292 years":       {"rate(1 day)", at(t, time.UTC, "1970-01-01 00:00"), "2400-03-01 12:00", "2400-03-02 00:00:00"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := s.NextAfter(tc.start, at(t, time.UTC, tc.after))
			if want := at(t, time.UTC, tc.want); !got.Equal(want) {
				t.Errorf("NextAfter(%v, %s) = %v, want %v", tc.start, tc.after, got, want)
			}
		})
	}
}

func TestRateNext(t *testing.T) {
	t.Parallel()
	s, err := Parse("rate(2 hours)")
	if err != nil {
		t.Fatal(err)
	}
	after := at(t, time.UTC, "2024-01-01 10:00:30")
	if got, want := s.Next(after), after.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
}

// TestRateIgnoresDST: a day is 24 hours of elapsed time, so across spring
// forward the wall clock of a daily rate moves by an hour.
func TestRateIgnoresDST(t *testing.T) {
	t.Parallel()
	ny := loadLocation(t, "America/New_York")
	s, err := ParseInZone("rate(1 day)", ny)
	if err != nil {
		t.Fatal(err)
	}
	start := at(t, ny, "2024-03-09 12:00")
	if got, want := s.NextAfter(start, start).Format(layout), "2024-03-10 13:00:00 EDT"; got != want {
		t.Errorf("NextAfter = %s, want %s", got, want)
	}
}

func TestCronNextAfter(t *testing.T) {
	t.Parallel()
	s, err := Parse("cron(0 10 * * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		start, after string
		want         string
	}{
		"a fire at the anchor counts":    {"2024-01-05 10:00", "2024-01-01 00:00", "2024-01-05 10:00"},
		"fires before the anchor do not": {"2024-01-05 10:00:01", "2024-01-01 00:00", "2024-01-06 10:00"},
		"after past the anchor wins":     {"2024-01-01 00:00", "2024-01-07 10:00", "2024-01-08 10:00"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := s.NextAfter(at(t, time.UTC, tc.start), at(t, time.UTC, tc.after))
			if want := at(t, time.UTC, tc.want); !got.Equal(want) {
				t.Errorf("NextAfter(%s, %s) = %v, want %v", tc.start, tc.after, got, want)
			}
		})
	}
}

// TestConcurrentNext runs Next from several goroutines on one Schedule (for
// the race detector: a Schedule is immutable).
func TestConcurrentNext(t *testing.T) {
	t.Parallel()
	s, err := Parse("cron(0 9 15W * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	from := at(t, time.UTC, "2024-01-01 00:00")
	want := s.Next(from)
	done := make(chan time.Time)
	for range 4 {
		go func() { done <- s.Next(from) }()
	}
	for range 4 {
		if got := <-done; !got.Equal(want) {
			t.Errorf("concurrent Next = %v, want %v", got, want)
		}
	}
}
