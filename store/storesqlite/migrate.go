package storesqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"time"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// migration is one numbered schema change with its up and down scripts.
type migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

var migrationFileRE = regexp.MustCompile(`^(\d+)_([a-z0-9_]+)\.(up|down)\.sql$`)

// loadMigrations reads NNN_name.{up,down}.sql files from the root of fsys
// and checks that they form the sequence 1, 2, ... N with no gap, no
// duplicate version and both directions present.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int]*migration{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := migrationFileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %q: file name must be NNN_name.up.sql or NNN_name.down.sql", e.Name())
		}
		version, err := strconv.Atoi(m[1])
		if err != nil || version < 1 {
			return nil, fmt.Errorf("migration %q: version must be a positive number", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		mig := byVersion[version]
		if mig == nil {
			mig = &migration{Version: version, Name: m[2]}
			byVersion[version] = mig
		}
		if mig.Name != m[2] {
			return nil, fmt.Errorf("migration version %d is used twice (%q and %q)", version, mig.Name, m[2])
		}
		dst := &mig.Up
		if m[3] == "down" {
			dst = &mig.Down
		}
		if *dst != "" {
			return nil, fmt.Errorf("migration %q appears twice", e.Name())
		}
		if len(body) == 0 {
			return nil, fmt.Errorf("migration %q is empty", e.Name())
		}
		*dst = string(body)
	}
	migrations := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		migrations = append(migrations, *m)
	}
	slices.SortFunc(migrations, func(a, b migration) int { return cmp.Compare(a.Version, b.Version) })
	for i, m := range migrations {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations are not sequential: expected version %d, found %d (%s)", i+1, m.Version, m.Name)
		}
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("migration %03d_%s needs both an up and a down file", m.Version, m.Name)
		}
	}
	return migrations, nil
}

// embeddedMigrations returns the migrations compiled into the binary.
func embeddedMigrations() ([]migration, error) {
	sub, err := fs.Sub(migrationFS, "migration")
	if err != nil {
		return nil, err
	}
	return loadMigrations(sub)
}

const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT`

// migrateTo moves the schema of db up or down to target, one migration per
// transaction, recording each in schema_migrations. db must be the writer
// (BEGIN IMMEDIATE), so a concurrent process migrating the same file waits
// and then sees the version this one reached.
func migrateTo(ctx context.Context, db *sql.DB, migrations []migration, target int, logger *slog.Logger) error {
	if target < 0 || target > len(migrations) {
		return fmt.Errorf("migrate: target version %d is outside 0..%d", target, len(migrations))
	}
	if _, err := db.ExecContext(ctx, createSchemaMigrations); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := migrateStep(ctx, db, migrations, target, logger)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next migration toward target in one transaction
// and reports whether target was already reached.
func migrateStep(ctx context.Context, db *sql.DB, migrations []migration, target int, logger *slog.Logger) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback()
		}
	}()
	current, err := schemaVersion(ctx, tx, len(migrations))
	if err != nil {
		return false, err
	}
	if current == target {
		return true, nil
	}
	var (
		m      migration
		script string
		record string
		args   []any
	)
	if current < target {
		m = migrations[current]
		script = m.Up
		record = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
		args = []any{m.Version, m.Name, time.Now().UnixMilli()}
	} else {
		m = migrations[current-1]
		script = m.Down
		record = `DELETE FROM schema_migrations WHERE version = ?`
		args = []any{m.Version}
	}
	direction := map[bool]string{true: "up", false: "down"}[current < target]
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return false, fmt.Errorf("migration %03d_%s (%s): %w", m.Version, m.Name, direction, err)
	}
	if _, err := tx.ExecContext(ctx, record, args...); err != nil {
		return false, fmt.Errorf("migration %03d_%s (%s): record: %w", m.Version, m.Name, direction, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %03d_%s (%s): commit: %w", m.Version, m.Name, direction, err)
	}
	logger.InfoContext(ctx, "storesqlite: migration applied",
		slog.Int("version", m.Version), slog.String("name", m.Name), slog.String("direction", direction))
	return false, nil
}

// schemaVersion returns the number of applied migrations, after checking
// that they are exactly 1..n and that this binary knows them all.
func schemaVersion(ctx context.Context, tx *sql.Tx, known int) (int, error) {
	var count, highest int
	err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(version), 0) FROM schema_migrations`).Scan(&count, &highest)
	if err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	if count != highest {
		return 0, errors.New("schema_migrations has gaps: the database was changed outside Gantry")
	}
	if highest > known {
		return 0, fmt.Errorf("database schema is at version %d but this binary knows only %d migrations: upgrade Gantry", highest, known)
	}
	return highest, nil
}
