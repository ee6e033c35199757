package sigv4auth

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
)

// okHandler answers 200 "ok" and counts its calls.
type okHandler struct{ calls int }

func (h *okHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls++
	_, _ = io.WriteString(w, "ok")
}

func newTestVerifier() *Verifier {
	return &Verifier{
		Credentials: map[string]string{testKeyID: testSecret},
		Now:         func() time.Time { return testNow },
	}
}

func TestMiddlewareNilVerifierPassesThrough(t *testing.T) {
	t.Parallel()
	next := &okHandler{}
	h := Middleware(nil, next)
	if h != http.Handler(next) {
		t.Errorf("Middleware(nil, next) = %T, want next itself", h)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newServerRequest("POST", "/v1/submitjob", "{}", nil))
	if rec.Code != http.StatusOK || next.calls != 1 {
		t.Errorf("unsigned request without a verifier: status %d, handler calls %d", rec.Code, next.calls)
	}
}

func TestMiddlewareOpenEndpoints(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		method, target string
		wantOpen       bool
	}{
		"GET /healthz":        {"GET", "/healthz", true},
		"HEAD /healthz":       {"HEAD", "/healthz", true},
		"GET /metrics":        {"GET", "/metrics", true},
		"GET /metrics?x=1":    {"GET", "/metrics?name=jobs", true},
		"POST /healthz":       {"POST", "/healthz", false},
		"DELETE /metrics":     {"DELETE", "/metrics", false},
		"GET /healthz/x":      {"GET", "/healthz/x", false},
		"GET /v1/tags/...":    {"GET", testARNPath, false},
		"GET /":               {"GET", "/", false},
		"GET /%68ealthz":      {"GET", "/%68ealthz", true}, // decoded path is /healthz
		"GET //healthz":       {"GET", "//healthz", false},
		"POST /v1/submitjob":  {"POST", "/v1/submitjob", false},
		"GET /metrics/../v1/": {"GET", "/metrics/../v1/describejobs", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			next := &okHandler{}
			rec := httptest.NewRecorder()
			Middleware(newTestVerifier(), next).ServeHTTP(rec, newServerRequest(tc.method, tc.target, "", nil))
			if open := next.calls == 1; open != tc.wantOpen {
				t.Errorf("%s %s reached the handler: %v (status %d), want %v", tc.method, tc.target, open, rec.Code, tc.wantOpen)
			}
		})
	}
}

func TestMiddlewareErrorShape(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		req        func(t *testing.T) *http.Request
		wantStatus int
		wantCode   string
	}{
		"unsigned": {
			req:        func(t *testing.T) *http.Request { return newServerRequest("GET", testARNPath, "", nil) },
			wantStatus: http.StatusForbidden,
			wantCode:   gantry.ErrCodeMissingAuthToken,
		},
		"unknown key": {
			req: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", "{}", nil, signOpts{key: "AKIAUNKNOWN"})
			},
			wantStatus: http.StatusForbidden,
			wantCode:   gantry.ErrCodeUnrecognizedClient,
		},
		"bad signature": {
			req: func(t *testing.T) *http.Request {
				return signed(t, "POST", "/v1/submitjob", "{}", nil, signOpts{secret: `a "quoted" secret`})
			},
			wantStatus: http.StatusForbidden,
			wantCode:   gantry.ErrCodeInvalidSignature,
		},
		"body over 32 MiB": {
			req: func(t *testing.T) *http.Request {
				// Signed by a known key, or the body would not be read at all.
				r := signed(t, "POST", "/v1/submitjob", "{}", nil, signOpts{})
				r.Body = io.NopCloser(io.LimitReader(zeros{}, maxBodyBytes+1))
				return r
			},
			wantStatus: http.StatusBadRequest,
			wantCode:   gantry.ErrCodeClient,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			next := &okHandler{}
			rec := httptest.NewRecorder()
			Middleware(newTestVerifier(), next).ServeHTTP(rec, tc.req(t))

			if next.calls != 0 {
				t.Errorf("rejected request reached the handler")
			}
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if et := rec.Header().Get("X-Amzn-ErrorType"); et != tc.wantCode {
				t.Errorf("X-Amzn-ErrorType %q, want %q", et, tc.wantCode)
			}
			if _, err := uuid.Parse(rec.Header().Get("x-amzn-RequestId")); err != nil {
				t.Errorf("x-amzn-RequestId %q: %v", rec.Header().Get("x-amzn-RequestId"), err)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body.String(), err)
			}
			if keys := slices.Sorted(maps.Keys(body)); !slices.Equal(keys, []string{"__type", "message"}) {
				t.Errorf("body members %v, want [__type message]", keys)
			}
			if body["__type"] != tc.wantCode || strings.TrimSpace(body["message"]) == "" {
				t.Errorf("body %v, want __type %s and a message", body, tc.wantCode)
			}
		})
	}
}

func TestMiddlewareSignedRequestReachesHandlerWithBody(t *testing.T) {
	t.Parallel()
	const body = `{"jobName":"hello"}`
	var got string
	h := Middleware(newTestVerifier(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, signed(t, "POST", "/v1/submitjob", body, map[string]string{"Content-Type": "application/json"}, signOpts{}))
	if rec.Code != http.StatusOK || got != body {
		t.Errorf("status %d, handler body %q; want 200 and %q", rec.Code, got, body)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
