package joblog_test

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/joblog"
)

const day = 24 * 60 * 60 * 1000

func TestRetentionAndPurge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := b.clock.now().UnixMilli()
	old := b.writer(t, "def/default/old")
	write(t, old, "old line\n")
	old.Close()
	empty := b.writer(t, "def/default/empty") // no events: its creation counts
	empty.Close()
	b.clock.advance(day + 1)
	recent := b.writer(t, "def/default/recent")
	write(t, recent, "recent line\n")
	recent.Close()
	open := b.writer(t, "def/default/open") // still being written
	write(t, open, "partial")
	other, err := b.store.Writer("keep-forever", "def/default/x")
	if err != nil {
		t.Fatal(err)
	}
	write(t, other, "kept\n")
	other.Close()

	// Without retention, nothing goes.
	res, err := b.store.Purge(time.UnixMilli(t0 + 100*day))
	if err != nil || res.Streams != 0 {
		t.Fatalf("Purge without retention = %+v, %v", res, err)
	}
	if days, err := b.store.Retention(group); err != nil || days != 0 {
		t.Errorf("Retention() = %d, %v; want 0", days, err)
	}
	for _, days := range []int{-1, 2, 4000} {
		if err := b.store.SetRetention(group, days); !errors.Is(err, joblog.ErrInvalidRetention) {
			t.Errorf("SetRetention(%d) = %v, want ErrInvalidRetention", days, err)
		}
	}
	if err := b.store.SetRetention("/no/such/group", 1); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("SetRetention(unknown group) = %v, want ErrNotFound", err)
	}
	if _, err := b.store.Retention("/no/such/group"); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("Retention(unknown group) = %v, want ErrNotFound", err)
	}
	if err := b.store.SetRetention(group, 1); err != nil {
		t.Fatal(err)
	}
	// The retention is on disk: a restarted store sees it.
	b.store.Close()
	b.store = b.open(t)
	if days, err := b.store.Retention(group); err != nil || days != 1 {
		t.Fatalf("Retention() after reopen = %d, %v; want 1", days, err)
	}
	open = b.writer(t, "def/default/open")
	defer open.Close()

	// Two days after the first streams: they are past a day's retention,
	// the recent stream (a day newer) is not, nor the one being written.
	res, err = b.store.Purge(time.UnixMilli(t0 + 2*day))
	if err != nil {
		t.Fatal(err)
	}
	if res.Streams != 2 || res.Bytes <= 0 {
		t.Errorf("Purge = %+v, want 2 streams", res)
	}
	infos, err := b.store.Streams(group, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
	}
	if want := []string{"def/default/open", "def/default/recent"}; !slices.Equal(names, want) {
		t.Errorf("streams after purge %q, want %q", names, want)
	}
	if _, err := b.store.Stream("keep-forever", "def/default/x"); err != nil {
		t.Errorf("a group without retention lost a stream: %v", err)
	}
	// Deleting the policy keeps everything again.
	if err := b.store.SetRetention(group, 0); err != nil {
		t.Fatal(err)
	}
	if res, err := b.store.Purge(time.UnixMilli(t0 + 1000*day)); err != nil || res.Streams != 0 {
		t.Errorf("Purge after DeleteRetentionPolicy = %+v, %v", res, err)
	}
}

func TestDescribeGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := b.clock.now().UnixMilli()
	w := b.writer(t, "s1")
	write(t, w, "hello\n")
	w.Close()
	b.clock.advance(50)
	o, err := b.store.Writer("/custom/group", "s")
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if err := b.store.SetRetention("/custom/group", 7); err != nil {
		t.Fatal(err)
	}
	infos, err := b.store.DescribeGroups("")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 {
		t.Fatalf("DescribeGroups = %+v", infos)
	}
	if g := infos[0]; g.Name != "/aws/batch/job" || g.CreationTime != t0 || g.RetentionInDays != 0 || g.StoredBytes == 0 {
		t.Errorf("group %+v", g)
	}
	if g := infos[1]; g.Name != "/custom/group" || g.CreationTime != t0+50 || g.RetentionInDays != 7 {
		t.Errorf("group %+v", g)
	}
	infos, err = b.store.DescribeGroups("/aws/")
	if err != nil || len(infos) != 1 || infos[0].Name != "/aws/batch/job" {
		t.Errorf("DescribeGroups(/aws/) = %+v, %v", infos, err)
	}
	info, err := b.store.Stream(group, "s1")
	if err != nil || info.Name != "s1" || info.FirstEventTimestamp != t0 {
		t.Errorf("Stream = %+v, %v", info, err)
	}
	if _, err := b.store.Stream(group, "nope"); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("Stream(unknown) = %v", err)
	}
}

func TestStartPurgingStopsOnClose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.writer(t, "s")
	write(t, w, "x\n")
	w.Close()
	if err := b.store.SetRetention(group, 1); err != nil {
		t.Fatal(err)
	}
	b.clock.advance(3 * day)
	b.store.StartPurging(time.Hour, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := b.store.Stream(group, "s"); errors.Is(err, gantry.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the purge loop did not purge on start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan error)
	go func() { done <- b.store.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the purge loop")
	}
}
