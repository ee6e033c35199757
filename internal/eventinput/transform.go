package eventinput

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gantrybatch/gantry"
)

// Predefined variable names of the input transformer.
const (
	VarRuleArn       = "aws.events.rule-arn"
	VarRuleName      = "aws.events.rule-name"
	VarIngestionTime = "aws.events.event.ingestion-time"
	VarEvent         = "aws.events.event"
	VarEventJSON     = "aws.events.event.json"
)

// Context is what the predefined variables are made of.
type Context struct {
	RuleName string
	RuleArn  string
	// IngestionTime is when the event was received, ISO 8601 (for example
	// 2026-11-21T10:00:00Z); the event's own "time" if empty.
	IngestionTime string
}

// Error is an input that cannot be shaped (a bad JSONPath, an event that is
// not JSON). Retrying does not help: a dispatcher records it as undeliverable.
type Error struct{ Err error }

func (e *Error) Error() string { return "target input: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func inputErr(err error) error { return &Error{Err: err} }

// Render returns what target t receives for the event envelope: Input as
// written, the part of the event InputPath selects, the InputTransformer's
// filled template, or else the event itself.
func Render(t *gantry.Target, event []byte, c Context) ([]byte, error) {
	switch {
	case t.Input != "":
		return []byte(t.Input), nil
	case t.InputPath != "":
		return Select(event, t.InputPath)
	case t.InputTransformer != nil:
		return Transform(t.InputTransformer, event, c)
	default:
		return event, nil
	}
}

// Select returns the JSON text of what path selects in the JSON document
// doc, or null if it selects nothing.
func Select(doc []byte, path string) ([]byte, error) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, inputErr(err)
	}
	v, err := decode(doc)
	if err != nil {
		return nil, inputErr(fmt.Errorf("event: %w", err))
	}
	sel, _ := p.selectValue(v)
	return appendJSON(nil, sel), nil
}

// Transform fills the template of tr with the variables it extracts from
// the event (see the package documentation for the substitution rules).
func Transform(tr *gantry.InputTransformer, event []byte, c Context) ([]byte, error) {
	ev, err := decode(event)
	if err != nil {
		return nil, inputErr(fmt.Errorf("event: %w", err))
	}
	vars := make(map[string]any, len(tr.InputPathsMap)+5)
	defined := make(map[string]bool, len(tr.InputPathsMap)+5)
	for name, path := range tr.InputPathsMap {
		p, err := ParsePath(path)
		if err != nil {
			return nil, inputErr(fmt.Errorf("InputPathsMap %q: %w", name, err))
		}
		defined[name] = true
		if v, ok := p.selectValue(ev); ok {
			vars[name] = v
		}
	}
	// The predefined variables are reserved: they win over the map.
	for name, v := range predefined(ev, c) {
		defined[name] = true
		vars[name] = v
	}
	segs := parseTemplate(tr.InputTemplate, defined)
	out := fill(segs, vars, true)
	if json.Valid(out) {
		return out, nil
	}
	return fill(segs, vars, false), nil
}

func predefined(ev any, c Context) map[string]any {
	m := map[string]any{VarRuleArn: c.RuleArn, VarRuleName: c.RuleName, VarEventJSON: ev}
	ingestion := c.IngestionTime
	withoutDetail := ev
	if o, ok := ev.(*object); ok {
		if ingestion == "" {
			if t, ok := o.get("time"); ok {
				ingestion, _ = t.(string)
			}
		}
		cp := &object{}
		for i, k := range o.keys {
			if k != "detail" {
				cp.keys = append(cp.keys, k)
				cp.vals = append(cp.vals, o.vals[i])
			}
		}
		withoutDetail = cp
	}
	m[VarEvent] = withoutDetail
	m[VarIngestionTime] = ingestion
	return m
}

// segment is a run of template text, or a placeholder (name set).
type segment struct {
	text     string
	name     string
	inString bool // the placeholder sits inside a JSON string literal
}

// parseTemplate splits a template into literal text and the placeholders of
// defined variables, noting for each whether it sits inside a JSON string.
func parseTemplate(tmpl string, defined map[string]bool) []segment {
	var segs []segment
	var lit strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '<' {
			if j := strings.IndexByte(tmpl[i+1:], '>'); j > 0 {
				if name := tmpl[i+1 : i+1+j]; defined[name] {
					if lit.Len() > 0 {
						segs = append(segs, segment{text: lit.String()})
						lit.Reset()
					}
					segs = append(segs, segment{name: name, inString: inString})
					i += j + 1
					escaped = false
					continue
				}
			}
		}
		lit.WriteByte(c)
		switch {
		case !inString:
			inString = c == '"'
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inString = false
		}
	}
	if lit.Len() > 0 {
		segs = append(segs, segment{text: lit.String()})
	}
	return segs
}

// fill renders the segments; asJSON substitutes as in a JSON template,
// otherwise as in a plain-text one.
func fill(segs []segment, vars map[string]any, asJSON bool) []byte {
	var out []byte
	for _, s := range segs {
		if s.name == "" {
			out = append(out, s.text...)
			continue
		}
		v, ok := vars[s.name]
		switch {
		case !asJSON:
			if ok {
				out = append(out, stringForm(v)...)
			}
		case s.inString:
			if ok {
				out = appendEscaped(out, stringForm(v))
			}
		case ok:
			out = appendJSON(out, v)
		default:
			out = append(out, "null"...)
		}
	}
	return out
}

// IsError reports whether err is an input shaping error.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
