package joblog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/joblog"
)

const (
	group  = joblog.DefaultGroup
	stream = "myjobdef/default/0c1f9a7e-task"
)

// clock is a settable test clock in epoch milliseconds.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time                 { return time.UnixMilli(c.ms.Load()) }
func (c *clock) set(ms int64)                   { c.ms.Store(ms) }
func (c *clock) advance(ms int64)               { c.ms.Add(ms) }
func newClock(ms int64) *clock                  { c := &clock{}; c.set(ms); return c }
func (c *clock) opt(t *testing.T) joblog.Option { return joblog.WithClock(t, c.now) }

type testBundle struct {
	store *joblog.Store
	clock *clock
	dir   string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{clock: newClock(1_700_000_000_000), dir: t.TempDir()}
	b.store = b.open(t)
	return b
}

func (b *testBundle) open(t *testing.T) *joblog.Store {
	t.Helper()
	s, err := joblog.Open(b.dir, b.clock.opt(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (b *testBundle) writer(t *testing.T, stream string) *joblog.Writer {
	t.Helper()
	w, err := b.store.Writer(group, stream)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func write(t *testing.T, w *joblog.Writer, s string) {
	t.Helper()
	if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("Write(%.40q) = %d, %v", s, n, err)
	}
}

func (b *testBundle) read(t *testing.T, p joblog.ReadParams) *joblog.ReadResult {
	t.Helper()
	if p.Group == "" {
		p.Group = group
	}
	if p.Stream == "" {
		p.Stream = stream
	}
	res, err := b.store.Read(context.Background(), &p)
	if err != nil {
		t.Fatalf("Read(%+v): %v", p, err)
	}
	if !strings.HasPrefix(res.NextForwardToken, "f/") || !strings.HasPrefix(res.NextBackwardToken, "b/") {
		t.Fatalf("tokens %q %q", res.NextForwardToken, res.NextBackwardToken)
	}
	return res
}

func messages(events []joblog.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Message
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, stream)
	write(t, w, "hello\nworld\n")
	b.clock.advance(5)
	write(t, w, "third line\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res := b.read(t, joblog.ReadParams{StartFromHead: true})
	t0 := int64(1_700_000_000_000)
	want := []joblog.Event{
		{Timestamp: t0, IngestionTime: t0, Message: "hello"},
		{Timestamp: t0, IngestionTime: t0, Message: "world"},
		{Timestamp: t0 + 5, IngestionTime: t0 + 5, Message: "third line"},
	}
	if !slices.Equal(res.Events, want) {
		t.Errorf("events = %+v, want %+v", res.Events, want)
	}
	// Newest-first default returns the same (ascending) events here.
	if tail := b.read(t, joblog.ReadParams{}); !slices.Equal(tail.Events, want) {
		t.Errorf("tail events = %+v", tail.Events)
	}
	if _, err := w.Write([]byte("x\n")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestPartialLines(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, stream)
	write(t, w, "hel")
	b.clock.advance(10)
	write(t, w, "lo\nwor")
	// Complete lines are readable at once (a follower sees them live).
	res := b.read(t, joblog.ReadParams{StartFromHead: true})
	if got := messages(res.Events); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("before Close: %q", got)
	}
	if ts := res.Events[0].Timestamp; ts != 1_700_000_000_000 {
		t.Errorf("timestamp %d, want the time the line's first byte arrived", ts)
	}
	if ing := res.Events[0].IngestionTime; ing != 1_700_000_000_010 {
		t.Errorf("ingestion time %d, want the time the line was stored", ing)
	}
	write(t, w, "ld")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res = b.read(t, joblog.ReadParams{StartFromHead: true})
	if got := messages(res.Events); !slices.Equal(got, []string{"hello", "world"}) {
		t.Errorf("after Close: %q", got)
	}
}

func TestLineEndings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, stream)
	write(t, w, "a\r\nb\r")
	write(t, w, "\n\r\n\n")
	write(t, w, "c\rd\n  \n")
	w.Close()
	got := messages(b.read(t, joblog.ReadParams{StartFromHead: true}).Events)
	if want := []string{"a", "b", "c\rd", "  "}; !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q (empty lines dropped)", got, want)
	}
}

func TestLongLines(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := map[string]struct {
		line   string
		pieces int // Write calls
	}{
		"ascii in one write":     {line: strings.Repeat("x", 2*joblog.MaxEventSize+100), pieces: 1},
		"ascii in many writes":   {line: strings.Repeat("0123456789", 70_000), pieces: 97},
		"two-byte runes":         {line: strings.Repeat("é", joblog.MaxEventSize), pieces: 1},
		"three-byte runes split": {line: strings.Repeat("€", joblog.MaxEventSize/2), pieces: 13},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := "long/" + strings.ReplaceAll(name, " ", "-")
			w := b.writer(t, s)
			step := len(tc.line)/tc.pieces + 1
			for i := 0; i < len(tc.line); i += step {
				write(t, w, tc.line[i:min(i+step, len(tc.line))])
			}
			write(t, w, "\nnext\n")
			w.Close()
			var got []string
			for tok := ""; ; {
				res := b.read(t, joblog.ReadParams{Stream: s, StartFromHead: true, Token: tok})
				if res.NextForwardToken == tok {
					break
				}
				got, tok = append(got, messages(res.Events)...), res.NextForwardToken
			}
			if got[len(got)-1] != "next" {
				t.Fatalf("last event %.20q, want next", got[len(got)-1])
			}
			got = got[:len(got)-1]
			for _, m := range got {
				if len(m) > joblog.MaxEventSize || len(m) < joblog.MaxEventSize-3 && m != got[len(got)-1] {
					t.Errorf("event of %d bytes, want at most %d and only the last one short", len(m), joblog.MaxEventSize)
				}
				if utf8.ValidString(tc.line) && !utf8.ValidString(m) {
					t.Errorf("event splits a UTF-8 character")
				}
			}
			if strings.Join(got, "") != tc.line {
				t.Errorf("events do not add up to the line (%d events)", len(got))
			}
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const writers, perWriter, lines = 4, 3, 500
	var wg sync.WaitGroup
	var ws []*joblog.Writer
	for i := range writers {
		w := b.writer(t, stream)
		ws = append(ws, w)
		for j := range perWriter {
			wg.Go(func() {
				// Goroutines sharing a Writer write whole lines; separate
				// Writers may also leave partial lines between writes.
				for n := range lines {
					b.clock.advance(1)
					line := fmt.Sprintf("w%d-g%d-%04d %s\n", i, j, n, strings.Repeat("z", n%37))
					if _, err := w.Write([]byte(line)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}
	// Also a Writer of its own writing in fragments.
	w := b.writer(t, stream)
	for n := range lines {
		line := fmt.Sprintf("frag-%04d\n", n)
		write(t, w, line[:3])
		write(t, w, line[3:])
	}
	w.Close()
	// Read through a fresh Store, as after a restart.
	_ = b.store.Close()
	b.store = b.open(t)

	all := readAll(t, b, joblog.ReadParams{StartFromHead: true})
	seen := map[string]bool{}
	var last int64
	for _, e := range all {
		if seen[e.Message] {
			t.Fatalf("duplicate %q", e.Message)
		}
		seen[e.Message] = true
		if e.Timestamp < last {
			t.Fatalf("timestamp went back from %d to %d", last, e.Timestamp)
		}
		last = e.Timestamp
	}
	for i := range writers {
		for j := range perWriter {
			for n := range lines {
				m := fmt.Sprintf("w%d-g%d-%04d %s", i, j, n, strings.Repeat("z", n%37))
				if !seen[m] {
					t.Fatalf("missing %q", m)
				}
			}
		}
	}
	for n := range lines {
		if m := fmt.Sprintf("frag-%04d", n); !seen[m] {
			t.Fatalf("missing %q", m)
		}
	}
	if want := writers*perWriter*lines + lines; len(all) != want {
		t.Errorf("%d events, want %d", len(all), want)
	}
}

// readAll pages forward from p until the end-token rule says stop.
func readAll(t *testing.T, b *testBundle, p joblog.ReadParams) []joblog.Event {
	t.Helper()
	var all []joblog.Event
	for {
		res := b.read(t, p)
		if res.NextForwardToken == p.Token {
			if len(res.Events) != 0 {
				t.Fatalf("events with an unchanged token")
			}
			return all
		}
		all = append(all, res.Events...)
		p.Token = res.NextForwardToken
	}
}

func TestReopen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, stream)
	write(t, w, "one\n")
	w.Close()
	w = b.writer(t, stream)
	write(t, w, "two\n")
	w.Close()

	// A new Store on the same directory (a restarted server) appends too,
	// and timestamps do not go back even if the clock does.
	b.store.Close()
	b.store = b.open(t)
	b.clock.advance(-60_000)
	w = b.writer(t, stream)
	write(t, w, "three")
	w.Close()
	res := b.read(t, joblog.ReadParams{StartFromHead: true})
	if got := messages(res.Events); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("messages = %q", got)
	}
	if res.Events[2].Timestamp < res.Events[1].Timestamp {
		t.Errorf("timestamps %d then %d", res.Events[1].Timestamp, res.Events[2].Timestamp)
	}
}

func TestTornLine(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, stream)
	write(t, w, "whole\n")
	w.Close()
	// A crash in the middle of a write leaves half a line.
	files, _ := filepath.Glob(filepath.Join(b.dir, "*", "*.log"))
	if len(files) != 1 {
		t.Fatalf("stream files %q", files)
	}
	f, err := os.OpenFile(files[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("1700000000000 17000")
	f.Close()
	if got := messages(b.read(t, joblog.ReadParams{}).Events); !slices.Equal(got, []string{"whole"}) {
		t.Errorf("readers must ignore the torn line: %q", got)
	}
	w = b.writer(t, stream)
	write(t, w, "after\n")
	w.Close()
	if got := messages(b.read(t, joblog.ReadParams{}).Events); !slices.Equal(got, []string{"whole", "after"}) {
		t.Errorf("after reopening: %q", got)
	}
}

func TestNotFoundAndInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, stream)
	write(t, w, "a\nb\nc\n")
	w.Close()
	ctx := context.Background()
	for _, p := range []joblog.ReadParams{
		{Group: group, Stream: "nope"},
		{Group: "/no/such/group", Stream: stream},
		{Group: group, Stream: "bad:name"},
	} {
		if _, err := b.store.Read(ctx, &p); !errors.Is(err, gantry.ErrNotFound) {
			t.Errorf("Read(%s %s) error = %v, want ErrNotFound", p.Group, p.Stream, err)
		}
	}
	if _, err := b.store.Streams("/no/such/group", ""); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("Streams(unknown) error = %v, want ErrNotFound", err)
	}
	for _, tok := range []string{"x", "f/", "f/-1", "b/abc", "f/99999", "f/1", "f/35"} {
		_, err := b.store.Read(ctx, &joblog.ReadParams{Group: group, Stream: stream, Token: tok})
		if !errors.Is(err, joblog.ErrInvalidToken) {
			t.Errorf("Read(token %q) error = %v, want ErrInvalidToken", tok, err)
		}
	}
	for _, name := range [][2]string{{"", "s"}, {"g", ""}, {"g with space", "s"}, {"g", "a*b"}, {"g", strings.Repeat("s", 513)}} {
		if _, err := b.store.Writer(name[0], name[1]); err == nil {
			t.Errorf("Writer(%q, %.20q) accepted an invalid name", name[0], name[1])
		}
	}
}

func TestStreamsAndGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	names := []string{"def-a/default/t1", "def-a/default/t2", "def-b/default/t3", "..", ".hidden", "a%2Fb", "ünï/cøde"}
	for i, name := range names {
		w := b.writer(t, name)
		if i == 0 {
			b.clock.advance(100)
			write(t, w, "first\n")
			b.clock.advance(100)
			write(t, w, "second\n")
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	other, err := b.store.Writer("other-group", "s")
	if err != nil {
		t.Fatal(err)
	}
	other.Close()

	groups, err := b.store.Groups()
	if err != nil || !slices.Equal(groups, []string{group, "other-group"}) {
		t.Errorf("Groups() = %q, %v", groups, err)
	}
	all, err := b.store.Streams(group, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range all {
		got = append(got, s.Name)
	}
	want := slices.Sorted(slices.Values(names))
	if !slices.Equal(got, want) {
		t.Errorf("stream names %q, want %q", got, want)
	}
	infos, err := b.store.Streams(group, "def-a/")
	if err != nil || len(infos) != 2 {
		t.Fatalf("Streams(def-a/) = %+v, %v", infos, err)
	}
	t0 := int64(1_700_000_000_000)
	info := infos[0]
	if info.Name != "def-a/default/t1" || info.CreationTime != t0 || info.FirstEventTimestamp != t0+100 ||
		info.LastEventTimestamp != t0+200 || info.LastIngestionTime != t0+200 || info.StoredBytes == 0 {
		t.Errorf("info %+v", info)
	}
	if e := infos[1]; e.FirstEventTimestamp != 0 || e.LastEventTimestamp != 0 || e.CreationTime != t0+200 {
		t.Errorf("empty stream info %+v", e)
	}
	res := b.read(t, joblog.ReadParams{Stream: "def-a/default/t2"})
	if len(res.Events) != 0 || res.NextForwardToken[2:] != res.NextBackwardToken[2:] {
		t.Errorf("empty stream read %+v", res)
	}
}

func TestResponseSizeCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, stream)
	big := strings.Repeat("b", 200<<10)
	for range 12 {
		write(t, w, big+"\n")
	}
	w.Close()
	res := b.read(t, joblog.ReadParams{StartFromHead: true})
	if n := len(res.Events); n == 0 || n > 6 {
		t.Errorf("first page has %d events of 200 KiB, want at most about 1 MiB", n)
	}
	if n := len(readAll(t, b, joblog.ReadParams{StartFromHead: true})); n != 12 {
		t.Errorf("paged %d events, want 12", n)
	}
}

// writeNumbered writes n events "event <i>", the clock advancing 1ms every
// 10 events.
func writeNumbered(t *testing.T, b *testBundle, stream string, n int) (first int64) {
	t.Helper()
	first = b.clock.ms.Load()
	w := b.writer(t, stream)
	var buf bytes.Buffer
	for i := range n {
		if i%10 == 0 && i > 0 {
			write(t, w, buf.String())
			buf.Reset()
			b.clock.advance(1)
		}
		fmt.Fprintf(&buf, "event %d\n", i)
	}
	write(t, w, buf.String())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return first
}

func checkNumbered(t *testing.T, events []joblog.Event, from, to int) {
	t.Helper()
	if len(events) != to-from {
		t.Fatalf("%d events, want %d (%d..%d)", len(events), to-from, from, to-1)
	}
	for i, e := range events {
		if want := fmt.Sprintf("event %d", from+i); e.Message != want {
			t.Fatalf("event %d is %q, want %q", i, e.Message, want)
		}
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 100_000
	writeNumbered(t, b, stream, n)

	for _, limit := range []int{0, 777} {
		t.Run(fmt.Sprintf("forward limit %d", limit), func(t *testing.T) {
			t.Parallel()
			all := readAll(t, b, joblog.ReadParams{StartFromHead: true, Limit: limit})
			checkNumbered(t, all, 0, n)
		})
		t.Run(fmt.Sprintf("backward limit %d", limit), func(t *testing.T) {
			t.Parallel()
			p := joblog.ReadParams{Limit: limit}
			var pages [][]joblog.Event
			var firstForward string
			for {
				res := b.read(t, p)
				if p.Token == "" {
					firstForward = res.NextForwardToken
					checkNumbered(t, res.Events, n-cmpOr(limit, joblog.MaxLimit), n)
				}
				if res.NextBackwardToken == p.Token {
					if len(res.Events) != 0 {
						t.Fatal("events with an unchanged token")
					}
					break
				}
				pages = append(pages, res.Events)
				p.Token = res.NextBackwardToken
			}
			var all []joblog.Event
			for _, page := range slices.Backward(pages) {
				all = append(all, page...)
			}
			checkNumbered(t, all, 0, n)
			// The tail's forward token is the end: nothing new yet.
			res := b.read(t, joblog.ReadParams{Token: firstForward})
			if res.NextForwardToken != firstForward || len(res.Events) != 0 {
				t.Errorf("reading on from the tail: %d events, token %s -> %s", len(res.Events), firstForward, res.NextForwardToken)
			}
		})
	}

	t.Run("turn around", func(t *testing.T) {
		t.Parallel()
		// Forward one page, back one page: the same page again... minus
		// nothing: a backward token marks the page's first event.
		res := b.read(t, joblog.ReadParams{StartFromHead: true, Limit: 100})
		res = b.read(t, joblog.ReadParams{Token: res.NextForwardToken, Limit: 100})
		checkNumbered(t, res.Events, 100, 200)
		back := b.read(t, joblog.ReadParams{Token: res.NextBackwardToken, Limit: 50})
		checkNumbered(t, back.Events, 50, 100)
		fwd := b.read(t, joblog.ReadParams{Token: back.NextForwardToken, Limit: 10})
		checkNumbered(t, fwd.Events, 100, 110)
		// At the head, backward returns the same token.
		head := b.read(t, joblog.ReadParams{StartFromHead: true, Limit: 1})
		again := b.read(t, joblog.ReadParams{Token: head.NextBackwardToken})
		if again.NextBackwardToken != head.NextBackwardToken || len(again.Events) != 0 {
			t.Errorf("before the head: %d events, %s -> %s", len(again.Events), head.NextBackwardToken, again.NextBackwardToken)
		}
	})
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestTimeRange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 5000 // 500 distinct milliseconds
	t0 := writeNumbered(t, b, stream, n)
	tests := map[string]struct {
		start, end int64
		from, to   int // expected event numbers [from, to)
	}{
		"start only":   {start: t0 + 100, from: 1000, to: n},
		"end only":     {end: t0 + 42, from: 0, to: 420},
		"both":         {start: t0 + 10, end: t0 + 20, from: 100, to: 200},
		"empty range":  {start: t0 + 20, end: t0 + 20, from: 0, to: 0},
		"before all":   {end: t0, from: 0, to: 0},
		"after all":    {start: t0 + 10_000, from: 0, to: 0},
		"covering all": {start: t0 - 5, end: t0 + 10_000, from: 0, to: n},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := joblog.ReadParams{StartTime: tc.start, EndTime: tc.end, StartFromHead: true, Limit: 333}
			checkNumbered(t, readAll(t, b, p), tc.from, tc.to)
			if tc.to > tc.from {
				tail := b.read(t, joblog.ReadParams{StartTime: tc.start, EndTime: tc.end, Limit: 7})
				checkNumbered(t, tail.Events, tc.to-7, tc.to)
				for _, e := range tail.Events {
					if e.Timestamp < tc.start || tc.end > 0 && e.Timestamp >= tc.end {
						t.Errorf("event at %d outside [%d, %d)", e.Timestamp, tc.start, tc.end)
					}
				}
			}
		})
	}
}
