package joblog_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gantrybatch/gantry/internal/joblog"
)

func TestSizeCap(t *testing.T) {
	t.Parallel()
	const maxBytes = 400
	b := &testBundle{clock: newClock(1_700_000_000_000), dir: t.TempDir()}
	open := func() *joblog.Store {
		s, err := joblog.Open(b.dir, b.clock.opt(t), joblog.WithMaxStreamBytes(maxBytes))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	b.store = open()
	w := b.writer(t, stream)
	// Far more than the cap, in many writes and one large one: every write
	// succeeds.
	for i := range 100 {
		write(t, w, fmt.Sprintf("line %03d\n", i))
	}
	write(t, w, strings.Repeat("big\n", 10_000))
	write(t, w, "unterminated")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("[gantry: log stream truncated at %d bytes]", maxBytes)
	check := func() []string {
		t.Helper()
		got := messages(readAll(t, b, joblog.ReadParams{StartFromHead: true}))
		if n := len(got); n < 2 || got[n-1] != marker {
			t.Fatalf("last message is not the marker: %q", got)
		}
		for i, m := range got[:len(got)-1] {
			if want := fmt.Sprintf("line %03d", i); m != want {
				t.Fatalf("message %d = %q, want %q", i, m, want)
			}
		}
		if n := strings.Count(strings.Join(got, "\n"), "truncated"); n != 1 {
			t.Fatalf("%d markers, want exactly one", n)
		}
		info, err := b.store.Stream(group, stream)
		if err != nil {
			t.Fatal(err)
		}
		if limit := int64(maxBytes + 100); info.StoredBytes > limit {
			t.Fatalf("stored %d bytes, want at most the cap plus the marker (%d)", info.StoredBytes, limit)
		}
		return got
	}
	first := check()

	// A reopened stream (a restarted server, a reattached attempt) stays
	// truncated: no second marker.
	b.store.Close()
	b.store = open()
	w = b.writer(t, stream)
	write(t, w, "more\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if again := check(); !slices.Equal(again, first) {
		t.Errorf("after reopen %q, want %q", again, first)
	}
}

func TestUnlimitedSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := joblog.Open(dir, joblog.WithMaxStreamBytes(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.Writer(group, stream)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1000) + "\n"
	for range 2000 { // 2 MB
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	info, err := s.Stream(group, stream)
	if err != nil || info.StoredBytes < 2_000_000 {
		t.Errorf("Stream = %+v, %v", info, err)
	}
}

func TestOffsetsAndTokenAt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	writeNumbered(t, b, stream, 50)
	ctx := context.Background()
	fwd, err := b.store.Read(ctx, &joblog.ReadParams{Group: group, Stream: stream, StartFromHead: true, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	back, err := b.store.Read(ctx, &joblog.ReadParams{Group: group, Stream: stream, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []*joblog.ReadResult{fwd, back} {
		if len(res.Offsets) != len(res.Events) || !slices.IsSorted(res.Offsets) {
			t.Fatalf("offsets %v for %d events", res.Offsets, len(res.Events))
		}
		// Reading from TokenAt(offset) starts with that event.
		for i, off := range res.Offsets {
			again, err := b.store.Read(ctx, &joblog.ReadParams{Group: group, Stream: stream, Token: joblog.TokenAt(off), Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Events) != 1 || again.Events[0] != res.Events[i] || again.Offsets[0] != off {
				t.Fatalf("TokenAt(%d) read %+v, want %+v", off, again.Events, res.Events[i])
			}
		}
	}
}
