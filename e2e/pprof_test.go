package e2e

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
	"github.com/gantrybatch/gantry/internal/server"
)

func TestPprofOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	get := func(url string) (int, string) {
		resp, err := http.Get(url + "/debug/pprof/goroutine?debug=1")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get(gantrytest.New(t).URL())
	require.Equal(t, http.StatusNotFound, code, "profiles are off by default")
	code, body := get(gantrytest.New(t, gantrytest.WithConfig(func(c *server.Config) { c.Pprof = true })).URL())
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "goroutine profile")
}
