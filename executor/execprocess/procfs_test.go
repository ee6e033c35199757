package execprocess

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReadProcStat checks readProcStat against a plain parse of every
// process's stat, one of them with spaces and parentheses in its name.
func TestReadProcStat(t *testing.T) {
	t.Parallel()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(t.TempDir(), "a) 1 2 (b")
	if err := os.WriteFile(odd, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(odd, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	checked, sawOdd := 0, false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		s := string(raw)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		pgid, _ := strconv.Atoi(fields[5-3])
		start, _ := strconv.ParseUint(fields[22-3], 10, 64)
		got, err := readProcStat(pid)
		if err != nil {
			continue // gone meanwhile
		}
		if got != (procStat{PGID: pgid, StartTime: start}) {
			t.Errorf("pid %d: readProcStat = %+v, want pgid %d start %d (%q)", pid, got, pgid, start, s)
		}
		checked++
		sawOdd = sawOdd || pid == cmd.Process.Pid
	}
	if checked == 0 || !sawOdd {
		t.Errorf("checked %d processes, the odd one: %v", checked, sawOdd)
	}
	if _, err := readProcStat(1 << 30); err == nil {
		t.Error("readProcStat of a missing pid succeeded")
	}
}
