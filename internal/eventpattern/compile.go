package eventpattern

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Operator and keyword names.
const (
	keyOr               = "$or"
	keyPrefix           = "prefix"
	keySuffix           = "suffix"
	keyEqualsIgnoreCase = "equals-ignore-case"
	keyWildcard         = "wildcard"
	keyAnythingBut      = "anything-but"
	keyNumeric          = "numeric"
	keyExists           = "exists"
	keyCIDR             = "cidr"
)

// reservedInOr lists the names EventBridge refuses as field names inside a
// $or branch, where they would be ambiguous with operators.
var reservedInOr = map[string]bool{
	"exactly": true, keyEqualsIgnoreCase: true, keyPrefix: true, keySuffix: true,
	keyAnythingBut: true, keyExists: true, keyWildcard: true, keyNumeric: true, keyCIDR: true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
	"regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true, "date-on-or-before": true,
	"in-date-range": true, "ip-address-in-range": true, "ip-address-not-in-range": true,
}

// strSetMin is the number of exact strings from which a leaf also keeps
// them in a map; below it a linear scan is faster.
const strSetMin = 8

func compile(pattern []byte) (*object, error) {
	v, err := parseJSON(pattern)
	if err != nil {
		return nil, err
	}
	if v.kind != jsonObject {
		return nil, &Error{Reason: "the pattern must be a JSON object, not " + v.describe()}
	}
	return compileObject(&v, nil, false)
}

// compileObject compiles a pattern object; inOr is set inside $or branches.
func compileObject(v *jsonValue, p path, inOr bool) (*object, error) {
	if len(v.obj) == 0 {
		return nil, p.errorf("empty objects are not allowed")
	}
	o := &object{}
	seen := make(map[string]bool, len(v.obj))
	for i := range v.obj {
		m := &v.obj[i]
		fp := p.key(m.key)
		if m.key == keyOr {
			group, err := compileOr(&m.val, fp)
			if err != nil {
				return nil, err
			}
			o.ors = append(o.ors, group)
			continue
		}
		if seen[m.key] {
			return nil, fp.errorf("field %q appears more than once", m.key)
		}
		seen[m.key] = true
		if inOr && reservedInOr[m.key] {
			return nil, fp.errorf("%q is a reserved word and cannot be a field name inside $or", m.key)
		}
		switch m.val.kind {
		case jsonObject:
			child, err := compileObject(&m.val, fp, inOr)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: m.key, obj: child})
		case jsonArray:
			l, err := compileLeaf(&m.val, fp)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{name: m.key, leaf: l})
		default:
			return nil, fp.errorf("the value of %q must be an object or an array, not %s", m.key, m.val.describe())
		}
	}
	o.missingOK = true
	for _, f := range o.fields {
		if (f.leaf != nil && !f.leaf.existsFalse) || (f.obj != nil && !f.obj.missingOK) {
			o.missingOK = false
		}
	}
	for _, group := range o.ors {
		ok := false
		for _, b := range group {
			ok = ok || b.missingOK
		}
		o.missingOK = o.missingOK && ok
	}
	return o, nil
}

func compileOr(v *jsonValue, p path) ([]*object, error) {
	if v.kind != jsonArray {
		return nil, p.errorf("$or must be an array of at least 2 objects, not %s", v.describe())
	}
	if len(v.arr) < 2 {
		return nil, p.errorf("$or must be an array of at least 2 objects, not %d", len(v.arr))
	}
	group := make([]*object, 0, len(v.arr))
	for i := range v.arr {
		bp := p.index(i)
		if v.arr[i].kind != jsonObject {
			return nil, bp.errorf("$or may hold only objects, not %s", v.arr[i].describe())
		}
		b, err := compileObject(&v.arr[i], bp, true)
		if err != nil {
			return nil, err
		}
		group = append(group, b)
	}
	return group, nil
}

func compileLeaf(v *jsonValue, p path) (*leaf, error) {
	if len(v.arr) == 0 {
		return nil, p.errorf("empty arrays are not allowed")
	}
	l := &leaf{}
	for i := range v.arr {
		e := &v.arr[i]
		ep := p.index(i)
		switch e.kind {
		case jsonString:
			l.strs = append(l.strs, e.s)
			if a, err := netip.ParseAddr(e.s); err == nil && a.Zone() == "" {
				l.ips = append(l.ips, a)
			}
		case jsonNumber:
			f, err := parseNumber(e.s, ep)
			if err != nil {
				return nil, err
			}
			l.nums = append(l.nums, f)
		case jsonBool:
			if e.b {
				l.t = true
			} else {
				l.f = true
			}
		case jsonNull:
			l.null = true
		case jsonArray:
			return nil, ep.errorf("match values must be strings, numbers, true, false, null or operator objects, not arrays")
		case jsonObject:
			if err := compileOperator(e, ep, l); err != nil {
				return nil, err
			}
		}
	}
	if len(l.strs) >= strSetMin {
		l.strSet = make(map[string]struct{}, len(l.strs))
		for _, s := range l.strs {
			l.strSet[s] = struct{}{}
		}
	}
	l.otherOK = l.existsTrue
	for i := range l.ops {
		l.otherOK = l.otherOK || l.ops[i].isAnythingBut()
	}
	return l, nil
}

// compileOperator compiles a one-key operator object into l.
func compileOperator(v *jsonValue, p path, l *leaf) error {
	if len(v.obj) == 0 {
		return p.errorf("empty match expression: expected an operator such as prefix or numeric")
	}
	if len(v.obj) > 1 {
		return p.errorf("only one key is allowed in a match expression, found %d", len(v.obj))
	}
	name, arg := v.obj[0].key, &v.obj[0].val
	at := p.key(name)
	switch name {
	case keyPrefix, keySuffix:
		plain, fold := opPrefix, opPrefixFold
		if name == keySuffix {
			plain, fold = opSuffix, opSuffixFold
		}
		switch arg.kind {
		case jsonString:
			l.ops = append(l.ops, op{kind: plain, s: arg.s})
			return nil
		case jsonObject:
			if len(arg.obj) == 1 && arg.obj[0].key == keyEqualsIgnoreCase {
				if arg.obj[0].val.kind != jsonString {
					return at.key(keyEqualsIgnoreCase).errorf("equals-ignore-case must be a string, not %s", arg.obj[0].val.describe())
				}
				l.ops = append(l.ops, op{kind: fold, s: arg.obj[0].val.s})
				return nil
			}
		}
		return at.errorf(`%s must be a string or {"equals-ignore-case": string}`, name)
	case keyEqualsIgnoreCase:
		if arg.kind != jsonString {
			return at.errorf("equals-ignore-case must be a string, not %s", arg.describe())
		}
		l.ops = append(l.ops, op{kind: opEqualsFold, s: arg.s})
		return nil
	case keyWildcard:
		if arg.kind != jsonString {
			return at.errorf("wildcard must be a string, not %s", arg.describe())
		}
		w, reason := parseWildcard(arg.s)
		if reason != "" {
			return at.errorf("%s", reason)
		}
		l.ops = append(l.ops, op{kind: opWildcard, wilds: []wildcard{w}})
		return nil
	case keyCIDR:
		if arg.kind != jsonString {
			return at.errorf("cidr must be a string, not %s", arg.describe())
		}
		pfx, err := netip.ParsePrefix(arg.s)
		if err != nil {
			return at.errorf("%q is not an IPv4 or IPv6 CIDR block such as 10.0.0.0/24", arg.s)
		}
		l.ops = append(l.ops, op{kind: opCIDR, cidr: pfx.Masked()})
		return nil
	case keyExists:
		if arg.kind != jsonBool {
			return at.errorf("exists must be true or false, not %s", arg.describe())
		}
		if arg.b {
			l.existsTrue = true
		} else {
			l.existsFalse = true
		}
		return nil
	case keyNumeric:
		rng, err := compileNumeric(arg, at)
		if err != nil {
			return err
		}
		l.ops = append(l.ops, op{kind: opNumeric, rng: rng})
		return nil
	case keyAnythingBut:
		o, err := compileAnythingBut(arg, at)
		if err != nil {
			return err
		}
		l.ops = append(l.ops, o)
		return nil
	}
	return at.errorf("unrecognized match type %q", name)
}

// compileNumeric compiles ["=", n], [">"|">="|"<"|"<=", n] or
// [">"|">=", lo, "<"|"<=", hi].
func compileNumeric(v *jsonValue, p path) (numRange, error) {
	if v.kind != jsonArray {
		return numRange{}, p.errorf("numeric must be an array such as [\">\", 0, \"<=\", 5], not %s", v.describe())
	}
	if len(v.arr) == 0 {
		return numRange{}, p.errorf("numeric must hold an operator and a number")
	}
	r := numRange{lo: -numericLimit, hi: numericLimit}
	a := v.arr
	opAt := func(i int) (string, error) {
		if a[i].kind != jsonString {
			return "", p.index(i).errorf("expected a comparison operator (=, <, <=, >, >=), not %s", a[i].describe())
		}
		return a[i].s, nil
	}
	numAt := func(i int, after string) (float64, error) {
		if i >= len(a) {
			return 0, p.errorf("%q must be followed by a number", after)
		}
		if a[i].kind != jsonNumber {
			return 0, p.index(i).errorf("the value of %q must be a number, not %s", after, a[i].describe())
		}
		f, err := parseNumber(a[i].s, p.index(i))
		if err != nil {
			return 0, err
		}
		if f < -numericLimit || f > numericLimit {
			return 0, p.index(i).errorf("numeric values must be between -5e9 and 5e9 inclusive, not %s", a[i].s)
		}
		return f, nil
	}
	first, err := opAt(0)
	if err != nil {
		return numRange{}, err
	}
	n, err := numAt(1, first)
	if err != nil {
		return numRange{}, err
	}
	switch first {
	case "=":
		r.lo, r.hi = n, n
	case "<", "<=":
		r.hi, r.hiOpen = n, first == "<"
	case ">", ">=":
		r.lo, r.loOpen = n, first == ">"
		if len(a) == 2 {
			break
		}
		second, err := opAt(2)
		if err != nil {
			return numRange{}, err
		}
		if second != "<" && second != "<=" {
			return numRange{}, p.index(2).errorf("a lower bound may only be followed by < or <=, not %q", second)
		}
		hi, err := numAt(3, second)
		if err != nil {
			return numRange{}, err
		}
		if hi <= n {
			return numRange{}, p.errorf("the lower bound %s must be less than the upper bound %s", a[1].s, a[3].s)
		}
		r.hi, r.hiOpen = hi, second == "<"
		if len(a) > 4 {
			return numRange{}, p.index(4).errorf("too many elements in numeric expression")
		}
		return r, nil
	default:
		return numRange{}, p.index(0).errorf("unrecognized numeric operator %q", first)
	}
	if len(a) > 2 {
		return numRange{}, p.index(2).errorf("too many elements in numeric expression: only > and >= may be followed by an upper bound")
	}
	return r, nil
}

// compileAnythingBut compiles the operand of anything-but.
func compileAnythingBut(v *jsonValue, p path) (op, error) {
	switch v.kind {
	case jsonString:
		return op{kind: opNotStrings, strs: []string{v.s}}, nil
	case jsonNumber:
		f, err := anythingButNumber(v, p)
		return op{kind: opNotNumbers, nums: []float64{f}}, err
	case jsonArray:
		if len(v.arr) == 0 {
			return op{}, p.errorf("empty arrays are not allowed")
		}
		var o op
		for i := range v.arr {
			e := &v.arr[i]
			switch e.kind {
			case jsonString:
				o.strs = append(o.strs, e.s)
			case jsonNumber:
				f, err := anythingButNumber(e, p.index(i))
				if err != nil {
					return op{}, err
				}
				o.nums = append(o.nums, f)
			default:
				return op{}, p.index(i).errorf("anything-but lists may hold only strings or only numbers, not %s", e.describe())
			}
		}
		if len(o.strs) > 0 && len(o.nums) > 0 {
			return op{}, p.errorf("anything-but lists may hold only strings or only numbers, not both")
		}
		o.kind = opNotStrings
		if len(o.nums) > 0 {
			o.kind = opNotNumbers
		}
		return o, nil
	case jsonObject:
		return compileAnythingButObject(v, p)
	}
	return op{}, p.errorf("anything-but must be a string, a number, an array or an object, not %s", v.describe())
}

func anythingButNumber(v *jsonValue, p path) (float64, error) {
	f, err := parseNumber(v.s, p)
	if err != nil {
		return 0, err
	}
	if f < -numericLimit || f > numericLimit {
		return 0, p.errorf("numeric values must be between -5e9 and 5e9 inclusive, not %s", v.s)
	}
	return f, nil
}

// compileAnythingButObject compiles {"prefix"|"suffix"|"equals-ignore-case"|
// "wildcard": string | [string...]} under anything-but.
func compileAnythingButObject(v *jsonValue, p path) (op, error) {
	if len(v.obj) != 1 {
		return op{}, p.errorf("anything-but takes an object with exactly one of prefix, suffix, equals-ignore-case or wildcard, found %d keys", len(v.obj))
	}
	name, arg := v.obj[0].key, &v.obj[0].val
	np := p.key(name)
	var o op
	switch name {
	case keyPrefix:
		o.kind = opNotPrefix
	case keySuffix:
		o.kind = opNotSuffix
	case keyEqualsIgnoreCase:
		o.kind = opNotEqualsFold
	case keyWildcard:
		o.kind = opNotWildcard
	default:
		return op{}, np.errorf("unsupported anything-but pattern %q: expected prefix, suffix, equals-ignore-case or wildcard", name)
	}
	var vals []*jsonValue
	switch arg.kind {
	case jsonString:
		vals = []*jsonValue{arg}
	case jsonArray:
		if len(arg.arr) == 0 {
			return op{}, np.errorf("empty arrays are not allowed")
		}
		for i := range arg.arr {
			vals = append(vals, &arg.arr[i])
		}
	default:
		return op{}, np.errorf("anything-but %s must be a string or an array of strings, not %s", name, arg.describe())
	}
	for i, e := range vals {
		ep := np
		if arg.kind == jsonArray {
			ep = np.index(i)
		}
		if e.kind != jsonString {
			return op{}, ep.errorf("anything-but %s must be a string or an array of strings, not %s", name, e.describe())
		}
		if e.s == "" && (o.kind == opNotPrefix || o.kind == opNotSuffix) {
			return op{}, ep.errorf("an empty %s is not allowed under anything-but", name)
		}
		if o.kind == opNotWildcard {
			w, reason := parseWildcard(e.s)
			if reason != "" {
				return op{}, ep.errorf("%s", reason)
			}
			o.wilds = append(o.wilds, w)
			continue
		}
		o.strs = append(o.strs, e.s)
	}
	return o, nil
}

// parseNumber parses a JSON number from a pattern.
func parseNumber(s string, p path) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, p.errorf("number %s is out of range", strings.TrimSpace(s))
	}
	return f, nil
}
