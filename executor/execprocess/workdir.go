package execprocess

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Working directories are cheap to recycle and dear to make: on ext4 a
// mkdir and an rmdir each allocate or free an inode and a directory block,
// tens of microseconds of kernel CPU apiece, four per attempt; and without
// a journal, ext4 skips inodes freed in the last minutes when it allocates
// one, so the more directories (or files) are deleted, the dearer every
// later creation gets. So an attempt that leaves its directories as it got
// them (empty, same mode and owner) hands them on: reap renames them into
// a spare pool, and the next Start renames them into place, two renames
// instead of two mkdirs and two rmdirs. The next attempt sees what a fresh
// mkdir gives: empty directories, mode 700, its user's. (Only their
// timestamps and inode numbers tell.) Attempts that run as another user
// (Container.User) always get fresh directories, and so do the attempts
// after one whose processes may still use them (one left the group with
// the output open).
//
// The pool lives in <WorkRoot>/.gantry-spares, its entries named
// <pid>.<executor>.<n>, so that several Executors (or servers) can share a
// WorkRoot; an Executor's first Start removes the entries of processes that
// are gone. Every step falls back to fresh directories, or to removing
// them, when a rename fails.

// spareDirName is the pool's directory in WorkRoot.
const spareDirName = ".gantry-spares"

// maxSpares bounds the pool: enough for the attempts that end together.
const maxSpares = 64

// dirAttrs is what a fresh working directory and its tmp have, and what a
// recycled one must still have.
type dirAttrs struct {
	work, tmp dirStat
}

type dirStat struct {
	mode     uint32 // st_mode: type and permission bits
	uid, gid uint32
}

// spare is a recycled working directory waiting in the pool.
type spare struct {
	path  string
	attrs dirAttrs
}

// spares is an Executor's pool.
type spares struct {
	workRoot string
	root     string // <WorkRoot>/.gantry-spares
	prefix   string // "<pid>.<executor>."

	initOnce sync.Once
	mu       sync.Mutex
	off      bool // renameat2 or the pool directory does not work here
	seq      int
	free     []spare
}

// executorSeq numbers a process's Executors, for their spares' names.
var executorSeq atomic.Int64

func newSpares(workRoot string) *spares {
	n := executorSeq.Add(1)
	return &spares{
		workRoot: workRoot,
		root:     filepath.Join(workRoot, spareDirName),
		prefix:   strconv.Itoa(os.Getpid()) + "." + strconv.FormatInt(n, 10) + ".",
	}
}

// init creates the pool's directory and removes what dead processes left
// in it.
func (s *spares) init() {
	s.initOnce.Do(func() {
		// WorkRoot as makeWorkDir makes it, traversable by every user.
		err := os.MkdirAll(s.workRoot, 0o755)
		if err == nil {
			err = os.Mkdir(s.root, 0o700)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			s.mu.Lock()
			s.off = true
			s.mu.Unlock()
			return
		}
		entries, _ := os.ReadDir(s.root)
		for _, e := range entries {
			pid, _, _ := strings.Cut(e.Name(), ".")
			n, err := strconv.Atoi(pid)
			if err != nil || n <= 0 || syscall.Kill(n, 0) == syscall.ESRCH {
				_ = os.RemoveAll(filepath.Join(s.root, e.Name()))
			}
		}
	})
}

// take moves a spare into place as workDir. It reports false (and no
// error) when there is no usable spare: the caller makes fresh ones.
func (s *spares) take(workDir string) (dirAttrs, bool, error) {
	s.mu.Lock()
	if s.off || len(s.free) == 0 {
		s.mu.Unlock()
		return dirAttrs{}, false, nil
	}
	sp := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	s.mu.Unlock()
	err := renameNoReplace(sp.path, workDir)
	switch {
	case err == nil:
		return sp.attrs, true, nil
	case errors.Is(err, syscall.EEXIST):
		// As os.Mkdir would say: task IDs are unique per attempt.
		s.put(sp)
		return dirAttrs{}, false, &os.PathError{Op: "mkdir", Path: workDir, Err: syscall.EEXIST}
	default:
		s.disableOn(err)
		_ = os.RemoveAll(sp.path)
		return dirAttrs{}, false, nil
	}
}

// give moves an attempt's directories into the pool if it left them as it
// got them; it reports whether it did. The attempt's processes are dead.
func (s *spares) give(workDir string, attrs dirAttrs) bool {
	s.mu.Lock()
	if s.off || len(s.free) >= maxSpares {
		s.mu.Unlock()
		return false
	}
	s.seq++
	path := filepath.Join(s.root, s.prefix+strconv.Itoa(s.seq))
	s.mu.Unlock()
	if !unchangedAndEmpty(workDir, attrs) {
		return false
	}
	err := renameNoReplace(workDir, path)
	if errors.Is(err, syscall.ENOENT) && os.MkdirAll(s.workRoot, 0o755) == nil && os.Mkdir(s.root, 0o700) == nil {
		err = renameNoReplace(workDir, path) // the pool's directory was removed
	}
	if err != nil {
		s.disableOn(err)
		return false
	}
	return s.put(spare{path: path, attrs: attrs})
}

func (s *spares) put(sp spare) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.free) < maxSpares {
		s.free = append(s.free, sp)
		return true
	}
	_ = os.Remove(filepath.Join(sp.path, "tmp"))
	_ = os.Remove(sp.path)
	return true
}

// disableOn turns the pool off for good if renameat2 cannot work here: an
// old kernel, a file system without RENAME_NOREPLACE, or a pool directory
// on another file system.
func (s *spares) disableOn(err error) {
	if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EXDEV) {
		s.mu.Lock()
		s.off = true
		s.mu.Unlock()
	}
}

// unchangedAndEmpty reports whether workDir holds nothing but an empty
// tmp, both directories with the attributes they were made with.
func unchangedAndEmpty(workDir string, attrs dirAttrs) bool {
	fd, err := syscall.Open(workDir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	if !hasStat(fd, attrs.work) || !onlyEntries(fd, "tmp") {
		return false
	}
	tfd, err := syscall.Openat(fd, "tmp", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(tfd)
	return hasStat(tfd, attrs.tmp) && onlyEntries(tfd, "")
}

func hasStat(fd int, want dirStat) bool {
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil {
		return false
	}
	return st.Mode == want.mode && st.Uid == want.uid && st.Gid == want.gid
}

func statDir(path string) (dirStat, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return dirStat{}, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return dirStat{mode: st.Mode, uid: st.Uid, gid: st.Gid}, nil
}

// onlyEntries reports whether the directory open as fd holds nothing but
// "." and "..", and the directory sub if sub is not "".
func onlyEntries(fd int, sub string) bool {
	var buf [1024]byte
	sawSub := sub == ""
	for {
		n, err := syscall.Getdents(fd, buf[:])
		if err != nil {
			return false
		}
		if n == 0 {
			return sawSub
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name.
			if len(b) < 19 {
				return false
			}
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 19 || reclen > len(b) {
				return false
			}
			typ := b[18]
			name := b[19:reclen]
			if i := indexZero(name); i >= 0 {
				name = name[:i]
			}
			switch string(name) {
			case ".", "..":
			case sub:
				if sub == "" || typ != syscall.DT_DIR {
					return false
				}
				sawSub = true
			default:
				return false
			}
			b = b[reclen:]
		}
	}
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// renameNoReplace renames from to an absent to, failing with EEXIST
// instead of replacing an empty directory there as rename(2) would.
func renameNoReplace(from, to string) error {
	return unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
}
