package joblog

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gantrybatch/gantry"
)

// groupMetaFile holds a group's metadata in its directory. Stream files
// end in .log and escaped names never start with '.', so it cannot clash
// with a stream.
const groupMetaFile = ".group.json"

// RetentionDays are the retention periods CloudWatch Logs accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// ErrInvalidRetention is returned by SetRetention for a period not in
// RetentionDays.
var ErrInvalidRetention = errors.New("joblog: invalid retention period")

const dayMs = 24 * 60 * 60 * 1000

// groupMeta is the content of groupMetaFile.
type groupMeta struct {
	CreationTime    int64 `json:"creationTime"`
	RetentionInDays int   `json:"retentionInDays,omitempty"`
}

// GroupInfo describes a log group, like DescribeLogGroups.
type GroupInfo struct {
	Name string
	// CreationTime is in epoch milliseconds.
	CreationTime int64
	// RetentionInDays is 0 when the group keeps its streams forever.
	RetentionInDays int
	// StoredBytes is the size of the group's stream files.
	StoredBytes int64
}

func (s *Store) groupDir(group string) string { return filepath.Join(s.dir, escapeName(group)) }

// ensureGroup creates a group's directory and metadata if needed. The
// caller holds s.mu.
func (s *Store) ensureGroup(group string) error {
	dir := s.groupDir(group)
	_, err := os.Stat(dir)
	if err == nil {
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("joblog: group %s: %w", group, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("joblog: create group %s: %w", group, err)
	}
	if err := writeGroupMeta(dir, groupMeta{CreationTime: s.nowMs()}); err != nil {
		return fmt.Errorf("joblog: create group %s: %w", group, err)
	}
	// The group directory's own name (streams sync only their group).
	return syncDir(s.dir)
}

// readGroupMeta reads a group's metadata. A group without it (made before
// there was any) has no retention and its directory's time as creation
// time. A missing group is an error wrapping gantry.ErrNotFound.
func readGroupMeta(group, dir string) (groupMeta, error) {
	b, err := os.ReadFile(filepath.Join(dir, groupMetaFile))
	if errors.Is(err, os.ErrNotExist) {
		fi, serr := os.Stat(dir)
		if errors.Is(serr, os.ErrNotExist) || (serr == nil && !fi.IsDir()) {
			return groupMeta{}, fmt.Errorf("log group %q: %w", group, gantry.ErrNotFound)
		}
		if serr != nil {
			return groupMeta{}, fmt.Errorf("joblog: group %s: %w", group, serr)
		}
		return groupMeta{CreationTime: fi.ModTime().UnixMilli()}, nil
	}
	if err != nil {
		return groupMeta{}, fmt.Errorf("joblog: group %s: %w", group, err)
	}
	var m groupMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return groupMeta{}, fmt.Errorf("joblog: group %s: corrupt %s: %w", group, groupMetaFile, err)
	}
	return m, nil
}

// writeGroupMeta replaces a group's metadata atomically and durably.
func writeGroupMeta(dir string, m groupMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, groupMetaFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, groupMetaFile))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// SetRetention makes Purge delete the group's streams whose last event is
// more than days days old; days 0 keeps them forever (CloudWatch's
// DeleteRetentionPolicy). Other values must be in RetentionDays, else the
// error wraps ErrInvalidRetention. An unknown group is an error wrapping
// gantry.ErrNotFound.
func (s *Store) SetRetention(group string, days int) error {
	if days != 0 && !slices.Contains(RetentionDays, days) {
		return fmt.Errorf("%w: %d days", ErrInvalidRetention, days)
	}
	if validGroup(group) != nil {
		return fmt.Errorf("log group %q: %w", group, gantry.ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("joblog: store closed")
	}
	dir := s.groupDir(group)
	m, err := readGroupMeta(group, dir)
	if err != nil {
		return err
	}
	m.RetentionInDays = days
	if err := writeGroupMeta(dir, m); err != nil {
		return fmt.Errorf("joblog: set retention of %s: %w", group, err)
	}
	return nil
}

// Retention returns the group's retention in days, 0 if it keeps its
// streams forever. An unknown group is an error wrapping gantry.ErrNotFound.
func (s *Store) Retention(group string) (int, error) {
	if validGroup(group) != nil {
		return 0, fmt.Errorf("log group %q: %w", group, gantry.ErrNotFound)
	}
	m, err := readGroupMeta(group, s.groupDir(group))
	return m.RetentionInDays, err
}

// DescribeGroups describes the groups whose names start with prefix,
// sorted by name.
func (s *Store) DescribeGroups(prefix string) ([]GroupInfo, error) {
	names, err := s.Groups()
	if err != nil {
		return nil, err
	}
	var infos []GroupInfo
	for _, name := range names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		info, err := s.describeGroup(name)
		if errors.Is(err, gantry.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

func (s *Store) describeGroup(group string) (GroupInfo, error) {
	dir := s.groupDir(group)
	m, err := readGroupMeta(group, dir)
	if err != nil {
		return GroupInfo{}, err
	}
	info := GroupInfo{Name: group, CreationTime: m.CreationTime, RetentionInDays: m.RetentionInDays}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return GroupInfo{}, fmt.Errorf("joblog: list streams of %s: %w", group, err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), fileSuffix) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil {
			info.StoredBytes += fi.Size()
		}
	}
	return info, nil
}

// Stream describes one stream. An unknown group or stream is an error
// wrapping gantry.ErrNotFound.
func (s *Store) Stream(group, stream string) (StreamInfo, error) {
	path, err := s.path(group, stream)
	if err != nil {
		return StreamInfo{}, fmt.Errorf("log stream %q in group %q: %w", stream, group, gantry.ErrNotFound)
	}
	info, err := describeStream(path)
	if errors.Is(err, os.ErrNotExist) {
		return StreamInfo{}, fmt.Errorf("log stream %q in group %q: %w", stream, group, gantry.ErrNotFound)
	}
	if err != nil {
		return StreamInfo{}, fmt.Errorf("joblog: describe %s %s: %w", group, stream, err)
	}
	info.Name = stream
	return info, nil
}

// PurgeResult is what a Purge deleted.
type PurgeResult struct {
	Streams int
	Bytes   int64
}

// Purge deletes, in every group with a retention period, the streams whose
// last event (or creation, for a stream without events) is older than the
// period at now. Streams with open Writers are kept. Groups stay, even
// when emptied.
func (s *Store) Purge(now time.Time) (*PurgeResult, error) {
	groups, err := s.Groups()
	if err != nil {
		return nil, err
	}
	res := &PurgeResult{}
	var errs []error
	for _, group := range groups {
		dir := s.groupDir(group)
		m, err := readGroupMeta(group, dir)
		if err != nil {
			if !errors.Is(err, gantry.ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		if m.RetentionInDays == 0 {
			continue
		}
		cutoff := now.UnixMilli() - int64(m.RetentionInDays)*dayMs
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("joblog: purge %s: %w", group, err))
			continue
		}
		for _, e := range entries {
			base, ok := strings.CutSuffix(e.Name(), fileSuffix)
			if !ok || !e.Type().IsRegular() {
				continue
			}
			name, ok := unescapeName(base)
			if !ok {
				continue
			}
			bytes, err := s.purgeStream(streamKey{group, name}, filepath.Join(dir, e.Name()), cutoff)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if bytes >= 0 {
				res.Streams++
				res.Bytes += bytes
			}
		}
	}
	return res, errors.Join(errs...)
}

// purgeStream deletes a stream not written to since before cutoff and
// returns its size, or -1 if it is kept. Holding s.mu keeps a Writer from
// opening the stream meanwhile.
func (s *Store) purgeStream(key streamKey, path string, cutoff int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return -1, errors.New("joblog: store closed")
	}
	if _, open := s.streams[key]; open {
		return -1, nil
	}
	info, err := describeStream(path)
	if errors.Is(err, os.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("joblog: purge %s %s: %w", key.group, key.stream, err)
	}
	last := info.LastEventTimestamp
	if info.LastIngestionTime == 0 {
		last = info.CreationTime // no events
	}
	if last >= cutoff {
		return -1, nil
	}
	if err := os.Remove(path); err != nil {
		return -1, fmt.Errorf("joblog: purge %s %s: %w", key.group, key.stream, err)
	}
	return info.StoredBytes, nil
}

// StartPurging runs Purge now and then every interval, until Close,
// logging what it deleted. Calls after the first do nothing.
func (s *Store) StartPurging(interval time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	s.purging.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				start := time.Now()
				res, err := s.Purge(s.now())
				select {
				case <-s.done:
					return // closed meanwhile: errors are expected
				default:
				}
				switch {
				case err != nil:
					logger.Warn("purge log streams", "error", err)
				case res.Streams > 0:
					logger.Info("purged log streams past their retention", "streams", res.Streams,
						"bytes", res.Bytes, "duration_ms", time.Since(start).Milliseconds())
				}
				select {
				case <-s.done:
					return
				case <-t.C:
				}
			}
		}()
	})
}
