package schedule

import (
	"math/rand/v2"
	"testing"
	"time"
)

var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"}

// FuzzSchedule checks that Parse never panics and, for every expression it
// accepts, that Next is strictly increasing (Next(t) > t and
// Next(Next(t)) > Next(t)), that cron fire times are whole minutes matching
// the expression, and that no matching minute between t and Next(t) (within
// three days) was skipped. Matching is re-derived by naiveMatch, which
// checks each minute against the rules' definitions instead of walking them.
func FuzzSchedule(f *testing.F) {
	seeds := []string{
		"rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(3 days)",
		"cron(0 10 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)",
		"cron(15 12 L * ? *)", "cron(0 9 15W * ? *)", "cron(0 9 LW * ? *)", "cron(0 9 1W * ? *)",
		"cron(0 9 31W * ? *)", "cron(0 9 ? * 6L *)", "cron(0 9 ? * 3#2 *)", "cron(0 9 ? * 2#5 *)",
		"cron(0 0 29 2 ? *)", "cron(0 0 1 1 ? 2199)", "cron(30 2 * * ? *)", "cron(0/30 1 * * ? *)",
		"cron(* * * * ? *)", "cron(0 22-2 ? * FRI-MON *)", "cron(0 0 30 2 ? *)", "cron(0 0 1 1 ? 1970-1972/2)",
		"cron(0 10 * * * *)", "cron(0 10 ? * 3#2,5#1 *)", "rate(1 minutes)", "cron(", "rate()", "",
	}
	for i, s := range seeds {
		f.Add(s, int64(1700000000+i*7919), uint8(i))
	}
	locs := make([]*time.Location, len(fuzzZones))
	for i, name := range fuzzZones {
		locs[i] = loadLocation(f, name)
	}
	f.Fuzz(func(t *testing.T, expr string, sec int64, zone uint8) {
		loc := locs[int(zone)%len(locs)]
		s, err := ParseInZone(expr, loc)
		if err != nil {
			return
		}
		// Reference times from 1960 to 2210, to cross both year bounds.
		const lo, hi = -315619200, 7605360000
		checkNext(t, s, time.Unix(lo+mod(sec, hi-lo), mod(sec, 1e9)))
	})
}

// TestNextBruteForce runs the fuzz test's checks over fixed expressions,
// zones and pseudo-random reference times, including times around DST
// changes.
func TestNextBruteForce(t *testing.T) {
	t.Parallel()
	exprs := []string{
		"cron(0 10 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)",
		"cron(15 12 L * ? *)", "cron(0 9 15W * ? *)", "cron(0 9 LW * ? *)", "cron(0 9 1W * ? *)",
		"cron(0 9 31W * ? *)", "cron(0 9 ? * 6L *)", "cron(0 9 ? * 3#2 *)", "cron(0 9 ? * 2#5 *)",
		"cron(0 9 ? * L *)", "cron(0 0 29 2 ? *)", "cron(30 2 * * ? *)", "cron(0/15 1-3 * * ? *)",
		"cron(45 1 ? * SUN *)", "cron(0 22-2 ? * FRI-MON *)", "cron(7 */7 1/3 * ? *)", "cron(0 0 L 2 ? 2096-2104)",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range fuzzZones {
		loc := loadLocation(t, name)
		var times []time.Time
		for range 20 {
			times = append(times, time.Unix(1577836800+rng.Int64N(315360000), rng.Int64N(1e9)))
		}
		// Around the 2024 changes of the zones with DST.
		for _, u := range []int64{1710050400, 1730613600, 1711846800, 1729990800, 1712419200, 1728144000} {
			for k := int64(-4); k <= 4; k++ {
				times = append(times, time.Unix(u+k*1800+rng.Int64N(60), 0))
			}
		}
		for _, expr := range exprs {
			s, err := ParseInZone(expr, loc)
			if err != nil {
				t.Fatal(err)
			}
			for _, from := range times {
				checkNext(t, s, from)
			}
		}
	}
}

// checkNext checks Next(from) and Next(Next(from)) against the properties in
// FuzzSchedule's comment.
func checkNext(t *testing.T, s *Schedule, from time.Time) {
	t.Helper()
	n1 := s.Next(from)
	if n1.IsZero() {
		if s.cron == nil {
			t.Fatalf("%s: Next(%v) is zero for a rate", s, from)
		}
	} else if !n1.After(from) {
		t.Fatalf("%s: Next(%v) = %v, not after", s, from, n1)
	}
	if !n1.IsZero() {
		if n2 := s.Next(n1); !n2.IsZero() && !n2.After(n1) {
			t.Fatalf("%s: Next(%v) = %v, not after", s, n1, n2)
		}
	}
	if s.cron == nil {
		return
	}
	loc := s.loc
	if !n1.IsZero() && (n1.Nanosecond() != 0 || n1.Unix()%60 != 0 || !naiveMatch(s.cron, loc, n1)) {
		t.Fatalf("%s in %s: Next(%v) = %v does not match", s, loc, from, n1)
	}
	// No matching minute was skipped (brute force, bounded).
	end := from.Add(72 * time.Hour)
	if !n1.IsZero() && n1.Before(end) {
		end = n1
	}
	for u := from.Truncate(time.Minute).Add(time.Minute); u.Before(end); u = u.Add(time.Minute) {
		if naiveMatch(s.cron, loc, u) {
			t.Fatalf("%s in %s: Next(%v) = %v skips %v", s, loc, from, n1, u)
		}
	}
}

func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// naiveMatch reports whether the instant u fires c in loc: its wall clock
// matches every field and u is the first instant with that wall clock.
func naiveMatch(c *cronSpec, loc *time.Location, u time.Time) bool {
	w := u.In(loc)
	y, m, d := w.Date()
	if y < minYear || y > maxYear || !c.year.has(y-minYear) || !c.month.has(int(m)) ||
		!c.hour.has(w.Hour()) || !c.minute.has(w.Minute()) || !naiveDay(c, w) {
		return false
	}
	// An earlier instant with the same wall clock (within a few hours,
	// longer than any DST shift) means u is a repeat.
	for k := 1; k <= 16; k++ {
		v := u.Add(-time.Duration(k) * 15 * time.Minute).In(loc)
		vy, vm, vd := v.Date()
		if vy == y && vm == m && vd == d && v.Hour() == w.Hour() && v.Minute() == w.Minute() {
			return false
		}
	}
	return true
}

// naiveDay re-derives the day rules from their definitions.
func naiveDay(c *cronSpec, w time.Time) bool {
	y, m, d := w.Date()
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	wd := w.Weekday()
	isWeekday := func(day int) bool {
		x := time.Date(y, m, day, 0, 0, 0, 0, time.UTC).Weekday()
		return x != time.Saturday && x != time.Sunday
	}
	switch c.rule {
	case byDOM:
		return c.dom.has(d)
	case byLastDay:
		return d == last
	case byLastWeekday:
		if !isWeekday(d) {
			return false
		}
		for x := d + 1; x <= last; x++ {
			if isWeekday(x) {
				return false
			}
		}
		return true
	case byNearestWeekday:
		// The weekday of the month closest to dayN (never a tie).
		if c.dayN > last || !isWeekday(d) {
			return false
		}
		dist := func(x int) int { return max(x-c.dayN, c.dayN-x) }
		for x := 1; x <= last; x++ {
			if isWeekday(x) && dist(x) < dist(d) {
				return false
			}
		}
		return true
	case byDOW:
		return c.dow.has(int(wd))
	case byLastDOW:
		return int(wd) == c.dayN && d+7 > last
	case byNthDOW:
		return int(wd) == c.dayN && (d-1)/7+1 == c.dayK
	}
	return false
}
