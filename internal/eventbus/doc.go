// Package eventbus delivers events to the targets of EventBridge rules.
//
//	control.Transitioner ─┐   (same transaction as the job change)
//	PutEvents ────────────┴─► events (outbox) ──► dispatcher ──► deliveries ──► workers ──► targets
//	                                  cursor in meta "eventbus.cursor"   PENDING → DELIVERED | DEAD
//	schedules (eventsched) ─────────────────────────────────────┘
//
// The dispatcher reads the outbox after a durable cursor, renders each event
// as the AWS envelope, matches it against the compiled patterns of the
// enabled rules (internal/eventpattern) and, in the same transaction that
// advances the cursor, inserts one PENDING delivery per target of every
// matching rule. Each event is thus matched exactly once, and nothing that
// matched is lost. A rule created after an event was written does not match
// it, as on AWS.
//
// The delivery loop hands due PENDING deliveries to a pool of workers. A
// delivery that fails is retried with exponential backoff (RetryBase
// doubling, full jitter, capped by RetryMax) until the target's retry policy
// (MaximumRetryAttempts, MaximumEventAgeInSeconds; AWS's defaults 185 and
// 86,400 s) runs out, or at once when retrying cannot help; it is then DEAD,
// the dead-letter record. A crash in mid-delivery leaves the row PENDING, so
// it is delivered again after a restart: delivery is at-least-once. Batch
// targets submit with a job ID derived from the delivery, so a redelivery
// submits at most one job.
//
// Targets are chosen by ARN: a Batch job queue (SubmitJob with
// BatchParameters and the Parameters/ContainerOverrides of the target
// input), an EventBridge API destination (the connection's Basic, API key or
// OAuth client-credentials authorization, path/header/query parameters, the
// destination's invocation rate limit) or, as a Gantry extension, an http://
// or https:// URL (a webhook: the input is POSTed as JSON).
package eventbus
