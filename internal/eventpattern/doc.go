// Package eventpattern implements the Amazon EventBridge event pattern
// language: it compiles patterns once and matches JSON events against them.
//
// A pattern mirrors the shape of the events it selects:
//
//	{
//	  "source": ["aws.batch"],
//	  "detail-type": ["Batch Job State Change"],
//	  "detail": {"status": ["FAILED", "SUCCEEDED"]}
//	}
//
// Every field named in a pattern must match (AND); fields the pattern does
// not name are ignored. A leaf is an array of alternatives (OR). When the
// event holds an array where the pattern has a leaf, the field matches if any
// element matches; when it holds an array of objects where the pattern has an
// object, the field matches if any one element matches the whole sub-pattern
// (so two fields are never satisfied by two different elements).
//
// Exact values are case- and type-sensitive: "5" never matches 5, while 5
// matches 5.0. [null] matches a JSON null and [""] an empty string; neither
// matches a missing field. The comparison operators, each a one-key object in
// a leaf array, are:
//
//	{"prefix": "us-"}                        strings that start with "us-"
//	{"prefix": {"equals-ignore-case": "us-"}} ... ignoring case
//	{"suffix": ".png"}                       (and the same ignore-case form)
//	{"equals-ignore-case": "alice"}
//	{"wildcard": "dir/*.png"}                * is any run, \* a star, \\ a backslash
//	{"numeric": [">", 0, "<=", 5]}           JSON numbers within ±5e9; "=", "<",
//	                                         "<=", ">", ">=", or a lower then an
//	                                         upper bound
//	{"cidr": "10.0.0.0/24"}                  IPv4 or IPv6 address strings
//	{"exists": true}                         any leaf value, null included
//	{"exists": false}                        the field is absent (or not a leaf)
//	{"anything-but": "x"}                    also 123, ["a", "b"], [1, 2], or one
//	                                         of {"prefix"|"suffix"|
//	                                         "equals-ignore-case"|"wildcard": v}
//	                                         with v a string or list of strings
//
// anything-but needs the field to be present and matches values of another
// type too ({"anything-but": "x"} matches 5 and null). String operators never
// match numbers, and numeric never matches strings. A "$or" key, at any object
// level, holds two or more alternative sub-patterns:
//
//	{"source": ["aws.batch"], "$or": [{"detail": {"status": ["FAILED"]}},
//	                                  {"detail-type": ["Batch Job Queue Blocked"]}]}
//
// Compile rejects what EventBridge rejects (a scalar where an array or object
// belongs, empty arrays and objects, unknown operators, malformed numeric
// ranges, "**" in a wildcard, ...) with an *Error naming the path and the rule
// broken; the API turns it into InvalidEventPatternException.
//
// Matching is done on a tree compiled with parsed operands; it uses no
// reflection and does not allocate. Match decodes a JSON event; MatchValue
// takes one already decoded by encoding/json, so a dispatcher decodes each
// event once and tests it against many patterns. A Set holds many patterns by
// id and narrows the candidates for an event with an index on exact string
// values before testing them.
//
// # Differences from EventBridge
//
// The documented behaviour is followed. Where EventBridge is undocumented or
// its engine (Event Ruler) is quirky, this package makes the plainer choice:
//
//   - Numbers are compared as float64 at full precision; EventBridge keeps 6
//     decimal places for numeric ranges and compares exact numbers outside
//     ±5e9 by their text (so it tells 1e10 from 10000000000; we do not).
//   - A key that appears twice in one pattern object is an error, except
//     "$or" (each occurrence is another group, all ANDed). Event Ruler lets
//     the last one win, and lets a field inside a $or branch override the
//     same field outside it; here both must match.
//   - "$or" must hold two or more objects. Event Ruler falls back to reading
//     other "$or" values as a field name.
//   - {"exists": false} is judged per array element, like every other test:
//     it matches {"a": [{"b": 1}, {"c": 2}]} for pattern {"a": {"b":
//     [{"exists": false}]}}, where Event Ruler looks for "a.b" anywhere.
//   - The operator "exactly", which Event Ruler has and the EventBridge
//     guide does not list, is rejected.
package eventpattern
