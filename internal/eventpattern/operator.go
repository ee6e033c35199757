package eventpattern

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// opKind names a comparison operator.
type opKind uint8

const (
	opPrefix        opKind = iota // {"prefix": s}
	opPrefixFold                  // {"prefix": {"equals-ignore-case": s}}
	opSuffix                      // {"suffix": s}
	opSuffixFold                  // {"suffix": {"equals-ignore-case": s}}
	opEqualsFold                  // {"equals-ignore-case": s}
	opWildcard                    // {"wildcard": s}
	opCIDR                        // {"cidr": s}
	opNumeric                     // {"numeric": [...]}
	opNotStrings                  // {"anything-but": s | [s...]}
	opNotNumbers                  // {"anything-but": n | [n...]}
	opNotPrefix                   // {"anything-but": {"prefix": s | [s...]}}
	opNotSuffix                   // {"anything-but": {"suffix": s | [s...]}}
	opNotEqualsFold               // {"anything-but": {"equals-ignore-case": s | [s...]}}
	opNotWildcard                 // {"anything-but": {"wildcard": s | [s...]}}
)

// op is a compiled comparison operator with its operands parsed. Only the
// members its kind uses are set.
type op struct {
	kind  opKind
	s     string     // prefix, suffix, equals-ignore-case operand
	strs  []string   // anything-but string operands
	nums  []float64  // anything-but number operands
	wilds []wildcard // wildcard operands
	cidr  netip.Prefix
	rng   numRange
}

// isAnythingBut reports whether the operator is a form of anything-but, all of
// which match a present value of another type than their operands.
func (o *op) isAnythingBut() bool { return o.kind >= opNotStrings }

func (o *op) matchString(s string) bool {
	switch o.kind {
	case opPrefix:
		return strings.HasPrefix(s, o.s)
	case opPrefixFold:
		return hasPrefixFold(s, o.s)
	case opSuffix:
		return strings.HasSuffix(s, o.s)
	case opSuffixFold:
		return hasSuffixFold(s, o.s)
	case opEqualsFold:
		return strings.EqualFold(s, o.s)
	case opWildcard:
		return o.wilds[0].match(s)
	case opCIDR:
		a, err := netip.ParseAddr(s)
		return err == nil && a.Zone() == "" && o.cidr.Contains(a)
	case opNumeric:
		return false
	case opNotStrings:
		for _, x := range o.strs {
			if x == s {
				return false
			}
		}
		return true
	case opNotNumbers:
		return true
	case opNotPrefix:
		for _, x := range o.strs {
			if strings.HasPrefix(s, x) {
				return false
			}
		}
		return true
	case opNotSuffix:
		for _, x := range o.strs {
			if strings.HasSuffix(s, x) {
				return false
			}
		}
		return true
	case opNotEqualsFold:
		for _, x := range o.strs {
			if strings.EqualFold(s, x) {
				return false
			}
		}
		return true
	case opNotWildcard:
		for i := range o.wilds {
			if o.wilds[i].match(s) {
				return false
			}
		}
		return true
	}
	return false
}

func (o *op) matchNumber(f float64) bool {
	switch o.kind {
	case opNumeric:
		return o.rng.contains(f)
	case opNotNumbers:
		for _, x := range o.nums {
			if x == f {
				return false
			}
		}
		return true
	}
	// The string forms of anything-but accept any number; the other string
	// operators accept none.
	return o.isAnythingBut()
}

// numericLimit bounds the numbers EventBridge compares numerically: operands
// must lie in [-numericLimit, numericLimit] and event values outside it never
// satisfy a numeric range.
const numericLimit = 5e9

// numRange is an interval of numbers; the zero value is empty. Bounds
// default to ±numericLimit, inclusive.
type numRange struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func (r numRange) contains(f float64) bool {
	if f < r.lo || f > r.hi {
		return false
	}
	return !(r.loOpen && f == r.lo) && !(r.hiOpen && f == r.hi)
}

// wildcard is a compiled wildcard operand: literal segments between stars. A
// pattern with n stars has n+1 segments; with none, it is an exact match.
type wildcard struct {
	segs []string
}

// parseWildcard splits a wildcard operand on unescaped stars. \* is a
// literal star and \\ a literal backslash; any other escape, and two
// consecutive stars, are errors.
func parseWildcard(s string) (wildcard, string) {
	var (
		segs []string
		cur  strings.Builder
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return wildcard{}, fmt.Sprintf("consecutive wildcard characters at position %d", i)
			}
			segs = append(segs, cur.String())
			cur.Reset()
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '\\') {
				cur.WriteByte(s[i+1])
				i++
				continue
			}
			return wildcard{}, fmt.Sprintf(`invalid escape at position %d: only \* and \\ are allowed`, i)
		default:
			cur.WriteByte(c)
		}
	}
	return wildcard{segs: append(segs, cur.String())}, ""
}

func (w *wildcard) match(s string) bool {
	n := len(w.segs)
	if n == 1 {
		return s == w.segs[0]
	}
	first, last := w.segs[0], w.segs[n-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	// Between the anchored ends, taking each middle segment at its leftmost
	// occurrence leaves the most room for the rest, so no backtracking is
	// needed.
	mid := s[len(first) : len(s)-len(last)]
	for _, seg := range w.segs[1 : n-1] {
		i := strings.Index(mid, seg)
		if i < 0 {
			return false
		}
		mid = mid[i+len(seg):]
	}
	return true
}

// hasPrefixFold is strings.HasPrefix under Unicode simple case folding, the
// equivalence strings.EqualFold uses. It does not allocate.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		pr, pn := utf8.DecodeRuneInString(prefix)
		sr, sn := utf8.DecodeRuneInString(s)
		if !equalFoldRune(pr, sr) {
			return false
		}
		prefix, s = prefix[pn:], s[sn:]
	}
	return true
}

// hasSuffixFold is strings.HasSuffix under simple case folding.
func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		pr, pn := utf8.DecodeLastRuneInString(suffix)
		sr, sn := utf8.DecodeLastRuneInString(s)
		if !equalFoldRune(pr, sr) {
			return false
		}
		suffix, s = suffix[:len(suffix)-pn], s[:len(s)-sn]
	}
	return true
}

func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a > b {
		a, b = b, a
	}
	if b < utf8.RuneSelf {
		return 'A' <= a && a <= 'Z' && b == a+'a'-'A'
	}
	// Walk a's folding orbit (e.g. k, K, U+212A KELVIN SIGN) looking for b.
	r := unicode.SimpleFold(a)
	for r != a && r < b {
		r = unicode.SimpleFold(r)
	}
	return r == b
}
