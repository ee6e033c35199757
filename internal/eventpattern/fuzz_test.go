package eventpattern

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCompileMatch compiles arbitrary patterns and matches arbitrary events.
// Besides not panicking it checks that:
//
//   - Compile fails only with an *Error;
//   - Match, MatchValue and a one-pattern Set agree;
//   - a pattern built from an event's own leaves ({"a":["x"]} from
//     {"a":"x"}) compiles and matches that event.
func FuzzCompileMatch(f *testing.F) {
	for _, seed := range []struct{ pattern, event string }{
		{`{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}`, batchJobEvent},
		{`{"detail":{"status":[{"anything-but":["SUCCEEDED","FAILED"]}],"jobName":[{"prefix":"nightly"}]}}`, batchJobEvent},
		{`{"detail":{"createdAt":[{"numeric":[">",0,"<=",5]}],"container":{"command":[{"wildcard":"sl*p"}]}}}`, batchJobEvent},
		{`{"$or":[{"a":[{"exists":false}]},{"b":[{"cidr":"10.0.0.0/8"}]}],"c":[null,"",5,true]}`, `{"b":"10.1.2.3","c":[1,5.0]}`},
		{`{"a":[{"suffix":{"equals-ignore-case":"X"}},{"anything-but":{"wildcard":["*a\\*"]}}]}`, `{"a":["yx",{"a":1},[null]]}`},
		{`{"a":{"b":[{"equals-ignore-case":"K"}]}}`, `{"a":[{"b":"k"},"s",[]]}`},
		{`{"a":[{"numeric":["=",1e400]}]}`, `{"a":1}`},
		{`{"a":"x"}`, `[`},
	} {
		f.Add([]byte(seed.pattern), []byte(seed.event))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := Compile(pattern)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Compile(%q) error %T %v is not an *Error", pattern, err, err)
			}
		}

		var v any
		if json.Unmarshal(event, &v) != nil {
			if p != nil {
				if _, err := p.Match(event); err == nil {
					t.Fatalf("Match accepted invalid JSON %q", event)
				}
			}
			return
		}
		if p != nil {
			got, err := p.Match(event)
			if err != nil {
				t.Fatalf("Match(%q): %v", event, err)
			}
			if p.MatchValue(v) != got {
				t.Fatalf("MatchValue disagrees with Match for %q on %q", pattern, event)
			}
			var s Set
			s.Put("p", p)
			if len(s.MatchValue(v) /* one id or none */) == 1 != got {
				t.Fatalf("Set disagrees with Match for %q on %q", pattern, event)
			}
		}

		self, ok := selfPattern(v)
		if !ok {
			return
		}
		data, err := json.Marshal(self)
		if err != nil {
			t.Fatalf("marshal self pattern: %v", err)
		}
		sp, err := Compile(data)
		if err != nil {
			t.Fatalf("pattern %s built from event %s does not compile: %v", data, event, err)
		}
		if !sp.MatchValue(v) {
			t.Fatalf("pattern %s built from event %s does not match it", data, event)
		}
	})
}

// selfPattern builds a pattern from the leaves of a decoded event: each
// scalar becomes a one-element leaf, each array of scalars a leaf listing
// them, and each object a nested pattern. It reports false when the event has
// no leaf to build from.
func selfPattern(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]any)
	for k, e := range m {
		if k == keyOr {
			continue // a keyword in patterns
		}
		switch x := e.(type) {
		case map[string]any:
			if sub, ok := selfPattern(x); ok {
				out[k] = sub
			}
		case []any:
			if leaves := scalars(x, nil); len(leaves) > 0 {
				out[k] = leaves
			}
		default:
			out[k] = []any{x}
		}
	}
	return out, len(out) > 0
}

// scalars returns the scalar elements of a (possibly nested) event array.
func scalars(arr []any, out []any) []any {
	for _, e := range arr {
		switch x := e.(type) {
		case map[string]any:
		case []any:
			out = scalars(x, out)
		default:
			out = append(out, x)
		}
	}
	return out
}
