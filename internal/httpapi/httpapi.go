// Package httpapi serves the AWS Batch REST-JSON API (version 2016-08-10)
// over net/http: `POST /v1/<operation>` with a JSON body for every
// operation, plus the tag routes under /v1/tags/{resourceArn}. It decodes
// requests into gantry.*Input values, calls the control layer and encodes
// the result, turning errors into AWS's error shape (one table, writeError).
package httpapi

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
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
)

// Body size limits. SubmitJob's is AWS's 30 KiB quota; others are generous
// bounds that keep a bad client from exhausting memory.
const (
	MaxBodyBytes = 1 << 20
)

// Server serves the Batch API.
type Server struct {
	Control *control.Service
	Logger  *slog.Logger
	// Ready reports whether /healthz should answer 200.
	Ready func() bool
	// Targets serves the JSON 1.1 protocols that share the port (CloudWatch
	// Logs, EventBridge): `POST /` with `X-Amz-Target: <prefix>.<Op>` goes to
	// the handler registered for <prefix> (e.g. "Logs_20140328").
	Targets map[string]http.Handler
	// Extra are further routes on the same mux (e.g. "GET /metrics").
	Extra map[string]http.Handler
	// ObserveRequest, if set, observes every API request: the operation,
	// "OK" or the AWS error code, and the handling time (metrics).
	ObserveRequest func(operation, code string, d time.Duration)
	// QueueSnapshots answers GetJobQueueSnapshot (the scheduler, which
	// knows the dispatch order). Without it the operation is refused.
	QueueSnapshots QueueSnapshotter
}

// QueueSnapshotter computes a queue's front of queue in dispatch order.
// *scheduler.Scheduler implements it.
type QueueSnapshotter interface {
	GetJobQueueSnapshot(ctx context.Context, in *control.GetJobQueueSnapshotInput) (*control.GetJobQueueSnapshotOutput, error)
}

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the x-amzn-RequestId of the request in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithRequestID assigns a request id, sets the x-amzn-RequestId header and
// recovers panics as ServerException. Wrap every handler of the port with it.
func WithRequestID(logger *slog.Logger, next http.Handler) http.Handler {
	logger = cmp.Or(logger, slog.Default())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		w.Header().Set("x-amzn-RequestId", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.ErrorContext(ctx, "panic in handler", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(p))
				WriteError(w, &gantry.Error{Code: gantry.ErrCodeServer, Message: "An internal error occurred."})
			}
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Handler returns the Batch API routes plus /healthz.
func (s *Server) Handler() http.Handler {
	logger := cmp.Or(s.Logger, slog.Default())
	c := s.Control
	mux := http.NewServeMux()
	route := func(name string, h http.Handler) {
		mux.Handle("POST /v1/"+strings.ToLower(name), s.logged(logger, name, h))
	}
	route("CreateComputeEnvironment", op(MaxBodyBytes, c.CreateComputeEnvironment))
	route("UpdateComputeEnvironment", op(MaxBodyBytes, c.UpdateComputeEnvironment))
	route("DeleteComputeEnvironment", op(MaxBodyBytes, c.DeleteComputeEnvironment))
	route("DescribeComputeEnvironments", op(MaxBodyBytes, c.DescribeComputeEnvironments))
	route("CreateJobQueue", op(MaxBodyBytes, c.CreateJobQueue))
	route("UpdateJobQueue", op(MaxBodyBytes, c.UpdateJobQueue))
	route("DeleteJobQueue", op(MaxBodyBytes, c.DeleteJobQueue))
	route("DescribeJobQueues", op(MaxBodyBytes, c.DescribeJobQueues))
	route("RegisterJobDefinition", op(MaxBodyBytes, c.RegisterJobDefinition))
	route("DeregisterJobDefinition", op(MaxBodyBytes, c.DeregisterJobDefinition))
	route("DescribeJobDefinitions", op(MaxBodyBytes, c.DescribeJobDefinitions))
	route("SubmitJob", op(gantry.MaxSubmitJobBytes, c.SubmitJob))
	route("DescribeJobs", op(MaxBodyBytes, c.DescribeJobs))
	route("ListJobs", op(MaxBodyBytes, c.ListJobs))
	route("CancelJob", op(MaxBodyBytes, c.CancelJob))
	route("TerminateJob", op(MaxBodyBytes, c.TerminateJob))
	route("CreateSchedulingPolicy", op(MaxBodyBytes, c.CreateSchedulingPolicy))
	route("UpdateSchedulingPolicy", op(MaxBodyBytes, c.UpdateSchedulingPolicy))
	route("DeleteSchedulingPolicy", op(MaxBodyBytes, c.DeleteSchedulingPolicy))
	route("DescribeSchedulingPolicies", op(MaxBodyBytes, c.DescribeSchedulingPolicies))
	route("ListSchedulingPolicies", op(MaxBodyBytes, c.ListSchedulingPolicies))
	route("GetJobQueueSnapshot", op(MaxBodyBytes, s.getJobQueueSnapshot))

	mux.Handle("GET /v1/tags/{arn...}", s.logged(logger, "ListTagsForResource", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arn, err := pathARN(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		respond(w, r, func(ctx context.Context) (any, error) {
			return c.ListTagsForResource(ctx, &control.ListTagsForResourceInput{ResourceArn: arn})
		})
	})))
	mux.Handle("POST /v1/tags/{arn...}", s.logged(logger, "TagResource", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arn, err := pathARN(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		in := &control.TagResourceInput{}
		if err := decode(w, r, MaxBodyBytes, in); err != nil {
			WriteError(w, err)
			return
		}
		in.ResourceArn = arn
		respond(w, r, func(ctx context.Context) (any, error) { return c.TagResource(ctx, in) })
	})))
	mux.Handle("DELETE /v1/tags/{arn...}", s.logged(logger, "UntagResource", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arn, err := pathARN(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		in := &control.UntagResourceInput{ResourceArn: arn, TagKeys: r.URL.Query()["tagKeys"]}
		respond(w, r, func(ctx context.Context) (any, error) { return c.UntagResource(ctx, in) })
	})))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil && !s.Ready() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	for pattern, h := range s.Extra {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if target := r.Header.Get("X-Amz-Target"); target != "" && r.Method == http.MethodPost && r.URL.Path == "/" {
			prefix, _, _ := strings.Cut(target, ".")
			if h, ok := s.Targets[prefix]; ok {
				s.logged(logger, target, h).ServeHTTP(w, r)
				return
			}
			WriteError(w, &gantry.Error{Code: "UnknownOperationException", Message: fmt.Sprintf("X-Amz-Target %q names no service Gantry serves", target)})
			return
		}
		WriteError(w, &gantry.Error{Code: "UnknownOperationException", Message: fmt.Sprintf("%s %s is not an AWS Batch operation", r.Method, r.URL.Path)})
	})
	return mux
}

// getJobQueueSnapshot delegates to QueueSnapshots.
func (s *Server) getJobQueueSnapshot(ctx context.Context, in *control.GetJobQueueSnapshotInput) (*control.GetJobQueueSnapshotOutput, error) {
	if s.QueueSnapshots == nil {
		return nil, gantry.ClientErrorf("GetJobQueueSnapshot is not available on this server")
	}
	return s.QueueSnapshots.GetJobQueueSnapshot(ctx, in)
}

// pathARN extracts the percent-encoded ARN of the tag routes. The escaped
// path is used because an ARN contains '/', sent as %2F.
func pathARN(r *http.Request) (string, error) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/v1/tags/")
	arn, err := url.PathUnescape(raw)
	if err != nil || arn == "" {
		return "", gantry.ClientErrorf("resourceArn: %q is not a valid ARN", raw)
	}
	return arn, nil
}

// op adapts a control method to an HTTP handler.
func op[In, Out any](limit int64, fn func(context.Context, *In) (*Out, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := new(In)
		if err := decode(w, r, limit, in); err != nil {
			WriteError(w, err)
			return
		}
		respond(w, r, func(ctx context.Context) (any, error) { return fn(ctx, in) })
	})
}

// decode reads a JSON object body of at most limit bytes into v. An empty
// body is an empty object.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return gantry.ClientErrorf("request body exceeds the maximum size of %d bytes", limit)
		}
		return gantry.ClientErrorf("could not read the request body: %v", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return gantry.ClientErrorf("An error occurred during JSON parsing: the body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "(body)"
			}
			return gantry.ClientErrorf("An error occurred during JSON parsing: field %s must be of type %s, got %s", field, JSONType(te.Type.Kind()), te.Value)
		}
		return gantry.ClientErrorf("An error occurred during JSON parsing")
	}
	return nil
}

// JSONType names the JSON type a Go kind decodes from, for the messages of
// both protocols (rest-json here, JSON 1.1 in awsjson) when a request
// member has the wrong type.
func JSONType(kind reflect.Kind) string {
	switch kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "structure"
	}
	return kind.String()
}

func respond(w http.ResponseWriter, r *http.Request, fn func(context.Context) (any, error)) {
	out, err := fn(r.Context())
	if err != nil {
		if gantry.ErrorCode(err) == gantry.ErrCodeServer {
			slog.ErrorContext(r.Context(), "internal error", "request_id", RequestID(r.Context()), "error", err)
		}
		WriteError(w, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		WriteError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// StatusCode maps an error code to its HTTP status.
func StatusCode(code string) int {
	switch code {
	case gantry.ErrCodeServer:
		return http.StatusInternalServerError
	case gantry.ErrCodeUnrecognizedClient, gantry.ErrCodeInvalidSignature, gantry.ErrCodeMissingAuthToken:
		return http.StatusForbidden
	case "UnknownOperationException":
		return http.StatusNotFound
	case "TooManyRequestsException":
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// WriteError writes err in AWS's rest-json error shape.
func WriteError(w http.ResponseWriter, err error) {
	code, msg := gantry.ErrorCode(err), gantry.ErrorMessage(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(StatusCode(code))
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	_, _ = w.Write(b)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logged logs one line per request at debug level (errors at warn/error).
func (s *Server) logged(logger *slog.Logger, opName string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if s.ObserveRequest != nil {
			code := cmp.Or(rec.Header().Get("X-Amzn-ErrorType"), "OK")
			s.ObserveRequest(opName, code, time.Since(start))
		}
		level := slog.LevelDebug
		switch {
		case rec.status >= 500:
			level = slog.LevelError
		case rec.status >= 400:
			level = slog.LevelInfo
		}
		if logger.Enabled(r.Context(), level) { // spares the arguments' allocations
			logger.Log(r.Context(), level, "api request", "operation", opName, "status", rec.status,
				"duration_ms", time.Since(start).Milliseconds(), "request_id", RequestID(r.Context()))
		}
	})
}
