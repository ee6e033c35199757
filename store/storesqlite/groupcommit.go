package storesqlite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantrybatch/gantry/store"
)

// errClosed is returned by InTx after Close.
var errClosed = errors.New("storesqlite: store is closed")

// committer is group commit: one goroutine owns the writer's transactions.
// InTx hands it a request; it takes every request waiting (up to maxBatch),
// opens one BEGIN IMMEDIATE transaction, runs each callback inside its own
// SAVEPOINT (a failing callback rolls back to its savepoint and leaves the
// others' writes alone), commits once, and then answers every caller. One
// fsync thus covers many API calls: with synchronous=FULL a commit costs a
// WAL fsync (~0.2 ms here), which alone capped SubmitJob at ~4,000/s.
//
// When only one request is waiting it runs alone at once, so an idle store
// adds no latency. The order of callbacks inside a batch is the order the
// requests arrived; each callback sees the writes of those before it, as it
// would with one transaction after another.
//
// The committer is the one serial stage of every write, so its goroutine may
// get an OS thread of its own with a higher priority (Config.WriterNice):
// on a busy machine the thread otherwise waits for a CPU behind request
// decoding, which has plenty of parallel work, while every writer waits for
// it. On two cores under 16 SubmitJob clients that priority alone raised
// throughput by 11-28% in interleaved runs (docs/benchmarks.md).
//
// database/sql and SQLite have no group commit of their own, so this is
// written here. On PostgreSQL concurrent transactions share WAL flushes
// natively, so storepg will not need it.
type committer struct {
	w        *dbHandle
	queues   *queueCache // for the transactions' queriers
	maxBatch int
	nice     int // the loop thread's nice value; 0: leave it alone
	reqs     chan *txRequest
	quit     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	// commits counts committed batches, calls the callbacks they held,
	// busy the nanoseconds spent running batches (CommitStats).
	commits, calls, busy atomic.Int64
}

// Request states: a queued request is claimed by the committer (running)
// or abandoned by its caller whose context ended, whichever comes first.
const (
	reqQueued int32 = iota
	reqRunning
	reqAbandoned
)

// The savepoint statements, prepared with the write queries.
const (
	savepointBegin    = "SAVEPOINT g"
	savepointRollback = "ROLLBACK TO g"
	savepointRelease  = "RELEASE g"
)

type txRequest struct {
	state atomic.Int32
	ctx   context.Context
	fn    func(ctx context.Context, tx store.Tx) error
	done  chan txResult
}

type txResult struct {
	err error
	// panicked and panicVal carry a callback's panic back to its caller,
	// which re-panics in its own goroutine.
	panicked bool
	panicVal any
}

// startCommitter starts the loop. With nice != 0 the loop locks itself to
// an OS thread and sets that thread's nice value; the error of doing so is
// returned (the loop runs either way, at the priority it got).
func startCommitter(w *dbHandle, maxBatch, nice int) (*committer, error) {
	c := &committer{
		w:        w,
		maxBatch: cmp.Or(maxBatch, 256),
		nice:     nice,
		reqs:     make(chan *txRequest, cmp.Or(maxBatch, 256)),
		quit:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	started := make(chan error, 1)
	go c.loop(started)
	return c, <-started
}

// stop ends the loop after the batch in progress; later InTx calls fail.
func (c *committer) stop() {
	c.stopOnce.Do(func() { close(c.quit) })
	<-c.stopped
}

func (c *committer) loop(started chan<- error) {
	defer close(c.stopped)
	var err error
	if c.nice != 0 {
		// Never unlocked: the thread ends with the goroutine, so no other
		// goroutine inherits its priority (nor do processes forked from it).
		runtime.LockOSThread()
		err = setThreadNice(c.nice)
	}
	started <- err
	batch := make([]*txRequest, 0, c.maxBatch)
	for {
		select {
		case <-c.quit:
			return
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		}
	drain:
		for len(batch) < c.maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		start := time.Now()
		c.run(batch)
		c.busy.Add(int64(time.Since(start)))
		clear(batch)
	}
}

// CommitStats reports group commit's running totals.
func (s *Store) CommitStats() store.CommitStats {
	return store.CommitStats{Commits: s.commits.commits.Load(), Calls: s.commits.calls.Load(), Busy: time.Duration(s.commits.busy.Load())}
}

// InTx runs fn in a transaction on the writer and commits if fn returns
// nil; fn's error is returned unchanged. The transaction may be shared with
// other concurrent InTx calls (group commit), isolated by a savepoint. fn is
// not retried: with a single writer there are no serialization failures.
//
// fn's statements run with ctx's values but are not interrupted when ctx is
// cancelled: an interrupted write makes SQLite roll back the whole shared
// transaction. InTx does give up waiting for its turn when ctx is done.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &txRequest{ctx: ctx, fn: fn, done: make(chan txResult, 1)}
	select {
	case s.commits.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.commits.quit:
		return errClosed
	}
	var res txResult
	select {
	case res = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return ctx.Err() // never ran, never will
		}
		res = <-r.done // already running: its outcome stands
	case <-s.commits.stopped:
		select {
		case res = <-r.done: // answered just before the loop ended
		default:
			return errClosed
		}
	}
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

// run executes one batch and answers every request in it.
func (c *committer) run(batch []*txRequest) {
	results := make([]txResult, len(batch))
	tx, err := c.w.db.BeginTx(context.Background(), nil)
	if err != nil {
		err = fmt.Errorf("storesqlite: begin: %w", err)
		for _, r := range batch {
			r.done <- txResult{err: err}
		}
		return
	}
	h := &txHandle{tx: tx, stmts: c.w.stmts}
	q := &querier{read: h, write: h, queues: c.queues, inTx: true}
	ok := 0 // callbacks whose writes are to be committed
	var fatal error
	for i, r := range batch {
		if !r.state.CompareAndSwap(reqQueued, reqRunning) {
			results[i].err = r.ctx.Err() // abandoned by its caller
			continue
		}
		if _, err := h.exec(context.Background(), savepointBegin); err != nil {
			fatal = fmt.Errorf("storesqlite: savepoint: %w", err)
			break
		}
		results[i] = runCallback(r, q)
		if results[i].err != nil || results[i].panicked {
			c.queues.txReset() // queues it read may hold its undone writes
			if _, err := h.exec(context.Background(), savepointRollback); err != nil {
				// SQLite rolled back the whole transaction (an I/O
				// error, an interrupt): nothing of the batch stands.
				fatal = fmt.Errorf("storesqlite: rollback to savepoint: %w", err)
				break
			}
		} else {
			ok++
		}
		if _, err := h.exec(context.Background(), savepointRelease); err != nil {
			fatal = fmt.Errorf("storesqlite: release savepoint: %w", err)
			break
		}
	}
	if fatal == nil && ok > 0 {
		if err := tx.Commit(); err != nil {
			fatal = fmt.Errorf("storesqlite: commit: %w", err)
		} else {
			c.commits.Add(1)
			c.calls.Add(int64(len(batch)))
		}
	} else {
		_ = tx.Rollback()
	}
	if fatal != nil {
		c.queues.txReset()
	}
	for i, r := range batch {
		res := results[i]
		if fatal != nil && res.err == nil && !res.panicked {
			// Its writes were not committed, or it never ran.
			res.err = fatal
		}
		r.done <- res
	}
}

// runCallback runs one request's fn, turning a panic into a result.
func runCallback(r *txRequest, q *querier) (res txResult) {
	defer func() {
		if v := recover(); v != nil {
			res = txResult{panicked: true, panicVal: v}
		}
	}()
	return txResult{err: r.fn(context.WithoutCancel(r.ctx), q)}
}
