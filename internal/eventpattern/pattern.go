package eventpattern

import (
	"encoding/json"
	"net/netip"
	"strconv"
)

// Pattern is a compiled event pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	root *object
}

// Compile validates an event pattern and compiles it for matching. An invalid
// pattern yields an *Error.
func Compile(pattern []byte) (*Pattern, error) {
	root, err := compile(pattern)
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// MustCompile is Compile for patterns known to be valid (tests, fixed rules);
// it panics on an invalid pattern.
func MustCompile(pattern string) *Pattern {
	p, err := Compile([]byte(pattern))
	if err != nil {
		panic(err)
	}
	return p
}

// Match reports whether the JSON event matches the pattern. It fails only if
// the event is not valid JSON.
func (p *Pattern) Match(event []byte) (bool, error) {
	v, err := decodeEvent(event)
	if err != nil {
		return false, err
	}
	return p.MatchValue(v), nil
}

// MatchValue reports whether an event decoded by encoding/json (into an any:
// map[string]any, []any, string, float64, bool and nil; json.Number is
// accepted too) matches the pattern. Values of other types are treated as
// present but equal to nothing. It does not allocate.
func (p *Pattern) MatchValue(event any) bool {
	return p.root.matchValue(event)
}

func decodeEvent(event []byte) (any, error) {
	var v any
	if err := json.Unmarshal(event, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// object is a compiled pattern object: every field must match, and in every
// $or group at least one branch must match the same event object.
type object struct {
	fields []field
	ors    [][]*object
	// missingOK caches whether the object matches an absent value (or a
	// value that has no fields, like a string), which is the case only if
	// every field accepts absence.
	missingOK bool
}

// field is one named member of a pattern object: a nested object or a leaf.
type field struct {
	name string
	obj  *object
	leaf *leaf
}

func (o *object) matchValue(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return o.matchMap(x)
	case []any:
		sawObject := false
		if o.matchElems(x, &sawObject) {
			return true
		}
		// An array holding no objects has no fields, like a missing value.
		return !sawObject && o.missingOK
	default:
		return o.missingOK
	}
}

func (o *object) matchElems(arr []any, sawObject *bool) bool {
	for _, e := range arr {
		switch x := e.(type) {
		case map[string]any:
			*sawObject = true
			if o.matchMap(x) {
				return true
			}
		case []any:
			if o.matchElems(x, sawObject) {
				return true
			}
		}
	}
	return false
}

func (o *object) matchMap(m map[string]any) bool {
	for i := range o.fields {
		f := &o.fields[i]
		v, ok := m[f.name]
		if f.leaf != nil {
			if !f.leaf.match(v, ok) {
				return false
			}
			continue
		}
		if ok {
			if !f.obj.matchValue(v) {
				return false
			}
		} else if !f.obj.missingOK {
			return false
		}
	}
	for _, group := range o.ors {
		if !matchAny(group, m) {
			return false
		}
	}
	return true
}

func matchAny(branches []*object, m map[string]any) bool {
	for _, b := range branches {
		if b.matchMap(m) {
			return true
		}
	}
	return false
}

// leaf is a compiled array of alternatives.
type leaf struct {
	strs   []string            // exact strings, in pattern order
	strSet map[string]struct{} // the same, when there are many
	ips    []netip.Addr        // exact strings that are IP addresses
	nums   []float64           // exact numbers
	null   bool                // [null]
	t      bool                // [true]
	f      bool                // [false]
	ops    []op                // comparison operators

	existsTrue  bool // {"exists": true}
	existsFalse bool // {"exists": false}
	// otherOK is set when a leaf value of no string or number type (true,
	// false, null, or a type MatchValue does not know) matches regardless of
	// its value: exists:true and anything-but both accept it.
	otherOK bool
}

// match tests the value of the field, ok reporting whether it is present.
func (l *leaf) match(v any, ok bool) bool {
	if !ok {
		return l.existsFalse
	}
	switch x := v.(type) {
	case []any:
		sawLeaf := false
		if l.matchElems(x, &sawLeaf) {
			return true
		}
		// An empty array, or one of objects only, has no leaf value.
		return !sawLeaf && l.existsFalse
	case map[string]any:
		// Not a leaf: exists and every other test treat it as absent.
		return l.existsFalse
	default:
		return l.matchScalar(v)
	}
}

func (l *leaf) matchElems(arr []any, sawLeaf *bool) bool {
	for _, e := range arr {
		switch x := e.(type) {
		case map[string]any:
		case []any:
			if l.matchElems(x, sawLeaf) {
				return true
			}
		default:
			*sawLeaf = true
			if l.matchScalar(e) {
				return true
			}
		}
	}
	return false
}

func (l *leaf) matchScalar(v any) bool {
	switch x := v.(type) {
	case string:
		return l.matchString(x)
	case float64:
		return l.matchNumber(x)
	case bool:
		if x {
			return l.t || l.otherOK
		}
		return l.f || l.otherOK
	case nil:
		return l.null || l.otherOK
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return l.otherOK
		}
		return l.matchNumber(f)
	default:
		return l.otherOK
	}
}

func (l *leaf) matchString(s string) bool {
	if l.existsTrue {
		return true
	}
	if l.strSet != nil {
		if _, ok := l.strSet[s]; ok {
			return true
		}
	} else {
		for _, x := range l.strs {
			if x == s {
				return true
			}
		}
	}
	if len(l.ips) > 0 {
		// EventBridge compares IP address literals as addresses, so
		// "2001:db8::1" also matches "2001:DB8:0::1".
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			for _, ip := range l.ips {
				if ip == a {
					return true
				}
			}
		}
	}
	for i := range l.ops {
		if l.ops[i].matchString(s) {
			return true
		}
	}
	return false
}

func (l *leaf) matchNumber(f float64) bool {
	if l.existsTrue {
		return true
	}
	for _, x := range l.nums {
		if x == f {
			return true
		}
	}
	for i := range l.ops {
		if l.ops[i].matchNumber(f) {
			return true
		}
	}
	return false
}

// exactStrings returns the leaf's alternatives when they are all exact
// strings compared as such, and nil otherwise. A Set indexes such leaves.
func (l *leaf) exactStrings() []string {
	if len(l.ips) > 0 || len(l.nums) > 0 || len(l.ops) > 0 || l.null || l.t || l.f ||
		l.existsTrue || l.existsFalse {
		return nil
	}
	return l.strs
}
