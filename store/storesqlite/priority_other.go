//go:build !linux

package storesqlite

import "errors"

// setThreadNice is Linux-only: elsewhere a nice value is per process.
func setThreadNice(int) error {
	return errors.New("a per-thread priority is only supported on Linux")
}
