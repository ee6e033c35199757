package logsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/joblog"
)

const (
	t0    = int64(1_700_000_000_000)
	group = joblog.DefaultGroup
)

type testBundle struct {
	store *joblog.Store
	h     *Handler
	ms    *atomic.Int64 // the store's clock
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{ms: &atomic.Int64{}}
	b.ms.Store(t0)
	store, err := joblog.Open(t.TempDir(), joblog.WithClock(t, func() time.Time { return time.UnixMilli(b.ms.Load()) }))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	b.store = store
	b.h = New(Config{Store: store, Region: "eu-west-1", AccountID: "123456789012"})
	return b
}

// write appends lines to a stream, each write at the current clock, the
// clock advancing by step ms after each line.
func (b *testBundle) write(t *testing.T, group, stream string, step int64, lines ...string) {
	t.Helper()
	w, err := b.store.Writer(group, stream)
	require.NoError(t, err)
	for _, l := range lines {
		_, err := w.Write([]byte(l + "\n"))
		require.NoError(t, err)
		b.ms.Add(step)
	}
	require.NoError(t, w.Close())
}

// call sends one request and decodes a 200 answer into out (if not nil);
// it returns the status and, for an error, its code and message.
func (b *testBundle) call(t *testing.T, op string, in any, out any) (status int, code, msg string) {
	t.Helper()
	var body []byte
	switch in := in.(type) {
	case string:
		body = []byte(in)
	default:
		var err error
		body, err = json.Marshal(in)
		require.NoError(t, err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", TargetPrefix+"."+op)
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	require.Equal(t, contentType, rec.Header().Get("Content-Type"))
	if rec.Code != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
		require.Equal(t, e.Type, rec.Header().Get("X-Amzn-ErrorType"))
		return rec.Code, e.Type, e.Message
	}
	if out != nil {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out), rec.Body.String())
	}
	return rec.Code, "", ""
}

// ok is call that requires success.
func (b *testBundle) ok(t *testing.T, op string, in, out any) {
	t.Helper()
	status, code, msg := b.call(t, op, in, out)
	require.Equal(t, http.StatusOK, status, "%s: %s: %s", op, code, msg)
}

// fails is call that requires a 400 with code; it returns the message.
func (b *testBundle) fails(t *testing.T, op string, in any, code string) string {
	t.Helper()
	status, gotCode, msg := b.call(t, op, in, nil)
	require.Equal(t, http.StatusBadRequest, status, "%s %v: want a 400", op, in)
	require.Equal(t, code, gotCode, "%s %v: %s", op, in, msg)
	return msg
}

func messagesOf(events []outputEvent) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, e.Message)
	}
	return out
}

func numbered(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d", i)
	}
	return lines
}

func TestGetLogEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, group, "def/default/task", 1, "one", "two", "three")
	arn := "arn:aws:logs:eu-west-1:123456789012:log-group:" + group

	t.Run("from head and from tail", func(t *testing.T) {
		t.Parallel()
		var head, tail getLogEventsOutput
		b.ok(t, "GetLogEvents", map[string]any{"logGroupName": group, "logStreamName": "def/default/task", "startFromHead": true, "limit": 2}, &head)
		require.Equal(t, []string{"one", "two"}, messagesOf(head.Events))
		require.Equal(t, outputEvent{Timestamp: t0, Message: "one", IngestionTime: t0}, head.Events[0])
		b.ok(t, "GetLogEvents", map[string]any{"logGroupName": group, "logStreamName": "def/default/task", "limit": 2}, &tail)
		require.Equal(t, []string{"two", "three"}, messagesOf(tail.Events), "default is newest first (the last events)")
		require.NotEmpty(t, tail.NextForwardToken)
		require.NotEmpty(t, tail.NextBackwardToken)
	})

	t.Run("identifier: name or ARN", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{group, arn, arn + ":*"} {
			var out getLogEventsOutput
			b.ok(t, "GetLogEvents", map[string]any{"logGroupIdentifier": id, "logStreamName": "def/default/task", "startFromHead": true}, &out)
			require.Len(t, out.Events, 3, id)
		}
		msg := b.fails(t, "GetLogEvents", map[string]any{"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:" + group, "logStreamName": "def/default/task"}, codeNotFound)
		require.Contains(t, msg, "log group")
		b.fails(t, "GetLogEvents", map[string]any{"logGroupIdentifier": "arn:aws:batch:eu-west-1:123456789012:job/x", "logStreamName": "s"}, codeInvalidParam)
	})

	t.Run("end of stream hands the token back", func(t *testing.T) {
		t.Parallel()
		in := map[string]any{"logGroupName": group, "logStreamName": "def/default/task", "startFromHead": true, "limit": 2}
		var seen []string
		for range 10 {
			var out getLogEventsOutput
			b.ok(t, "GetLogEvents", in, &out)
			seen = append(seen, messagesOf(out.Events)...)
			if out.NextForwardToken == in["nextToken"] {
				require.Empty(t, out.Events)
				require.Equal(t, []string{"one", "two", "three"}, seen)
				return
			}
			in["nextToken"] = out.NextForwardToken
		}
		t.Fatal("forward paging never reached the end")
	})

	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		base := func(kv ...any) map[string]any {
			m := map[string]any{"logGroupName": group, "logStreamName": "def/default/task"}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		for name, tc := range map[string]struct {
			in        any
			code      string
			wantInMsg string
		}{
			"limit 0":          {base("limit", 0), codeInvalidParam, "limit"},
			"limit 10001":      {base("limit", 10001), codeInvalidParam, "limit"},
			"limit not number": {base("limit", "ten"), codeInvalidParam, "limit"},
			"negative start":   {base("startTime", -1), codeInvalidParam, "startTime"},
			"both group forms": {base("logGroupIdentifier", group), codeInvalidParam, "logGroupIdentifier"},
			"no group":         {map[string]any{"logStreamName": "s"}, codeInvalidParam, "logGroupName"},
			"no stream":        {map[string]any{"logGroupName": group}, codeInvalidParam, "logStreamName"},
			"bad group name":   {base("logGroupName", "a group"), codeInvalidParam, "logGroupName"},
			"bad stream name":  {base("logStreamName", "a:b"), codeInvalidParam, "logStreamName"},
			"bad token":        {base("nextToken", "f/12345678"), codeInvalidParam, "nextToken"},
			"garbage token":    {base("nextToken", "zzz"), codeInvalidParam, "nextToken"},
			"unknown group":    {base("logGroupName", "/no/such"), codeNotFound, "log group"},
			"unknown stream":   {base("logStreamName", "nope"), codeNotFound, "log stream"},
			"not an object":    {`[1]`, codeInvalidParam, "JSON object"},
			"not JSON":         {`{"a":`, codeInvalidParam, "JSON"},
		} {
			msg := b.fails(t, "GetLogEvents", tc.in, tc.code)
			require.Contains(t, msg, tc.wantInMsg, name)
		}
	})
}

func TestUnknownOperation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, code, _ := b.call(t, "PutLogEvents", `{}`, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, codeUnknownOp, code)
}

// TestGetLogEventsPaging pages a long stream both ways: every event once,
// in order, and the end is the token coming back.
func TestGetLogEventsPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lines := numbered(600)
	w, err := b.store.Writer(group, "s")
	require.NoError(t, err)
	for i, l := range lines {
		_, err := w.Write([]byte(l + "\n"))
		require.NoError(t, err)
		if i%50 == 0 {
			b.ms.Add(1)
		}
	}
	require.NoError(t, w.Close())

	for _, limit := range []int{1, 7, 250, 10000} {
		// Forward from the head.
		in := map[string]any{"logGroupName": group, "logStreamName": "s", "startFromHead": true, "limit": limit}
		var fwd []string
		for {
			var out getLogEventsOutput
			b.ok(t, "GetLogEvents", in, &out)
			if out.NextForwardToken == in["nextToken"] {
				require.Empty(t, out.Events)
				break
			}
			fwd = append(fwd, messagesOf(out.Events)...)
			in["nextToken"] = out.NextForwardToken
		}
		require.Equal(t, lines, fwd, "limit %d forward", limit)
		// Backward from the tail.
		in = map[string]any{"logGroupName": group, "logStreamName": "s", "limit": limit}
		var pages [][]string
		for {
			var out getLogEventsOutput
			b.ok(t, "GetLogEvents", in, &out)
			if out.NextBackwardToken == in["nextToken"] {
				require.Empty(t, out.Events)
				break
			}
			pages = append(pages, messagesOf(out.Events))
			in["nextToken"] = out.NextBackwardToken
		}
		slices.Reverse(pages)
		require.Equal(t, lines, slices.Concat(pages...), "limit %d backward", limit)
	}
}

type filterOut struct {
	Events []struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	} `json:"events"`
	SearchedLogStreams []any   `json:"searchedLogStreams"`
	NextToken          *string `json:"nextToken"`
}

// filterAll pages FilterLogEvents to the end and returns "stream: message"
// per event.
func (b *testBundle) filterAll(t *testing.T, in map[string]any) []string {
	t.Helper()
	var got []string
	ids := map[string]bool{}
	for range 100_000 {
		var out filterOut
		b.ok(t, "FilterLogEvents", in, &out)
		require.NotNil(t, out.SearchedLogStreams)
		var lastTS int64
		for _, e := range out.Events {
			if e.Timestamp < lastTS {
				t.Fatalf("event %+v after one at %d: not in timestamp order", e, lastTS)
			}
			lastTS = e.Timestamp
			if ids[e.EventID] {
				t.Fatalf("event id %s twice", e.EventID)
			}
			ids[e.EventID] = true
			got = append(got, e.LogStreamName+": "+e.Message)
		}
		if out.NextToken == nil {
			return got
		}
		in["nextToken"] = *out.NextToken
	}
	t.Fatal("FilterLogEvents paging did not end")
	return nil
}

func TestFilterLogEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Two streams written alternately, so that a merge must interleave.
	wa, err := b.store.Writer(group, "job/default/a")
	require.NoError(t, err)
	wb, err := b.store.Writer(group, "job/default/b")
	require.NoError(t, err)
	for i := range 20 {
		fmt.Fprintf(wa, "a %d ERROR\n", i)
		b.ms.Add(1)
		fmt.Fprintf(wb, "b %d INFO\n", i)
		if i%5 == 0 {
			fmt.Fprintf(wb, `{"n": %d, "who": "b"}`+"\n", i)
		}
	}
	require.NoError(t, wa.Close())
	require.NoError(t, wb.Close())
	b.write(t, group, "other/default/c", 0, "c ERROR")
	b.write(t, "/other/group", "job/default/x", 0, "x ERROR")

	// At each millisecond a's line comes first (same time, the name sorts
	// first), then b's, as written.
	var all []string
	for ms := range 21 {
		if ms < 20 {
			all = append(all, fmt.Sprintf("job/default/a: a %d ERROR", ms))
		}
		if i := ms - 1; i >= 0 {
			all = append(all, fmt.Sprintf("job/default/b: b %d INFO", i))
			if i%5 == 0 {
				all = append(all, fmt.Sprintf(`job/default/b: {"n": %d, "who": "b"}`, i))
			}
		}
	}
	for name, tc := range map[string]struct {
		in   map[string]any
		want []string
	}{
		"prefix, everything":     {map[string]any{"logStreamNamePrefix": "job/"}, all},
		"prefix, paged by one":   {map[string]any{"logStreamNamePrefix": "job/", "limit": 1}, all},
		"prefix, paged by seven": {map[string]any{"logStreamNamePrefix": "job/", "limit": 7}, all},
		"names": {map[string]any{"logStreamNames": []string{"job/default/a", "gone", "job/default/a"}, "filterPattern": "?1 ?2", "limit": 3},
			[]string{"job/default/a: a 1 ERROR", "job/default/a: a 2 ERROR", "job/default/a: a 10 ERROR", "job/default/a: a 11 ERROR", "job/default/a: a 12 ERROR", "job/default/a: a 13 ERROR", "job/default/a: a 14 ERROR", "job/default/a: a 15 ERROR", "job/default/a: a 16 ERROR", "job/default/a: a 17 ERROR", "job/default/a: a 18 ERROR", "job/default/a: a 19 ERROR"}},
		"whole group, term": {map[string]any{"filterPattern": "ERROR -a"}, []string{"other/default/c: c ERROR"}},
		"phrase":            {map[string]any{"filterPattern": `"b 13 INFO"`}, []string{"job/default/b: b 13 INFO"}},
		"json": {map[string]any{"filterPattern": `{ $.n >= 10 && $.who = "b" }`, "limit": 1},
			[]string{`job/default/b: {"n": 10, "who": "b"}`, `job/default/b: {"n": 15, "who": "b"}`}},
		"time range": {map[string]any{"logStreamNamePrefix": "job/", "startTime": t0 + 3, "endTime": t0 + 5},
			[]string{"job/default/a: a 3 ERROR", "job/default/b: b 2 INFO", "job/default/a: a 4 ERROR", "job/default/b: b 3 INFO"}},
		"nothing": {map[string]any{"filterPattern": "NOPE"}, nil},
		"ARN": {map[string]any{"logGroupName": nil, "logGroupIdentifier": "arn:aws:logs:eu-west-1:123456789012:log-group:/other/group:*"},
			[]string{"job/default/x: x ERROR"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := map[string]any{"logGroupName": group}
			for k, v := range tc.in {
				if v == nil {
					delete(in, k)
				} else {
					in[k] = v
				}
			}
			got := b.filterAll(t, in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		many := make([]string, 101)
		for i := range many {
			many[i] = fmt.Sprint("s", i)
		}
		for name, tc := range map[string]struct {
			in        map[string]any
			code      string
			wantInMsg string
		}{
			"names and prefix":     {map[string]any{"logGroupName": group, "logStreamNames": []string{"a"}, "logStreamNamePrefix": "a"}, codeInvalidParam, "logStreamNamePrefix"},
			"too many names":       {map[string]any{"logGroupName": group, "logStreamNames": many}, codeInvalidParam, "logStreamNames"},
			"no names":             {map[string]any{"logGroupName": group, "logStreamNames": []string{}}, codeInvalidParam, "logStreamNames"},
			"bad pattern":          {map[string]any{"logGroupName": group, "filterPattern": `{ $.a < "x" }`}, codeInvalidParam, "filterPattern"},
			"bad limit":            {map[string]any{"logGroupName": group, "limit": 20000}, codeInvalidParam, "limit"},
			"bad token":            {map[string]any{"logGroupName": group, "nextToken": "!!"}, codeInvalidParam, "nextToken"},
			"unknown group":        {map[string]any{"logGroupName": "/nope"}, codeNotFound, "log group"},
			"unknown group, names": {map[string]any{"logGroupName": "/nope", "logStreamNames": []string{"a"}}, codeNotFound, "log group"},
		} {
			msg := b.fails(t, "FilterLogEvents", tc.in, tc.code)
			require.Contains(t, msg, tc.wantInMsg, name)
		}
	})
}

// TestFilterLogEventsLive: a token stays good while streams grow, and
// later events (and streams) show up on the next pages.
func TestFilterLogEventsLive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, group, "s1", 1, "1 first", "1 second")
	var out filterOut
	b.ok(t, "FilterLogEvents", map[string]any{"logGroupName": group, "limit": 1}, &out)
	require.Len(t, out.Events, 1)
	require.NotNil(t, out.NextToken)
	b.write(t, group, "s1", 1, "1 third")
	b.write(t, group, "s2", 1, "2 first")
	got := b.filterAll(t, map[string]any{"logGroupName": group, "nextToken": *out.NextToken})
	require.Equal(t, []string{"s1: 1 second", "s1: 1 third", "s2: 2 first"}, got)
}

// TestFilterLogEventsLargeStream: a stream much larger than a page is
// scanned page by page, a rare match found, every event once.
func TestFilterLogEventsLargeStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w, err := b.store.Writer(group, "big")
	require.NoError(t, err)
	var buf strings.Builder
	for i := range 30_000 {
		fmt.Fprintf(&buf, "row %d\n", i)
	}
	_, err = w.Write([]byte(buf.String()))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.Equal(t, []string{"big: row 29999"}, b.filterAll(t, map[string]any{"logGroupName": group, "filterPattern": `"row 29999"`}))
	got := b.filterAll(t, map[string]any{"logGroupName": group, "limit": 10000})
	require.Len(t, got, 30_000)
	for i, g := range got {
		if want := fmt.Sprintf("big: row %d", i); g != want {
			t.Fatalf("event %d is %q, want %q", i, g, want)
		}
	}
}

func TestDescribeLogStreams(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Written so that name order and last-event order differ.
	b.write(t, group, "def/default/c", 10, "x")
	b.write(t, group, "def/default/a", 10, "x")
	b.write(t, group, "def/default/b", 10, "x", "y")
	b.write(t, group, "other/default/z", 10, "x")
	w, err := b.store.Writer(group, "def/default/empty")
	require.NoError(t, err)
	require.NoError(t, w.Close())

	list := func(in map[string]any) []string {
		t.Helper()
		in["logGroupName"] = group
		var names []string
		for range 100 {
			var out describeLogStreamsOutput
			b.ok(t, "DescribeLogStreams", in, &out)
			for _, s := range out.LogStreams {
				names = append(names, s.LogStreamName)
			}
			if out.NextToken == "" {
				return names
			}
			in["nextToken"] = out.NextToken
		}
		t.Fatal("paging did not end")
		return nil
	}
	byName := []string{"def/default/a", "def/default/b", "def/default/c", "def/default/empty"}
	require.Equal(t, byName, list(map[string]any{"logStreamNamePrefix": "def/"}))
	require.Equal(t, byName, list(map[string]any{"logStreamNamePrefix": "def/", "limit": 1}))
	require.Equal(t, []string{"def/default/empty", "def/default/c", "def/default/b", "def/default/a"},
		list(map[string]any{"logStreamNamePrefix": "def/", "descending": true, "limit": 3}))
	require.Equal(t, []string{"def/default/empty", "def/default/c", "def/default/a", "def/default/b", "other/default/z"},
		list(map[string]any{"orderBy": "LastEventTime", "limit": 2}))
	require.Equal(t, []string{"other/default/z", "def/default/b", "def/default/a", "def/default/c", "def/default/empty"},
		list(map[string]any{"orderBy": "LastEventTime", "descending": true, "limit": 4}))

	var out describeLogStreamsOutput
	b.ok(t, "DescribeLogStreams", map[string]any{"logGroupName": group, "logStreamNamePrefix": "def/default/b"}, &out)
	require.Equal(t, []logStream{{
		LogStreamName: "def/default/b", CreationTime: t0 + 20, FirstEventTimestamp: t0 + 20, LastEventTimestamp: t0 + 30,
		LastIngestionTime: t0 + 30, Arn: "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/batch/job:log-stream:def/default/b",
		StoredBytes: out.LogStreams[0].StoredBytes,
	}}, out.LogStreams)
	require.Positive(t, out.LogStreams[0].StoredBytes)

	b.fails(t, "DescribeLogStreams", map[string]any{"logGroupName": group, "orderBy": "LastEventTime", "logStreamNamePrefix": "d"}, codeInvalidParam)
	b.fails(t, "DescribeLogStreams", map[string]any{"logGroupName": group, "orderBy": "Size"}, codeInvalidParam)
	b.fails(t, "DescribeLogStreams", map[string]any{"logGroupName": group, "limit": 51}, codeInvalidParam)
	b.fails(t, "DescribeLogStreams", map[string]any{"logGroupName": "/nope"}, codeNotFound)
}

func TestDescribeLogGroupsAndRetention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i, g := range []string{group, "/custom/a", "/custom/b", "/custom/c"} {
		b.write(t, g, "s", 0, fmt.Sprint("x", i))
	}
	list := func(in map[string]any) []logGroup {
		t.Helper()
		var groups []logGroup
		for range 100 {
			var out describeLogGroupsOutput
			b.ok(t, "DescribeLogGroups", in, &out)
			groups = append(groups, out.LogGroups...)
			if out.NextToken == "" {
				return groups
			}
			in["nextToken"] = out.NextToken
		}
		t.Fatal("paging did not end")
		return nil
	}
	names := func(gs []logGroup) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.LogGroupName)
		}
		return out
	}
	require.Equal(t, []string{"/aws/batch/job", "/custom/a", "/custom/b", "/custom/c"}, names(list(map[string]any{})))
	require.Equal(t, []string{"/custom/a", "/custom/b", "/custom/c"}, names(list(map[string]any{"logGroupNamePrefix": "/custom/", "limit": 2})))
	require.Equal(t, []string{"/aws/batch/job"}, names(list(map[string]any{"logGroupNamePattern": "batch"})))

	b.ok(t, "PutRetentionPolicy", map[string]any{"logGroupName": "/custom/b", "retentionInDays": 14}, nil)
	gs := list(map[string]any{"logGroupNamePrefix": "/custom/b"})
	require.Equal(t, []logGroup{{
		LogGroupName: "/custom/b", Arn: "arn:aws:logs:eu-west-1:123456789012:log-group:/custom/b:*",
		LogGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:/custom/b", CreationTime: t0,
		RetentionInDays: 14, StoredBytes: gs[0].StoredBytes, LogGroupClass: "STANDARD",
	}}, gs)
	days, err := b.store.Retention("/custom/b")
	require.NoError(t, err)
	require.Equal(t, 14, days)
	b.ok(t, "DeleteRetentionPolicy", map[string]any{"logGroupName": "/custom/b"}, nil)
	require.Zero(t, list(map[string]any{"logGroupNamePrefix": "/custom/b"})[0].RetentionInDays)

	// A day's retention, then a purge two days on, empties the group (which
	// stays).
	b.ok(t, "PutRetentionPolicy", map[string]any{"logGroupName": "/custom/a", "retentionInDays": 1}, nil)
	res, err := b.store.Purge(time.UnixMilli(t0 + 2*24*60*60*1000))
	require.NoError(t, err)
	require.Equal(t, 1, res.Streams)
	var streams describeLogStreamsOutput
	b.ok(t, "DescribeLogStreams", map[string]any{"logGroupName": "/custom/a"}, &streams)
	require.Empty(t, streams.LogStreams)
	b.fails(t, "GetLogEvents", map[string]any{"logGroupName": "/custom/a", "logStreamName": "s"}, codeNotFound)
	b.ok(t, "GetLogEvents", map[string]any{"logGroupName": "/custom/c", "logStreamName": "s"}, nil)

	b.fails(t, "PutRetentionPolicy", map[string]any{"logGroupName": "/custom/b", "retentionInDays": 2}, codeInvalidParam)
	b.fails(t, "PutRetentionPolicy", map[string]any{"logGroupName": "/custom/b"}, codeInvalidParam)
	b.fails(t, "PutRetentionPolicy", map[string]any{"logGroupName": "/nope", "retentionInDays": 1}, codeNotFound)
	b.fails(t, "DeleteRetentionPolicy", map[string]any{"logGroupName": "/nope"}, codeNotFound)
	b.fails(t, "DeleteRetentionPolicy", map[string]any{}, codeInvalidParam)
	b.fails(t, "DescribeLogGroups", map[string]any{"limit": 0}, codeInvalidParam)
	b.fails(t, "DescribeLogGroups", map[string]any{"logGroupNamePrefix": "a", "logGroupNamePattern": "b"}, codeInvalidParam)
}
