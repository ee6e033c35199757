package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEngineRoute(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ method, path, want string }{
		"start":       {"POST", "/v1.41/containers/0123abcd/start", "POST /containers/{id}/start"},
		"create":      {"POST", "/v1.41/containers/create", "POST /containers/create"},
		"list":        {"GET", "/v1.41/containers/json", "GET /containers/json"},
		"stat":        {"HEAD", "/v1.41/containers/gantry-x/archive", "HEAD /containers/{id}/archive"},
		"image":       {"GET", "/v1.41/images/gantry-test/busybox:latest/json", "GET /images/{id}/json"},
		"ping":        {"HEAD", "/_ping", "HEAD /_ping"},
		"unversioned": {"POST", "/containers/abc/wait", "POST /containers/{id}/wait"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, EngineRoute(tc.method, tc.path))
		})
	}
}

func TestEngineProxy(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	engine := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
	})}}
	engine.Start()
	defer engine.Close()

	p := NewEngineProxy(sock)
	front := httptest.NewServer(p)
	defer front.Close()
	for range 3 {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, front.URL+"/v1.41/containers/abc/start", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "POST /v1.41/containers/abc/start", string(body))
	}
	calls := p.Calls()
	require.Len(t, calls, 1)
	require.Equal(t, "POST /containers/{id}/start", calls[0].Route)
	require.Equal(t, 3, calls[0].Dist.N)

	var buf bytes.Buffer
	WriteEngineCalls(&buf, calls, 3)
	require.Contains(t, buf.String(), "| `POST /containers/{id}/start` | 3 | 1.00 |")
}
