package joblog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gantrybatch/gantry"
)

// Event is one log event. Times are epoch milliseconds.
type Event struct {
	Timestamp     int64
	IngestionTime int64
	Message       string
}

// ReadParams is a GetLogEvents request.
type ReadParams struct {
	Group  string
	Stream string
	// StartTime (inclusive) and EndTime (exclusive) filter events by
	// timestamp, in epoch milliseconds; 0 means unbounded.
	StartTime int64
	EndTime   int64
	// StartFromHead, without a Token, reads the first events rather than
	// the last ones.
	StartFromHead bool
	// Limit caps the number of events: 1 to MaxLimit; 0 (and anything
	// out of range, which the API layer should reject) means MaxLimit. A
	// response also stops after about 1 MiB of messages, so pages may be
	// shorter than Limit mid-stream.
	Limit int
	// Token is a NextForwardToken or NextBackwardToken of an earlier Read.
	Token string
}

// ReadResult is a GetLogEvents response. Events are in ascending order.
// Both tokens are always set; a Read that hands back the token it was given
// has reached the end of the stream in that direction.
type ReadResult struct {
	Events []Event
	// Offsets are the events' byte offsets in the stream, increasing: an
	// event's identity, and where TokenAt resumes reading.
	Offsets           []int64
	NextForwardToken  string
	NextBackwardToken string
}

// TokenAt returns the forward token of the event at offset (see
// ReadResult.Offsets): a Read with it starts with that event.
func TokenAt(offset int64) string { return "f/" + strconv.FormatInt(offset, 10) }

// Read returns events of a stream with CloudWatch GetLogEvents semantics:
// without a token, the last Limit events in the time range (or the first,
// with StartFromHead); with a token, the page after ("f/...") or before
// ("b/...") the position it marks. Read only holds one page in memory,
// however long the stream. An unknown stream is an error wrapping
// gantry.ErrNotFound; a token Read did not hand out, ErrInvalidToken.
func (s *Store) Read(ctx context.Context, p *ReadParams) (*ReadResult, error) {
	path, err := s.path(p.Group, p.Stream)
	if err != nil {
		return nil, fmt.Errorf("log stream %q in group %q: %w", p.Stream, p.Group, gantry.ErrNotFound)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("log stream %q in group %q: %w", p.Stream, p.Group, gantry.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("joblog: read: %w", err)
	}
	defer f.Close()
	rf, err := openForRead(f)
	if err != nil {
		return nil, fmt.Errorf("joblog: read %s: %w", path, err)
	}

	limit := p.Limit
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	// The time range as a byte range [lo, hi): timestamps never decrease.
	lo, hi := rf.dataStart, rf.end
	if p.StartTime > 0 {
		if lo, err = lowerBound(f, rf.dataStart, rf.end, p.StartTime); err != nil {
			return nil, err
		}
	}
	if p.EndTime > 0 {
		if hi, err = lowerBound(f, rf.dataStart, rf.end, p.EndTime); err != nil {
			return nil, err
		}
	}
	hi = max(hi, lo)

	forward, pos := p.StartFromHead, hi
	if forward {
		pos = lo
	}
	if p.Token != "" {
		if forward, pos, err = parseToken(f, rf, p.Token); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var (
		events     []Event
		offsets    []int64
		first, end int64
	)
	if forward {
		events, offsets, end, err = readForward(f, max(pos, lo), hi, limit)
		first = max(pos, lo)
	} else {
		events, offsets, first, err = readBackward(f, lo, min(pos, hi), limit)
		end = min(pos, hi)
	}
	if err != nil {
		return nil, fmt.Errorf("joblog: read %s: %w", path, err)
	}
	if len(events) == 0 {
		// Nothing further this way: hand the position back unchanged.
		first, end = pos, pos
	}
	return &ReadResult{
		Events:            events,
		Offsets:           offsets,
		NextForwardToken:  "f/" + strconv.FormatInt(end, 10),
		NextBackwardToken: "b/" + strconv.FormatInt(first, 10),
	}, nil
}

// parseToken checks that a token marks a line start inside the stream.
func parseToken(r io.ReaderAt, rf readFile, token string) (forward bool, pos int64, err error) {
	dir, num, ok := strings.Cut(token, "/")
	if ok && (dir == "f" || dir == "b") {
		pos, err = strconv.ParseInt(num, 10, 64)
	}
	if !ok || (dir != "f" && dir != "b") || err != nil || pos < rf.dataStart || pos > rf.end {
		return false, 0, fmt.Errorf("%w: %q", ErrInvalidToken, token)
	}
	if pos > rf.dataStart {
		var b [1]byte
		if _, err := r.ReadAt(b[:], pos-1); err != nil {
			return false, 0, fmt.Errorf("joblog: read: %w", err)
		}
		if b[0] != '\n' {
			return false, 0, fmt.Errorf("%w: %q", ErrInvalidToken, token)
		}
	}
	return dir == "f", pos, nil
}

// parseLine parses "<timestamp> <ingestionTime> <message>\n".
func parseLine(line []byte) (Event, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	ts, rest, ok1 := bytes.Cut(line, []byte{' '})
	ing, msg, ok2 := bytes.Cut(rest, []byte{' '})
	t, err1 := strconv.ParseInt(string(ts), 10, 64)
	i, err2 := strconv.ParseInt(string(ing), 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return Event{}, fmt.Errorf("corrupt event line %.60q", line)
	}
	return Event{Timestamp: t, IngestionTime: i, Message: string(msg)}, nil
}

// readForward returns events, and their offsets, from the line starting
// at from, stopping at hi, after limit events or after maxReadBytes of
// messages. end is the offset after the events read.
func readForward(f *os.File, from, hi int64, limit int) (events []Event, offsets []int64, end int64, err error) {
	if from >= hi {
		return nil, nil, from, nil
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, hi-from), 64<<10)
	pos, size := from, 0
	var long []byte
	for len(events) < limit && pos < hi && size < maxReadBytes {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			return nil, nil, 0, fmt.Errorf("at offset %d: %w", pos, err)
		}
		ev, err := parseLine(line)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("at offset %d: %w", pos, err)
		}
		events = append(events, ev)
		offsets = append(offsets, pos)
		pos += int64(len(line))
		size += len(ev.Message) + eventOverhead
	}
	return events, offsets, pos, nil
}

// readBackward returns the events (and offsets) of the lines just before
// the line start to, not before lo, in ascending order, reading the file
// backward in chunks. first is the offset of the first event read.
func readBackward(f *os.File, lo, to int64, limit int) (events []Event, offsets []int64, first int64, err error) {
	const chunk = 64 << 10
	pos := to      // lines from pos on are consumed
	bufStart := to // buf holds the file's bytes [bufStart, pos)
	var buf []byte
	size := 0
	for len(events) < limit && pos > lo && size < maxReadBytes {
		// Find the start of the line that ends at pos.
		var lineStart int64
		for {
			if len(buf) > 0 {
				if i := bytes.LastIndexByte(buf[:len(buf)-1], '\n'); i >= 0 {
					lineStart = bufStart + int64(i) + 1
					break
				}
			}
			if bufStart == lo {
				lineStart = lo
				break
			}
			n := min(chunk, bufStart-lo)
			grown := make([]byte, n+int64(len(buf)))
			if _, err := f.ReadAt(grown[:n], bufStart-n); err != nil {
				return nil, nil, 0, err
			}
			copy(grown[n:], buf)
			buf, bufStart = grown, bufStart-n
		}
		ev, err := parseLine(buf[lineStart-bufStart:])
		if err != nil {
			return nil, nil, 0, fmt.Errorf("at offset %d: %w", lineStart, err)
		}
		events = append(events, ev)
		offsets = append(offsets, lineStart)
		size += len(ev.Message) + eventOverhead
		buf, pos = buf[:lineStart-bufStart], lineStart
	}
	slices.Reverse(events)
	slices.Reverse(offsets)
	return events, offsets, pos, nil
}

// nextLineStart returns the first line start at or after p (end if none).
func nextLineStart(r io.ReaderAt, dataStart, end, p int64) (int64, error) {
	if p <= dataStart {
		return dataStart, nil
	}
	var buf [4096]byte
	for q := p - 1; q < end; {
		b := buf[:min(int64(len(buf)), end-q)]
		if _, err := r.ReadAt(b, q); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return q + int64(i) + 1, nil
		}
		q += int64(len(b))
	}
	return end, nil
}

// timestampAt parses the timestamp of the line starting at p.
func timestampAt(r io.ReaderAt, p, end int64) (int64, error) {
	var buf [24]byte
	b := buf[:min(int64(len(buf)), end-p)]
	if _, err := r.ReadAt(b, p); err != nil && err != io.EOF {
		return 0, err
	}
	num, _, ok := bytes.Cut(b, []byte{' '})
	ts, err := strconv.ParseInt(string(num), 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("joblog: corrupt event line at offset %d", p)
	}
	return ts, nil
}

// lowerBound returns the first line start in [dataStart, end] whose
// timestamp is at least t (end if none), by binary search over byte
// offsets.
func lowerBound(r io.ReaderAt, dataStart, end, t int64) (int64, error) {
	lo, hi := dataStart, end
	for lo < hi {
		mid := lo + (hi-lo)/2
		s, err := nextLineStart(r, dataStart, end, mid)
		if err != nil {
			return 0, err
		}
		atLeast := s == end
		if !atLeast {
			ts, err := timestampAt(r, s, end)
			if err != nil {
				return 0, err
			}
			atLeast = ts >= t
		}
		if atLeast {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return nextLineStart(r, dataStart, end, lo)
}

// readLineAt parses the line starting at p.
func readLineAt(f *os.File, p, end int64) (Event, int64, error) {
	events, _, next, err := readForward(f, p, end, 1)
	if err != nil || len(events) == 0 {
		return Event{}, 0, errors.Join(err, errors.New("joblog: no event"))
	}
	return events[0], next, nil
}

// lastLine parses the last line before end.
func lastLine(f *os.File, dataStart, end int64) (Event, int64, error) {
	events, _, start, err := readBackward(f, dataStart, end, 1)
	if err != nil || len(events) == 0 {
		return Event{}, 0, errors.Join(err, errors.New("joblog: no event"))
	}
	return events[0], start, nil
}
