package execprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// procStat is what Gantry reads from /proc/<pid>/stat.
type procStat struct {
	PGID      int
	StartTime uint64 // field 22: clock ticks after boot
}

// readProcStat parses /proc/<pid>/stat. The command name (field 2) may
// contain spaces and parentheses, so fields are counted from the last ')'.
// It runs once per attempt: one open, one read, one close.
func readProcStat(pid int) (procStat, error) {
	var buf [1024]byte
	b, err := readSmallFile("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	// After ')' come field 3 (state), 4 (ppid), 5 (pgrp), ... 22 (starttime).
	var pgrp, start []byte
	field := 2
	for rest := b[i+1:]; len(rest) > 0 && field < 22; {
		rest = bytes.TrimLeft(rest, " \n")
		end := bytes.IndexAny(rest, " \n")
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			break
		}
		field++
		switch field {
		case 5:
			pgrp = rest[:end]
		case 22:
			start = rest[:end]
		}
		rest = rest[end:]
	}
	if start == nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, field)
	}
	pgid, err := strconv.Atoi(string(pgrp))
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: pgrp: %w", pid, err)
	}
	st, err := strconv.ParseUint(string(start), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: starttime: %w", pid, err)
	}
	return procStat{PGID: pgid, StartTime: st}, nil
}

// readSmallFile reads a /proc file in one read(2) into buf, which procfs
// fills whole when it is large enough; a file that does not fit is read
// with os.ReadFile.
func readSmallFile(path string, buf []byte) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var n int
	for {
		n, err = syscall.Read(fd, buf)
		if err != syscall.EINTR {
			break
		}
	}
	syscall.Close(fd)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if n == len(buf) {
		return os.ReadFile(path)
	}
	return buf[:n], nil
}

// bootID identifies the current boot, so that a start time recorded before
// a reboot never matches a process after it.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// environHas reports whether process pid was started with kv in its
// environment.
func environHas(pid int, kv string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for e := range bytes.SplitSeq(b, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}

// groupMembers lists the processes in process group pgid whose start time
// is not before minStart.
func groupMembers(pgid int, minStart uint64) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.PGID != pgid || st.StartTime < minStart {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// Constants for waitid(2), which package syscall does not wrap.
const (
	pPID    = 1
	pPIDFD  = 3
	wNOHANG = 0x1
	wEXITED = 0x4
	wNOWAIT = 0x1000000
)

// waitid calls waitid(2) and reports whether a child was waitable: with
// WNOHANG a running child leaves siginfo's si_pid zero.
func waitid(idType, id int, options int) (bool, error) {
	var info [128]byte // siginfo_t; si_pid is the int32 at offset 16 on 64-bit Linux
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, uintptr(idType), uintptr(id),
			uintptr(unsafe.Pointer(&info[0])), uintptr(options), 0, 0)
		switch errno {
		case 0:
			return binary.NativeEndian.Uint32(info[16:20]) != 0, nil
		case syscall.EINTR:
			continue
		default:
			return false, os.NewSyscallError("waitid", errno)
		}
	}
}

// pidfdWorks reports whether the kernel has what waitExitedNoReap needs
// from pidfds: clone's CLONE_PIDFD (Linux 5.2), pidfd_open (5.3) and
// waitid's P_PIDFD (5.4). It probes with the server's own pid, which is not
// its child, so waitid must fail with ECHILD rather than EINVAL.
var pidfdWorks = sync.OnceValue(func() bool {
	const sysPidfdOpen = 434 // the same on every architecture
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(os.Getpid()), 0, 0)
	if errno != 0 {
		return false
	}
	defer syscall.Close(int(fd))
	_, err := waitid(pPIDFD, int(fd), wEXITED|wNOHANG)
	return errors.Is(err, syscall.ECHILD)
})

// waitExitedNoReap blocks until the child has exited but leaves it a
// zombie, so that its pid (and so its process group id) cannot be reused
// until it is reaped. With a pidfd (non-blocking, registered with the
// runtime poller) it waits without tying up an OS thread; otherwise it
// blocks one in waitid.
func waitExitedNoReap(pid int, pidfd *os.File) error {
	if pidfd == nil {
		_, err := waitid(pPID, pid, wEXITED|wNOWAIT)
		return err
	}
	rc, err := pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Read(func(fd uintptr) bool {
		var exited bool
		exited, werr = waitid(pPIDFD, int(fd), wEXITED|wNOWAIT|wNOHANG)
		return exited || werr != nil
	})
	if err != nil {
		return err
	}
	return werr
}

// killGroup signals every process in group pgid; a group that no longer
// exists is not an error.
func killGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// waitGroupGone waits, up to limit, until process group pgid has no
// processes left; it returns at once (one kill(2)) for a group that is
// gone. The group's leader must be reaped already.
func waitGroupGone(pgid int, limit time.Duration) bool {
	if pgid <= 1 {
		return false
	}
	var deadline time.Time
	pause := 50 * time.Microsecond
	for {
		if syscall.Kill(-pgid, 0) != nil {
			return true // ESRCH; or EPERM: not ours to wait for
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(limit)
		} else if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, 5*time.Millisecond)
	}
}
