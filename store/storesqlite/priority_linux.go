package storesqlite

import "syscall"

// setThreadNice sets the nice value of the calling OS thread: Linux keeps
// one per thread, and setpriority(2) with a thread id changes only that
// thread. The caller must have locked its goroutine to the thread.
func setThreadNice(nice int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
