package execprocess_test

import (
	"log/slog"
	"testing"

	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execprocess"
	"github.com/gantrybatch/gantry/executor/executortest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	executortest.Exercise(t, executortest.Harness{
		New: func(t *testing.T) executor.Executor {
			return execprocess.New(execprocess.Config{WorkRoot: t.TempDir(), Logger: testLogger(t)})
		},
		ProcessAlive: executortest.HostProcessAlive,
	})
}

// testLogger sends logs to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b))
	return len(b), nil
}
