package storesqlite

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/store"
)

// threadNice reads the nice value of thread tid of this process (field 19
// of /proc/self/task/tid/stat, after the command name in parentheses).
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	require.NoError(t, err)
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, err := strconv.Atoi(fields[16]) // field 19 overall; fields[0] is field 3
	require.NoError(t, err)
	return n
}

// callbackThread runs an InTx callback and returns the OS thread it ran on
// and that thread's nice value.
func callbackThread(t *testing.T, s *Store) (tid, nice int) {
	t.Helper()
	require.NoError(t, s.InTx(t.Context(), func(context.Context, store.Tx) error {
		tid = syscall.Gettid()
		nice = threadNice(t, tid)
		return nil
	}))
	return tid, nice
}

func TestWriterNice(t *testing.T) {
	self := threadNice(t, syscall.Gettid())
	open := func(t *testing.T, nice int) (*Store, *bytes.Buffer) {
		var logs bytes.Buffer
		s, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "db"), WriterNice: nice,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s, &logs
	}

	t.Run("Lowered", func(t *testing.T) {
		// Any user may lower a thread's priority: this runs unprivileged too.
		s, logs := open(t, 7)
		tid, nice := callbackThread(t, s)
		require.Equal(t, 7, nice, "callbacks run on the writer thread, at its nice value")
		for range 20 { // the same thread every time: the loop owns it
			again, _ := callbackThread(t, s)
			require.Equal(t, tid, again)
		}
		require.Equal(t, self, threadNice(t, syscall.Gettid()), "only the writer's thread changed")
		require.Contains(t, logs.String(), "writer_nice=7")
	})

	t.Run("Raised", func(t *testing.T) {
		s, logs := open(t, -5)
		_, nice := callbackThread(t, s)
		if os.Geteuid() == 0 {
			require.Equal(t, -5, nice)
			require.Contains(t, logs.String(), "writer_nice=-5")
			return
		}
		// Without the privilege: a warning, the usual priority, a working store.
		require.Equal(t, self, nice)
		require.Contains(t, logs.String(), "the writer thread keeps the usual priority")
		require.Contains(t, logs.String(), "writer_nice=0")
	})

	t.Run("Default", func(t *testing.T) {
		s, _ := open(t, 0)
		_, nice := callbackThread(t, s)
		require.Equal(t, self, nice)
	})
}
