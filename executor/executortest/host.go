package executortest

import (
	"bytes"
	"os"
	"strconv"
)

// HostProcessAlive reports whether pid is a live (non-zombie) process in
// this pid namespace. It is a Harness.ProcessAlive for executors whose
// tasks are host processes.
func HostProcessAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] != 'Z' // the state follows ") "
}
