package joblog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// streamFile is a stream open for appending, shared by its Writers.
type streamFile struct {
	key  streamKey
	path string

	mu         sync.Mutex
	f          *os.File
	refs       int
	size       int64 // bytes of complete lines
	lastTS     int64 // last event's timestamp, so they never decrease
	lastIngest int64
	// dirty: events were written since the last fsync. Only events are
	// worth one: a header alone (an empty stream) lost to a power failure
	// is harmless, and a killed process loses nothing write(2) returned.
	dirty bool
	// dirUnsynced: the file's name may not be durable yet (this Store
	// created the file, or opened it not knowing who created it), so the
	// first fsync of events syncs the directory too.
	dirUnsynced bool
	buf         []byte
	maxBytes    int64       // size cap of the file; 0: unlimited
	truncated   atomic.Bool // the cap was reached and the marker written
}

// Writer appends output to a stream, one event per line. It is safe for
// concurrent use. Close it to flush the last partial line.
type Writer struct {
	store *Store
	sf    *streamFile

	mu        sync.Mutex
	closed    bool
	partial   []byte // an unfinished line
	partialTS int64  // when its first byte arrived
}

// event is an event before it is written.
type event struct {
	ts  int64
	msg []byte
}

// Writer opens a stream for appending, creating the stream (and its group)
// if needed. Several Writers of one stream may be open at once; each keeps
// its own partial line.
func (s *Store) Writer(group, stream string) (*Writer, error) {
	path, err := s.path(group, stream)
	if err != nil {
		return nil, err
	}
	key := streamKey{group, stream}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("joblog: store closed")
	}
	sf := s.streams[key]
	if sf == nil {
		if sf, err = s.openStreamFile(group, path); err != nil {
			return nil, fmt.Errorf("joblog: open %s %s: %w", group, stream, err)
		}
		sf.key = key
		s.streams[key] = sf
	}
	sf.refs++
	return &Writer{store: s, sf: sf}, nil
}

// openStreamFile opens or creates a stream file for appending, creating
// its group if needed. The caller holds s.mu. A new file (the usual case:
// one stream per attempt) costs one open and the header's write: nothing
// to read back, no directory to look up first. An existing one is checked:
// a line torn by a crash is cut off.
func (s *Store) openStreamFile(group, path string) (*streamFile, error) {
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
		switch {
		case err == nil:
			sf := &streamFile{path: path, f: f, maxBytes: s.maxStreamBytes, dirUnsynced: true}
			if err := sf.writeHeader(s.nowMs()); err != nil {
				f.Close()
				return nil, err
			}
			return sf, nil
		case errors.Is(err, os.ErrExist):
			return s.reopenStreamFile(path)
		case errors.Is(err, os.ErrNotExist) && attempt == 0:
			// No group directory yet.
			if err := s.ensureGroup(group); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
	}
}

// reopenStreamFile opens an existing stream file for appending, cutting off
// a line torn by a crash (or starting over if even the header is torn).
func (s *Store) reopenStreamFile(path string) (*streamFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	sf := &streamFile{path: path, f: f, maxBytes: s.maxStreamBytes, dirUnsynced: true}
	fail := func(err error) (*streamFile, error) {
		f.Close()
		return nil, err
	}
	rf, err := openForRead(f)
	if err != nil {
		return fail(err)
	}
	if rf.dataStart == 0 {
		// Its header never made it: start over with a header.
		if rf.size > 0 {
			if err := f.Truncate(0); err != nil {
				return fail(err)
			}
		}
		if err := sf.writeHeader(s.nowMs()); err != nil {
			return fail(err)
		}
		return sf, nil
	}
	if rf.end < rf.size {
		if err := f.Truncate(rf.end); err != nil {
			return fail(err)
		}
	}
	sf.size = rf.end
	if rf.end > rf.dataStart {
		last, _, err := lastLine(f, rf.dataStart, rf.end)
		if err != nil {
			return fail(err)
		}
		sf.lastTS, sf.lastIngest = last.Timestamp, last.IngestionTime
		sf.truncated.Store(isTruncatedMarker(last.Message))
	}
	return sf, nil
}

// writeHeader writes the header line of an empty file.
func (sf *streamFile) writeHeader(now int64) error {
	header := headerPrefix + strconv.FormatInt(now, 10) + "\n"
	if _, err := sf.f.WriteString(header); err != nil {
		return err
	}
	sf.size = int64(len(header))
	return nil
}

// truncatedPrefix starts the marker event of a stream cut at its size cap.
const truncatedPrefix = "[gantry: log stream truncated at "

// truncatedMarker is the marker event of a stream cut at maxBytes.
func truncatedMarker(maxBytes int64) []byte {
	return fmt.Appendf(nil, "%s%d bytes]", truncatedPrefix, maxBytes)
}

// isTruncatedMarker reports whether msg is a marker written by append
// (whatever the cap was then).
func isTruncatedMarker(msg string) bool {
	num, ok := strings.CutPrefix(msg, truncatedPrefix)
	if !ok {
		return false
	}
	if num, ok = strings.CutSuffix(num, " bytes]"); !ok {
		return false
	}
	_, err := strconv.ParseInt(num, 10, 64)
	return err == nil
}

// append writes events in one write(2), so that readers see them at once.
// Past the size cap it writes the marker event instead, once, and drops
// the rest.
func (sf *streamFile) append(events []event, now int64) error {
	if len(events) == 0 {
		return nil
	}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if sf.truncated.Load() {
		return nil
	}
	ingest := max(now, sf.lastIngest)
	ts := sf.lastTS
	buf := sf.buf[:0]
	truncated := false
	for _, ev := range events {
		ts = max(ts, ev.ts)
		n := len(buf)
		buf = appendEventLine(buf, ts, ingest, ev.msg)
		if sf.maxBytes > 0 && sf.size+int64(len(buf)) > sf.maxBytes {
			buf = appendEventLine(buf[:n], ts, ingest, truncatedMarker(sf.maxBytes))
			truncated = true
			break
		}
	}
	if cap(buf) <= 1<<20 {
		sf.buf = buf
	}
	sf.dirty = true
	if _, err := sf.f.Write(buf); err != nil {
		// Do not leave half a line for the next append to run into.
		_ = sf.f.Truncate(sf.size)
		return fmt.Errorf("joblog: append to %s: %w", sf.path, err)
	}
	sf.size += int64(len(buf))
	sf.lastTS, sf.lastIngest = ts, ingest
	sf.truncated.Store(truncated)
	return nil
}

// appendEventLine appends "<timestamp> <ingestionTime> <message>\n".
func appendEventLine(buf []byte, ts, ingest int64, msg []byte) []byte {
	buf = strconv.AppendInt(buf, ts, 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, ingest, 10)
	buf = append(buf, ' ')
	buf = append(buf, msg...)
	return append(buf, '\n')
}

// Write splits p into events at '\n' (dropping a '\r' before it) and
// appends the complete lines at once. The bytes after the last '\n' wait
// for more, or for Close. Lines longer than MaxEventSize become several
// events; empty lines are dropped, as CloudWatch has no empty events.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, os.ErrClosed
	}
	if w.sf.truncated.Load() {
		// Past the size cap: drop without buffering anything.
		w.partial = nil
		return len(p), nil
	}
	now := w.store.nowMs()
	var events []event
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if len(w.partial) == 0 {
				w.partialTS = now
			}
			w.partial = append(w.partial, rest...)
			// Bound the partial line: full-size pieces go out now.
			for len(w.partial) > MaxEventSize {
				cut := splitPoint(w.partial)
				events = append(events, event{w.partialTS, bytes.Clone(w.partial[:cut])})
				w.partial = append(w.partial[:0], w.partial[cut:]...)
			}
			break
		}
		line, ts := rest[:i], now
		if len(w.partial) > 0 {
			line, ts = append(w.partial, line...), w.partialTS
			w.partial = nil
		}
		rest = rest[i+1:]
		events = appendLine(events, ts, line)
	}
	if err := w.sf.append(events, now); err != nil {
		return 0, err
	}
	return len(p), nil
}

// appendLine adds a complete line (without its '\n') as events.
func appendLine(events []event, ts int64, line []byte) []event {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	for len(line) > 0 {
		cut := len(line)
		if cut > MaxEventSize {
			cut = splitPoint(line)
		}
		events = append(events, event{ts, line[:cut]})
		line = line[cut:]
	}
	return events
}

// splitPoint is where to cut a message longer than MaxEventSize: at most
// MaxEventSize bytes, backing off to not split a UTF-8 character.
func splitPoint(b []byte) int {
	cut := MaxEventSize
	for i := 0; i < utf8.UTFMax-1 && !utf8.RuneStart(b[cut]); i++ {
		cut--
	}
	if !utf8.RuneStart(b[cut]) {
		return MaxEventSize // not UTF-8 anyway
	}
	return cut
}

// Close writes the partial line, if any, as a last event and syncs the
// stream's events to disk (a stream without new events needs no sync).
// Writing after Close fails.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	if len(w.partial) > 0 {
		errs = append(errs, w.sf.append(appendLine(nil, w.partialTS, w.partial), w.store.nowMs()))
		w.partial = nil
	}
	errs = append(errs, w.store.release(w.sf))
	return errors.Join(errs...)
}

// release syncs a stream's events and closes it when its last Writer is
// done. A stream that got no events since it was last synced (such as the
// empty stream of a job that printed nothing) is not synced: see
// streamFile.dirty. The syncs run outside the store's lock, so that
// streams of different jobs ending together overlap their fsyncs instead
// of queueing behind one another. (A new group directory's own entry is
// made durable by ensureGroup.)
func (s *Store) release(sf *streamFile) error {
	sf.mu.Lock()
	err := s.syncStream(sf)
	sf.mu.Unlock()
	errs := []error{err}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[sf.key] != sf {
		return errors.Join(append(errs, errors.New("joblog: store closed"))...)
	}
	sf.refs--
	if sf.refs == 0 {
		delete(s.streams, sf.key)
		sf.mu.Lock()
		if err := sf.f.Close(); err != nil {
			errs = append(errs, err)
		}
		sf.mu.Unlock()
	}
	return errors.Join(errs...)
}

// syncStream makes the events written so far durable, with the file's
// name if needed. sf.mu is held.
func (s *Store) syncStream(sf *streamFile) error {
	if !sf.dirty {
		return nil
	}
	s.syncs.Add(1)
	if err := sf.f.Sync(); err != nil {
		return fmt.Errorf("joblog: sync %s: %w", sf.path, err)
	}
	sf.dirty = false
	if sf.dirUnsynced {
		s.syncs.Add(1)
		if err := syncDir(filepath.Dir(sf.path)); err != nil {
			return err
		}
		sf.dirUnsynced = false
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("joblog: sync %s: %w", dir, err)
	}
	return nil
}
