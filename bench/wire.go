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
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wirePool is the transport of the wire SubmitJob client: persistent
// HTTP/1.1 connections of its own, one request at a time on each. The
// request is written from the signed *http.Request's method, URL, host and
// headers (writeRequest); the answer's status line and headers are read
// by hand (readResponse), keeping the few headers the client uses, with
// the body by Content-Length, chunked (net/http/httputil's reader) or up
// to the end of the connection. net/http's Transport spends a reader and
// a writer goroutine per connection and several channel hand-offs per
// request, and http.Request.Write and http.ReadResponse build what this
// client never looks at: about 35 µs of CPU per call on the benchmark
// machine against about 25 µs here, on CPUs the load tool shares with the
// server it measures. No maintained library does less, so this is written
// here; it keeps to what the load tool needs (no proxies, no HTTP/2, no
// redirects, no 1xx answers, bodies read whole).
type wirePool struct {
	addr    string      // host:port to dial
	tls     *tls.Config // nil for plain HTTP
	timeout time.Duration
	dialer  net.Dialer

	mu   sync.Mutex
	idle []*wireConn // most recently used last
}

type wireConn struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte // the request being written
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

// do sends req, with body as its body (req.Body is not read), and reads
// the answer, at most limit bytes of body. Like net/http, it retries once on a
// new connection when a reused one turns out to have been closed by the
// server: the request could not be written, or the connection ended
// before any byte of the answer came (the server closed it while idle, so
// it did not take the request).
func (p *wirePool) do(ctx context.Context, req *http.Request, body []byte, limit int64) (*wireResponse, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wc, reused, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		resp, keep, err := p.roundTrip(ctx, wc, req, body, limit)
		if err == nil && keep {
			p.put(wc)
		} else {
			_ = wc.c.Close()
		}
		if err != nil && reused && attempt == 0 && errors.Is(err, errClosedIdle) && ctx.Err() == nil {
			continue
		}
		return resp, err
	}
}

// errClosedIdle is a request that could not be written whole, or whose
// answer ended before its first byte.
var errClosedIdle = errors.New("connection closed before the answer began")

func (p *wirePool) roundTrip(ctx context.Context, wc *wireConn, req *http.Request, body []byte, limit int64) (*wireResponse, bool, error) {
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
	var err error
	wc.buf, err = appendRequest(wc.buf[:0], req, body)
	if err != nil {
		return nil, false, err
	}
	if _, err = wc.c.Write(wc.buf); err != nil { // not written whole: not taken
		return nil, false, ctxErr(ctx, fmt.Errorf("%w: write: %w", errClosedIdle, err))
	}
	if _, err := wc.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil, false, fmt.Errorf("%w: %w", errClosedIdle, err)
		}
		return nil, false, ctxErr(ctx, err)
	}
	resp, keep, err := readResponse(wc.br, limit)
	if err != nil {
		return nil, false, ctxErr(ctx, err)
	}
	return resp, keep, nil
}

// appendRequest appends req's request line, host, headers and body to buf
// as HTTP/1.1: what http.Request.Write sends for the same request.
func appendRequest(buf []byte, req *http.Request, body []byte) ([]byte, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	buf = append(buf, req.Method...)
	buf = append(buf, ' ')
	buf = append(buf, req.URL.RequestURI()...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	buf = append(buf, "\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, "\r\n"...)
	for k, vs := range req.Header {
		for _, v := range vs {
			if strings.ContainsAny(k, "\r\n:") || strings.ContainsAny(v, "\r\n") {
				return buf, fmt.Errorf("header %q: line breaks are not allowed", k)
			}
			buf = append(buf, k...)
			buf = append(buf, ": "...)
			buf = append(buf, v...)
			buf = append(buf, "\r\n"...)
		}
	}
	buf = append(buf, "\r\n"...)
	return append(buf, body...), nil
}

// readResponse reads one answer: its status, its headers (but for the
// framing ones it acts on), and at most limit bytes of its body;
// keep is whether the connection can carry the next request.
func readResponse(br *bufio.Reader, limit int64) (resp *wireResponse, keep bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return nil, false, err
	}
	proto, rest, ok1 := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !ok1 || !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 200 || status > 999 {
		return nil, false, fmt.Errorf("malformed status line %q", line)
	}
	resp = &wireResponse{status: status, header: http.Header{}}
	keep = proto == "HTTP/1.1"
	length, chunked := int64(-1), false
	err = readFields(br, func(line string) error {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("malformed header line %q", line)
		}
		k, v = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "Content-Length":
			var err error
			if length, err = strconv.ParseInt(v, 10, 64); err != nil || length < 0 {
				return fmt.Errorf("bad Content-Length %q", v)
			}
		case "Transfer-Encoding":
			if chunked = strings.EqualFold(v, "chunked"); !chunked {
				return fmt.Errorf("unsupported Transfer-Encoding %q", v)
			}
		case "Connection":
			if strings.EqualFold(v, "close") {
				keep = false
			} else if strings.EqualFold(v, "keep-alive") {
				keep = true
			}
		default:
			resp.header.Add(k, v)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	var body io.Reader
	switch {
	case chunked:
		body = httputil.NewChunkedReader(br)
	case length >= 0:
		body = io.LimitReader(br, length)
	default: // the body runs to the end of the connection
		body, keep = br, false
	}
	if resp.body, err = io.ReadAll(io.LimitReader(body, limit)); err != nil {
		return nil, false, err
	}
	if length >= 0 && int64(len(resp.body)) < min(length, limit) {
		return nil, false, io.ErrUnexpectedEOF
	}
	// What is left past the limit is drained, or the connection is not
	// reused.
	if n, err := io.Copy(io.Discard, body); err != nil || n > 0 {
		keep = false
	}
	if chunked && keep {
		// The chunked reader stops after the last chunk; the trailer
		// section, and the blank line that ends it, are read here.
		if err := readFields(br, func(string) error { return nil }); err != nil {
			return nil, false, err
		}
	}
	return resp, keep, nil
}

// readFields reads header (or trailer) lines up to the blank line that
// ends them, and calls fn with each.
func readFields(br *bufio.Reader, fn func(line string) error) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if line == "" {
			return nil
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// readLine reads one CRLF- (or LF-) terminated line without its end.
func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", errors.New("header line too long")
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
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
	return &wireConn{c: c, br: bufio.NewReaderSize(c, 8<<10)}, false, nil
}

func (p *wirePool) put(wc *wireConn) {
	p.mu.Lock()
	p.idle = append(p.idle, wc)
	p.mu.Unlock()
}
