package sigv4auth

import (
	"encoding/json"
	"net/http"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
)

// Middleware authenticates every request with v before passing it to next.
//
// A nil v disables authentication: next is returned unchanged, which is how
// Gantry runs without --credentials.
//
// A request that fails v.Verify gets the AWS JSON error shape: status 403
// (400 for an unreadable or oversized body), Content-Type application/json,
// the headers X-Amzn-ErrorType: <code> and x-amzn-RequestId: <uuid>, and the
// body {"__type":"<code>","message":"<message>"}.
//
// GET and HEAD requests for /healthz and /metrics are never authenticated, so
// health checks and Prometheus scrapes need no AWS credentials.
func Middleware(v *Verifier, next http.Handler) http.Handler {
	if v == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUnauthenticated(r) {
			next.ServeHTTP(w, r)
			return
		}
		if err := v.Verify(r); err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isUnauthenticated reports the operational endpoints left open.
func isUnauthenticated(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == "/healthz" || r.URL.Path == "/metrics"
}

func writeError(w http.ResponseWriter, err error) {
	code, msg := gantry.ErrorCode(err), gantry.ErrorMessage(err)
	status := http.StatusForbidden
	switch code {
	case gantry.ErrCodeClient:
		status = http.StatusBadRequest
	case gantry.ErrCodeServer:
		status = http.StatusInternalServerError
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, msg})

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", code)
	h.Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
