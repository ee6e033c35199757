package eventinput

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a compiled JSONPath of the subset EventBridge supports.
type Path struct {
	text     string
	steps    []step
	wildcard bool
}

type stepKind uint8

const (
	stepMember stepKind = iota // .name or ['name']
	stepIndex                  // [n]
	stepAll                    // .* or [*]
)

type step struct {
	kind  stepKind
	name  string
	index int
}

// PathError reports a JSONPath that cannot be parsed.
type PathError struct {
	Path   string
	Offset int
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("invalid JSONPath %q at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// ParsePath compiles a JSONPath such as "$.detail.status", "$.resources[0]"
// or "$['detail-type']".
func ParsePath(s string) (*Path, error) {
	p := &Path{text: s}
	fail := func(i int, format string, args ...any) (*Path, error) {
		return nil, &PathError{Path: s, Offset: i, Reason: fmt.Sprintf(format, args...)}
	}
	if !strings.HasPrefix(s, "$") {
		return fail(0, "must start with $")
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '.' {
				return fail(i, "recursive descent (..) is not supported")
			}
			if i < len(s) && s[i] == '*' {
				p.steps = append(p.steps, step{kind: stepAll})
				p.wildcard = true
				i++
				continue
			}
			start := i
			for i < len(s) && isNameByte(s[i]) {
				i++
			}
			if i == start {
				return fail(i, "expected a member name after '.'")
			}
			p.steps = append(p.steps, step{kind: stepMember, name: s[start:i]})
		case '[':
			i++
			if i >= len(s) {
				return fail(i, "unterminated '['")
			}
			switch c := s[i]; {
			case c == '*':
				if i+1 >= len(s) || s[i+1] != ']' {
					return fail(i, "expected ']' after '*'")
				}
				p.steps = append(p.steps, step{kind: stepAll})
				p.wildcard = true
				i += 2
			case c == '\'' || c == '"':
				end := strings.IndexByte(s[i+1:], c)
				if end < 0 {
					return fail(i, "unterminated quoted name")
				}
				name := s[i+1 : i+1+end]
				i += end + 2
				if i >= len(s) || s[i] != ']' {
					return fail(i, "expected ']' after a quoted name")
				}
				i++
				p.steps = append(p.steps, step{kind: stepMember, name: name})
			default:
				end := strings.IndexByte(s[i:], ']')
				if end < 0 {
					return fail(i, "unterminated '['")
				}
				n, err := strconv.Atoi(strings.TrimSpace(s[i : i+end]))
				if err != nil {
					return fail(i, "expected an array index, '*' or a quoted name")
				}
				p.steps = append(p.steps, step{kind: stepIndex, index: n})
				i += end + 1
			}
		default:
			return fail(i, "unexpected %q", s[i])
		}
	}
	return p, nil
}

// isNameByte reports whether c may appear in a dotted member name.
func isNameByte(c byte) bool {
	switch c {
	case '.', '[', ']', '\'', '"', ' ', '\t', '\n', '\r', '*':
		return false
	}
	return true
}

// String returns the path as written.
func (p *Path) String() string { return p.text }

// Select returns what the path selects in a decoded document, and whether
// it selected anything. A path with a wildcard selects an array of every
// match (found only if there is at least one).
func (p *Path) selectValue(doc any) (any, bool) {
	if !p.wildcard {
		v := doc
		for _, st := range p.steps {
			var ok bool
			if v, ok = st.apply(v); !ok {
				return nil, false
			}
		}
		return v, true
	}
	cur := []any{doc}
	for _, st := range p.steps {
		var next []any
		for _, v := range cur {
			if st.kind == stepAll {
				next = append(next, children(v)...)
				continue
			}
			if r, ok := st.apply(v); ok {
				next = append(next, r)
			}
		}
		cur = next
	}
	if len(cur) == 0 {
		return nil, false
	}
	return cur, true
}

func (st step) apply(v any) (any, bool) {
	switch st.kind {
	case stepMember:
		if o, ok := v.(*object); ok {
			return o.get(st.name)
		}
	case stepIndex:
		if arr, ok := v.([]any); ok {
			i := st.index
			if i < 0 {
				i += len(arr)
			}
			if i >= 0 && i < len(arr) {
				return arr[i], true
			}
		}
	}
	return nil, false
}

func children(v any) []any {
	switch t := v.(type) {
	case *object:
		return t.vals
	case []any:
		return t
	}
	return nil
}
