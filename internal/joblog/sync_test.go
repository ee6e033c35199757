package joblog_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gantrybatch/gantry/internal/joblog"
)

// syncs returns the store's fsync count so far.
func (b *testBundle) syncs() int64 { return joblog.Syncs(b.store) }

// checkEmptyStream checks that the stream exists, created at t0, without
// events.
func (b *testBundle) checkEmptyStream(t *testing.T, name string, t0 int64) {
	t.Helper()
	info, err := b.store.Stream(group, name)
	if err != nil {
		t.Fatalf("Stream(%q): %v", name, err)
	}
	if info.CreationTime != t0 || info.FirstEventTimestamp != 0 || info.LastIngestionTime != 0 || info.StoredBytes == 0 {
		t.Errorf("empty stream info %+v", info)
	}
	infos, err := b.store.Streams(group, name)
	if err != nil || len(infos) != 1 || infos[0] != info {
		t.Errorf("Streams(%q) = %+v, %v; want [%+v]", name, infos, err, info)
	}
	res := b.read(t, joblog.ReadParams{Stream: name, StartFromHead: true})
	if len(res.Events) != 0 || res.NextForwardToken[2:] != res.NextBackwardToken[2:] {
		t.Errorf("empty stream read %+v", res)
	}
}

func TestEmptyStreamIsNotSynced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := b.clock.now().UnixMilli()
	// Like the attempt of a job that prints nothing.
	if err := b.writer(t, stream).Close(); err != nil {
		t.Fatal(err)
	}
	if n := b.syncs(); n != 0 {
		t.Errorf("%d fsyncs for a stream without events", n)
	}
	b.checkEmptyStream(t, stream, t0)

	// Still there, still empty, for a restarted server.
	b.store.Close()
	b.store = b.open(t)
	b.clock.advance(1000)
	b.checkEmptyStream(t, stream, t0)
	// Reopened without output: still nothing to sync.
	if err := b.writer(t, stream).Close(); err != nil {
		t.Fatal(err)
	}
	if n := b.syncs(); n != 0 {
		t.Errorf("%d fsyncs for a reopened stream without events", n)
	}
	b.checkEmptyStream(t, stream, t0)

	// Output later makes it worth a sync.
	w := b.writer(t, stream)
	write(t, w, "late\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := b.syncs(); n == 0 {
		t.Error("a stream that got events was not synced")
	}
	res := b.read(t, joblog.ReadParams{StartFromHead: true})
	if got := messages(res.Events); !slices.Equal(got, []string{"late"}) {
		t.Errorf("messages = %q", got)
	}
}

func TestStreamWithEventsIsSynced(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T, b *testBundle, w *joblog.Writer){
		"complete line": func(t *testing.T, _ *testBundle, w *joblog.Writer) {
			write(t, w, "line\n")
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		},
		"partial line flushed by Close": func(t *testing.T, _ *testBundle, w *joblog.Writer) {
			write(t, w, "line")
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		},
		"Writer still open when the store closes": func(t *testing.T, b *testBundle, w *joblog.Writer) {
			write(t, w, "line\n")
			if err := b.store.Close(); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, run := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			run(t, b, b.writer(t, stream))
			// The file and, being new, its directory entry.
			if n := b.syncs(); n != 2 {
				t.Errorf("%d fsyncs, want 2", n)
			}
			b.store = b.open(t)
			res := b.read(t, joblog.ReadParams{StartFromHead: true})
			if got := messages(res.Events); !slices.Equal(got, []string{"line"}) {
				t.Errorf("messages = %q", got)
			}
		})
	}
}

func TestSyncOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Two Writers of one stream: the first Close syncs the event, the
	// second has nothing new to sync.
	w1, w2 := b.writer(t, stream), b.writer(t, stream)
	write(t, w1, "one\n")
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	after1 := b.syncs()
	if after1 == 0 {
		t.Fatal("the event was not synced")
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := b.syncs(); n != after1 {
		t.Errorf("%d more fsyncs for nothing new", n-after1)
	}
}

func TestHeaderLostInACrash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.writer(t, stream).Close(); err != nil {
		t.Fatal(err)
	}
	// The empty stream was never synced: a power failure may leave its
	// file empty. It still counts as an empty stream, and takes output.
	files, _ := filepath.Glob(filepath.Join(b.dir, "*", "*.log"))
	if len(files) != 1 {
		t.Fatalf("stream files %q", files)
	}
	if err := os.Truncate(files[0], 0); err != nil {
		t.Fatal(err)
	}
	b.store.Close()
	b.store = b.open(t)
	if _, err := b.store.Stream(group, stream); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	w := b.writer(t, stream)
	write(t, w, "after\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res := b.read(t, joblog.ReadParams{StartFromHead: true})
	if got := messages(res.Events); !slices.Equal(got, []string{"after"}) {
		t.Errorf("messages = %q", got)
	}
	info, err := b.store.Stream(group, stream)
	if err != nil || info.CreationTime != b.clock.now().UnixMilli() {
		t.Errorf("Stream = %+v, %v", info, err)
	}
}
