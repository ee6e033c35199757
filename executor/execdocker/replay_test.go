package execdocker

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOverlapWriter feeds replays that start at various places in the
// stored tail, in pieces of every size, and checks what passes.
func TestOverlapWriter(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		tail   []string
		replay string
		want   string
	}{
		"no tail":                       {nil, "a\nb\n", "a\nb\n"},
		"starts at the tail":            {[]string{"a", "b"}, "a\nb\nc\n", "c\n"},
		"starts inside":                 {[]string{"x", "a", "b"}, "a\nb\nc\nd", "c\nd"},
		"only the tail":                 {[]string{"a", "b"}, "a\nb\n", ""},
		"only the last line":            {[]string{"a", "b"}, "b\nc\n", "c\n"},
		"repeated lines":                {[]string{"a", "b", "a", "b"}, "a\nb\nc\n", "c\n"},
		"repeats after":                 {[]string{"a", "b", "a"}, "a\nb\n", "b\n"},
		"longest overlap":               {[]string{".", "."}, ".\n.\n.\n", ".\n"},
		"new line repeats":              {[]string{"a", "."}, ".\n.\n", ".\n"},
		"no alignment":                  {[]string{"a", "b"}, "c\nd\n", "c\nd\n"},
		"reordered (a repeat, no loss)": {[]string{"out", "err"}, "err\nout\nnew\n", "out\nnew\n"},
		"CR and empty lines":            {[]string{"a", "b"}, "a\r\n\nb\r\nc\n", "c\n"},
		"partial line at end":           {[]string{"a", "b"}, "a\nb", ""},
		"partial new line":              {[]string{"a"}, "a\nnew", "new"},
		"empty replay":                  {[]string{"a"}, "", ""},
		"tail longer than all":          {[]string{"p", "q", "a"}, "a\nz\n", "z\n"},
	}
	for name, tc := range tests {
		for _, size := range []int{1, 2, 3, 100} {
			var out bytes.Buffer
			w := newOverlapWriter(&out, tc.tail)
			for p := tc.replay; len(p) > 0; {
				k := min(size, len(p))
				n, err := w.Write([]byte(p[:k]))
				require.NoError(t, err)
				require.Equal(t, k, n)
				p = p[k:]
			}
			w.finish()
			require.Equal(t, tc.want, out.String(), "%s, pieces of %d", name, size)
			// Once decided, everything passes.
			_, err := w.Write([]byte("later\n"))
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(out.String(), "later\n"), name)
		}
	}
}
