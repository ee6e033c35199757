package schedule

import "time"

// next returns the first fire time strictly after after, or the zero time.
//
// It walks candidate wall-clock times of loc (year, month, day, hour,
// minute, each from its bitset) in increasing order, starting at the minute
// of after's own wall clock, and returns the first whose instant is after
// after. A candidate's instant is its first occurrence (see instant), and
// first occurrences increase with the wall clock, so no candidate before
// after's wall-clock minute can qualify; in the hour repeated when clocks go
// back, candidates at or after that minute may still lie before after, and
// are passed over.
func (c *cronSpec) next(after time.Time, loc *time.Location) time.Time {
	w := after.In(loc)
	fy, fm, fd := w.Date()
	fh, fmin := w.Hour(), w.Minute()
	if fy < minYear {
		fy, fm, fd, fh, fmin = minYear, time.January, 1, 0, 0
	}
	for y := fy; y <= maxYear; y++ {
		if !c.year.has(y - minYear) {
			continue
		}
		for m := time.January; m <= time.December; m++ {
			if !c.month.has(int(m)) || y == fy && m < fm {
				continue
			}
			sameMonth := y == fy && m == fm
			days := c.days(y, m)
			for d := 1; d <= 31; d++ {
				if days&(1<<d) == 0 || sameMonth && d < fd {
					continue
				}
				sameDay := sameMonth && d == fd
				for h := 0; h < 24; h++ {
					if !c.hour.has(h) || sameDay && h < fh {
						continue
					}
					sameHour := sameDay && h == fh
					for mi := 0; mi < 60; mi++ {
						if !c.minute.has(mi) || sameHour && mi < fmin {
							continue
						}
						if t, ok := instant(y, m, d, h, mi, loc); ok && t.After(after) {
							return t
						}
					}
				}
			}
		}
	}
	return time.Time{}
}

// days returns the days of month m of year y that the expression selects, as
// a bitmask (bit d is day d).
func (c *cronSpec) days(y int, m time.Month) uint64 {
	last := daysIn(y, m)
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
	weekday := func(d int) time.Weekday { return (first + time.Weekday(d-1)) % 7 }
	var out uint64
	switch c.rule {
	case byDOM:
		for d := 1; d <= last; d++ {
			if c.dom.has(d) {
				out |= 1 << d
			}
		}
	case byLastDay:
		out = 1 << last
	case byLastWeekday:
		out = 1 << nearestWeekday(last, last, weekday(last))
	case byNearestWeekday:
		if c.dayN <= last {
			out = 1 << nearestWeekday(c.dayN, last, weekday(c.dayN))
		}
	case byDOW:
		for d := 1; d <= last; d++ {
			if c.dow.has(int(weekday(d))) {
				out |= 1 << d
			}
		}
	case byLastDOW:
		d := last - int((weekday(last)-time.Weekday(c.dayN)+7)%7)
		out = 1 << d
	case byNthDOW:
		d := 1 + int((time.Weekday(c.dayN)-first+7)%7) + 7*(c.dayK-1)
		if d <= last {
			out = 1 << d
		}
	}
	return out
}

// nearestWeekday returns the Monday-to-Friday day nearest to day d (whose
// weekday is wd) without leaving a month of last days: Saturday moves back
// to Friday unless that is in the previous month (the 1st moves on to
// Monday the 3rd), Sunday moves on to Monday unless that is in the next
// month (the last day moves back to Friday).
func nearestWeekday(d, last int, wd time.Weekday) int {
	switch wd {
	case time.Saturday:
		if d == 1 {
			return 3
		}
		return d - 1
	case time.Sunday:
		if d == last {
			return d - 2
		}
		return d + 1
	}
	return d
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// instant returns the first instant at which loc's wall clock reads
// y-m-d h:minute, and false if the clock never reads that (it falls in a gap
// when clocks go forward). When clocks go back the reading occurs twice and
// the earlier instant is returned, so such a time fires once.
func instant(y int, m time.Month, d, h, minute int, loc *time.Location) (time.Time, bool) {
	t := time.Date(y, m, d, h, minute, 0, 0, loc)
	if !sameWall(t, y, m, d, h, minute) {
		return time.Time{}, false // time.Date normalised a nonexistent time
	}
	if loc == time.UTC {
		return t, true
	}
	// time.Date may pick either occurrence of an ambiguous time. If the zone
	// period before t's had a larger offset, the same reading may also have
	// occurred in it, earlier.
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t, true
	}
	_, off := t.Zone()
	_, prevOff := start.Add(-time.Nanosecond).Zone()
	if prevOff > off {
		e := t.Add(-time.Duration(prevOff-off) * time.Second)
		if e.Before(start) && sameWall(e, y, m, d, h, minute) {
			return e, true
		}
	}
	return t, true
}

func sameWall(t time.Time, y int, m time.Month, d, h, minute int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d && t.Hour() == h && t.Minute() == minute && t.Second() == 0
}
