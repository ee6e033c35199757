package storesqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// querier implements store.Tx. read serves Get, List and Count; write
// serves Insert, Update, Delete and Set. For the Store they are the reader
// and writer pools; inside InTx both are the transaction.
type querier struct {
	read  handle
	write handle
	// queues is the store's decoded job queues (nil: decode every time).
	queues *queueCache
	// inTx is set on the queriers of write transactions (committer.run).
	inTx bool
}

// handle runs SQL on a pool or a transaction. Queries listed in readQueries
// or writeQueries run as statements prepared once by Open. Any other query
// (JobList's filter combinations) is prepared on first use and kept on the
// reader pool (dynamic), and prepared per call elsewhere.
type handle interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// dbHandle is a pool with its prepared statements.
type dbHandle struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
	// dynamic, when set, keeps statements prepared on first use (the
	// reader pool: the scheduler's JobList calls every few milliseconds
	// used to parse their SQL each time).
	dynamic *dynamicStmts
}

// maxDynamicStmts bounds dynamicStmts; JobList has far fewer shapes in use.
const maxDynamicStmts = 256

// dynamicStmts are statements prepared on first use.
type dynamicStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// stmt returns the prepared statement of query, or nil to run it unprepared.
func (h *dbHandle) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := h.stmts[query]; ok {
		return st
	}
	d := h.dynamic
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.m[query]; ok {
		return st
	}
	if len(d.m) >= maxDynamicStmts {
		return nil
	}
	st, err := h.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared: the error, if any, comes from there
	}
	if d.m == nil {
		d.m = map[string]*sql.Stmt{}
	}
	d.m[query] = st
	return st
}

// close closes the handle's statements and pool.
func (h *dbHandle) close() error {
	var errs []error
	for _, st := range h.stmts {
		errs = append(errs, st.Close())
	}
	if d := h.dynamic; d != nil {
		d.mu.Lock()
		for _, st := range d.m {
			errs = append(errs, st.Close())
		}
		d.m = nil
		d.mu.Unlock()
	}
	errs = append(errs, h.db.Close())
	return errors.Join(errs...)
}

func (h *dbHandle) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := h.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return h.db.ExecContext(ctx, query, args...)
}

func (h *dbHandle) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := h.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return h.db.QueryContext(ctx, query, args...)
}

func (h *dbHandle) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := h.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return h.db.QueryRowContext(ctx, query, args...)
}

// txHandle is a transaction on the writer. It reuses the writer's prepared
// statements: they were prepared on the same single connection.
type txHandle struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (h *txHandle) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := h.stmts[query]; ok {
		return h.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return h.tx.ExecContext(ctx, query, args...)
}

func (h *txHandle) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := h.stmts[query]; ok {
		return h.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return h.tx.QueryContext(ctx, query, args...)
}

func (h *txHandle) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := h.stmts[query]; ok {
		return h.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return h.tx.QueryRowContext(ctx, query, args...)
}

// prepare prepares queries on db. The statements live as long as db.
func prepare(ctx context.Context, db *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("storesqlite: prepare %q: %w", q, err)
		}
		stmts[q] = st
	}
	return stmts, nil
}

// rowsAffected returns res.RowsAffected, or err if the statement failed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
