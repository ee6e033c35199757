package storesqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// querier implements store.Tx. read serves Get, List and Count; write
// serves Insert, Update, Delete and Set. For the Store they are the reader
// and writer pools; inside InTx both are the transaction.
type querier struct {
	read  handle
	write handle
}

// handle runs SQL on a pool or a transaction. Queries listed in readQueries
// or writeQueries run as statements prepared once by Open; any other query
// (JobList's filters) is prepared by the driver per call.
type handle interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// dbHandle is a pool with its prepared statements.
type dbHandle struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
}

func (h *dbHandle) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := h.stmts[query]; ok {
		return st.ExecContext(ctx, args...)
	}
	return h.db.ExecContext(ctx, query, args...)
}

func (h *dbHandle) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := h.stmts[query]; ok {
		return st.QueryContext(ctx, args...)
	}
	return h.db.QueryContext(ctx, query, args...)
}

func (h *dbHandle) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := h.stmts[query]; ok {
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
