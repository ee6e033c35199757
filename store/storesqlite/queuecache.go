package storesqlite

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/gantrybatch/gantry"
)

// queueCacheMax bounds queueCache; when full it starts over.
const queueCacheMax = 1024

// queueCache keeps the decoded document of each job queue read, keyed by
// name with the stored text it was decoded from. Every SubmitJob reads its
// queue inside the write transaction (to check it atomically), and decoding
// the JSON there took a tenth of the single writer's time; the row is still
// read every time, and only a byte-identical document is taken from the
// cache, so the database stays the source of truth. Callers get a deep copy
// (gantry.JobQueue.Clone) they may change.
//
// Inside the write transactions it goes one step further (txGet, txPut):
// the queues the writer read are kept without their rows, so a SubmitJob
// reads no row at all. That is sound because every write to job_queues
// goes through this store's single writer, which tells the cache
// (writeBegin, writeEnd), and because the cache forgets everything when
// a transaction's writes are undone (txReset: a savepoint rolled back, a
// batch that did not commit). Readers on the pool never use that part.
// The PostgreSQL store, with several replicas writing, will read the row.
type queueCache struct {
	mu sync.Mutex
	m  map[string]queueEntry
	// tx holds the queues read inside write transactions; gen changes
	// with every write and reset; writing counts writes in progress,
	// during which tx is not used.
	tx      map[string]*gantry.JobQueue
	gen     uint64
	writing int
}

type queueEntry struct {
	detail string
	q      *gantry.JobQueue
}

// decode returns the queue stored as detail under name.
func (c *queueCache) decode(name, detail string) (*gantry.JobQueue, error) {
	if c == nil {
		return decodeQueue(detail)
	}
	c.mu.Lock()
	e, ok := c.m[name]
	c.mu.Unlock()
	if ok && e.detail == detail {
		return e.q.Clone(), nil
	}
	q, err := decodeQueue(detail)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= queueCacheMax {
		c.m = map[string]queueEntry{}
	}
	c.m[name] = queueEntry{detail: detail, q: q.Clone()}
	c.mu.Unlock()
	return q, nil
}

// txGet returns the writer's copy of the queue, and the generation to pass
// to txPut on a miss.
func (c *queueCache) txGet(name string) (*gantry.JobQueue, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q, ok := c.tx[name]; ok && c.writing == 0 {
		return q.Clone(), c.gen
	}
	return nil, c.gen
}

// txPut keeps q, just read by the writer, unless a write or a reset came
// since txGet returned gen.
func (c *queueCache) txPut(name string, q *gantry.JobQueue, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.writing > 0 {
		return
	}
	if c.tx == nil || len(c.tx) >= queueCacheMax {
		c.tx = map[string]*gantry.JobQueue{}
	}
	c.tx[name] = q.Clone()
}

// writeBegin and writeEnd enclose every statement that writes job_queues.
func (c *queueCache) writeBegin() {
	c.mu.Lock()
	c.writing++
	c.resetLocked()
	c.mu.Unlock()
}

func (c *queueCache) writeEnd() {
	c.mu.Lock()
	c.writing--
	c.resetLocked()
	c.mu.Unlock()
}

// txReset forgets the writer's queues: writes they may reflect were undone.
func (c *queueCache) txReset() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.resetLocked()
	c.mu.Unlock()
}

func (c *queueCache) resetLocked() {
	c.gen++
	c.tx = nil
}

func decodeQueue(detail string) (*gantry.JobQueue, error) {
	q := new(gantry.JobQueue)
	if err := json.Unmarshal([]byte(detail), q); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return q, nil
}
