package eventpattern

import (
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Set holds compiled patterns by id, such as the enabled rules of an event
// bus, and finds those an event matches. The zero value is an empty set ready
// for use. It is safe for concurrent use; matching takes no lock.
//
// Matching does not test every pattern. On the first match after a change,
// the set builds an index: for each pattern it picks one field that must equal
// one of a few exact strings ("detail.status": ["FAILED"]), preferring the
// field whose values the fewest patterns share. An event is then tested only
// against the patterns indexed under the strings it holds at those fields,
// plus the patterns that have no such field.
type Set struct {
	mu    sync.Mutex
	rules map[string]*Pattern
	index atomic.Pointer[setIndex] // nil after a change
}

// Put adds the pattern under id, replacing any pattern with that id. It
// panics if p is nil.
func (s *Set) Put(id string, p *Pattern) {
	if p == nil {
		panic("eventpattern: Set.Put with a nil *Pattern")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rules == nil {
		s.rules = make(map[string]*Pattern)
	}
	s.rules[id] = p
	s.index.Store(nil)
}

// Delete removes the pattern with the given id, if any.
func (s *Set) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rules[id]; ok {
		delete(s.rules, id)
		s.index.Store(nil)
	}
}

// Len returns the number of patterns in the set.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rules)
}

// Match decodes the JSON event and returns the ids of the patterns it
// matches, in ascending order. It fails only if the event is not valid JSON.
func (s *Set) Match(event []byte) ([]string, error) {
	v, err := decodeEvent(event)
	if err != nil {
		return nil, err
	}
	return s.AppendMatches(nil, v), nil
}

// MatchValue is Match for an event already decoded by encoding/json.
func (s *Set) MatchValue(event any) []string {
	return s.AppendMatches(nil, event)
}

// AppendMatches appends to dst the ids, in ascending order, of the patterns
// the decoded event matches, and returns the extended slice. With a dst of
// enough capacity it does not allocate.
func (s *Set) AppendMatches(dst []string, event any) []string {
	ix := s.index.Load()
	if ix == nil {
		ix = s.buildIndex()
	}
	return ix.appendMatches(dst, event)
}

func (s *Set) buildIndex() *setIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix := s.index.Load(); ix != nil {
		return ix
	}
	ix := newSetIndex(s.rules)
	s.index.Store(ix)
	return ix
}

// setIndex is an immutable snapshot of a Set, built for matching.
type setIndex struct {
	ids      []string   // sorted; a pattern's number is its position here
	patterns []*Pattern // by number
	always   []uint64   // bitset of the patterns that have no indexed field
	paths    []indexPath
	words    int // len(always)
	scratch  sync.Pool
}

// indexPath indexes the patterns whose chosen field is at path, by the exact
// strings the field accepts.
type indexPath struct {
	path    []string
	byValue map[string][]int32
}

// candidate is a field of a pattern that can index it.
type candidate struct {
	path   []string
	key    string // path, encoded without ambiguity
	values []string
}

func newSetIndex(rules map[string]*Pattern) *setIndex {
	ix := &setIndex{ids: make([]string, 0, len(rules))}
	for id := range rules {
		ix.ids = append(ix.ids, id)
	}
	slices.Sort(ix.ids)
	ix.patterns = make([]*Pattern, len(ix.ids))
	ix.words = (len(ix.ids) + 63) / 64
	ix.always = make([]uint64, ix.words)
	ix.scratch.New = func() any { return &setScratch{bits: make([]uint64, ix.words)} }

	// Collect each pattern's candidate fields and count how many patterns
	// accept each (field, value) pair.
	cands := make([][]candidate, len(ix.ids))
	type pathValue struct{ key, value string }
	freq := make(map[pathValue]int)
	for i, id := range ix.ids {
		ix.patterns[i] = rules[id]
		cands[i] = collectCandidates(rules[id].root, nil, nil)
		for _, c := range cands[i] {
			for _, v := range c.values {
				freq[pathValue{c.key, v}]++
			}
		}
	}

	// Index each pattern under its most selective candidate.
	byKey := make(map[string]int)
	for i, cs := range cands {
		best, bestCost := -1, 0
		for j, c := range cs {
			cost := 0
			for _, v := range c.values {
				cost += freq[pathValue{c.key, v}]
			}
			if best < 0 || cost < bestCost {
				best, bestCost = j, cost
			}
		}
		if best < 0 {
			ix.always[i/64] |= 1 << (i % 64)
			continue
		}
		c := cs[best]
		k, ok := byKey[c.key]
		if !ok {
			k = len(ix.paths)
			byKey[c.key] = k
			ix.paths = append(ix.paths, indexPath{path: c.path, byValue: make(map[string][]int32)})
		}
		for _, v := range c.values {
			list := ix.paths[k].byValue[v]
			if len(list) == 0 || list[len(list)-1] != int32(i) { // values may repeat
				ix.paths[k].byValue[v] = append(list, int32(i))
			}
		}
	}
	return ix
}

// collectCandidates returns the fields of o that every match must satisfy
// (not those under $or) and that accept only exact strings.
func collectCandidates(o *object, prefix []string, out []candidate) []candidate {
	for _, f := range o.fields {
		p := append(prefix[:len(prefix):len(prefix)], f.name)
		if f.obj != nil {
			out = collectCandidates(f.obj, p, out)
			continue
		}
		if vals := f.leaf.exactStrings(); len(vals) > 0 {
			out = append(out, candidate{path: p, key: encodePath(p), values: vals})
		}
	}
	return out
}

func encodePath(p []string) string {
	var b strings.Builder
	for _, s := range p {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

type setScratch struct {
	bits []uint64
}

func (ix *setIndex) appendMatches(dst []string, event any) []string {
	if len(ix.ids) == 0 {
		return dst
	}
	sc := ix.scratch.Get().(*setScratch)
	clear(sc.bits)
	for i := range ix.paths {
		markValues(event, ix.paths[i].path, ix.paths[i].byValue, sc.bits)
	}
	for w := range sc.bits {
		word := sc.bits[w] | ix.always[w]
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			n := w*64 + b
			if ix.patterns[n].root.matchValue(event) {
				dst = append(dst, ix.ids[n])
			}
		}
	}
	ix.scratch.Put(sc)
	return dst
}

// markValues finds the strings at path in v, descending through objects and
// arrays the way matching does, and marks the patterns indexed under them.
func markValues(v any, path []string, byValue map[string][]int32, marks []uint64) {
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 0 {
			return // not a leaf
		}
		if c, ok := x[path[0]]; ok {
			markValues(c, path[1:], byValue, marks)
		}
	case []any:
		for _, e := range x {
			markValues(e, path, byValue, marks)
		}
	case string:
		if len(path) == 0 {
			for _, n := range byValue[x] {
				marks[n/64] |= 1 << (n % 64)
			}
		}
	}
}
