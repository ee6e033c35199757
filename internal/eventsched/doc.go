// Package eventsched fires the scheduled EventBridge rules (PutRule with a
// ScheduleExpression): each scheduled time of each ENABLED rule fires exactly
// once, across restarts and concurrent schedulers on the same database.
//
// # Durable position
//
// Every scheduled rule has a store.ScheduleState: NextFireAt, the next
// scheduled time that has not fired yet, LastFireAt, and the expression (and
// time zone) NextFireAt was computed for. A fire is one transaction that
//
//  1. re-reads the state and goes on only if NextFireAt is still the value
//     the scheduler read (a compare-and-swap: a second scheduler, or this
//     one restarted, that read the same NextFireAt loses and fires nothing);
//  2. re-reads the rule (still ENABLED, same expression) and its targets;
//  3. inserts one store.Delivery per target carrying the "Scheduled Event"
//     envelope (eventbus.NewDeliveries, EventID 0);
//  4. advances NextFireAt past now and sets LastFireAt to the fired time.
//
// The deliveries and the new position commit together, so a crash either
// loses the whole fire (it is redone from the unchanged state after the
// restart) or keeps all of it (the state has moved on and the deliveries are
// retried by the event bus until delivered): a scheduled time is never
// fired twice and never lost. After the commit the scheduler wakes the bus
// (Config.Notify).
//
// # First sight and changes
//
// When the scheduler first sees a scheduled rule, or its expression or time
// zone changed, it computes NextFireAt as the first scheduled time strictly
// after now and fires nothing. A rate(N unit) is anchored at the rule's
// creation time, as EventBridge documents ("a rate expression starts when
// you create the scheduled event rule"): rate(5 minutes) created at 10:02:30
// fires at 10:07:30, 10:12:30, ... A cron(...) fires at its matching wall
// clock times, in UTC or in Rule.ScheduleExpressionTimezone (see package
// schedule for the dialect and daylight saving time).
//
// A DISABLED rule does not fire; its state is forgotten, so that when it is
// enabled again it starts from the first scheduled time after it is seen
// enabled and does not catch up on the times it missed while disabled.
//
// # Missed fires (the catch-up policy)
//
// When the scheduler finds NextFireAt in the past by more than one scheduled
// time (Gantry was down, or the machine slept), it fires ONCE, for the most
// recent scheduled time that is due, provided that time is no older than
// Config.CatchupWindow (default 24 hours); every older missed time is
// skipped and counted in a warning log line. If even the most recent one is
// older than the window, nothing fires. This is the catch-up of systemd's
// Persistent= timers and of a Kubernetes CronJob with a starting deadline:
// a long outage never floods the targets with a burst of stale fires, and a
// daily job missed during a maintenance window still runs once when Gantry
// is back. The 24 hour default matches EventBridge's default
// MaximumEventAgeInSeconds (86,400): a scheduled event is kept as long as
// EventBridge would keep retrying any event by default. The scheduled
// event's "time" is the scheduled time, not the time it was caught up, and
// so is the delivery's creation time, from which a target's
// RetryPolicy.MaximumEventAgeInSeconds counts: a target that only wants
// punctual events sets a small maximum age. Set CatchupWindow (the
// --schedule-catchup-window flag) to a minute to skip every fire missed by
// more than that.
//
// # Waking up
//
// The loop (Start) runs RunOnce, then sleeps until the earliest NextFireAt,
// a RulesChanged call (PutRule, EnableRule, DisableRule, DeleteRule,
// PutTargets), or Config.Rescan (default 30 seconds), whichever comes first;
// the rescan picks up changes made by another process on the same database.
package eventsched
