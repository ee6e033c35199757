package gantry

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestValidName checks the hand-written loop against the pattern AWS
// documents for names, on edge cases and on random strings.
func TestValidName(t *testing.T) {
	t.Parallel()
	pattern := regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	cases := []string{"", "a", "A-z_0", strings.Repeat("x", 128), strings.Repeat("x", 129), "a b", "a.b", "é", "a\n", "-", "_"}
	for c := range 256 {
		cases = append(cases, string(rune(c)), "a"+string([]byte{byte(c)}))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, alphabet := range []string{"abcXYZ019_-. /:\x00\xff", "abcXYZ019_-"} {
		for range 2000 {
			b := make([]byte, r.IntN(140))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			cases = append(cases, string(b))
		}
	}
	for _, s := range cases {
		if got, want := ValidName(s), pattern.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}
