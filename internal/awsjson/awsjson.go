// Package awsjson serves AWS's JSON 1.1 protocol, shared by Gantry's
// CloudWatch Logs and EventBridge APIs: `POST /` with `X-Amz-Target:
// <prefix>.<Operation>` and a JSON body, answered with `Content-Type:
// application/x-amz-json-1.1`. Client errors are HTTP 400 with
// `{"__type": code, "message": ...}` and `X-Amzn-ErrorType`; only real
// failures are 500s, logged, their text not shown.
package awsjson

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gantrybatch/gantry/internal/httpapi"
)

// ContentType is the protocol's media type.
const ContentType = "application/x-amz-json-1.1"

// Error is an error for the caller, in the protocol's error shape.
type Error struct {
	Code, Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// FieldError is returned by custom JSON unmarshalers: its text becomes the
// message of the bad-input error.
type FieldError struct{ Msg string }

func (e *FieldError) Error() string { return e.Msg }

// Op is one operation: it gets the request body (trimmed; empty means {}).
type Op func(ctx context.Context, body []byte) (any, error)

// Typed adapts an operation taking a decoded request; badInput is the
// service's error code for malformed input.
func Typed[In any](badInput string, fn func(context.Context, *In) (any, error)) Op {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := Decode(badInput, body, in); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}
}

// Server dispatches one service's operations. Set every field but MapError
// and Logger.
type Server struct {
	// Service names the API in messages ("EventBridge").
	Service string
	// Article is "a" or "an", for "not an EventBridge operation".
	Article string
	// LogName prefixes operations in request logs ("events").
	LogName      string
	TargetPrefix string
	BadInputCode string // e.g. ValidationException
	InternalCode string // e.g. InternalException
	UnknownCode  string // e.g. UnknownOperationException
	MaxBodyBytes int64
	Ops          map[string]Op
	// MapError, if set, maps a service error that is not an *Error to the
	// wire shape; nil means internal.
	MapError func(error) *Error
	Logger   *slog.Logger
}

// ServeHTTP dispatches on X-Amz-Target and logs the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	target := r.Header.Get("X-Amz-Target")
	name, _ := strings.CutPrefix(target, s.TargetPrefix+".")
	fn, ok := s.Ops[name]
	var (
		out any
		err error
	)
	switch {
	case r.Method != http.MethodPost:
		err = &Error{s.UnknownCode, s.Service + " operations are POST requests"}
	case !ok:
		err = &Error{s.UnknownCode, fmt.Sprintf("X-Amz-Target %q is not %s %s operation Gantry supports", target, s.Article, s.Service)}
	default:
		var body []byte
		if body, err = s.readBody(w, r); err == nil {
			out, err = fn(r.Context(), body)
		}
	}
	status := http.StatusOK
	if err != nil {
		status = s.WriteError(w, r, err)
	} else {
		s.WriteJSON(w, http.StatusOK, out)
	}
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	s.logger().Log(r.Context(), level, "api request", "operation", s.LogName+"."+name, "status", status,
		"duration_ms", time.Since(start).Milliseconds(), "request_id", httpapi.RequestID(r.Context()))
}

func (s *Server) logger() *slog.Logger { return cmp.Or(s.Logger, slog.Default()) }

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{s.BadInputCode, fmt.Sprintf("the request body exceeds %d bytes", s.MaxBodyBytes)}
		}
		return nil, &Error{s.BadInputCode, fmt.Sprintf("could not read the request body: %v", err)}
	}
	return bytes.TrimSpace(body), nil
}

// Decode reads a JSON object into v; an empty body is an empty object.
// Malformed input is an *Error with code badInput naming the field.
func Decode(badInput string, body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	bad := func(format string, args ...any) error { return &Error{badInput, fmt.Sprintf(format, args...)} }
	if body[0] != '{' {
		return bad("the request body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return bad("%s: must be of type %s, not %s", cmp.Or(te.Field, "(body)"), httpapi.JSONType(te.Type.Kind()), te.Value)
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			return bad("%s", fe.Msg)
		}
		return bad("the request body is not valid JSON: %v", err)
	}
	return nil
}

// WriteJSON writes v with status in the protocol's media type.
func (s *Server) WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"__type":"` + s.InternalCode + `","message":"An internal error occurred."}`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteError maps err to the error shape (an *Error as is, MapError, else
// internal: logged, its text not shown) and returns the status sent.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) int {
	var ae *Error
	switch {
	case errors.As(err, &ae):
	case s.MapError != nil && s.MapError(err) != nil:
		ae = s.MapError(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ae = &Error{s.InternalCode, "The request was canceled."}
	default:
		s.logger().ErrorContext(r.Context(), s.LogName+" api internal error", "request_id", httpapi.RequestID(r.Context()), "error", err)
		ae = &Error{s.InternalCode, "An internal error occurred."}
	}
	status := http.StatusBadRequest
	if ae.Code == s.InternalCode {
		status = http.StatusInternalServerError
	}
	w.Header().Set("X-Amzn-ErrorType", ae.Code)
	s.WriteJSON(w, status, map[string]string{"__type": ae.Code, "message": ae.Message})
	return status
}
