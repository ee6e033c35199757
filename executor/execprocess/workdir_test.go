package execprocess_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gantrybatch/gantry/executor/execprocess"
)

// describeDirs is a script printing what an attempt's directories look
// like: mode and inode of HOME, mode of TMPDIR, then their contents.
const describeDirs = `stat -c '%a %i' "$HOME"; stat -c '%a' "$TMPDIR"; ls -A "$HOME"; ls -A "$TMPDIR"`

// TestWorkDirsRecycled runs attempts one after the other: whatever the
// previous attempt did to its directories, the next one gets an empty
// working directory holding an empty tmp, both mode 700.
func TestWorkDirsRecycled(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"left them untouched": "true",
		"left a file":         `echo x > "$HOME/file"`,
		"left a temp file":    `echo x > "$TMPDIR/file"`,
		"left a directory":    `mkdir "$HOME/sub"`,
		"chmod":               `chmod 755 "$HOME" "$TMPDIR"`,
		"removed tmp":         `rmdir "$TMPDIR"`,
		"replaced tmp":        `rmdir "$TMPDIR" && echo x > "$TMPDIR"`,
		"symlinked tmp":       `rmdir "$TMPDIR" && ln -s / "$TMPDIR"`,
		"failed":              `exit 3`,
	}
	for name, script := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, execprocess.Config{})
			var inodes []string
			for i := range 3 {
				task, out := newTask([]string{"sh", "-c", describeDirs + "; " + script})
				b.run(t, task)
				lines := strings.Split(out.String(), "\n")
				mode, inode, _ := strings.Cut(lines[0], " ")
				if len(lines) != 4 || mode != "700" || lines[1] != "700" || lines[2] != "tmp" || lines[3] != "" {
					t.Fatalf("attempt %d: directories %q, want modes 700, tmp alone, empty", i, out.String())
				}
				inodes = append(inodes, inode)
				if _, err := os.Stat(filepath.Join(b.root, task.ID)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("working directory still there after Wait: %v", err)
				}
			}
			if script == "true" && (inodes[1] != inodes[0] || inodes[2] != inodes[0]) {
				t.Errorf("untouched directories not recycled: inodes %q", inodes)
			}
		})
	}
}

// TestDuplicateStartWithSpares: a spare never replaces the directory of a
// running attempt with the same task ID.
func TestDuplicateStartWithSpares(t *testing.T) {
	t.Parallel()
	b := setup(t, execprocess.Config{})
	for range 2 {
		task, _ := newTask([]string{"true"})
		b.run(t, task)
	}
	task, _ := newTask([]string{"sleep", "60"})
	b.start(t, task)
	marker := filepath.Join(b.root, task.ID, "tmp", "marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ex.Start(context.Background(), task); err == nil {
		t.Fatal("second Start with the same task ID succeeded")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the running attempt's directory changed: %v", err)
	}
	// The spare is still good for the next attempt.
	next, out := newTask([]string{"sh", "-c", describeDirs})
	b.run(t, next)
	if got := out.String(); !strings.HasPrefix(got, "700 ") || !strings.HasSuffix(got, "\n700\ntmp\n") {
		t.Errorf("next attempt's directories %q", got)
	}
}

// TestSparesOfDeadServersRemoved: spares left by a server that died are
// removed by the next one.
func TestSparesOfDeadServersRemoved(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	left := filepath.Join(root, ".gantry-spares", "999999999.1.1")
	if err := os.MkdirAll(filepath.Join(left, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	b := setup(t, execprocess.Config{WorkRoot: root})
	task, _ := newTask([]string{"true"})
	b.run(t, task)
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spare of a dead server still there: %v", err)
	}
}

// TestWorkRootCreated: WorkRoot is made on first use, and again if it is
// removed behind the executor's back.
func TestWorkRootCreated(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root := filepath.Join(parent, "a", "b")
	// What a fresh WorkRoot's mode must be: traversable by attempts that
	// run as other users.
	if err := os.Mkdir(filepath.Join(parent, "ref"), 0o755); err != nil {
		t.Fatal(err)
	}
	ref, err := os.Stat(filepath.Join(parent, "ref"))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, execprocess.Config{WorkRoot: root})
	for range 2 {
		task, _ := newTask([]string{"true"})
		if res := b.run(t, task); res.ExitCode != 0 {
			t.Fatalf("exit %d", res.ExitCode)
		}
		for _, d := range []string{root, filepath.Dir(root)} {
			if fi, err := os.Stat(d); err != nil || fi.Mode() != ref.Mode() {
				t.Errorf("%s: %v, %v; want mode %v", d, fi.Mode(), err, ref.Mode())
			}
		}
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
	}
	// And the spare pool works again.
	var inodes []string
	for range 2 {
		task, out := newTask([]string{"sh", "-c", `stat -c %i "$HOME"`})
		b.run(t, task)
		inodes = append(inodes, out.String())
	}
	if inodes[0] != inodes[1] {
		t.Errorf("directories not recycled after WorkRoot was removed: inodes %q", inodes)
	}
}

// TestEscapedProcessKeepsItsDirectories: directories a process that left
// the attempt's group may still be using are never another attempt's.
func TestEscapedProcessKeepsItsDirectories(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Fatal("setsid not found: this test needs util-linux")
	}
	b := setup(t, execprocess.Config{})
	// It keeps the output open, and fails (os/exec then reports no
	// WaitDelay overrun).
	task, out := newTask([]string{"sh", "-c", `setsid sleep 60 & pid=$!
		until [ "$(cut -d' ' -f6 /proc/$pid/stat)" = $pid ]; do :; done # in its own session
		echo $pid; exit 3`})
	if res := b.run(t, task); res.ExitCode != 3 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("output %q", out.String())
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	var cwd syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/cwd", &cwd); err != nil {
		t.Fatal(err)
	}
	next, out := newTask([]string{"sh", "-c", `stat -c %i "$HOME"`})
	b.run(t, next)
	if strings.TrimSpace(out.String()) == strconv.FormatUint(cwd.Ino, 10) {
		t.Error("the next attempt got the working directory of a process still running")
	}
}
