// Package joblog stores job output durably, one append-only stream per
// attempt, on the CloudWatch Logs model: streams belong to groups (Batch
// uses the group /aws/batch/job and streams named
// <jobDefinitionName>/default/<taskId>), and are read back with
// GetLogEvents semantics (see Store.Read).
//
// On disk a stream is the file <dir>/<escaped group>/<escaped stream>.log:
// a header line, then one line per event,
//
//	#gantry-joblog v1 <creationTime>
//	<timestamp> <ingestionTime> <message>
//
// with times in epoch milliseconds. Names are escaped so that any stream
// name (they contain '/') is one file name. Messages never contain '\n',
// since writers split on it, and event timestamps never decrease within a
// file, which lets readers binary-search time ranges. Read tokens are byte
// offsets of line starts, which never move in an append-only file.
//
// A group's directory also holds .group.json, its creation time and
// retention (see SetRetention and Purge). A stream stops growing at the
// Store's size cap (WithMaxStreamBytes): one last marker event says so and
// further output is dropped.
//
// A stream's events are durable once the Writer that wrote them is closed:
// Close fsyncs the file (and, the first time, its directory). A stream
// that got no events is never synced: a power failure may take it away, or
// leave its file without a header, which reads as an empty stream.
//
// One Store owns a directory; several processes must not write to the same
// directory.
package joblog

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantrybatch/gantry"
)

// Limits and names.
const (
	// DefaultGroup is the log group of Batch jobs.
	DefaultGroup = "/aws/batch/job"
	// MaxEventSize is the largest message of one event: CloudWatch's 256 KiB
	// event limit less its 26 bytes of per-event overhead, as Docker's
	// awslogs driver splits lines. Longer lines become several events.
	MaxEventSize = 256*1024 - 26
	// MaxLimit is the largest (and default) number of events Read returns.
	MaxLimit = 10000
	// maxReadBytes bounds one Read's messages, like GetLogEvents' 1 MB.
	maxReadBytes = 1 << 20
	// eventOverhead is what CloudWatch counts per event on top of the message.
	eventOverhead = 26
	// maxNameLen is CloudWatch's limit on group and stream names.
	maxNameLen = 512
	// DefaultMaxStreamBytes is the default size cap of one stream.
	DefaultMaxStreamBytes = 1 << 30
	// headerPrefix starts a stream file's first line.
	headerPrefix = "#gantry-joblog v1 "
	fileSuffix   = ".log"
)

// ErrInvalidToken is returned by Read for a token it did not hand out.
var ErrInvalidToken = errors.New("joblog: invalid token")

// Store is a directory of log streams. It is safe for concurrent use.
type Store struct {
	dir            string
	now            func() time.Time
	maxStreamBytes int64 // 0: unlimited

	mu      sync.Mutex
	closed  bool
	streams map[streamKey]*streamFile // streams with open Writers

	purging sync.Once     // StartPurging's loop is started once
	done    chan struct{} // closed by Close: stops the purge loop
	wg      sync.WaitGroup

	syncs atomic.Int64 // fsyncs of stream files and their directories, for tests
}

type streamKey struct{ group, stream string }

// Option configures a Store.
type Option func(*Store)

// WithClock makes the Store timestamp events with now instead of the wall
// clock. For tests.
func WithClock(_ testing.TB, now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithMaxStreamBytes caps the size of each stream file (default
// DefaultMaxStreamBytes; 0 or less: unlimited). Past the cap a Writer
// appends one marker event, "[gantry: log stream truncated at N bytes]",
// and drops further output without error, so that a job printing without
// end neither fills the disk nor grows memory.
func WithMaxStreamBytes(n int64) Option {
	return func(s *Store) { s.maxStreamBytes = max(n, 0) }
}

// Open opens (creating it if needed) the store in dir.
func Open(dir string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("joblog: open %s: %w", dir, err)
	}
	s := &Store{
		dir: dir, now: time.Now, maxStreamBytes: DefaultMaxStreamBytes,
		streams: map[streamKey]*streamFile{}, done: make(chan struct{}),
	}
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

// Close stops the purge loop and closes the files of Writers still open;
// their later writes fail.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait() // the purge loop takes s.mu: wait for it unlocked
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for k, sf := range s.streams {
		sf.mu.Lock()
		if err := s.syncStream(sf); err != nil {
			errs = append(errs, err)
		}
		if err := sf.f.Close(); err != nil {
			errs = append(errs, err)
		}
		sf.mu.Unlock()
		delete(s.streams, k)
	}
	return errors.Join(errs...)
}

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

// validGroup follows CloudWatch: [.-_/#A-Za-z0-9]{1,512}.
func validGroup(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("joblog: log group name must be 1 to %d characters", maxNameLen)
	}
	for _, c := range []byte(name) {
		if !isAlnum(c) && !strings.ContainsRune("._-/#", rune(c)) {
			return fmt.Errorf("joblog: log group name %q: character %q not allowed", name, c)
		}
	}
	return nil
}

// validStream follows CloudWatch: 1-512 characters, no ':' or '*'.
func validStream(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("joblog: log stream name must be 1 to %d characters", maxNameLen)
	}
	if strings.ContainsAny(name, ":*\x00") {
		return fmt.Errorf("joblog: log stream name %q must not contain ':' or '*'", name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// escapeName makes a name one safe file name: bytes other than letters,
// digits, '-', '_' and non-leading '.' become %XX.
func escapeName(name string) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(name)+16)
	for i, c := range []byte(name) {
		if isAlnum(c) || c == '-' || c == '_' || (c == '.' && i > 0) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unescapeName(s string) (string, bool) {
	name, err := url.PathUnescape(s)
	return name, err == nil && escapeName(name) == s
}

// path returns a stream's file, checking the names.
func (s *Store) path(group, stream string) (string, error) {
	if err := validGroup(group); err != nil {
		return "", err
	}
	if err := validStream(stream); err != nil {
		return "", err
	}
	dir, file := escapeName(group), escapeName(stream)+fileSuffix
	if len(dir) > 255 || len(file) > 255 {
		return "", fmt.Errorf("joblog: log group or stream name too long once escaped: %q %q", group, stream)
	}
	return filepath.Join(s.dir, dir, file), nil
}

// Groups returns the names of the log groups, sorted.
func (s *Store) Groups() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("joblog: list groups: %w", err)
	}
	var groups []string
	for _, e := range entries {
		if name, ok := unescapeName(e.Name()); ok && e.IsDir() && validGroup(name) == nil {
			groups = append(groups, name)
		}
	}
	slices.Sort(groups)
	return groups, nil
}

// StreamInfo describes a stream, like DescribeLogStreams. Times are epoch
// milliseconds; the event times are 0 while the stream has no events.
type StreamInfo struct {
	Name                string
	CreationTime        int64
	FirstEventTimestamp int64
	LastEventTimestamp  int64
	LastIngestionTime   int64
	StoredBytes         int64
}

// Streams describes the streams of group whose names start with prefix,
// sorted by name. An unknown group is an error wrapping gantry.ErrNotFound.
func (s *Store) Streams(group, prefix string) ([]StreamInfo, error) {
	if err := validGroup(group); err != nil {
		return nil, fmt.Errorf("log group %q: %w", group, gantry.ErrNotFound)
	}
	dir := filepath.Join(s.dir, escapeName(group))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("log group %q: %w", group, gantry.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("joblog: list streams of %s: %w", group, err)
	}
	var infos []StreamInfo
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), fileSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		name, ok := unescapeName(base)
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		info, err := describeStream(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("joblog: describe %s %s: %w", group, name, err)
		}
		info.Name = name
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b StreamInfo) int { return cmp.Compare(a.Name, b.Name) })
	return infos, nil
}

func describeStream(path string) (StreamInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return StreamInfo{}, err
	}
	defer f.Close()
	sf, err := openForRead(f)
	if err != nil {
		return StreamInfo{}, err
	}
	info := StreamInfo{CreationTime: sf.creation, StoredBytes: sf.size}
	if sf.end > sf.dataStart {
		first, _, err := readLineAt(f, sf.dataStart, sf.end)
		if err != nil {
			return info, err
		}
		last, _, err := lastLine(f, sf.dataStart, sf.end)
		if err != nil {
			return info, err
		}
		info.FirstEventTimestamp = first.Timestamp
		info.LastEventTimestamp = last.Timestamp
		info.LastIngestionTime = last.IngestionTime
	}
	return info, nil
}

// readFile is a stream file opened for reading: its events lie in
// [dataStart, end), end being just after the last complete line.
type readFile struct {
	creation  int64
	dataStart int64
	end       int64
	size      int64
}

func openForRead(f *os.File) (readFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return readFile{}, err
	}
	rf := readFile{size: fi.Size()}
	// The header.
	head := make([]byte, min(rf.size, 64))
	if _, err := f.ReadAt(head, 0); err != nil && err != io.EOF {
		return rf, err
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 && bytes.HasPrefix(head, []byte(headerPrefix)) {
		rf.dataStart = int64(i + 1)
		rf.creation, _ = strconv.ParseInt(string(head[len(headerPrefix):i]), 10, 64)
	} else {
		// No complete header yet: an empty stream.
		return rf, nil
	}
	// A writer may be halfway through a line: stop after the last '\n'.
	end, err := lastNewlineEnd(f, rf.dataStart, rf.size)
	if err != nil {
		return rf, err
	}
	rf.end = end
	return rf, nil
}

// lastNewlineEnd returns the offset just after the last '\n' in
// [from, size), or from if there is none.
func lastNewlineEnd(r io.ReaderAt, from, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for hi := size; hi > from; {
		lo := max(from, hi-chunk)
		b := buf[:hi-lo]
		if _, err := r.ReadAt(b, lo); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return lo + int64(i) + 1, nil
		}
		hi = lo
	}
	return from, nil
}
