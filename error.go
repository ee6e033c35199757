package gantry

import (
	"errors"
	"fmt"
)

// Error codes. The AWS Batch API has only two modelled errors; the others are
// the codes AWS uses for authentication and throttling.
const (
	// ErrCodeClient covers validation failures, unknown resources, wrong
	// states and exceeded limits. HTTP 400.
	ErrCodeClient = "ClientException"
	// ErrCodeServer is an internal failure. HTTP 500.
	ErrCodeServer = "ServerException"
	// ErrCodeUnrecognizedClient means the access key is unknown. HTTP 403.
	ErrCodeUnrecognizedClient = "UnrecognizedClientException"
	// ErrCodeInvalidSignature means the SigV4 signature does not verify. HTTP 403.
	ErrCodeInvalidSignature = "InvalidSignatureException"
	// ErrCodeMissingAuthToken means a request was not signed while
	// credentials are required. HTTP 403.
	ErrCodeMissingAuthToken = "MissingAuthenticationTokenException"
)

// Error is an error meant for the API caller: a code from the list above and a
// human readable message that names the offending field and rule.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ClientErrorf returns a ClientException with a formatted message.
func ClientErrorf(format string, args ...any) *Error {
	return &Error{Code: ErrCodeClient, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// ServerException otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrCodeServer
}

// ErrorMessage returns the caller-facing message of err. Errors that are not
// an *Error are internal; their text is not shown to callers.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// Sentinel errors returned by adapters (the store, executors). Callers test
// them with errors.Is.
var (
	// ErrNotFound: the addressed row or task does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a unique name is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: a compare-and-swap lost (the row changed underneath).
	ErrConflict = errors.New("conflict")
	// ErrInvalidTransition: the job state machine forbids the move.
	ErrInvalidTransition = errors.New("invalid job status transition")
)
