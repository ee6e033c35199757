package joblog

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/testcpu"
)

// BenchmarkAppend measures appending job output: one op is one Write of a
// 100-byte line (timestamped and framed by the Writer), as a job printing
// line by line produces. Writes are not fsynced (the stream is synced when
// its Writer closes).
func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir())
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	w, err := s.Writer("/aws/batch/job", "bench/default/stream")
	require.NoError(b, err)
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(line); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, w.Close())
}

// BenchmarkStreamLifecycle measures what an attempt pays for its log
// stream: open (create the file with its header), what it prints, close.
// "empty" prints nothing, like `true`: nothing is worth an fsync. "line"
// prints one line: close fsyncs the file and its directory. cpu-ns/op is
// the CPU the store spends per stream (an fsync mostly waits).
func BenchmarkStreamLifecycle(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchStreamLifecycle(b, nil) })
	b.Run("line", func(b *testing.B) { benchStreamLifecycle(b, []byte("hello\n")) })
}

func benchStreamLifecycle(b *testing.B, line []byte) {
	s, err := Open(b.TempDir())
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	b.ReportAllocs()
	cpu0 := testcpu.Self(b)
	i := 0
	for b.Loop() {
		i++
		w, err := s.Writer("/aws/batch/job", "bench/default/"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		if len(line) > 0 {
			if _, err := w.Write(line); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(testcpu.Self(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
