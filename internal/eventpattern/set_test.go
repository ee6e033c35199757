package eventpattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestSetPutDelete(t *testing.T) {
	t.Parallel()
	var s Set
	event := []byte(`{"source":"aws.batch","detail":{"status":"FAILED"}}`)

	got, err := s.Match(event)
	require.NoError(t, err)
	require.Empty(t, got, "empty set")

	s.Put("b-failed", MustCompile(`{"detail":{"status":["FAILED"]}}`))
	s.Put("a-batch", MustCompile(`{"source":["aws.batch"]}`))
	s.Put("c-ec2", MustCompile(`{"source":["aws.ec2"]}`))
	s.Put("d-any", MustCompile(`{"detail":{"status":[{"exists":true}]}}`))
	require.Equal(t, 4, s.Len())
	got, err = s.Match(event)
	require.NoError(t, err)
	require.Equal(t, []string{"a-batch", "b-failed", "d-any"}, got, "ids in ascending order")

	s.Put("a-batch", MustCompile(`{"source":["aws.s3"]}`)) // replace
	s.Delete("d-any")
	s.Delete("missing") // no-op
	require.Equal(t, 3, s.Len())
	got, err = s.Match(event)
	require.NoError(t, err)
	require.Equal(t, []string{"b-failed"}, got)

	s.Put("c-ec2", MustCompile(`{"source":["aws.batch","aws.ec2"]}`))
	require.Equal(t, []string{"b-failed", "c-ec2"}, s.MatchValue(decode(t, string(event))))

	require.Panics(t, func() { s.Put("nil", nil) })
}

// TestSetAgreesWithPatterns checks the index never loses a match: for many
// rule sets and events, a Set returns exactly the patterns whose MatchValue
// is true.
func TestSetAgreesWithPatterns(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	rules := realisticRules(400, 7)
	// Hand-written rules that stress the index: repeated values, nested
	// arrays in the event, exact strings that are IP addresses, $or only.
	rules = append(rules,
		`{"detail":{"status":["RUNNING","RUNNING"]}}`,
		`{"detail":{"container":{"command":["sleep"]}}}`,
		`{"detail":{"container":{"environment":{"name":["STAGE"],"value":["prod"]}}}}`,
		`{"detail":{"ip":["10.0.0.1"]}}`,
		`{"detail":{"ip":["2001:db8::1"]}}`,
		`{"$or":[{"source":["aws.batch"]},{"source":["x"]}]}`,
		`{"resources":[{"prefix":"arn:aws:batch"}]}`,
		`{"a.b":["x"]}`,
		`{"a":{"b":["x"]}}`,
	)
	var s Set
	patterns := make(map[string]*Pattern)
	for i, rule := range rules {
		id := fmt.Sprintf("r%03d", i)
		patterns[id] = MustCompile(rule)
		s.Put(id, patterns[id])
	}
	base := decode(t, batchJobEvent).(map[string]any)
	detail := base["detail"].(map[string]any)
	extras := []func(){
		func() { detail["ip"] = "2001:DB8::1" },
		func() { detail["ip"] = []any{"10.0.0.1"} },
		func() { base["a.b"] = "x" },
		func() { base["a"] = []any{map[string]any{"b": "x"}} },
		func() { base["source"] = []any{"aws.ec2", []any{"custom.app3"}} },
		func() { delete(base, "source") },
		func() { detail["container"].(map[string]any)["exitCode"] = float64(r.IntN(200)) },
		func() { detail["status"] = []any{"FAILED", "RUNNING"} },
		func() { detail["jobName"] = fmt.Sprintf("nightly-%d-x", r.IntN(12)) },
		func() { base["detail"] = []any{detail, map[string]any{"status": "SUCCEEDED"}} },
	}
	for i := range 300 {
		detail["status"] = batchStatuses[r.IntN(len(batchStatuses))]
		detail["jobQueue"] = fmt.Sprintf("arn:aws:batch:us-east-1:123456789012:job-queue/queue-%d", r.IntN(25))
		base["detail-type"] = []string{"Batch Job State Change", "Batch Job Queue Blocked", "EC2 Instance State-change Notification"}[r.IntN(3)]
		extras[r.IntN(len(extras))]()
		// Round-trip through JSON so the event holds only decoded types.
		data, err := json.Marshal(base)
		require.NoError(t, err)
		event := decode(t, string(data))

		var want []string
		for id, p := range patterns {
			if p.MatchValue(event) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		got := s.MatchValue(event)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("event %d %s: Set mismatch (-want +got):\n%s", i, data, diff)
		}
		base = decode(t, batchJobEvent).(map[string]any)
		detail = base["detail"].(map[string]any)
	}
}

func TestSetConcurrent(t *testing.T) {
	t.Parallel()
	var s Set
	rules := realisticRules(100, 3)
	for i, rule := range rules {
		s.Put(fmt.Sprint(i), MustCompile(rule))
	}
	event := decode(t, batchJobEvent)
	want := s.MatchValue(event)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if g%2 == 0 {
					// Writers churn ids outside the ones being checked.
					id := fmt.Sprintf("tmp-%d-%d", g, i%5)
					s.Put(id, MustCompile(`{"source":["nope"]}`))
					s.Delete(id)
					continue
				}
				if got := s.MatchValue(event); !slices.Equal(got, want) {
					t.Errorf("concurrent match: got %d ids, want %d", len(got), len(want))
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestMatchDoesNotAllocate is not parallel: AllocsPerRun counts the
// allocations of the whole process.
func TestMatchDoesNotAllocate(t *testing.T) {
	s, patterns := newRealisticSet(t, 300)
	event := decodeBatchEvent(t)
	dst := s.AppendMatches(nil, event)
	require.NotEmpty(t, dst)
	allocs := testing.AllocsPerRun(100, func() {
		dst = s.AppendMatches(dst[:0], event)
	})
	require.Zero(t, allocs, "Set.AppendMatches")
	allocs = testing.AllocsPerRun(100, func() {
		for _, p := range patterns {
			p.MatchValue(event)
		}
	})
	require.Zero(t, allocs, "Pattern.MatchValue")
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}
