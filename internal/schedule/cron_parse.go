package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The year field's bounds, as AWS documents them.
const (
	minYear = 1970
	maxYear = 2199
)

// bitset holds the values of one cron field: bit i is the value base+i,
// where base is the field's base (1970 for years, 0 otherwise).
type bitset [4]uint64

func (b *bitset) set(i int) { b[i>>6] |= 1 << (i & 63) }

func (b *bitset) has(i int) bool { return i >= 0 && i < 256 && b[i>>6]&(1<<(i&63)) != 0 }

// dayRule says how a cron expression picks days: by day-of-month (when
// day-of-week is ?) or by day-of-week (when day-of-month is ?).
type dayRule uint8

const (
	byDOM            dayRule = iota // day-of-month values in cronSpec.dom
	byLastDay                       // L
	byLastWeekday                   // LW
	byNearestWeekday                // nW, n in cronSpec.dayN
	byDOW                           // weekdays in cronSpec.dow (bit = time.Weekday)
	byLastDOW                       // nL, weekday in cronSpec.dayN
	byNthDOW                        // n#k, weekday in cronSpec.dayN, k in cronSpec.dayK
)

// cronSpec is a parsed cron(...) expression.
type cronSpec struct {
	minute, hour, month, year bitset
	rule                      dayRule
	dom, dow                  bitset
	dayN, dayK                int
}

// field describes one cron field's values and allowed syntax.
type field struct {
	name     string
	min, max int
	base     int            // value of bit 0 in the field's bitset
	names    map[string]int // upper-case names, e.g. JAN or MON
	step     bool           // "/" allowed
	wrap     bool           // a-b with a > b wraps around past max
	valid    string         // the valid values, for messages
}

var (
	minutesField = field{name: "minutes", min: 0, max: 59, step: true, wrap: true, valid: "0-59"}
	hoursField   = field{name: "hours", min: 0, max: 23, step: true, wrap: true, valid: "0-23"}
	domField     = field{name: "day-of-month", min: 1, max: 31, step: true, wrap: true, valid: "1-31"}
	monthField   = field{name: "month", min: 1, max: 12, step: true, wrap: true, valid: "1-12 or JAN-DEC",
		names: map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
			"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}}
	// Day-of-week 1-7 is SUN-SAT (Quartz); AWS lists no "/" for this field.
	dowField = field{name: "day-of-week", min: 1, max: 7, wrap: true, valid: "1-7 or SUN-SAT",
		names: map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}}
	yearField = field{name: "year", min: minYear, max: maxYear, base: minYear, step: true, valid: "1970-2199"}
)

// parseCron parses the inside of cron(...). On error it also returns the
// name of the offending field ("" for the expression as a whole).
func parseCron(body string) (*cronSpec, string, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, "", fmt.Errorf("cron has %d fields; want 6: minutes hours day-of-month month day-of-week year", len(f))
	}
	c := &cronSpec{}
	var err error
	if c.minute, err = minutesField.parse(f[0]); err != nil {
		return nil, minutesField.name, err
	}
	if c.hour, err = hoursField.parse(f[1]); err != nil {
		return nil, hoursField.name, err
	}
	if c.month, err = monthField.parse(f[3]); err != nil {
		return nil, monthField.name, err
	}
	if c.year, err = yearField.parse(f[5]); err != nil {
		return nil, yearField.name, err
	}
	dom, dow := f[2], f[4]
	switch {
	case dom == "?" && dow == "?":
		return nil, "", errors.New("day-of-month and day-of-week are both ?; exactly one of them must be ?")
	case dom != "?" && dow != "?":
		switch {
		case dom == "*":
			return nil, dowField.name, errors.New("must be ? because day-of-month is *")
		case dow == "*":
			return nil, domField.name, errors.New("must be ? because day-of-week is *")
		}
		return nil, "", errors.New("day-of-month and day-of-week are both set; exactly one of them must be ?")
	case dow == "?":
		if err := c.parseDOM(dom); err != nil {
			return nil, domField.name, err
		}
	default:
		if err := c.parseDOW(dow); err != nil {
			return nil, dowField.name, err
		}
	}
	return c, "", nil
}

// parseDOM parses a day-of-month field other than ?.
func (c *cronSpec) parseDOM(s string) error {
	u := strings.ToUpper(s)
	if !strings.ContainsAny(u, "LW") {
		c.rule = byDOM
		var err error
		c.dom, err = domField.parse(s)
		return err
	}
	switch {
	case u == "L":
		c.rule = byLastDay
	case u == "LW":
		c.rule = byLastWeekday
	case strings.HasSuffix(u, "W") && allDigits(u[:len(u)-1]) && len(u) <= 4:
		n, _ := strconv.Atoi(u[:len(u)-1])
		if n < domField.min || n > domField.max {
			return fmt.Errorf("day %d in %q is out of range 1-31", n, s)
		}
		c.rule, c.dayN = byNearestWeekday, n
	default:
		return fmt.Errorf("%q: L, LW and nW (e.g. 15W) must each be the whole field, without lists, ranges, increments or offsets", s)
	}
	return nil
}

// parseDOW parses a day-of-week field other than ?.
func (c *cronSpec) parseDOW(s string) error {
	u := strings.ToUpper(s)
	switch {
	case strings.Count(u, "#") > 1:
		return fmt.Errorf("%q: only one # is allowed per field", s)
	case strings.Contains(u, "#"):
		if strings.Contains(u, ",") {
			return fmt.Errorf("%q: a # expression must be the whole field", s)
		}
		day, nth, _ := strings.Cut(u, "#")
		n, err := dowField.value(day)
		if err != nil {
			return fmt.Errorf("before # in %q: %w", s, err)
		}
		if len(nth) != 1 || nth[0] < '1' || nth[0] > '5' {
			return fmt.Errorf("after # in %q: the occurrence must be 1-5", s)
		}
		c.rule, c.dayN, c.dayK = byNthDOW, n-1, int(nth[0]-'0')
	case u == "L":
		// L alone is the last day of the week: every Saturday (Quartz).
		c.rule = byDOW
		c.dow.set(int(time.Saturday))
	case strings.Contains(u, "L"): // no day name contains an L
		if !strings.HasSuffix(u, "L") || strings.ContainsAny(u, ",-/*") {
			return fmt.Errorf("%q: L and nL (e.g. 6L, the last Friday) must each be the whole field", s)
		}
		n, err := dowField.value(u[:len(u)-1])
		if err != nil {
			return fmt.Errorf("before L in %q: %w", s, err)
		}
		c.rule, c.dayN = byLastDOW, n-1
	default:
		days, err := dowField.parse(s)
		if err != nil {
			return err
		}
		c.rule = byDOW
		for v := dowField.min; v <= dowField.max; v++ {
			if days.has(v) {
				c.dow.set(v - 1) // 1 = SUN = time.Sunday (0)
			}
		}
	}
	return nil
}

// parse parses a comma-separated list of *, n, a-b, */s, a/s and a-b/s.
func (f *field) parse(s string) (bitset, error) {
	var b bitset
	for _, item := range strings.Split(s, ",") {
		if err := f.parseItem(item, &b); err != nil {
			return bitset{}, err
		}
	}
	return b, nil
}

func (f *field) parseItem(item string, b *bitset) error {
	if item == "" {
		return errors.New("empty value in list")
	}
	span := f.max - f.min + 1
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		if !f.step {
			return fmt.Errorf("%q: / (increment) is not allowed in this field", item)
		}
		if !allDigits(stepText) || len(stepText) > 4 {
			return fmt.Errorf("%q: the increment must be a positive integer", item)
		}
		step, _ = strconv.Atoi(stepText)
		if step < 1 || step > span {
			return fmt.Errorf("%q: the increment must be 1-%d", item, span)
		}
	}
	var lo, hi int
	switch {
	case rng == "*":
		lo, hi = f.min, f.max
	case rng == "?":
		if f.name == domField.name || f.name == dowField.name {
			return errors.New("? must be the whole field")
		}
		return errors.New("? is allowed only in day-of-month and day-of-week")
	default:
		first, last, isRange := strings.Cut(rng, "-")
		var err error
		if lo, err = f.value(first); err != nil {
			return err
		}
		switch {
		case isRange:
			if hi, err = f.value(last); err != nil {
				return err
			}
			if lo > hi && !f.wrap {
				return fmt.Errorf("range %q is reversed", rng)
			}
		case hasStep:
			hi = f.max // a/s runs to the end of the field
		default:
			hi = lo
		}
	}
	n := hi - lo // distance from lo to hi, wrapping past max
	if n < 0 {
		n += span
	}
	for i := 0; i <= n; i += step {
		v := f.min + (lo-f.min+i)%span
		b.set(v - f.base)
	}
	return nil
}

// value parses one number or name of the field.
func (f *field) value(tok string) (int, error) {
	if v, ok := f.names[strings.ToUpper(tok)]; ok {
		return v, nil
	}
	if !allDigits(tok) || len(tok) > 4 {
		switch {
		case tok == "":
			return 0, fmt.Errorf("missing value (want %s)", f.valid)
		case misplacedSpecial(tok):
			return 0, fmt.Errorf("%q is not valid here: L and W are allowed only in day-of-month and day-of-week, # only in day-of-week", tok)
		}
		return 0, fmt.Errorf("%q is not a valid value (want %s)", tok, f.valid)
	}
	v, _ := strconv.Atoi(tok)
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("value %d is out of range (want %s)", v, f.valid)
	}
	return v, nil
}

// misplacedSpecial reports whether tok looks like an L, W or # form, which
// value (used for the plain fields) does not accept.
func misplacedSpecial(tok string) bool {
	u := strings.ToUpper(tok)
	if u == "L" || u == "LW" || strings.Contains(u, "#") {
		return true
	}
	return len(u) > 1 && (u[len(u)-1] == 'L' || u[len(u)-1] == 'W') && allDigits(u[:len(u)-1])
}
