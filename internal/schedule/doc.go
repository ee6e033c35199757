// Package schedule parses EventBridge ScheduleExpressions and computes their
// fire times.
//
// It accepts the two recurring forms of EventBridge rules (PutRule) and
// EventBridge Scheduler (CreateSchedule):
//
//   - rate(N unit): unit is minute, minutes, hour, hours, day or days; the
//     singular is required when N is 1 and forbidden otherwise, and N >= 1.
//     A day is 24 hours of elapsed time, not a calendar day, so a rate
//     ignores the time zone and daylight saving time (as EventBridge Scheduler
//     documents).
//   - cron(Minutes Hours Day-of-month Month Day-of-week Year): six fields
//     separated by white space, with the ranges and wildcards below.
//
// The cron fields:
//
//	Field         Values              Wildcards
//	Minutes       0-59                , - * /
//	Hours         0-23                , - * /
//	Day-of-month  1-31                , - * ? / L W
//	Month         1-12 or JAN-DEC     , - * /
//	Day-of-week   1-7 or SUN-SAT      , - * ? L #   (1 = SUN, 7 = SAT)
//	Year          1970-2199           , - * /
//
// The cron dialect is Quartz's, which AWS's is modelled on:
//
//   - a/b starts at a and steps by b up to the end of the field; */b starts at
//     the field's minimum; a-b/c steps through a range.
//   - A range whose start exceeds its end wraps around (hours 22-2 are
//     22, 23, 0, 1, 2; FRI-MON is Friday to Monday), except in the year field.
//   - Exactly one of day-of-month and day-of-week is ?, so a day is chosen by
//     one of them alone (there is no Unix-style OR of the two).
//   - Day-of-month L is the last day of the month, LW the last weekday
//     (Monday to Friday) of the month, and nW the weekday nearest to day n
//     without leaving the month (1W on a Saturday is Monday the 3rd; 31W on a
//     Sunday is Friday the 29th). nW does not fire in a month shorter than n
//     days, like a plain n.
//   - Day-of-week L alone is Saturday (the last day of the week); nL is the
//     last weekday n of the month (6L: the last Friday); n#k is the k-th
//     weekday n of the month (3#2: the second Tuesday), k being 1 to 5, and
//     does not fire in a month without a k-th such day.
//   - L, LW, nW, nL and n#k must each be the whole field, so a day-of-week
//     field has at most one # (Quartz likewise rejects L in lists and a
//     second #); ? must be the whole field.
//   - Names (JAN, MON, L, W) are case-insensitive; numbers may have leading
//     zeros.
//
// Fire times fall on whole minutes, so no expression fires more than once a
// minute.
//
// # Time zones
//
// Cron fields are matched against the wall clock of the schedule's location:
// UTC for Parse, as for EventBridge rules, or the location given to
// ParseInZone, as for EventBridge Scheduler's ScheduleExpressionTimezone.
// Across daylight saving time changes the rule is EventBridge Scheduler's:
//
//   - A wall-clock time that does not exist (it falls in the hour skipped when
//     clocks go forward) does not fire; the schedule moves on to its next
//     matching time that exists. cron(30 2 * * ? *) in America/New_York fires
//     on 9 March 2024 at 02:30 EST and next on 11 March at 02:30 EDT.
//   - A wall-clock time that occurs twice (in the hour repeated when clocks go
//     back) fires once, at its first occurrence.
//
// # Rate anchors
//
// A rate fires at start + k*interval for k = 0, 1, 2, ..., where start is the
// anchor: the rule's creation time for EventBridge rules ("a rate expression
// starts when you create the scheduled event rule") or the schedule's
// StartDate for EventBridge Scheduler (which fires at the StartDate itself).
// NextAfter(start, after) returns the first of these strictly after after,
// so it is start itself while after is before start, and a caller that does
// not want the anchor instant to fire passes after >= start:
// NextAfter(created, created) is one interval after creation. Keeping the
// anchor keeps the grid fixed however late the caller asks. Next(after) is
// NextAfter(after, after), one interval after its argument, which is right
// when after is the previous fire time and drifts when it is a late "now".
// For a cron, NextAfter(start, after) is the first matching time that is not
// before start and is strictly after after.
//
// # Why not a library
//
// github.com/hashicorp/cronexpr (the maintained fork of gorhill/cronexpr) was
// considered, as it knows L, W, # and a year field, and a translation layer
// could rewrite day-of-week 1-7 to its 0-6. It was not used because
// translation cannot fix the rest: its year field stops at 2099 (AWS allows
// 2199); Expression.Next writes to the shared Expression, so concurrent calls
// race (seen with go test -race); it fires a repeated wall-clock time twice
// when clocks go back (AWS fires it once); it accepts 5- and 7-field forms,
// @aliases, a bare 7 for Sunday, several # items and reversed ranges (which
// it turns into an empty set instead of wrapping), and it neither enforces
// the ? rule nor names the offending field in its errors. The matcher here
// is small: each field is a bitset and Next walks years, months, days, hours
// and minutes in wall-clock order.
package schedule
