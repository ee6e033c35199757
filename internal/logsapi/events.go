package logsapi

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/joblog"
)

// outputEvent is an event of GetLogEvents.
type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type getLogEventsInput struct {
	groupRef
	LogStreamName *string `json:"logStreamName"`
	StartTime     *int64  `json:"startTime"`
	EndTime       *int64  `json:"endTime"`
	NextToken     *string `json:"nextToken"`
	Limit         *int    `json:"limit"`
	StartFromHead *bool   `json:"startFromHead"`
}

type getLogEventsOutput struct {
	Events            []outputEvent `json:"events"`
	NextForwardToken  string        `json:"nextForwardToken"`
	NextBackwardToken string        `json:"nextBackwardToken"`
}

// getLogEvents is joblog.Read with the API's validation: its tokens are
// the store's, so reaching the end of the stream hands back the token sent.
func (h *Handler) getLogEvents(ctx context.Context, in *getLogEventsInput) (any, error) {
	group, err := h.resolve(in.groupRef)
	if err != nil {
		return nil, err
	}
	if in.LogStreamName == nil {
		return nil, invalidParam("logStreamName is required")
	}
	stream := *in.LogStreamName
	if err := validStreamName("logStreamName", stream); err != nil {
		return nil, err
	}
	n, err := limit("limit", in.Limit, joblog.MaxLimit, joblog.MaxLimit)
	if err != nil {
		return nil, err
	}
	start, end, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	p := &joblog.ReadParams{
		Group: group, Stream: stream, StartTime: start, EndTime: end, Limit: n,
		StartFromHead: in.StartFromHead != nil && *in.StartFromHead,
	}
	if in.NextToken != nil {
		if p.Token = *in.NextToken; p.Token == "" {
			return nil, invalidParam("nextToken: must not be empty")
		}
	}
	res, err := h.cfg.Store.Read(ctx, p)
	if err != nil {
		if errors.Is(err, joblog.ErrInvalidToken) {
			return nil, invalidParam("nextToken: the specified nextToken is invalid")
		}
		return nil, h.notFoundError(group, stream, err)
	}
	out := &getLogEventsOutput{
		Events:            make([]outputEvent, len(res.Events)),
		NextForwardToken:  res.NextForwardToken,
		NextBackwardToken: res.NextBackwardToken,
	}
	for i, e := range res.Events {
		out.Events[i] = outputEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime}
	}
	return out, nil
}

type filterLogEventsInput struct {
	groupRef
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
}

// filteredEvent is an event of FilterLogEvents.
type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type filterLogEventsOutput struct {
	Events             []filteredEvent `json:"events"`
	SearchedLogStreams []struct{}      `json:"searchedLogStreams"`
	NextToken          string          `json:"nextToken,omitempty"`
}

// Bounds of one FilterLogEvents call. A call that examines scanBudget
// events, or runs for scanTime, returns what it found so far (maybe
// nothing) with a nextToken, as CloudWatch may: a rare match in a huge
// group never makes one request take minutes.
const (
	maxStreamNames  = 100
	maxResponseSize = 1 << 20
	eventOverhead   = 26
	scanBudget      = 200_000
	scanTime        = 2 * time.Second
	// pageEvents bounds the events read from all streams at a time.
	pageEvents = 10_000
)

// filterToken is FilterLogEvents' nextToken: the merge key of the last
// event examined. Events come in (timestamp, ingestionTime, stream,
// offset) order, which is each stream's file order, so the next call
// resumes every stream after that key: stream S at the event after offset
// O, the others at timestamp T past the events sorting before the key.
type filterToken struct {
	T int64  `json:"t"`
	I int64  `json:"i"`
	S string `json:"s"`
	O int64  `json:"o"`
}

// filterLogEvents merges the streams' events in timestamp order, reading
// each a page at a time, and returns those the pattern matches.
func (h *Handler) filterLogEvents(ctx context.Context, in *filterLogEventsInput) (any, error) {
	group, err := h.resolve(in.groupRef)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix cannot both be specified")
	}
	if in.LogStreamNames != nil && (len(in.LogStreamNames) == 0 || len(in.LogStreamNames) > maxStreamNames) {
		return nil, invalidParam("logStreamNames: must list 1 to %d streams, not %d", maxStreamNames, len(in.LogStreamNames))
	}
	for _, name := range in.LogStreamNames {
		if err := validStreamName("logStreamNames", name); err != nil {
			return nil, err
		}
	}
	n, err := limit("limit", in.Limit, joblog.MaxLimit, joblog.MaxLimit)
	if err != nil {
		return nil, err
	}
	start, end, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	pat := &pattern{}
	if in.FilterPattern != nil {
		if len(*in.FilterPattern) > 1024 {
			return nil, invalidParam("filterPattern: longer than 1024 characters")
		}
		if pat, err = parsePattern(*in.FilterPattern); err != nil {
			return nil, invalidParam("filterPattern: %v", err)
		}
	}
	var tok *filterToken
	if in.NextToken != nil {
		tok = &filterToken{}
		if err := decodeToken(*in.NextToken, tok); err != nil {
			return nil, err
		}
	}

	streams, err := h.filterStreams(group, in)
	if err != nil {
		return nil, err
	}
	// Skip streams with no events in the range, or none past the token.
	from := start
	if tok != nil {
		from = max(from, tok.T)
	}
	var live []joblog.StreamInfo
	for _, s := range streams {
		if s.LastIngestionTime == 0 || s.LastEventTimestamp < from || (end > 0 && s.FirstEventTimestamp >= end) {
			continue
		}
		live = append(live, s)
	}

	m := &merger{
		ctx: ctx, store: h.cfg.Store, group: group, start: start, end: end,
		page: min(1000, max(10, pageEvents/max(1, len(live)))),
	}
	for _, s := range live {
		c, err := m.open(s.Name, tok)
		if err != nil {
			return nil, err
		}
		if c != nil {
			heap.Push(&m.heap, c)
		}
	}

	out := &filterLogEventsOutput{Events: []filteredEvent{}, SearchedLogStreams: []struct{}{}}
	var (
		last              filterToken
		scanned, outBytes int
		deadline          = time.Now().Add(scanTime)
	)
	for m.heap.Len() > 0 {
		c := m.heap[0]
		ev, off := c.head()
		last = filterToken{T: ev.Timestamp, I: ev.IngestionTime, S: c.stream, O: off}
		if pat.match(ev.Message) {
			out.Events = append(out.Events, filteredEvent{
				LogStreamName: c.stream, Timestamp: ev.Timestamp, Message: ev.Message,
				IngestionTime: ev.IngestionTime, EventID: eventID(c.stream, ev.Timestamp, off),
			})
			outBytes += len(ev.Message) + eventOverhead
		}
		if err := m.advance(c); err != nil {
			return nil, err
		}
		scanned++
		if len(out.Events) >= n || outBytes >= maxResponseSize || scanned >= scanBudget ||
			(scanned%1024 == 0 && time.Now().After(deadline)) {
			break
		}
	}
	if m.heap.Len() > 0 {
		out.NextToken = encodeToken(last)
	}
	return out, nil
}

// filterStreams returns the streams a FilterLogEvents call searches.
// Named streams that do not exist (any more) are left out.
func (h *Handler) filterStreams(group string, in *filterLogEventsInput) ([]joblog.StreamInfo, error) {
	if in.LogStreamNames == nil {
		prefix := ""
		if in.LogStreamNamePrefix != nil {
			prefix = *in.LogStreamNamePrefix
		}
		streams, err := h.cfg.Store.Streams(group, prefix)
		if errors.Is(err, gantry.ErrNotFound) {
			return nil, notFound("The specified log group does not exist: %s", group)
		}
		return streams, err
	}
	if err := h.groupNotFound(group); err != nil {
		return nil, err
	}
	var streams []joblog.StreamInfo
	seen := map[string]bool{}
	for _, name := range in.LogStreamNames {
		if seen[name] {
			continue
		}
		seen[name] = true
		info, err := h.cfg.Store.Stream(group, name)
		if errors.Is(err, gantry.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		streams = append(streams, info)
	}
	return streams, nil
}

// eventID identifies an event in its group: its timestamp, a hash of its
// stream's name and its offset in the stream, as digits (CloudWatch's ids
// are digit strings too).
func eventID(stream string, ts, offset int64) string {
	f := fnv.New64a()
	f.Write([]byte(stream))
	return fmt.Sprintf("%020d%020d%020d", ts, f.Sum64(), offset)
}

// merger reads streams a page at a time and yields their events in merge
// order through its heap.
type merger struct {
	ctx        context.Context
	store      *joblog.Store
	group      string
	start, end int64
	page       int // events per page and stream
	heap       cursorHeap
}

// cursor is a stream's position: the current page and the index of its
// head event in it.
type cursor struct {
	stream string
	res    *joblog.ReadResult
	i      int
}

func (c *cursor) head() (joblog.Event, int64) { return c.res.Events[c.i], c.res.Offsets[c.i] }

// read reads a page forward from token (or from startTime if empty).
func (m *merger) read(stream, token string, startTime int64) (*joblog.ReadResult, error) {
	return m.store.Read(m.ctx, &joblog.ReadParams{
		Group: m.group, Stream: stream, StartTime: startTime, EndTime: m.end,
		StartFromHead: true, Limit: m.page, Token: token,
	})
}

// open positions a cursor on a stream's first event after tok (all of
// them without a token). It returns nil for a stream with none, or gone.
func (m *merger) open(stream string, tok *filterToken) (*cursor, error) {
	var (
		res *joblog.ReadResult
		err error
	)
	exact := tok != nil && tok.S == stream
	if exact {
		// Resume just after the last event examined.
		res, err = m.read(stream, joblog.TokenAt(tok.O), m.start)
		if errors.Is(err, joblog.ErrInvalidToken) {
			exact = false // the stream was replaced: fall back on the key
		}
	}
	if !exact {
		from := m.start
		if tok != nil {
			from = max(from, tok.T)
		}
		res, err = m.read(stream, "", from)
	}
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, nil // purged meanwhile
	}
	if err != nil {
		return nil, err
	}
	c := &cursor{stream: stream, res: res}
	if len(res.Events) == 0 {
		return nil, nil
	}
	if tok == nil {
		return c, nil
	}
	// Skip what the previous calls examined.
	for {
		ev, off := c.head()
		var seen bool
		if exact {
			seen = off <= tok.O
		} else {
			seen = compareKey(ev.Timestamp, ev.IngestionTime, stream, tok.T, tok.I, tok.S) < 0
		}
		if !seen {
			return c, nil
		}
		if ok, err := m.next(c); err != nil || !ok {
			return nil, err
		}
	}
}

// next moves a cursor to its stream's next event, reading the next page if
// needed; false when the stream has no more.
func (m *merger) next(c *cursor) (bool, error) {
	c.i++
	if c.i < len(c.res.Events) {
		return true, nil
	}
	res, err := m.read(c.stream, c.res.NextForwardToken, m.start)
	if errors.Is(err, gantry.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.res, c.i = res, 0
	return len(res.Events) > 0, nil
}

// advance moves the heap's top cursor on, dropping it when done.
func (m *merger) advance(c *cursor) error {
	ok, err := m.next(c)
	if err != nil {
		return err
	}
	if ok {
		heap.Fix(&m.heap, 0)
	} else {
		heap.Pop(&m.heap)
	}
	return nil
}

// compareKey orders events by (timestamp, ingestionTime, stream).
func compareKey(ts, ing int64, stream string, ts2, ing2 int64, stream2 string) int {
	return cmp.Or(cmp.Compare(ts, ts2), cmp.Compare(ing, ing2), cmp.Compare(stream, stream2))
}

// cursorHeap orders cursors by their head events' merge keys.
type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, _ := h[i].head()
	b, _ := h[j].head()
	return compareKey(a.Timestamp, a.IngestionTime, h[i].stream, b.Timestamp, b.IngestionTime, h[j].stream) < 0
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
