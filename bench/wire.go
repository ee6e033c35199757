package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// wirePool is the transport of the wire SubmitJob client: persistent
// HTTP/1.1 connections of its own, one request at a time on each; a
// request is written by http.Request.Write and its answer parsed by
// http.ReadResponse. net/http's Transport spends a reader and a writer
// goroutine per connection and several channel hand-offs per request,
// about 20 µs of CPU per call on the benchmark machine: as much as a
// third of what the server spends serving the call, on CPUs the two
// share. No maintained library does less than net/http's Transport, so
// this one is written here; it keeps to what the load tool needs (no
// proxies, no HTTP/2, no redirects, bodies read whole).
type wirePool struct {
	addr    string      // host:port to dial
	tls     *tls.Config // nil for plain HTTP
	timeout time.Duration
	dialer  net.Dialer

	mu   sync.Mutex
	idle []*wireConn // most recently used last
}

type wireConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// newWirePool returns a pool for addr (host:port); serverName non-empty
// means TLS with that server name. timeout bounds each request when its
// context has no earlier deadline.
func newWirePool(addr, serverName string, timeout time.Duration) *wirePool {
	p := &wirePool{addr: addr, timeout: timeout}
	if serverName != "" {
		p.tls = &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	}
	return p
}

// wireResponse is what a request brought back.
type wireResponse struct {
	status int
	header http.Header
	body   []byte
}

// do sends req (whose body can be read again through GetBody) and reads the
// answer, at most limit bytes of body. Like net/http, it retries once on a
// new connection when a reused one turns out to have been closed by the
// server: the request could not be written, or the connection ended
// before any byte of the answer came (the server closed it while idle, so
// it did not take the request).
func (p *wirePool) do(ctx context.Context, req *http.Request, limit int64) (*wireResponse, error) {
	for attempt := 0; ; attempt++ {
		wc, reused, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		resp, keep, err := p.roundTrip(ctx, wc, req, limit)
		if err == nil && keep {
			p.put(wc)
		} else {
			_ = wc.c.Close()
		}
		if err != nil && reused && attempt == 0 && errors.Is(err, errClosedIdle) {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
			continue
		}
		return resp, err
	}
}

// errClosedIdle is a request that could not be written whole, or whose
// answer ended before its first byte.
var errClosedIdle = errors.New("connection closed before the answer began")

func (p *wirePool) roundTrip(ctx context.Context, wc *wireConn, req *http.Request, limit int64) (*wireResponse, bool, error) {
	deadline := time.Now().Add(p.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := wc.c.SetDeadline(deadline); err != nil {
		return nil, false, err
	}
	// Cancelling ctx interrupts the exchange through the deadline.
	stop := context.AfterFunc(ctx, func() { _ = wc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	err := req.Write(wc.bw)
	if err == nil {
		err = wc.bw.Flush()
	}
	if err != nil { // the request did not go out whole: not taken
		return nil, false, fmt.Errorf("%w: write: %w", errClosedIdle, err)
	}
	if _, err := wc.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil, false, fmt.Errorf("%w: %w", errClosedIdle, err)
		}
		return nil, false, ctxErr(ctx, err)
	}
	resp, err := http.ReadResponse(wc.br, req)
	if err != nil {
		return nil, false, ctxErr(ctx, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err == nil {
		// Whatever is left past the limit is drained, or the connection
		// is not reused.
		var n int64
		n, err = io.Copy(io.Discard, resp.Body)
		if n > 0 {
			resp.Close = true
		}
	}
	_ = resp.Body.Close()
	if err != nil {
		return nil, false, ctxErr(ctx, err)
	}
	return &wireResponse{status: resp.StatusCode, header: resp.Header, body: body}, !resp.Close, nil
}

// ctxErr prefers ctx's error to the deadline error its cancellation caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// get returns an idle connection, or dials a new one.
func (p *wirePool) get(ctx context.Context) (*wireConn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		wc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return wc, true, nil
	}
	p.mu.Unlock()
	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	if p.tls != nil {
		tc := tls.Client(c, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, false, err
		}
		c = tc
	}
	return &wireConn{c: c, br: bufio.NewReaderSize(c, 8<<10), bw: bufio.NewWriterSize(c, 4<<10)}, false, nil
}

func (p *wirePool) put(wc *wireConn) {
	p.mu.Lock()
	p.idle = append(p.idle, wc)
	p.mu.Unlock()
}
