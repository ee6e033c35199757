package bench

import (
	"bufio"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/submitjob", strings.NewReader(b))
	if err != nil {
		return nil, err
	}
	return p.do(ctx, req, limit)
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
	req, err := http.NewRequest(http.MethodPost, ws.URL+"/", strings.NewReader("a"))
	require.NoError(t, err)
	req.Header.Set("X-Close", "1")
	resp, err := p.do(t.Context(), req, 1<<20)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ws.URL+"/", strings.NewReader("a"))
	require.NoError(t, err)
	req.Header.Set("X-Block", "1")
	done := make(chan error, 1)
	go func() {
		_, err := p.do(ctx, req, 1<<20)
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

	// A server that answers half a response and hangs up.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var served atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			}
			_ = c.Close()
		}
	}()
	half := newWirePool(ln.Addr().String(), "", 10*time.Second)
	_, err = post(t.Context(), half, "http://"+ln.Addr().String(), "x", 1<<20)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.EqualValues(t, 1, served.Load())

	refused := newWirePool(ln.Addr().String(), "", 10*time.Second)
	require.NoError(t, ln.Close())
	_, err = post(t.Context(), refused, "http://"+ln.Addr().String(), "x", 1<<20)
	require.Error(t, err)
}
