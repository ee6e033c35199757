package storesqlite

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storetest"
)

// openTestStore opens a store on a new file in tb's temp dir and closes it
// when tb ends.
func openTestStore(tb testing.TB) *Store {
	tb.Helper()
	return openStoreAt(tb, filepath.Join(tb.TempDir(), "gantry.db"))
}

func openStoreAt(tb testing.TB, path string) *Store {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	if t, ok := tb.(*testing.T); ok {
		logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := Open(context.Background(), Config{Path: path, Logger: logger})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store { return openTestStore(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("CreatesDirectory", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "a", "b", "gantry.db")
		openStoreAt(t, path)
		require.FileExists(t, path)
	})

	t.Run("RejectsBadPath", func(t *testing.T) {
		t.Parallel()
		_, err := Open(t.Context(), Config{})
		require.ErrorContains(t, err, "Path is required")
		_, err = Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "x?mode=ro")})
		require.ErrorContains(t, err, "must not contain '?'")
	})

	t.Run("ReopenKeepsDataAndMigratesOnce", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "gantry.db")
		s, err := Open(t.Context(), Config{Path: path})
		require.NoError(t, err)
		job := storetest.Job()
		require.NoError(t, s.JobInsert(t.Context(), job))
		require.NoError(t, s.JobDefinitionInsert(t.Context(), storetest.JobDefinition("def", 3)))
		require.NoError(t, s.Close())

		for range 2 {
			s := openStoreAt(t, path)
			got, err := s.JobGet(t.Context(), job.JobID)
			require.NoError(t, err)
			require.Equal(t, job, got)
			rev, err := s.JobDefinitionLatestRevision(t.Context(), "def")
			require.NoError(t, err)
			require.Equal(t, int32(3), rev)
			require.Equal(t, allVersions(t), appliedVersions(t, s.writer.db))
		}
	})

	t.Run("Pragmas", func(t *testing.T) {
		t.Parallel()
		s := openTestStore(t)
		for name, db := range map[string]*sql.DB{"writer": s.writer.db, "reader": s.reader.db} {
			require.Equal(t, "wal", pragma(t, db, "journal_mode"), name)
			require.Equal(t, "2", pragma(t, db, "synchronous"), name+": FULL")
			require.Equal(t, "1", pragma(t, db, "foreign_keys"), name)
			require.Equal(t, "10000", pragma(t, db, "busy_timeout"), name)
		}
		require.Equal(t, "0", pragma(t, s.writer.db, "query_only"))
		require.Equal(t, "1", pragma(t, s.reader.db, "query_only"))
		_, err := s.reader.db.ExecContext(t.Context(), `INSERT INTO meta (key, value) VALUES ('k', 'v')`)
		require.Error(t, err, "the read pool cannot write")
	})

	t.Run("RejectsNewerSchema", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "gantry.db")
		s := openStoreAt(t, path)
		_, err := s.writer.db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)`, len(allVersions(t))+1)
		require.NoError(t, err)
		_, err = Open(t.Context(), Config{Path: path})
		require.ErrorContains(t, err, "upgrade Gantry")
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()

	t.Run("UpDownUp", func(t *testing.T) {
		t.Parallel()
		migrations, err := embeddedMigrations()
		require.NoError(t, err)
		s := openTestStore(t)
		ctx, logger := t.Context(), slog.New(slog.DiscardHandler)
		require.NoError(t, s.MetaSet(ctx, "k", "v"))
		require.NoError(t, s.Close())

		db, err := sql.Open(driverName, dsn(s.path, time.Second, false))
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, migrateTo(ctx, db, migrations, 0, logger))
		require.Empty(t, appliedVersions(t, db))
		require.Equal(t, []string{"schema_migrations"}, tables(t, db), "down removes everything up created")
		require.NoError(t, migrateTo(ctx, db, migrations, len(migrations), logger))
		require.Equal(t, allVersions(t), appliedVersions(t, db))
		require.NoError(t, migrateTo(ctx, db, migrations, len(migrations), logger), "idempotent")
		require.Equal(t, allVersions(t), appliedVersions(t, db))
	})

	t.Run("Load", func(t *testing.T) {
		t.Parallel()
		file := func(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }
		for name, tc := range map[string]struct {
			files   fstest.MapFS
			wantErr string
		}{
			"Sequential": {files: fstest.MapFS{
				"001_a.up.sql": file("x"), "001_a.down.sql": file("x"),
				"002_b.up.sql": file("x"), "002_b.down.sql": file("x"),
			}},
			"Gap": {files: fstest.MapFS{
				"001_a.up.sql": file("x"), "001_a.down.sql": file("x"),
				"003_c.up.sql": file("x"), "003_c.down.sql": file("x"),
			}, wantErr: "expected version 2, found 3"},
			"DuplicateVersion": {files: fstest.MapFS{
				"001_a.up.sql": file("x"), "001_a.down.sql": file("x"),
				"001_b.up.sql": file("x"), "001_b.down.sql": file("x"),
			}, wantErr: "used twice"},
			"DuplicateSpelling": {files: fstest.MapFS{
				"001_a.up.sql": file("x"), "001_a.down.sql": file("x"), "1_a.up.sql": file("x"),
			}, wantErr: "appears twice"},
			"MissingDown": {files: fstest.MapFS{"001_a.up.sql": file("x")}, wantErr: "both an up and a down"},
			"BadName":     {files: fstest.MapFS{"001_a.sql": file("x")}, wantErr: "file name must be"},
			"Zero":        {files: fstest.MapFS{"000_a.up.sql": file("x")}, wantErr: "positive"},
			"Empty":       {files: fstest.MapFS{"001_a.up.sql": file(""), "001_a.down.sql": file("x")}, wantErr: "is empty"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				got, err := loadMigrations(tc.files)
				if tc.wantErr != "" {
					require.ErrorContains(t, err, tc.wantErr)
					return
				}
				require.NoError(t, err)
				require.Len(t, got, 2)
			})
		}
	})

	t.Run("Embedded", func(t *testing.T) {
		t.Parallel()
		migrations, err := embeddedMigrations()
		require.NoError(t, err)
		require.NotEmpty(t, migrations)
	})
}

// crashChildEnv names the database a re-executed test binary writes to
// before its parent kills it.
const crashChildEnv = "GANTRY_STORESQLITE_CRASH_DB"

// TestCrashDurability re-executes the test binary as a child that commits
// jobs, acknowledging each on stdout once InTx has returned, and kills it
// with SIGKILL while it is still writing. Every acknowledged job must be in
// the database afterwards.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	t.Parallel()
	const n = 200
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = t.Output()
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var acked []string
	lines := bufio.NewScanner(stdout)
	committed, afterCommitted := false, 0
	for lines.Scan() {
		line := lines.Text()
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			acked = append(acked, id)
			if committed {
				afterCommitted++
			}
		}
		if line == "committed" {
			committed = true
			require.Len(t, acked, n)
		}
		if afterCommitted == 50 {
			// Kill mid-stream: the child is inside another InTx.
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			break
		}
	}
	require.True(t, committed, "child never reported committing: %v", lines.Err())
	// Lines written before the kill are still in the pipe.
	rest, _ := io.ReadAll(stdout)
	for line := range strings.Lines(string(rest)) {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "ack "); ok {
			acked = append(acked, id)
		}
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, syscall.SIGKILL, exitErr.Sys().(syscall.WaitStatus).Signal())

	s := openStoreAt(t, path)
	jobs, err := s.JobGetMany(t.Context(), acked)
	require.NoError(t, err)
	require.Len(t, jobs, len(acked), "every acknowledged job survives kill -9")
	t.Logf("%d jobs acknowledged before SIGKILL, all present", len(acked))
}

// crashChild is the child side of TestCrashDurability. It never returns.
func crashChild(path string) {
	s, err := Open(context.Background(), Config{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	insert := func(batch int) {
		jobs := make([]*gantry.Job, batch)
		for i := range jobs {
			jobs[i] = storetest.Job()
		}
		err := s.InTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			for _, j := range jobs {
				if err := tx.JobInsert(ctx, j); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		for _, j := range jobs {
			fmt.Fprintln(os.Stdout, "ack "+j.JobID)
		}
	}
	for range 100 {
		insert(1)
	}
	for range 10 {
		insert(10)
	}
	fmt.Fprintln(os.Stdout, "committed")
	for {
		insert(5)
	}
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v))
	return v
}

func appliedVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	require.NoError(t, err)
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	return versions
}

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(),
		`SELECT name FROM sqlite_schema WHERE type IN ('table', 'index', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		names = append(names, name)
	}
	require.NoError(t, rows.Err())
	return names
}

// BenchmarkJobInsert measures committed inserts; ns/op is per job.
func BenchmarkJobInsert(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("PerInTx=%d", batch), func(b *testing.B) {
			s := openTestStore(b)
			ctx := b.Context()
			jobs := make([]*gantry.Job, b.N)
			for i := range jobs {
				jobs[i] = storetest.Job()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for start := 0; start < b.N; start += batch {
				end := min(start+batch, b.N)
				if batch == 1 {
					require.NoError(b, s.JobInsert(ctx, jobs[start]))
					continue
				}
				require.NoError(b, s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
					for _, j := range jobs[start:end] {
						if err := tx.JobInsert(ctx, j); err != nil {
							return err
						}
					}
					return nil
				}))
			}
		})
	}
}

// BenchmarkJobList measures the two hot listings over 20,000 jobs in 4
// queues: a ListJobs page (queue, status, newest first) and the
// scheduler's FIFO (status, oldest first).
func BenchmarkJobList(b *testing.B) {
	s := openTestStore(b)
	ctx := b.Context()
	statuses := []gantry.JobStatus{gantry.JobStatusSubmitted, gantry.JobStatusRunnable, gantry.JobStatusRunning, gantry.JobStatusSucceeded}
	queue := func(i int) string { return storetest.ARNs.ARN(gantry.ResourceJobQueue, fmt.Sprintf("q%d", i%4)) }
	for chunk := range 200 {
		require.NoError(b, s.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			for i := range 100 {
				n := chunk*100 + i
				j := storetest.Job(func(j *gantry.Job) {
					j.JobQueue = queue(n)
					j.JobName = fmt.Sprintf("job-%05d", n)
					j.Status = statuses[(n/4)%len(statuses)]
				})
				if err := tx.JobInsert(ctx, j); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	for name, params := range map[string]*store.JobListParams{
		"QueueStatusPage100": {QueueArn: queue(1), Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}, Limit: 100},
		"FIFO100":            {Statuses: []gantry.JobStatus{gantry.JobStatusRunnable}, Order: store.JobListOldestFirst, Limit: 100},
		"NamePrefixPage100":  {QueueArn: queue(2), NameLike: "job-1*", Limit: 100},
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				jobs, err := s.JobList(ctx, params)
				require.NoError(b, err)
				require.Len(b, jobs, 100)
			}
		})
	}
}

// allVersions lists the versions of every embedded migration.
func allVersions(t *testing.T) []int {
	t.Helper()
	migrations, err := embeddedMigrations()
	require.NoError(t, err)
	out := make([]int, len(migrations))
	for i := range migrations {
		out[i] = i + 1
	}
	return out
}
