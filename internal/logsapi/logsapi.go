// Package logsapi serves the CloudWatch Logs API subset that AWS Batch users
// read job output with (reference §7): GetLogEvents, FilterLogEvents,
// DescribeLogStreams, DescribeLogGroups, PutRetentionPolicy and
// DeleteRetentionPolicy, over the job log store (internal/joblog).
//
// The protocol is JSON 1.1: `POST /` with `X-Amz-Target:
// Logs_20140328.<Op>` and a JSON body, answered with
// `Content-Type: application/x-amz-json-1.1`. Errors are HTTP 400 with
// `{"__type": ..., "message": ...}`: ResourceNotFoundException for unknown
// groups and streams, InvalidParameterException for bad input (naming the
// field). Only real failures are 500 (ServiceUnavailableException).
package logsapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/awsjson"
	"github.com/gantrybatch/gantry/internal/joblog"
)

// TargetPrefix is the X-Amz-Target prefix of CloudWatch Logs.
const TargetPrefix = "Logs_20140328"

const (
	contentType  = awsjson.ContentType
	maxBodyBytes = 1 << 20
)

// Error codes.
const (
	codeNotFound     = "ResourceNotFoundException"
	codeInvalidParam = "InvalidParameterException"
	codeUnknownOp    = "UnknownOperationException"
	codeInternal     = "ServiceUnavailableException"
)

// Config configures a Handler.
type Config struct {
	// Store holds the logs. Required.
	Store *joblog.Store
	// Region and AccountID appear in ARNs (defaults us-east-1 and
	// 000000000000, as gantry's).
	Region    string
	AccountID string
	Logger    *slog.Logger
}

// Handler serves the Logs_20140328 target. Register it in
// httpapi.Server.Targets.
type Handler struct {
	cfg Config
	srv *awsjson.Server
}

var _ http.Handler = (*Handler)(nil)

// New returns the handler.
func New(cfg Config) *Handler {
	if cfg.Store == nil {
		panic("logsapi: Store is required")
	}
	cfg.Region = cmp.Or(cfg.Region, "us-east-1")
	cfg.AccountID = cmp.Or(cfg.AccountID, "000000000000")
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	h := &Handler{cfg: cfg}
	h.srv = &awsjson.Server{
		Service: "CloudWatch Logs", Article: "a", LogName: "logs", TargetPrefix: TargetPrefix,
		BadInputCode: codeInvalidParam, InternalCode: codeInternal, UnknownCode: codeUnknownOp,
		MaxBodyBytes: maxBodyBytes, Logger: cfg.Logger, MapError: mapError,
	}
	h.srv.Ops = map[string]awsjson.Op{
		"GetLogEvents":          op(h.getLogEvents),
		"FilterLogEvents":       op(h.filterLogEvents),
		"DescribeLogStreams":    op(h.describeLogStreams),
		"DescribeLogGroups":     op(h.describeLogGroups),
		"PutRetentionPolicy":    op(h.putRetentionPolicy),
		"DeleteRetentionPolicy": op(h.deleteRetentionPolicy),
	}
	return h
}

// apiError is an error for the caller, in the JSON 1.1 error shape.
type apiError = awsjson.Error

func invalidParam(format string, args ...any) error {
	return &apiError{Code: codeInvalidParam, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{Code: codeNotFound, Message: fmt.Sprintf(format, args...)}
}

// ServeHTTP dispatches on X-Amz-Target.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.srv.ServeHTTP(w, r) }

// op adapts a typed operation: it decodes the body into In.
func op[In any](fn func(context.Context, *In) (any, error)) awsjson.Op {
	return awsjson.Typed(codeInvalidParam, fn)
}

// mapError gives joblog's not found and invalid token errors their wire
// shape (400s); anything else is internal.
func mapError(err error) *apiError {
	switch {
	case errors.Is(err, gantry.ErrNotFound):
		return &apiError{Code: codeNotFound, Message: "The specified resource does not exist."}
	case errors.Is(err, joblog.ErrInvalidToken):
		return &apiError{Code: codeInvalidParam, Message: "The specified nextToken is invalid."}
	}
	return nil
}

// groupRef names a log group: logGroupName or logGroupIdentifier (a name
// or an ARN), exactly one.
type groupRef struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
}

// resolve returns the group's name, checked.
func (h *Handler) resolve(g groupRef) (string, error) {
	switch {
	case g.LogGroupName != nil && g.LogGroupIdentifier != nil:
		return "", invalidParam("logGroupName and logGroupIdentifier cannot both be specified")
	case g.LogGroupName != nil:
		return *g.LogGroupName, validGroupName("logGroupName", *g.LogGroupName)
	case g.LogGroupIdentifier != nil:
		id := *g.LogGroupIdentifier
		if !strings.HasPrefix(id, "arn:") {
			return id, validGroupName("logGroupIdentifier", id)
		}
		// arn:<partition>:logs:<region>:<account>:log-group:<name>[:*]
		parts := strings.SplitN(id, ":", 7)
		if len(parts) != 7 || parts[2] != "logs" || parts[5] != "log-group" {
			return "", invalidParam("logGroupIdentifier: %q is not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>)", id)
		}
		name := strings.TrimSuffix(parts[6], ":*")
		if err := validGroupName("logGroupIdentifier", name); err != nil {
			return "", err
		}
		if parts[3] != h.cfg.Region || parts[4] != h.cfg.AccountID {
			return "", notFound("The specified log group does not exist: %s is not in region %s, account %s.", id, h.cfg.Region, h.cfg.AccountID)
		}
		return name, nil
	}
	return "", invalidParam("logGroupName or logGroupIdentifier is required")
}

// validGroupName follows CloudWatch: [.-_/#A-Za-z0-9]{1,512}.
func validGroupName(field, name string) error {
	if name == "" || len(name) > 512 {
		return invalidParam("%s: must be 1 to 512 characters", field)
	}
	for _, c := range []byte(name) {
		if !isAlnum(c) && !strings.ContainsRune("._-/#", rune(c)) {
			return invalidParam("%s: %q contains %q; allowed are letters, digits and . _ - / #", field, name, c)
		}
	}
	return nil
}

// validStreamName follows CloudWatch: 1-512 characters, no ':' or '*'.
func validStreamName(field, name string) error {
	if name == "" || len(name) > 512 {
		return invalidParam("%s: must be 1 to 512 characters", field)
	}
	if strings.ContainsAny(name, ":*") {
		return invalidParam("%s: %q must not contain ':' or '*'", field, name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// groupNotFound explains a gantry.ErrNotFound for a group or a stream in
// it.
func (h *Handler) groupNotFound(group string) error {
	if _, err := h.cfg.Store.Retention(group); errors.Is(err, gantry.ErrNotFound) {
		return notFound("The specified log group does not exist: %s", group)
	}
	return nil
}

func (h *Handler) notFoundError(group, stream string, err error) error {
	if !errors.Is(err, gantry.ErrNotFound) {
		return err
	}
	if gerr := h.groupNotFound(group); gerr != nil {
		return gerr
	}
	return notFound("The specified log stream does not exist: %s", stream)
}

func (h *Handler) groupARN(group string) string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", gantry.Partition, h.cfg.Region, h.cfg.AccountID, group)
}

func (h *Handler) streamARN(group, stream string) string {
	return h.groupARN(group) + ":log-stream:" + stream
}

// limit checks an optional limit against [1, hi] and returns it or def.
func limit(field string, v *int, hi, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > hi {
		return 0, invalidParam("%s: %d is not between 1 and %d", field, *v, hi)
	}
	return *v, nil
}

// timeRange checks startTime and endTime (epoch ms, non-negative).
func timeRange(start, end *int64) (int64, int64, error) {
	var s, e int64
	if start != nil {
		if s = *start; s < 0 {
			return 0, 0, invalidParam("startTime: %d must not be negative", s)
		}
	}
	if end != nil {
		if e = *end; e < 0 {
			return 0, 0, invalidParam("endTime: %d must not be negative", e)
		}
	}
	return s, e, nil
}

// encodeToken and decodeToken make opaque paging tokens of JSON values.
func encodeToken(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return invalidParam("nextToken: the specified nextToken is invalid")
	}
	return nil
}

// emptyOutput is the `{}` of operations without output.
type emptyOutput struct{}
