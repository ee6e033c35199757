// Package eventsapi serves the Amazon EventBridge API subset Gantry offers
// (issue 7): rules (PutRule, DescribeRule, ListRules, DeleteRule,
// EnableRule, DisableRule, ListRuleNamesByTarget), their targets
// (PutTargets, RemoveTargets, ListTargetsByRule), TestEventPattern,
// PutEvents, connections and API destinations (Create, Describe, Update,
// Delete, List; DeauthorizeConnection), tags on rules (TagResource,
// UntagResource, ListTagsForResource) and the default event bus
// (DescribeEventBus, ListEventBuses).
//
// The protocol is JSON 1.1: `POST /` with `X-Amz-Target: AWSEvents.<Op>`
// and a JSON body, answered with `Content-Type:
// application/x-amz-json-1.1`. Timestamps are epoch seconds. Errors are
// HTTP 400 with `{"__type": ..., "message": ...}` (ValidationException,
// ResourceNotFoundException, ResourceAlreadyExistsException,
// InvalidEventPatternException, LimitExceededException,
// UnknownOperationException); only real failures are 500
// (InternalException).
//
// Every write runs in one store transaction, so nothing is half-written;
// after it commits the handler calls Config.RulesChanged (rules, targets,
// connections, API destinations) or Config.EventsAdded (PutEvents) so the
// dispatcher can reload or wake. The handler itself delivers nothing:
// PutEvents appends to the outbox, and the dispatcher matches and delivers.
//
// # Gantry specifics
//
//   - There is one event bus, "default". EventBusName may name it or give
//     its ARN; any other bus is ResourceNotFoundException.
//   - Targets Gantry delivers to are AWS Batch job queues (with
//     BatchParameters), API destinations, and, as a Gantry extension, plain
//     http:// or https:// URLs (a webhook receiving the event, or the
//     target's transformed input, as a JSON POST). Other ARNs (Lambda, SQS,
//     SNS, ...) are refused as failed entries naming the supported kinds.
//   - PutRule accepts ScheduleExpressionTimezone (an IANA zone for cron()
//     expressions, as EventBridge Scheduler has). SDKs that do not know the
//     member can set the tag `gantry:ScheduleExpressionTimezone` instead.
//   - API destinations may use http:// endpoints on loopback hosts, for
//     local testing; AWS requires https.
//   - Connection secrets (passwords, API key values, client secrets, secret
//     parameter values) are stored for delivery and never returned.
//
// Routes adds two read-only JSON routes for the gantry CLI:
// `GET /gantry/v1/deliveries` (delivery history and dead-letter records)
// and `GET /gantry/v1/schedules` (scheduled rules and their next fire
// times).
package eventsapi
