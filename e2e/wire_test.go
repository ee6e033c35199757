package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
)

// TestWireErrors checks the raw error shape that every AWS SDK parses.
func TestWireErrors(t *testing.T) {
	t.Parallel()
	srv := gantrytest.New(t)
	post := func(path, body string) (*http.Response, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL()+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m), "body %q", b)
		return resp, m
	}
	tests := map[string]struct {
		path, body string
		status     int
		code, msg  string
	}{
		"malformed json":   {"/v1/submitjob", `{"jobName":`, 400, "ClientException", "An error occurred during JSON parsing"},
		"not an object":    {"/v1/describejobs", `[1,2]`, 400, "ClientException", "JSON"},
		"wrong type":       {"/v1/createjobqueue", `{"jobQueueName":"q","priority":"high"}`, 400, "ClientException", "priority"},
		"oversized submit": {"/v1/submitjob", `{"jobName":"` + strings.Repeat("a", 31*1024) + `"}`, 400, "ClientException", "maximum size"},
		"missing fields":   {"/v1/submitjob", `{}`, 400, "ClientException", "jobName"},
		"empty body list":  {"/v1/describejobqueues", ``, 200, "", ""},
		"unknown op":       {"/v1/launchrocket", `{}`, 404, "UnknownOperationException", "launchrocket"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, m := post(tc.path, tc.body)
			require.Equal(t, tc.status, resp.StatusCode)
			require.NotEmpty(t, resp.Header.Get("x-amzn-RequestId"))
			if tc.code == "" {
				return
			}
			require.Equal(t, tc.code, resp.Header.Get("X-Amzn-ErrorType"))
			require.Equal(t, tc.code, m["__type"])
			require.Contains(t, m["message"], tc.msg)
			require.Len(t, m, 2, "an error body has exactly __type and message")
		})
	}
	resp, err := http.Get(srv.URL() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}
