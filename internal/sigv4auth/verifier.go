package sigv4auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/gantrybatch/gantry"
)

const (
	// DefaultMaxSkew is how far X-Amz-Date may be from the server clock when
	// Verifier.MaxSkew is zero. It matches AWS.
	DefaultMaxSkew = 15 * time.Minute

	// maxBodyBytes bounds the body Verify buffers to hash.
	maxBodyBytes = 32 << 20
	// maxPresignExpiry is the longest X-Amz-Expires AWS allows (7 days).
	maxPresignExpiry = 7 * 24 * time.Hour

	algorithm       = "AWS4-HMAC-SHA256"
	amzDateLayout   = "20060102T150405Z"
	scopeTerminator = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"

	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// services are the SigV4 signing names of the APIs Gantry serves.
var services = map[string]bool{"batch": true, "logs": true, "events": true}

// unreproducibleHeaders are headers the SDK signer always leaves out of a
// signature, so a signature over them cannot be recomputed with it.
var unreproducibleHeaders = map[string]bool{
	"authorization": true, "user-agent": true, "expect": true,
	"transfer-encoding": true, "x-amzn-trace-id": true,
}

// Verifier checks AWS Signature Version 4 signatures against a fixed set of
// access keys. Its zero value rejects every request; it is safe for
// concurrent use as long as its fields are not changed.
type Verifier struct {
	// Credentials maps access key IDs to secret access keys
	// (see LoadCredentials).
	Credentials map[string]string
	// Now returns the server time; time.Now when nil.
	Now func() time.Time
	// MaxSkew is how far X-Amz-Date may be from Now; DefaultMaxSkew when
	// zero.
	MaxSkew time.Duration
}

// Verify authenticates r. It returns nil when r carries a valid signature
// made with one of v.Credentials, and otherwise a *gantry.Error with code
//
//   - gantry.ErrCodeMissingAuthToken: neither an Authorization header nor a
//     presigned query (X-Amz-Algorithm);
//   - gantry.ErrCodeUnrecognizedClient: the access key ID is unknown;
//   - gantry.ErrCodeInvalidSignature: a malformed Authorization header or
//     query, an unsupported algorithm or service, a date outside MaxSkew, an
//     expired presigned URL, a body that does not match
//     X-Amz-Content-Sha256, or a signature that does not match;
//   - gantry.ErrCodeClient: the body could not be read or exceeds 32 MiB.
//
// Once the access key and the header are found good, Verify reads the whole
// body to hash it and leaves r.Body positioned at the start of an identical
// copy for the next handler; when it fails earlier the body is untouched.
func (v *Verifier) Verify(r *http.Request) error {
	authz := r.Header.Values("Authorization")
	presigned := r.URL.Query().Has("X-Amz-Algorithm")
	var (
		p   *sigParams
		err error
	)
	switch {
	case len(authz) > 0 && presigned:
		return invalidSignature("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case presigned:
		p, err = parsePresignedQuery(r.URL.Query())
	case len(authz) > 1:
		return invalidSignature("Only one Authorization header is allowed.")
	case len(authz) == 1 && strings.TrimSpace(authz[0]) != "":
		p, err = parseAuthorizationHeader(authz[0], r.Header.Get("X-Amz-Date"))
	default:
		return &gantry.Error{
			Code:    gantry.ErrCodeMissingAuthToken,
			Message: "Request is missing Authentication Token: this server requires AWS Signature Version 4 signed requests.",
		}
	}
	if err != nil {
		return err
	}

	secret, ok := v.Credentials[p.accessKeyID]
	if !ok {
		return &gantry.Error{
			Code:    gantry.ErrCodeUnrecognizedClient,
			Message: fmt.Sprintf("The security token included in the request is invalid: unknown access key ID %q.", p.accessKeyID),
		}
	}
	if err := v.checkTime(p); err != nil {
		return err
	}
	if err := checkSignedHeaders(p, r); err != nil {
		return err
	}
	// Only now, with a known key and a plausible header, is the body worth
	// buffering.
	body, err := bufferBody(r)
	if err != nil {
		return err
	}
	hashes, err := payloadHashes(p, r, body)
	if err != nil {
		return err
	}

	creds := aws.Credentials{AccessKeyID: p.accessKeyID, SecretAccessKey: secret}
	var reproduced string
	for _, uri := range canonicalPathCandidates(r) {
		for _, hash := range hashes {
			got, signedHeaders, err := resign(r, p, creds, uri, hash)
			if err != nil {
				return fmt.Errorf("sigv4auth: re-sign request: %w", err)
			}
			reproduced = signedHeaders
			if hmac.Equal(got, p.signature) {
				return nil
			}
		}
	}
	if reproduced != p.signedHeadersRaw {
		// Our own sanity check: the signer added or dropped a header.
		return invalidSignature(fmt.Sprintf("%s (SignedHeaders %q could not be reproduced; got %q)", msgSignatureMismatch, p.signedHeadersRaw, reproduced))
	}
	return invalidSignature(msgSignatureMismatch)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// checkTime applies the clock-skew window, and for presigned URLs the
// X-Amz-Expires window.
func (v *Verifier) checkTime(p *sigParams) error {
	now, skew := v.now().UTC(), v.maxSkew()
	if p.time.After(now.Add(skew)) {
		return invalidSignature(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s).",
			p.amzDate, now.Add(skew).Format(amzDateLayout), now.Format(amzDateLayout), formatSkew(skew)))
	}
	if p.presigned && p.expires > 0 {
		if deadline := p.time.Add(p.expires); now.After(deadline) {
			return invalidSignature(fmt.Sprintf("Signature expired: the presigned URL expired at %s; it is now %s.",
				deadline.Format(amzDateLayout), now.Format(amzDateLayout)))
		}
		return nil
	}
	if p.time.Before(now.Add(-skew)) {
		return invalidSignature(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s).",
			p.amzDate, now.Add(-skew).Format(amzDateLayout), now.Format(amzDateLayout), formatSkew(skew)))
	}
	return nil
}

func formatSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return d.String()
}

// checkSignedHeaders makes sure every header the client signed can be put on
// the rebuilt request, so a failure names the cause instead of showing up
// as a bare signature mismatch.
func checkSignedHeaders(p *sigParams, r *http.Request) error {
	for _, name := range p.signedHeaders {
		switch {
		case name == "host":
		case name == "content-length":
			if r.ContentLength <= 0 {
				return invalidSignature("Signing a Content-Length of 0 (or a chunked body) is not supported; leave content-length out of SignedHeaders.")
			}
		case unreproducibleHeaders[name]:
			return invalidSignature(fmt.Sprintf("Signing the %s header is not supported; leave it out of SignedHeaders.", name))
		default:
			if _, ok := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; !ok {
				return invalidSignature(fmt.Sprintf("The signed header %s is not present in the request.", name))
			}
		}
	}
	return nil
}

// payloadHashes returns the body hashes the client may have signed, most
// likely first.
func payloadHashes(p *sigParams, r *http.Request, body []byte) ([]string, error) {
	sum := sha256.Sum256(body)
	actual := hex.EncodeToString(sum[:])
	if !p.presigned {
		if declared := r.Header.Get("X-Amz-Content-Sha256"); declared != "" {
			switch {
			case strings.EqualFold(declared, actual):
				return []string{declared}, nil
			case declared == unsignedPayload && len(body) == 0:
				return []string{declared}, nil
			case declared == unsignedPayload:
				return nil, invalidSignature("UNSIGNED-PAYLOAD is accepted only for requests without a body.")
			default:
				return nil, invalidSignature("The provided 'x-amz-content-sha256' header does not match what was computed.")
			}
		}
	}
	if len(body) == 0 {
		return []string{actual, unsignedPayload}, nil
	}
	return []string{actual}, nil
}

// canonicalPathCandidates returns the request path as the client sent it,
// still escaped, and, when it differs, botocore's normalized form of it (dot
// segments and repeated slashes removed).
func canonicalPathCandidates(r *http.Request) []string {
	raw := rawPath(r)
	if n := removeDotSegments(raw); n != raw {
		return []string{raw, n}
	}
	return []string{raw}
}

// rawPath returns the path of r exactly as it was on the request line.
// r.URL.Path is decoded (%2F becomes '/'), and the signature covers the
// encoded form.
func rawPath(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// removeDotSegments mirrors botocore.utils.remove_dot_segments: RFC 3986
// dot-segment removal plus collapsing of consecutive slashes.
func removeDotSegments(path string) string {
	if path == "" {
		return ""
	}
	var out []string
	for _, seg := range strings.Split(path, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	var first, last string
	if path[0] == '/' {
		first = "/"
	}
	if path[len(path)-1] == '/' && len(out) > 0 {
		last = "/"
	}
	return first + strings.Join(out, "/") + last
}

// resign signs a copy of r rebuilt from what the client signed and returns the
// signature and the SignedHeaders the signer produced.
//
// The copy's URL carries the raw path in Opaque ("//host/path"), which the
// SDK signer takes verbatim and escapes once more: the double escaping AWS
// clients apply to non-S3 paths.
func resign(r *http.Request, p *sigParams, creds aws.Credentials, uri, payloadHash string) (sig []byte, signedHeaders string, err error) {
	req := &http.Request{
		Method: r.Method,
		Host:   r.Host,
		Header: http.Header{},
		URL:    &url.URL{Opaque: "//" + r.Host + uri},
	}
	for _, name := range p.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[textproto.CanonicalMIMEHeaderKey(name)] = r.Header.Values(name)
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		// Keep signed X-Amz-* headers as headers when presigning, as the
		// client did.
		o.DisableHeaderHoisting = true
	})

	if !p.presigned {
		req.URL.RawQuery = r.URL.RawQuery
		if err := signer.SignHTTP(r.Context(), creds, req, payloadHash, p.service, p.region, p.time); err != nil {
			return nil, "", err
		}
		out, err := parseAuthorizationHeader(req.Header.Get("Authorization"), p.amzDate)
		if err != nil {
			return nil, "", fmt.Errorf("parse own Authorization header: %w", err)
		}
		return out.signature, out.signedHeadersRaw, nil
	}

	query := r.URL.Query()
	query.Del("X-Amz-Signature")
	req.URL.RawQuery = query.Encode()
	signedURL, _, err := signer.PresignHTTP(r.Context(), creds, req, payloadHash, p.service, p.region, p.time)
	if err != nil {
		return nil, "", err
	}
	_, rawQuery, _ := strings.Cut(signedURL, "?")
	out, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("parse own presigned URL: %w", err)
	}
	sig, err = hex.DecodeString(out.Get("X-Amz-Signature"))
	return sig, out.Get("X-Amz-SignedHeaders"), err
}

// bufferBody reads r.Body and replaces it with an in-memory copy.
func bufferBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	r.Body.Close()
	if err != nil {
		return nil, gantry.ClientErrorf("Could not read the request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return nil, gantry.ClientErrorf("The request body exceeds %d bytes.", maxBodyBytes)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return body, nil
}

func invalidSignature(msg string) *gantry.Error {
	return &gantry.Error{Code: gantry.ErrCodeInvalidSignature, Message: msg}
}

// sigParams is what a request says about its own signature.
type sigParams struct {
	presigned bool

	accessKeyID string
	region      string
	service     string

	amzDate string    // X-Amz-Date as sent
	time    time.Time // amzDate parsed
	expires time.Duration

	signedHeaders    []string // lower-case names
	signedHeadersRaw string
	signature        []byte
}

// parseAuthorizationHeader parses
// "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/batch/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=<hex>" and the X-Amz-Date header
// that goes with it.
func parseAuthorizationHeader(authz, amzDate string) (*sigParams, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(authz), " ")
	if alg != algorithm {
		return nil, invalidSignature(fmt.Sprintf("Unsupported Authorization algorithm %q; only %s (Signature Version 4) is accepted.", alg, algorithm))
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, invalidSignature(fmt.Sprintf("Authorization header: %q is not a key=value pair.", strings.TrimSpace(part)))
		}
		if _, dup := fields[k]; dup {
			return nil, invalidSignature(fmt.Sprintf("Authorization header: %s appears twice.", k))
		}
		fields[k] = val
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return nil, invalidSignature(fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	if amzDate == "" {
		return nil, invalidSignature("Authorization header requires the X-Amz-Date header.")
	}
	p := &sigParams{}
	if err := p.fill(fields["Credential"], fields["SignedHeaders"], fields["Signature"], amzDate); err != nil {
		return nil, err
	}
	if !slices.Contains(p.signedHeaders, "x-amz-date") {
		return nil, invalidSignature("SignedHeaders must include x-amz-date.")
	}
	return p, nil
}

// parsePresignedQuery parses the X-Amz-* parameters of a presigned URL.
func parsePresignedQuery(q url.Values) (*sigParams, error) {
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return nil, invalidSignature(fmt.Sprintf("Unsupported X-Amz-Algorithm %q; only %s (Signature Version 4) is accepted.", alg, algorithm))
	}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if q.Get(k) == "" {
			return nil, invalidSignature(fmt.Sprintf("AWS query-string parameters must include '%s'.", k))
		}
	}
	p := &sigParams{presigned: true}
	if err := p.fill(q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")); err != nil {
		return nil, err
	}
	if s := q.Get("X-Amz-Expires"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || time.Duration(n)*time.Second > maxPresignExpiry {
			return nil, invalidSignature(fmt.Sprintf("X-Amz-Expires must be a number of seconds from 1 to %d, got %q.", int64(maxPresignExpiry/time.Second), s))
		}
		p.expires = time.Duration(n) * time.Second
	}
	return p, nil
}

// fill validates and stores the parts shared by both forms.
func (p *sigParams) fill(credential, signedHeaders, signature, amzDate string) error {
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[0] == "" || scope[1] == "" || scope[2] == "" || scope[3] == "" {
		return invalidSignature(fmt.Sprintf("Credential %q is malformed; expecting \"<AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request\".", credential))
	}
	if scope[4] != scopeTerminator {
		return invalidSignature(fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", scope[4]))
	}
	if !services[scope[3]] {
		return invalidSignature(fmt.Sprintf("Credential should be scoped to a service Gantry serves (batch, logs or events), not '%s'.", scope[3]))
	}
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return invalidSignature(fmt.Sprintf("X-Amz-Date %q must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z'.", amzDate))
	}
	if scope[1] != amzDate[:8] {
		return invalidSignature(fmt.Sprintf("Date in Credential scope (%s) does not match YYYYMMDD from X-Amz-Date (%s).", scope[1], amzDate[:8]))
	}

	names := strings.Split(signedHeaders, ";")
	for _, n := range names {
		if n == "" || n != strings.ToLower(n) || strings.ContainsAny(n, " \t") {
			return invalidSignature(fmt.Sprintf("SignedHeaders %q must be a ';'-separated list of lower-case header names.", signedHeaders))
		}
	}
	if !slices.Contains(names, "host") {
		return invalidSignature("SignedHeaders must include host.")
	}

	p.accessKeyID, p.region, p.service = scope[0], scope[2], scope[3]
	p.amzDate, p.time = amzDate, t
	p.signedHeaders, p.signedHeadersRaw = names, signedHeaders
	sig, err := hex.DecodeString(signature)
	if err != nil || len(sig) != sha256.Size {
		return invalidSignature("The Signature must be 64 hexadecimal characters.")
	}
	p.signature = sig
	return nil
}
