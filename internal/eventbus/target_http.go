package eventbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantrybatch/gantry"
)

const (
	contentTypeJSON = "application/json; charset=utf-8"
	// userAgentAPIDest is what AWS sends to API destinations.
	userAgentAPIDest = "Amazon/EventBridge/ApiDestinations"
	userAgentWebhook = "Gantry/EventBridge"
	// maxErrorBody is how much of a failed response's body LastError keeps.
	maxErrorBody = 512
)

// httpSender calls webhooks and API destinations. It caches OAuth tokens per
// connection and rate limiters per API destination.
type httpSender struct {
	bus *Bus

	mu       sync.Mutex
	tokens   map[string]*oauthToken  // connection name -> token
	limiters map[string]*tokenBucket // API destination name -> limiter
}

type oauthToken struct {
	fingerprint string // what the token was fetched with
	value       string
	expires     time.Time // zero: until a 401
}

func newHTTPSender(b *Bus) *httpSender {
	return &httpSender{bus: b, tokens: map[string]*oauthToken{}, limiters: map[string]*tokenBucket{}}
}

// sendWebhook POSTs the input to a Gantry-native webhook (the target's Arn is
// the URL), with the target's HttpParameters headers and query strings.
func (s *httpSender) sendWebhook(ctx context.Context, t *gantry.Target, input []byte) attempt {
	u, err := url.Parse(t.Arn)
	if err != nil {
		return permanent(fmt.Errorf("webhook URL: %w", err))
	}
	var headers map[string]string
	if hp := t.HttpParameters; hp != nil {
		addQuery(u, hp.QueryStringParameters)
		headers = hp.HeaderParameters
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(input))
	if err != nil {
		return permanent(fmt.Errorf("webhook request: %w", err))
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", contentTypeJSON)
	req.Header.Set("User-Agent", userAgentWebhook)
	resp, err := s.bus.cfg.HTTPClient.Do(req)
	if err != nil {
		return failed(fmt.Errorf("POST %s: %w", redactURL(u), err))
	}
	return classify(resp)
}

// sendAPIDestination calls an EventBridge API destination with its
// connection's authorization.
func (s *httpSender) sendAPIDestination(ctx context.Context, t *gantry.Target, input []byte) attempt {
	st := s.bus.cfg.Store
	name := arnResource(t.Arn, "api-destination/")
	dest, err := st.APIDestinationGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return permanent(fmt.Errorf("API destination %q does not exist", name))
	} else if err != nil {
		return failed(fmt.Errorf("get API destination %q: %w", name, err))
	}
	if dest.ApiDestinationState == gantry.APIDestinationStateInactive {
		return failed(fmt.Errorf("API destination %q is INACTIVE", name))
	}
	connName := arnResource(dest.ConnectionArn, "connection/")
	conn, err := st.ConnectionGet(ctx, connName)
	if errors.Is(err, gantry.ErrNotFound) {
		return permanent(fmt.Errorf("connection %q of API destination %q does not exist", connName, name))
	} else if err != nil {
		return failed(fmt.Errorf("get connection %q: %w", connName, err))
	}
	if conn.ConnectionState == gantry.ConnectionStateDeauthorized {
		return failed(fmt.Errorf("connection %q is DEAUTHORIZED", connName))
	}
	if err := s.limiter(dest).wait(ctx); err != nil {
		return failed(err)
	}

	// Build the request once; OAuth may send it twice (a 401 refreshes the token).
	endpoint := dest.InvocationEndpoint
	headers := map[string]string{}
	query := map[string]string{}
	if hp := t.HttpParameters; hp != nil {
		for _, v := range hp.PathParameterValues {
			i := strings.IndexByte(endpoint, '*')
			if i < 0 {
				break
			}
			endpoint = endpoint[:i] + url.PathEscape(v) + endpoint[i+1:]
		}
		for k, v := range hp.HeaderParameters {
			headers[k] = v
		}
		for k, v := range hp.QueryStringParameters {
			query[k] = v
		}
	}
	body := input
	ap := conn.AuthParameters
	if ap == nil {
		ap = &gantry.ConnectionAuthParameters{}
	}
	if ip := ap.InvocationHttpParameters; ip != nil { // the connection's values win
		for _, p := range ip.HeaderParameters {
			headers[p.Key] = p.Value
		}
		for _, p := range ip.QueryStringParameters {
			query[p.Key] = p.Value
		}
		if len(ip.BodyParameters) > 0 {
			if body, err = mergeBody(input, ip.BodyParameters); err != nil {
				return permanent(err)
			}
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return permanent(fmt.Errorf("API destination %q endpoint: %w", name, err))
	}
	addQuery(u, query)
	method := strings.ToUpper(dest.HttpMethod)
	if method == "" {
		method = http.MethodPost
	}
	send := func(bearer string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		req.Header.Set("Content-Type", contentTypeJSON)
		req.Header.Set("User-Agent", userAgentAPIDest)
		switch conn.AuthorizationType {
		case gantry.ConnectionAuthBasic:
			if a := ap.BasicAuthParameters; a != nil {
				req.SetBasicAuth(a.Username, a.Password)
			}
		case gantry.ConnectionAuthAPIKey:
			if a := ap.ApiKeyAuthParameters; a != nil {
				req.Header.Set(a.ApiKeyName, a.ApiKeyValue)
			}
		case gantry.ConnectionAuthOAuthClientCreds:
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return s.bus.cfg.HTTPClient.Do(req)
	}
	bearer := ""
	oauth := conn.AuthorizationType == gantry.ConnectionAuthOAuthClientCreds
	if oauth {
		if bearer, err = s.token(ctx, conn, false); err != nil {
			return failed(err)
		}
	}
	resp, err := send(bearer)
	if err == nil && oauth && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusProxyAuthRequired) {
		// AWS refreshes OAuth tokens on a 401 or 407.
		drain(resp)
		if bearer, err = s.token(ctx, conn, true); err != nil {
			return failed(err)
		}
		resp, err = send(bearer)
	}
	if err != nil {
		return failed(fmt.Errorf("%s %s: %w", method, redactURL(u), err))
	}
	return classify(resp)
}

// token returns the OAuth access token of a connection, fetching one from
// the authorization endpoint if none is cached, it expired, the connection
// changed, or refresh is set.
func (s *httpSender) token(ctx context.Context, conn *gantry.Connection, refresh bool) (string, error) {
	var o *gantry.ConnectionOAuth
	if conn.AuthParameters != nil {
		o = conn.AuthParameters.OAuthParameters
	}
	if o == nil {
		return "", fmt.Errorf("connection %q has no OAuthParameters", conn.Name)
	}
	var clientID, secret string
	if c := o.ClientParameters; c != nil {
		clientID, secret = c.ClientID, c.ClientSecret
	}
	fp, _ := json.Marshal([]any{o.AuthorizationEndpoint, o.HttpMethod, clientID, secret, o.OAuthHttpParameters})
	now := time.Now()
	s.mu.Lock()
	cached := s.tokens[conn.Name]
	s.mu.Unlock()
	if !refresh && cached != nil && cached.fingerprint == string(fp) && (cached.expires.IsZero() || now.Before(cached.expires)) {
		return cached.value, nil
	}

	u, err := url.Parse(o.AuthorizationEndpoint)
	if err != nil {
		return "", fmt.Errorf("connection %q authorization endpoint: %w", conn.Name, err)
	}
	method := strings.ToUpper(o.HttpMethod)
	if method == "" {
		method = http.MethodPost
	}
	form := url.Values{}
	headers := map[string]string{}
	if hp := o.OAuthHttpParameters; hp != nil {
		q := u.Query()
		for _, p := range hp.QueryStringParameters {
			q.Set(p.Key, p.Value)
		}
		u.RawQuery = q.Encode()
		for _, p := range hp.HeaderParameters {
			headers[p.Key] = p.Value
		}
		for _, p := range hp.BodyParameters {
			form.Set(p.Key, p.Value)
		}
	}
	if !form.Has("grant_type") {
		form.Set("grant_type", "client_credentials")
	}
	var body io.Reader
	if method == http.MethodGet {
		q := u.Query()
		for k, vs := range form {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return "", fmt.Errorf("connection %q token request: %w", conn.Name, err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgentAPIDest)
	req.SetBasicAuth(clientID, secret)
	resp, err := s.bus.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("connection %q: fetch OAuth token from %s: %w", conn.Name, redactURL(u), err)
	}
	defer drain(resp)
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("connection %q: read OAuth token: %w", conn.Name, err)
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("connection %q: OAuth token endpoint answered HTTP %d: %s", conn.Name, resp.StatusCode, truncate(string(data), maxErrorBody))
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("connection %q: OAuth token response has no access_token", conn.Name)
	}
	t := &oauthToken{fingerprint: string(fp), value: tok.AccessToken}
	if secs, err := scalarString(tok.ExpiresIn); err == nil {
		if n, err := strconv.ParseFloat(secs, 64); err == nil && n > 0 {
			// Refresh a little early so a token does not expire in flight.
			life := time.Duration(n * float64(time.Second))
			t.expires = now.Add(life - min(life/10, 30*time.Second))
		}
	}
	s.mu.Lock()
	s.tokens[conn.Name] = t
	s.mu.Unlock()
	return t.value, nil
}

// limiter returns the rate limiter of an API destination, made anew when its
// rate changes.
func (s *httpSender) limiter(d *gantry.APIDestination) *tokenBucket {
	rate := float64(d.InvocationRateLimitPerSecond)
	if rate <= 0 {
		rate = gantry.DefaultInvocationRatePerSecond
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[d.Name]
	if l == nil || l.rate != rate {
		l = newTokenBucket(rate)
		s.limiters[d.Name] = l
	}
	return l
}

// classify turns a response into an attempt: 2xx delivered; 401, 407, 409,
// 429 and 5xx retried (honouring Retry-After); anything else is permanent,
// as for AWS API destinations.
func classify(resp *http.Response) attempt {
	defer drain(resp)
	code := resp.StatusCode
	status := strconv.Itoa(code)
	if code/100 == 2 {
		return attempt{result: status}
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	err := fmt.Errorf("HTTP %d", code)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		err = fmt.Errorf("HTTP %d: %s", code, s)
	}
	at := attempt{result: status, err: err}
	switch {
	case code == http.StatusUnauthorized, code == http.StatusProxyAuthRequired, code == http.StatusConflict,
		code == http.StatusTooManyRequests, code/100 == 5:
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if secs, perr := strconv.Atoi(strings.TrimSpace(ra)); perr == nil {
				if secs < 0 { // AWS: a negative Retry-After stops the retries
					at.permanent = true
				} else {
					at.retryAfter = time.Duration(secs) * time.Second
				}
			} else if when, perr := http.ParseTime(ra); perr == nil {
				at.retryAfter = time.Until(when)
			}
		}
	default:
		at.permanent = true
	}
	return at
}

// drain reads a little of what is left of a body, so that the connection
// can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// mergeBody adds a connection's body parameters to a JSON object input (the
// connection's values win). Other inputs cannot take them.
func mergeBody(input []byte, params []gantry.ConnectionParameter) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(input, &obj); err != nil || obj == nil {
		return nil, errors.New("the connection has body parameters but the target input is not a JSON object")
	}
	for _, p := range params {
		v, _ := json.Marshal(p.Value)
		obj[p.Key] = v
	}
	return json.Marshal(obj)
}

func addQuery(u *url.URL, params map[string]string) {
	if len(params) == 0 {
		return
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
}

// redactURL drops the query and user info of a URL for error messages: they
// may carry secrets.
func redactURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery = nil, ""
	return c.String()
}

// arnResource returns the resource name after prefix in an ARN such as
// arn:aws:events:r:a:api-destination/NAME/UUID (NAME).
func arnResource(arn, prefix string) string {
	i := strings.Index(arn, prefix)
	if i < 0 {
		return arn // a bare name
	}
	name := arn[i+len(prefix):]
	if j := strings.IndexByte(name, '/'); j >= 0 {
		name = name[:j]
	}
	return name
}

// tokenBucket limits the invocation rate of one API destination: up to one
// second's worth of calls at once, then rate per second. (Hand-written
// rather than golang.org/x/time/rate, which is not a dependency of the
// module; this is all we need of it.) It runs on the real clock.
type tokenBucket struct {
	rate float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64) *tokenBucket {
	return &tokenBucket{rate: rate, tokens: max(rate, 1), last: time.Now()}
}

// wait takes one token, sleeping until one is available or ctx is done.
func (tb *tokenBucket) wait(ctx context.Context) error {
	for {
		tb.mu.Lock()
		now := time.Now()
		tb.tokens = min(max(tb.rate, 1), tb.tokens+now.Sub(tb.last).Seconds()*tb.rate)
		tb.last = now
		if tb.tokens >= 1 {
			tb.tokens--
			tb.mu.Unlock()
			return nil
		}
		need := time.Duration((1 - tb.tokens) / tb.rate * float64(time.Second))
		tb.mu.Unlock()
		t := time.NewTimer(need)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
