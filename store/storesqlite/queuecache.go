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
type queueCache struct {
	mu sync.Mutex
	m  map[string]queueEntry
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

func decodeQueue(detail string) (*gantry.JobQueue, error) {
	q := new(gantry.JobQueue)
	if err := json.Unmarshal([]byte(detail), q); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return q, nil
}
