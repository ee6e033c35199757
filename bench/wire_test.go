package bench

import (
	"bufio"
	"cmp"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// wireServer is an httptest server that counts the connections it accepted
// and the requests it served.
type wireServer struct {
	*httptest.Server
	conns, reqs atomic.Int64
}

func newWireServer(t *testing.T, h http.HandlerFunc) *wireServer {
	t.Helper()
	ws := &wireServer{}
	ws.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.reqs.Add(1)
		h(w, r)
	}))
	ws.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ws.conns.Add(1)
		}
	}
	ws.Start()
	t.Cleanup(ws.Close)
	return ws
}

func (ws *wireServer) pool() *wirePool {
	return newWirePool(strings.TrimPrefix(ws.URL, "http://"), "", 10*time.Second)
}

// post sends one POST with body b through p.
func post(ctx context.Context, p *wirePool, url, b string, limit int64) (*wireResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/submitjob", nil)
	if err != nil {
		return nil, err
	}
	return p.do(ctx, req, []byte(b), limit)
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Seen", r.Method+" "+r.URL.Path)
	_, _ = w.Write(b)
}

// TestWirePoolKeepAlive: sequential calls share one connection; concurrent
// calls open one each and then share them.
func TestWirePoolKeepAlive(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, echo)
	p := ws.pool()
	for i := range 5 {
		resp, err := post(t.Context(), p, ws.URL, strings.Repeat("x", i), 1<<20)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.status)
		require.Equal(t, strings.Repeat("x", i), string(resp.body))
		require.Equal(t, "POST /v1/submitjob", resp.header.Get("X-Seen"))
	}
	require.EqualValues(t, 1, ws.conns.Load())

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				resp, err := post(t.Context(), p, ws.URL, "body", 1<<20)
				if err != nil || string(resp.body) != "body" {
					t.Errorf("resp %v, err %v", resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, ws.conns.Load(), int64(5))
	require.EqualValues(t, 85, ws.reqs.Load())
}

// TestWirePoolServerCloses: an answer with Connection: close is read and
// its connection dropped; a connection the server closed while idle is
// replaced without a failed call and without sending the request twice.
func TestWirePoolServerCloses(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Close") != "" {
			w.Header().Set("Connection", "close")
		}
		echo(w, r)
	})
	p := ws.pool()
	req, err := http.NewRequest(http.MethodPost, ws.URL+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Close", "1")
	resp, err := p.do(t.Context(), req, []byte("a"), 1<<20)
	require.NoError(t, err)
	require.Equal(t, "a", string(resp.body))
	require.Empty(t, p.idle, "a closed connection is not kept")

	resp, err = post(t.Context(), p, ws.URL, "b", 1<<20)
	require.NoError(t, err)
	require.Equal(t, "b", string(resp.body))
	require.EqualValues(t, 2, ws.conns.Load())
	require.Len(t, p.idle, 1)

	ws.CloseClientConnections() // the idle one, from the server's side
	resp, err = post(t.Context(), p, ws.URL, "c", 1<<20)
	require.NoError(t, err)
	require.Equal(t, "c", string(resp.body))
	require.EqualValues(t, 3, ws.conns.Load())
	require.EqualValues(t, 3, ws.reqs.Load(), "every request served once")
}

// TestWirePoolBodies: chunked answers are decoded; a body past the limit is
// cut, and its connection is not reused.
func TestWirePoolBodies(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first ")
		w.(http.Flusher).Flush() // no Content-Length: chunked
		_, _ = io.WriteString(w, "second")
	})
	p := ws.pool()
	resp, err := post(t.Context(), p, ws.URL, "", 1<<20)
	require.NoError(t, err)
	require.Equal(t, "first second", string(resp.body))
	require.Len(t, p.idle, 1)

	resp, err = post(t.Context(), p, ws.URL, "", 5)
	require.NoError(t, err)
	require.Equal(t, "first", string(resp.body))
	require.Empty(t, p.idle)
}

// TestWirePoolFailures: cancelling the context ends a call that waits for
// its answer; an answer cut short is an error, not retried; a refused
// connection is an error.
func TestWirePoolFailures(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ws := newWireServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Block") != "" {
			<-release
		}
		echo(w, r)
	})
	defer close(release)
	p := ws.pool()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ws.URL+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Block", "1")
	done := make(chan error, 1)
	go func() {
		_, err := p.do(ctx, req, []byte("a"), 1<<20)
		done <- err
	}()
	require.Eventually(t, func() bool { return ws.reqs.Load() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled call did not return")
	}
	require.Empty(t, p.idle)

	// A context already cancelled, with an idle connection at hand: the
	// call fails with the context's error, and is not retried.
	_, err = post(t.Context(), p, ws.URL, "warm", 1<<20)
	require.NoError(t, err)
	require.Len(t, p.idle, 1)
	served := ws.reqs.Load()
	gone, cancelGone := context.WithCancel(t.Context())
	cancelGone()
	_, err = post(gone, p, ws.URL, "x", 1<<20)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, served, ws.reqs.Load(), "nothing sent")

	// A server that answers half a response and hangs up.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			}
			_ = c.Close()
		}
	}()
	half := newWirePool(ln.Addr().String(), "", 10*time.Second)
	_, err = post(t.Context(), half, "http://"+ln.Addr().String(), "x", 1<<20)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.EqualValues(t, 1, accepted.Load())

	refused := newWirePool(ln.Addr().String(), "", 10*time.Second)
	require.NoError(t, ln.Close())
	_, err = post(t.Context(), refused, "http://"+ln.Addr().String(), "x", 1<<20)
	require.Error(t, err)
}

// TestReadResponse parses raw answers: framing by length, chunks (with a
// trailer) or the connection's end, keep-alive, limits, malformed input.
func TestReadResponse(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		raw, rest   string // rest: what must be left unread (the next answer)
		limit       int64
		status      int
		body        string
		keep        bool
		header      map[string]string
		errContains string
	}{
		"length": {raw: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-errortype: T\r\nContent-Length: 2\r\n\r\n{}", rest: "NEXT",
			status: 200, body: "{}", keep: true, header: map[string]string{"Content-Type": "application/json", "X-Amzn-Errortype": "T"}},
		"LF only":    {raw: "HTTP/1.1 404 Not Found\nContent-Length: 1\n\nx", rest: "NEXT", status: 404, body: "x", keep: true},
		"no reason":  {raw: "HTTP/1.1 204\r\nContent-Length: 0\r\n\r\n", rest: "NEXT", status: 204, keep: true},
		"chunked":    {raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n", rest: "NEXT", status: 200, body: "abcde", keep: true},
		"close":      {raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"},
		"1.0 to EOF": {raw: "HTTP/1.0 200 OK\r\n\r\nall of it", status: 200, body: "all of it"},
		"1.0 keep":   {raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", rest: "NEXT", status: 200, body: "x", keep: true},
		"limit":      {raw: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef", limit: 4, status: 200, body: "abcd"},
		"short body": {raw: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc", errContains: "unexpected EOF"},
		"short head": {raw: "HTTP/1.1 200 OK\r\nContent-Len", errContains: "unexpected EOF"},
		"bad status": {raw: "HTTP/1.1 abc OK\r\n\r\n", errContains: "malformed status line"},
		"not HTTP":   {raw: "SSH-2.0-OpenSSH\r\n\r\n", errContains: "malformed status line"},
		"bad header": {raw: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", errContains: "malformed header"},
		"bad length": {raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", errContains: "bad Content-Length"},
		"gzip":       {raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", errContains: "unsupported Transfer-Encoding"},
	}
	for name, tc := range tests {
		br := bufio.NewReader(strings.NewReader(tc.raw + tc.rest))
		resp, keep, err := readResponse(br, cmp.Or(tc.limit, 1<<20))
		if tc.errContains != "" {
			require.ErrorContains(t, err, tc.errContains, name)
			continue
		}
		require.NoError(t, err, name)
		require.Equal(t, tc.status, resp.status, name)
		require.Equal(t, tc.body, string(resp.body), name)
		require.Equal(t, tc.keep, keep, name)
		for k, v := range tc.header {
			require.Equal(t, v, resp.header.Get(k), name)
		}
		if tc.keep {
			rest, _ := io.ReadAll(br)
			require.Equal(t, tc.rest, string(rest), name)
		}
	}
}

// TestAppendRequest: the request is what http.Request.Write sends, but for
// header order; header values with line breaks are refused.
func TestAppendRequest(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8420/v1/submitjob?x=1", nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Date", "20261121T000000Z")
	body := []byte(`{"jobName":"n"}`)
	got, err := appendRequest(nil, req, body)
	require.NoError(t, err)
	parsed, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(got))))
	require.NoError(t, err)
	require.Equal(t, "POST", parsed.Method)
	require.Equal(t, "/v1/submitjob?x=1", parsed.URL.RequestURI())
	require.Equal(t, "127.0.0.1:8420", parsed.Host)
	require.EqualValues(t, len(body), parsed.ContentLength)
	require.Equal(t, "application/json", parsed.Header.Get("Content-Type"))
	require.Equal(t, "20261121T000000Z", parsed.Header.Get("X-Amz-Date"))
	require.Equal(t, "Go-http-client/1.1", parsed.Header.Get("User-Agent"))
	b, err := io.ReadAll(parsed.Body)
	require.NoError(t, err)
	require.Equal(t, body, b)

	req.Header.Set("X-Bad", "a\r\nInjected: yes")
	_, err = appendRequest(nil, req, body)
	require.ErrorContains(t, err, "line breaks")
}
