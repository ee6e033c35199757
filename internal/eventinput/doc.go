// Package eventinput shapes what an EventBridge rule target receives from an
// event: the whole event envelope by default, a constant (Input), a part of
// the event selected by a JSONPath (InputPath), or a template filled with
// values extracted from the event (InputTransformer). It is pure: no I/O, no
// clock.
//
// # JSONPath
//
// The subset EventBridge documents: "$" (the whole event), member access by
// dot ("$.detail.status", names may hold letters, digits, "-", "_", "/",
// ":", "@" and other characters except ".", "[", "]", quotes and spaces) or
// by bracket ("$['detail-type']", `$["a.b"]`), array indices ("$.resources[0]",
// negative indices count from the end) and wildcards ("$.detail.*",
// "$.resources[*]"). A path with a wildcard selects a JSON array of every
// match. Recursive descent ("..") and filters are not supported.
//
// # Input transformer
//
// Each InputPathsMap entry defines a variable from a JSONPath; the predefined
// variables are aws.events.rule-arn, aws.events.rule-name,
// aws.events.event.ingestion-time (ISO 8601), aws.events.event (the event
// without its "detail") and aws.events.event.json (the whole event). In the
// InputTemplate a placeholder <name> is replaced, following EventBridge:
//
//   - inside a JSON string ("state is <state>"): by the value's string form
//     (a string's characters, any other value's JSON text), escaped so the
//     string stays valid;
//   - outside quotes ({"state": <state>}): by the value as JSON;
//   - in a template that is not JSON at all (<instance> is in state <state>),
//     by the value's string form, unescaped: the template is a plain string
//     and is delivered as-is.
//
// A variable whose path selects nothing is null outside quotes and empty
// inside a string or a plain-text template (EventBridge leaves it out). Text
// between angle brackets that names no variable is left untouched.
package eventinput
