package eventpattern

import (
	"fmt"
	"strconv"
	"strings"
)

// Error reports an invalid event pattern. The API returns it to the caller as
// an InvalidEventPatternException.
type Error struct {
	// Path locates the offending value, for example `detail.status[1].numeric`
	// or `$or[0].source`. It is empty when the problem is the pattern as a
	// whole (malformed JSON, not an object).
	Path string
	// Reason states the rule that was broken.
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "invalid event pattern: " + e.Reason
	}
	return "invalid event pattern at " + e.Path + ": " + e.Reason
}

// path is the location of the value being compiled, kept as a stack.
type path []pathSeg

type pathSeg struct {
	key   string
	index int // used when key is empty and isIdx is set
	isIdx bool
}

func (p path) key(k string) path { return append(p[:len(p):len(p)], pathSeg{key: k}) }
func (p path) index(i int) path  { return append(p[:len(p):len(p)], pathSeg{index: i, isIdx: true}) }

func (p path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.isIdx:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case s.key == "" || strings.ContainsAny(s.key, ".[]\"") || strings.TrimSpace(s.key) != s.key:
			b.WriteByte('[')
			b.WriteString(strconv.Quote(s.key))
			b.WriteByte(']')
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		}
	}
	return b.String()
}

func (p path) errorf(reason string, args ...any) *Error {
	return &Error{Path: p.String(), Reason: fmt.Sprintf(reason, args...)}
}
