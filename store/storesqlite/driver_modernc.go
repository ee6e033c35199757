//go:build !cgo

package storesqlite

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// driverName is the pure-Go driver modernc.org/sqlite, used when Gantry is
// built without cgo (CGO_ENABLED=0). It needs no C compiler; the server
// spends about a tenth more CPU per SubmitJob with it (docs/benchmarks.md).
const driverName = "sqlite"

// driverDescription names the driver in the log.
const driverDescription = "modernc.org/sqlite (pure Go)"

// dsn builds the modernc.org/sqlite data source name. The _pragma
// parameters run on every new connection of the pool.
func dsn(path string, busy time.Duration, readOnly bool) string {
	params := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(FULL)",
	}
	if readOnly {
		params = append(params, "_pragma=query_only(1)")
	} else {
		params = append(params, "_pragma=journal_mode(WAL)", "_txlock=immediate")
	}
	return path + "?" + strings.Join(params, "&")
}

// isUniqueViolation reports a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}
