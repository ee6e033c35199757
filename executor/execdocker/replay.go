package execdocker

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// replayOverlap is how far before task.LogsSince Recover asks the engine
// for a container's logs. The stream's times are when Gantry received each
// line on the attach stream; the engine stamps its own copy separately,
// sometimes a few milliseconds later under load, so resuming right after
// LogsSince could deliver the last lines twice. Asking from earlier and
// dropping what repeats the stream's stored tail (overlapWriter) delivers
// each line once. The runner's task.LogsTail covers a wider window
// (executor.LogsTailWindow), so the engine's first line lies inside it.
const replayOverlap = 2 * time.Second

// overlapWriter passes a container's replayed output on to out without the
// lines the log stream already holds. tail is the stream's last messages
// (oldest first); the replay starts somewhere inside them. Lines are held
// while they could still repeat tail; once they cannot, the longest
// overlap found (a run of replayed lines equal to the whole end of tail)
// is dropped and the rest passes. If no alignment is found (output
// reordered between stdout and stderr, lines split by the log store), all
// of it passes: a line twice rather than a line lost. Empty lines and a
// trailing '\r' are ignored when comparing, as the log store drops and
// trims them. Written by hand: it is a few lines of sequence matching that
// no library offers for a stream.
type overlapWriter struct {
	mu      sync.Mutex
	out     io.Writer
	tail    []string
	held    [][]byte // complete lines held, each with its '\n'
	keys    []int    // indexes into held of the non-empty lines
	partial []byte   // bytes after the last '\n', held too
	cands   []int    // starts i in tail that still match held lines
	best    int      // smallest i whose match reached the end of tail; -1: none
	decided bool
}

func newOverlapWriter(out io.Writer, tail []string) *overlapWriter {
	w := &overlapWriter{out: out, tail: tail, best: -1, decided: len(tail) == 0}
	for i := range tail {
		w.cands = append(w.cands, i)
	}
	return w
}

func (w *overlapWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.decided {
		return w.out.Write(p)
	}
	n := len(p)
	for len(p) > 0 && !w.decided {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			return n, nil
		}
		line := append(w.partial, p[:i+1]...)
		w.partial, p = nil, p[i+1:]
		w.hold(line)
	}
	if len(p) > 0 { // decided within p: the rest passes
		if _, err := w.out.Write(p); err != nil {
			return n, err
		}
	}
	return n, nil
}

// hold adds one complete line and decides when no candidate is left.
func (w *overlapWriter) hold(line []byte) {
	w.held = append(w.held, line)
	key := string(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'}))
	if key == "" {
		return
	}
	w.keys = append(w.keys, len(w.held)-1)
	m := len(w.keys) - 1 // this line's place among the non-empty ones
	next := w.cands[:0]
	for _, i := range w.cands {
		if w.tail[i+m] != key {
			continue
		}
		if i+m+1 == len(w.tail) {
			if w.best < 0 || i < w.best {
				w.best = i
			}
			continue
		}
		next = append(next, i)
	}
	w.cands = next
	if len(w.cands) == 0 {
		w.decide()
	}
}

// decide drops the overlap, if one was found, and writes what is held.
func (w *overlapWriter) decide() {
	from := 0
	if w.best >= 0 {
		from = w.keys[len(w.tail)-w.best-1] + 1
	}
	for _, line := range w.held[from:] {
		_, _ = w.out.Write(line)
	}
	if len(w.partial) > 0 {
		_, _ = w.out.Write(w.partial)
	}
	w.held, w.keys, w.partial, w.cands, w.decided = nil, nil, nil, nil, true
}

// finish is called when the replay ends; a partial last line is compared
// as a line. A candidate still matching has not reached the end of tail,
// which a replay that started inside tail must contain: only a complete
// match (best) counts, and without one everything held passes.
func (w *overlapWriter) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.decided {
		return
	}
	if len(w.partial) > 0 {
		partial := w.partial
		w.partial = nil
		if w.hold(partial); w.decided {
			return
		}
	}
	w.decide()
}
