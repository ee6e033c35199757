package execprocess_test

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/gantrybatch/gantry/executor"
	"github.com/gantrybatch/gantry/executor/execprocess"
	"github.com/gantrybatch/gantry/internal/joblog"
	"github.com/gantrybatch/gantry/internal/testcpu"
)

// BenchmarkTrueAttempt measures what one trivial attempt (`true`) costs
// through the Executor API, as the runner drives it: Start, then Wait.
// "discard" sends the output nowhere; "joblog" opens a log stream per
// attempt, as the runner does, and closes it after Wait. Attempts run one
// at a time, so ns/op is the latency of an attempt, fork and exec included;
// cpu-ns/op is the CPU this process (the server's side: not the children)
// spends per attempt, the figure that bounds throughput.
func BenchmarkTrueAttempt(b *testing.B) {
	b.Run("discard", func(b *testing.B) {
		benchAttempts(b, func(int) (io.Writer, func() error) { return io.Discard, func() error { return nil } })
	})
	b.Run("joblog", func(b *testing.B) {
		logs, err := joblog.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = logs.Close() })
		benchAttempts(b, func(i int) (io.Writer, func() error) {
			w, err := logs.Writer(joblog.DefaultGroup, "bench/default/"+strconv.Itoa(i))
			if err != nil {
				b.Fatal(err)
			}
			return w, w.Close
		})
	})
}

func benchAttempts(b *testing.B, output func(i int) (io.Writer, func() error)) {
	ex := execprocess.New(execprocess.Config{WorkRoot: b.TempDir()})
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := testcpu.Self(b)
	i := 0
	for b.Loop() {
		i++
		out, closeOut := output(i)
		h, err := ex.Start(ctx, &executor.Task{
			ID:      "bench-" + strconv.Itoa(i),
			Command: []string{"true"},
			Output:  out,
		})
		if err != nil {
			b.Fatal(err)
		}
		res, err := ex.Wait(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		if res.ExitCode != 0 {
			b.Fatalf("exit code %d", res.ExitCode)
		}
		if err := closeOut(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(testcpu.Self(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
