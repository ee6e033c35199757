package testcpu

import (
	"testing"
	"time"
)

// TestSelfGrows: a busy loop of 50 ms of wall time adds CPU time.
func TestSelfGrows(t *testing.T) {
	before := Self(t)
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x++
	}
	if after := Self(t); after <= before || x == 0 {
		t.Fatalf("CPU time %v then %v", before, after)
	}
}
