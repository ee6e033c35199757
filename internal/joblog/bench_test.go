package joblog

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
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

// BenchmarkStreamLifecycle measures what every attempt pays for its log
// stream whatever it prints: open (create the file with its header), one
// line, close (fsync the file and its directory).
func BenchmarkStreamLifecycle(b *testing.B) {
	s, err := Open(b.TempDir())
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	line := []byte("hello\n")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		w, err := s.Writer("/aws/batch/job", "bench/default/"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(line); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
