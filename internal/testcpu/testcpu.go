// Package testcpu measures the CPU time of the test process for benchmarks
// that report it (b.ReportMetric "cpu-ns/op"): wall time on a shared,
// noisy machine says less than the CPU an operation costs.
package testcpu

import (
	"syscall"
	"testing"
	"time"
)

// Self is the user and system CPU time of this process so far, its
// children excluded.
func Self(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
