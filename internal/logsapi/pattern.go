package logsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// A pattern is a compiled CloudWatch Logs filter pattern, the subset
// FilterLogEvents supports:
//
//   - "" matches every event;
//   - terms separated by spaces must all occur in the message (AND,
//     case-sensitive substrings): `ERROR timeout`;
//   - a "double-quoted phrase" is one term, spaces and all; \" and \\
//     escape inside it;
//   - terms prefixed with ? are alternatives, at least one of which must
//     occur (OR): `?ERROR ?WARN`;
//   - a term prefixed with - must not occur: `ERROR -retrying`;
//   - a term between % signs is a regular expression: `%code [45]\d\d%`;
//   - a pattern in braces tests JSON messages: `{ $.level = "error" }`,
//     `{ $.latency > 3 }`, `{ $.user.id != 7 && ($.a = "x" || $.b = y*) }`,
//     with =, != (strings, with * as a wildcard, or numbers), <, <=, >, >=
//     (numbers), IS NULL, IS TRUE, IS FALSE and NOT EXISTS, property and
//     [index] selectors, && before ||, and parentheses. A comparison
//     with a missing property is false (for != too), and so is any JSON
//     pattern against a message that is not a JSON object.
//
// Space-delimited patterns ([ip, user, ...]) are not supported.
type pattern struct {
	all  []term // every one must occur
	some []term // when any, at least one must occur
	none []term // none may occur
	json jsonExpr
}

// term is one text term: a literal or a regular expression.
type term struct {
	text string
	re   *regexp.Regexp
}

func (t term) in(msg string) bool {
	if t.re != nil {
		return t.re.MatchString(msg)
	}
	return strings.Contains(msg, t.text)
}

// parsePattern compiles a filter pattern. Its errors are meant for the
// caller.
func parsePattern(s string) (*pattern, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "{"):
		expr, err := parseJSONPattern(s)
		if err != nil {
			return nil, err
		}
		return &pattern{json: expr}, nil
	case strings.HasPrefix(s, "["):
		return nil, errors.New("space-delimited filter patterns ([...]) are not supported")
	}
	p := &pattern{}
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		kind := byte(0)
		if s[i] == '?' || s[i] == '-' {
			kind = s[i]
			i++
			if i == len(s) || s[i] == ' ' || s[i] == '\t' {
				return nil, fmt.Errorf("%q must be followed by a term", kind)
			}
		}
		var (
			t   term
			err error
		)
		switch s[i] {
		case '"':
			t.text, i, err = quoted(s, i)
		case '%':
			end := strings.IndexByte(s[i+1:], '%')
			if end < 0 {
				return nil, errors.New("unterminated regular expression: a % with no closing %")
			}
			expr := s[i+1 : i+1+end]
			if t.re, err = regexp.Compile(expr); err != nil {
				return nil, fmt.Errorf("invalid regular expression %%%s%%: %v", expr, err)
			}
			i += end + 2
		default:
			start := i
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				if s[i] == '"' || s[i] == '{' || s[i] == '}' {
					return nil, fmt.Errorf("invalid character %q in term %q: quote terms with special characters", s[i], s[start:])
				}
				i++
			}
			t.text = s[start:i]
		}
		if err != nil {
			return nil, err
		}
		switch kind {
		case '?':
			p.some = append(p.some, t)
		case '-':
			p.none = append(p.none, t)
		default:
			p.all = append(p.all, t)
		}
	}
	return p, nil
}

// quoted parses the double-quoted string starting at s[i] and returns it
// and the index after its closing quote.
func quoted(s string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; c {
		case '"':
			return b.String(), j + 1, nil
		case '\\':
			if j+1 < len(s) {
				j++
				c = s[j]
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted string %s", s[i:])
}

// match reports whether a message matches the pattern.
func (p *pattern) match(msg string) bool {
	if p.json != nil {
		doc, ok := parseJSONMessage(msg)
		return ok && p.json.eval(doc)
	}
	for _, t := range p.all {
		if !t.in(msg) {
			return false
		}
	}
	for _, t := range p.none {
		if t.in(msg) {
			return false
		}
	}
	if len(p.some) == 0 {
		return true
	}
	for _, t := range p.some {
		if t.in(msg) {
			return true
		}
	}
	return false
}

func parseJSONMessage(msg string) (any, bool) {
	trimmed := strings.TrimSpace(msg)
	if !strings.HasPrefix(trimmed, "{") {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	return doc, true
}

// jsonExpr is a node of a JSON pattern.
type jsonExpr interface {
	eval(doc any) bool
}

type (
	andExpr []jsonExpr
	orExpr  []jsonExpr
	// cmpExpr compares the value at path with a literal.
	cmpExpr struct {
		path  []pathStep
		op    string // = != < <= > >= or IS NULL, IS TRUE, IS FALSE, NOT EXISTS
		str   string // the literal, for string comparisons
		glob  *regexp.Regexp
		num   float64
		isNum bool
	}
	// pathStep is .name or [index].
	pathStep struct {
		key   string
		index int // -1 for a key
	}
)

func (e andExpr) eval(doc any) bool {
	for _, x := range e {
		if !x.eval(doc) {
			return false
		}
	}
	return true
}

func (e orExpr) eval(doc any) bool {
	for _, x := range e {
		if x.eval(doc) {
			return true
		}
	}
	return false
}

func (e *cmpExpr) eval(doc any) bool {
	v, found := lookup(doc, e.path)
	switch e.op {
	case "NOT EXISTS":
		return !found
	case "IS NULL":
		return found && v == nil
	case "IS TRUE", "IS FALSE":
		b, ok := v.(bool)
		return found && ok && b == (e.op == "IS TRUE")
	}
	if !found {
		return false
	}
	if e.isNum {
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		if err != nil {
			return false
		}
		switch e.op {
		case "=":
			return f == e.num
		case "!=":
			return f != e.num
		case "<":
			return f < e.num
		case "<=":
			return f <= e.num
		case ">":
			return f > e.num
		case ">=":
			return f >= e.num
		}
		return false
	}
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	case bool:
		s = strconv.FormatBool(v)
	default: // null, objects and arrays have no string value
		return false
	}
	eq := s == e.str
	if e.glob != nil {
		eq = e.glob.MatchString(s)
	}
	return eq == (e.op == "=")
}

func lookup(v any, path []pathStep) (any, bool) {
	for _, st := range path {
		if st.index >= 0 {
			arr, ok := v.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			v = arr[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[st.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// jsonParser parses `{ expr }` by recursive descent.
type jsonParser struct {
	s string
	i int
}

func parseJSONPattern(s string) (jsonExpr, error) {
	if !strings.HasSuffix(s, "}") {
		return nil, errors.New("a JSON filter pattern must end with }")
	}
	p := &jsonParser{s: s[1 : len(s)-1]}
	e, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON filter pattern %s: %w", s, err)
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("invalid JSON filter pattern %s: unexpected %q", s, p.s[p.i:])
	}
	return e, nil
}

func (p *jsonParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

// eat consumes tok (after spaces) if it comes next.
func (p *jsonParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

// eatWord consumes a keyword (case-insensitive) followed by a non-letter.
func (p *jsonParser) eatWord(word string) bool {
	p.space()
	end := p.i + len(word)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], word) || (end < len(p.s) && isWordByte(p.s[end])) {
		return false
	}
	p.i = end
	return true
}

func (p *jsonParser) or() (jsonExpr, error) {
	var terms orExpr
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.eat("||") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *jsonParser) and() (jsonExpr, error) {
	var terms andExpr
	for {
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.eat("&&") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *jsonParser) unary() (jsonExpr, error) {
	if p.eat("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, errors.New("missing )")
		}
		return e, nil
	}
	return p.comparison()
}

func (p *jsonParser) comparison() (jsonExpr, error) {
	path, err := p.selector()
	if err != nil {
		return nil, err
	}
	e := &cmpExpr{path: path}
	switch {
	case p.eatWord("IS"):
		switch {
		case p.eatWord("NULL"):
			e.op = "IS NULL"
		case p.eatWord("TRUE"):
			e.op = "IS TRUE"
		case p.eatWord("FALSE"):
			e.op = "IS FALSE"
		default:
			return nil, errors.New("IS must be followed by NULL, TRUE or FALSE")
		}
		return e, nil
	case p.eatWord("NOT"):
		if !p.eatWord("EXISTS") {
			return nil, errors.New("NOT must be followed by EXISTS")
		}
		e.op = "NOT EXISTS"
		return e, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if p.eat(op) {
			e.op = op
			break
		}
	}
	if e.op == "" {
		return nil, fmt.Errorf("expected a comparison operator after the selector at %q", p.rest())
	}
	p.space()
	if p.i == len(p.s) {
		return nil, fmt.Errorf("missing value after %s", e.op)
	}
	var lit string
	quotedLit := p.s[p.i] == '"'
	if quotedLit {
		lit, p.i, err = quoted(p.s, p.i)
		if err != nil {
			return nil, err
		}
	} else {
		start := p.i
		for p.i < len(p.s) && (isWordByte(p.s[p.i]) || strings.IndexByte("*.+-:/@", p.s[p.i]) >= 0) {
			p.i++
		}
		if lit = p.s[start:p.i]; lit == "" {
			return nil, fmt.Errorf("invalid value at %q", p.rest())
		}
	}
	if !quotedLit {
		if f, err := strconv.ParseFloat(lit, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			e.num, e.isNum = f, true
			return e, nil
		}
	}
	if e.op != "=" && e.op != "!=" {
		return nil, fmt.Errorf("%s needs a number, not %q", e.op, lit)
	}
	e.str = lit
	if strings.Contains(lit, "*") {
		parts := strings.Split(lit, "*")
		for i, part := range parts {
			parts[i] = regexp.QuoteMeta(part)
		}
		e.glob = regexp.MustCompile("^(?s:" + strings.Join(parts, ".*") + ")$")
	}
	return e, nil
}

// selector parses $.a.b[0].c.
func (p *jsonParser) selector() ([]pathStep, error) {
	p.space()
	if !p.eat("$") {
		return nil, fmt.Errorf("expected a selector starting with $ at %q", p.rest())
	}
	var path []pathStep
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '.':
			p.i++
			start := p.i
			for p.i < len(p.s) && (isWordByte(p.s[p.i]) || p.s[p.i] == '-' || p.s[p.i] == '@' || p.s[p.i] == '$') {
				p.i++
			}
			if p.i == start {
				return nil, fmt.Errorf("expected a property name at %q", p.rest())
			}
			path = append(path, pathStep{key: p.s[start:p.i], index: -1})
		case '[':
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return nil, errors.New("missing ]")
			}
			n, err := strconv.Atoi(p.s[p.i+1 : p.i+end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid array index %q", p.s[p.i:p.i+end+1])
			}
			path = append(path, pathStep{index: n})
			p.i += end + 1
		default:
			if len(path) == 0 {
				return nil, errors.New("a selector needs at least one property, as in $.field")
			}
			return path, nil
		}
	}
	if len(path) == 0 {
		return nil, errors.New("a selector needs at least one property, as in $.field")
	}
	return path, nil
}

func (p *jsonParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 30 {
		r = r[:30] + "..."
	}
	return r
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
