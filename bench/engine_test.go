package bench

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestMatchByJobID(t *testing.T) {
	t.Parallel()
	const id = "0d2c36a4-5d5e-4d1a-9e59-1f0e3f1b2c3d"
	keys := map[string]bool{normJobID(id + ":1"): true, normJobID(id + ":10"): true, "7fd03ad5-d33e-4821-84ae-45b06e07b6a7": true}
	match := matchByJobID(keys)
	tests := map[string]struct {
		attrs   map[string]string
		want    string
		wantHit bool
	}{
		"gantry label, array child": {attrs: map[string]string{"name": "gantry-11111111-2222-3333-4444-555555555555", "gantry.job-id": id + ":10"}, want: id + "-10", wantHit: true},
		"moto name, array child":    {attrs: map[string]string{"name": "gb-x-array-" + id + "-1"}, want: id + "-1", wantHit: true},
		"moto name, job":            {attrs: map[string]string{"name": "gb-x-7-7fd03ad5-d33e-4821-84ae-45b06e07b6a7"}, want: "7fd03ad5-d33e-4821-84ae-45b06e07b6a7", wantHit: true},
		"parent only":               {attrs: map[string]string{"gantry.job-id": id}},
		"other container":           {attrs: map[string]string{"name": "busy_wozniak", "image": "busybox"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := match(tc.attrs)
			require.Equal(t, tc.wantHit, ok)
			if tc.wantHit {
				require.Equal(t, tc.want, got)
			}
		})
	}
}

func TestSlotGaps(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	at := func(msec int) time.Time { return t0.Add(time.Duration(msec) * time.Millisecond) }
	// Two slots: the containers created at 0 and 5 fill them; the
	// destroys at 100 and 120 free them, and the next two creates come 30
	// and 10 ms later; the destroy at 300 frees the slot of the create at
	// 400.
	creates := []time.Time{at(0), at(5), at(130), at(130), at(400)}
	destroys := []time.Time{at(100), at(120), at(300)}
	got := slotGaps(creates, destroys, 2)
	require.Empty(t, cmp.Diff([]float64{30, 10, 100}, got))
}

func TestPeakOverlap(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		spans []interval
		want  int
	}{
		"none":             {want: 0},
		"disjoint":         {spans: []interval{{0, 1}, {2, 3}}, want: 1},
		"touching":         {spans: []interval{{0, 1}, {1, 2}}, want: 1},
		"nested and split": {spans: []interval{{0, 10}, {1, 2}, {1.5, 3}, {5, 6}}, want: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, peakOverlap(tc.spans))
		})
	}
}

func TestNewDist(t *testing.T) {
	t.Parallel()
	require.Equal(t, Dist{}, NewDist(nil))
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	got := NewDist(xs)
	require.Empty(t, cmp.Diff(Dist{N: 10, Mean: 5.5, P50: 5, P90: 9, P99: 10, Max: 10}, got))
	require.Equal(t, 5.0, xs[0], "input not modified")
}

// TestMotoCompat checks the response rewrite that lets aws-sdk-go-v2
// decode moto's DescribeJobs (and that nothing else changes).
func TestMotoCompat(t *testing.T) {
	t.Parallel()
	body := `{"jobs":[{"container":{"vcpus": 0.25,"memory":512,"command":["echo","0.25"]},"x":{"vcpus":2.0,"cpus":1.5}}]}`
	want := `{"jobs":[{"container":{"vcpus": 0,"memory":512,"command":["echo","0.25"]},"x":{"vcpus":2,"cpus":1.5}}]}`
	for _, compat := range []bool{false, true} {
		c := copyBodyClient{motoCompat: compat, c: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}, nil
		})}}
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/v1/describejobs", bytes.NewReader([]byte(`{}`)))
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if compat {
			require.Equal(t, want, string(got))
		} else {
			require.Equal(t, body, string(got))
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestProcessCPU(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	s := newCPUSampler(map[string]int{"self": os.Getpid()})
	for i := 0; i < 1e6; i++ { // a little work
		_ = strings.Repeat("x", i%7)
	}
	cpu, rss := s.done()
	require.GreaterOrEqual(t, cpu["self"], 0.0)
	require.GreaterOrEqual(t, cpu[MachineCPU], 0.0)
	require.Positive(t, rss["self"])

	name, pid, err := ParseWatch("gantry=123")
	require.NoError(t, err)
	require.Equal(t, "gantry", name)
	require.Equal(t, 123, pid)
	for _, bad := range []string{"gantry", "=1", "x=0", "x=y"} {
		_, _, err := ParseWatch(bad)
		require.Error(t, err, bad)
	}
}
