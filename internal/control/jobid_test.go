package control

import (
	"regexp"
	"testing"
)

// TestNewJobID checks that job ids have AWS's form (a version 4 UUID),
// are unique, and sort by the time they were made.
func TestNewJobID(t *testing.T) {
	t.Parallel()
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	prev := ""
	for range 10000 {
		id := newJobID()
		if !v4.MatchString(id) {
			t.Fatalf("job id %q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("job id %q made twice", id)
		}
		seen[id] = true
		if id[:13] < prev[:min(13, len(prev))] {
			t.Fatalf("job id %q sorts before the earlier %q", id, prev)
		}
		prev = id
	}
}
