// Package storesqlite implements store.Store on SQLite, through
// database/sql and one of two drivers chosen at build time: the SQLite C
// library through cgo (github.com/mattn/go-sqlite3, the default build), or,
// built with CGO_ENABLED=0, the pure-Go port modernc.org/sqlite, which
// needs no C compiler and makes a static binary but spends about a tenth
// more CPU per SubmitJob (docs/benchmarks.md). Both pass the same tests.
//
// Resources are stored as JSON documents of the gantry domain types, next to
// the columns that queries filter, sort or enforce uniqueness on. The schema
// is created and upgraded by the embedded migrations in migration/, applied
// in order by Open and recorded in the schema_migrations table.
//
// # Concurrency and durability
//
// SQLite has one writer at a time. A Store holds two pools on the same file:
//
//   - the writer, a single connection whose transactions begin with
//     BEGIN IMMEDIATE, so writers queue for the lock instead of failing to
//     upgrade a read lock. InTx and every implicit write (Insert, Update,
//     Delete, Set outside InTx) go through it;
//   - the readers, several query_only connections for implicit reads (Get,
//     List, Count). In WAL mode they never block the writer nor wait for it.
//
// InTx calls are group-committed (see committer): concurrent transactions
// run one after another inside one SQLite transaction, each in its own
// savepoint, and share one commit and one fsync. Each caller still gets
// its own outcome, and InTx returns only after the commit is durable.
//
// Every connection runs with journal_mode=WAL, synchronous=FULL (a commit is
// fsynced before InTx returns, so kill -9 or a power cut loses nothing that
// was acknowledged), foreign_keys=ON and a busy timeout.
//
// Inside an InTx callback, use only the Tx it receives: the Store's own
// methods would wait for the writer connection the transaction holds.
package storesqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// Config configures Open.
type Config struct {
	// Path is the database file. Its directory is created if missing.
	// Required; it must not contain '?'.
	Path string
	// Logger receives migration and lifecycle messages. Default: discard.
	Logger *slog.Logger
	// ReadConns is the size of the read pool. Default: max(4, GOMAXPROCS).
	ReadConns int
	// BusyTimeout is how long a connection waits for a lock held by
	// another process before failing with SQLITE_BUSY. Default: 10s.
	BusyTimeout time.Duration
	// MaxBatch is the most InTx calls group commit folds into one
	// transaction (default 256; 1 turns group commit off).
	MaxBatch int
	// WriterNice, when not 0, is the nice value of the OS thread that runs
	// group commit (-20 to 19; lower runs first). A negative value needs
	// root or CAP_SYS_NICE on Linux; when it cannot be set, Open logs why
	// and carries on at the usual priority. Default 0: left alone.
	WriterNice int
}

// Store is a store.Store on one SQLite file.
type Store struct {
	querier // implicit transactions: reads on reader, writes on writer
	writer  *dbHandle
	reader  *dbHandle
	path    string
	commits *committer // group commit of InTx
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.CommitStatser = (*Store)(nil)
)

// Open opens (creating if needed) the database at cfg.Path, applies pending
// migrations and prepares the queries. Close releases it.
func Open(ctx context.Context, cfg Config) (_ *Store, err error) {
	if cfg.Path == "" {
		return nil, errors.New("storesqlite: Config.Path is required")
	}
	if strings.ContainsRune(cfg.Path, '?') {
		return nil, fmt.Errorf("storesqlite: database path %q must not contain '?'", cfg.Path)
	}
	logger := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	readConns := cmp.Or(cfg.ReadConns, max(4, runtime.GOMAXPROCS(0)))
	busy := cmp.Or(cfg.BusyTimeout, 10*time.Second)

	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("storesqlite: create database directory: %w", err)
	}
	migrations, err := embeddedMigrations()
	if err != nil {
		return nil, fmt.Errorf("storesqlite: %w", err)
	}

	s := &Store{path: cfg.Path}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()

	// The writer comes first: it switches a new file to WAL and creates
	// the schema before any reader (query_only) connects.
	s.writer, err = openPool(ctx, dsn(cfg.Path, busy, false), 1)
	if err != nil {
		return nil, fmt.Errorf("storesqlite: open %s: %w", cfg.Path, err)
	}
	if err := migrateTo(ctx, s.writer.db, migrations, len(migrations), logger); err != nil {
		return nil, fmt.Errorf("storesqlite: %w", err)
	}
	s.reader, err = openPool(ctx, dsn(cfg.Path, busy, true), readConns)
	if err != nil {
		return nil, fmt.Errorf("storesqlite: open %s for reading: %w", cfg.Path, err)
	}
	if s.writer.stmts, err = prepare(ctx, s.writer.db, slices.Concat(readQueries, writeQueries)); err != nil {
		return nil, err
	}
	if s.reader.stmts, err = prepare(ctx, s.reader.db, readQueries); err != nil {
		return nil, err
	}
	s.reader.dynamic = &dynamicStmts{}
	queues := &queueCache{}
	s.querier = querier{read: s.reader, write: s.writer, queues: queues}
	nice := cfg.WriterNice // the writer thread's nice value in effect
	var niceErr error
	s.commits, niceErr = startCommitter(s.writer, cfg.MaxBatch, cfg.WriterNice)
	s.commits.queues = queues
	if niceErr != nil {
		nice = 0
		logger.WarnContext(ctx, "storesqlite: the writer thread keeps the usual priority", slog.Int("writer_nice", cfg.WriterNice),
			slog.String("error", niceErr.Error()), slog.String("hint", "raising a priority needs root or CAP_SYS_NICE; --writer-nice 0 silences this"))
	}
	var version string
	if err := s.reader.db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
		return nil, fmt.Errorf("storesqlite: %w", err)
	}
	logger.InfoContext(ctx, "storesqlite: opened", slog.String("path", cfg.Path), slog.Int("schema_version", len(migrations)),
		slog.String("driver", driverDescription), slog.String("sqlite_version", version), slog.Int("writer_nice", nice))
	return s, nil
}

// openPool opens a pool of at most conns connections, kept open, and
// checks that the first one connects.
func openPool(ctx context.Context, dsn string, conns int) (*dbHandle, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &dbHandle{db: db}, nil
}

// Close closes both pools. The last connection to close checkpoints the WAL
// into the main file.
func (s *Store) Close() error {
	if s.commits != nil {
		s.commits.stop()
	}
	var errs []error
	for _, h := range []*dbHandle{s.reader, s.writer} {
		if h == nil {
			continue
		}
		errs = append(errs, h.close())
	}
	return errors.Join(errs...)
}

// interpretError translates driver errors into the store's sentinels:
// sql.ErrNoRows becomes gantry.ErrNotFound and a UNIQUE or PRIMARY KEY
// violation becomes gantry.ErrAlreadyExists. Other errors pass unchanged.
func interpretError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gantry.ErrNotFound
	}
	if isUniqueViolation(err) {
		return fmt.Errorf("%w (%v)", gantry.ErrAlreadyExists, err)
	}
	return err
}
