package awsjson

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type echoIn struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	When  when   `json:"when"`
}

type when struct{}

func (when) UnmarshalJSON(b []byte) error {
	if string(b) != `"now"` {
		return &FieldError{Msg: "when: must be \"now\""}
	}
	return nil
}

var errMapped = errors.New("mapped")

func testServer() *Server {
	return &Server{
		Service: "Test", Article: "a", LogName: "test", TargetPrefix: "Test_1",
		BadInputCode: "ValidationException", InternalCode: "InternalException", UnknownCode: "UnknownOperationException",
		MaxBodyBytes: 64, Logger: slog.New(slog.DiscardHandler),
		MapError: func(err error) *Error {
			if errors.Is(err, errMapped) {
				return &Error{Code: "ResourceNotFoundException", Message: "gone"}
			}
			return nil
		},
		Ops: map[string]Op{
			"Echo": Typed("ValidationException", func(_ context.Context, in *echoIn) (any, error) {
				return map[string]any{"name": in.Name, "count": in.Count}, nil
			}),
			"Mapped":   func(context.Context, []byte) (any, error) { return nil, errMapped },
			"Internal": func(context.Context, []byte) (any, error) { return nil, errors.New("secret detail") },
		},
	}
}

func call(t *testing.T, s *Server, method, target, body string) (int, string, map[string]string) {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", target)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	res := w.Result()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, ContentType, res.Header.Get("Content-Type"))
	var out map[string]string
	_ = json.Unmarshal(b, &out)
	return res.StatusCode, res.Header.Get("X-Amzn-ErrorType"), out
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := testServer()
	status, code, _ := call(t, s, http.MethodPost, "Test_1.Echo", `{"name":"a","count":2,"when":"now"}`)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, code)

	for name, tc := range map[string]struct {
		method, target, body string
		status               int
		code, message        string
	}{
		"unknown op":   {http.MethodPost, "Test_1.Nope", `{}`, 400, "UnknownOperationException", `X-Amz-Target "Test_1.Nope" is not a Test operation Gantry supports`},
		"GET":          {http.MethodGet, "Test_1.Echo", ``, 400, "UnknownOperationException", "Test operations are POST requests"},
		"not object":   {http.MethodPost, "Test_1.Echo", `[1]`, 400, "ValidationException", "the request body must be a JSON object"},
		"wrong type":   {http.MethodPost, "Test_1.Echo", `{"count":"x"}`, 400, "ValidationException", "count: must be of type number, not string"},
		"field error":  {http.MethodPost, "Test_1.Echo", `{"when":"later"}`, 400, "ValidationException", `when: must be "now"`},
		"bad JSON":     {http.MethodPost, "Test_1.Echo", `{"name":`, 400, "ValidationException", "the request body is not valid JSON"},
		"too large":    {http.MethodPost, "Test_1.Echo", `{"name":"` + strings.Repeat("x", 100) + `"}`, 400, "ValidationException", "the request body exceeds 64 bytes"},
		"mapped error": {http.MethodPost, "Test_1.Mapped", `{}`, 400, "ResourceNotFoundException", "gone"},
		"internal":     {http.MethodPost, "Test_1.Internal", `{}`, 500, "InternalException", "An internal error occurred."},
	} {
		t.Run(name, func(t *testing.T) {
			status, code, out := call(t, s, tc.method, tc.target, tc.body)
			require.Equal(t, tc.status, status)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.code, out["__type"])
			require.Contains(t, out["message"], tc.message)
			require.NotContains(t, out["message"], "secret")
		})
	}
}
