package storesqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file holds the small resources: compute environments, job queues,
// job definitions, outbox events and meta settings. Jobs are in job.go.

func (q *querier) ComputeEnvironmentDelete(ctx context.Context, name string) error {
	return wrap(mustAffect(rowsAffected(q.write.exec(ctx, computeEnvironmentDelete, name))),
		"delete compute environment %q", name)
}

func (q *querier) ComputeEnvironmentGet(ctx context.Context, name string) (*gantry.ComputeEnvironment, error) {
	ce, err := getDoc[gantry.ComputeEnvironment](ctx, q.read, computeEnvironmentGet, name)
	return ce, wrap(err, "get compute environment %q", name)
}

func (q *querier) ComputeEnvironmentInsert(ctx context.Context, ce *gantry.ComputeEnvironment) error {
	detail, err := marshal(ce)
	if err == nil {
		_, err = q.write.exec(ctx, computeEnvironmentInsert, ce.ComputeEnvironmentName, detail)
	}
	return wrap(err, "insert compute environment %q", ce.ComputeEnvironmentName)
}

func (q *querier) ComputeEnvironmentList(ctx context.Context, params *store.ComputeEnvironmentListParams) ([]*gantry.ComputeEnvironment, error) {
	if params == nil {
		params = &store.ComputeEnvironmentListParams{}
	}
	names, err := jsonList(params.Names)
	if err != nil {
		return nil, wrap(err, "list compute environments")
	}
	ces, err := listDocs[gantry.ComputeEnvironment](ctx, q.read, computeEnvironmentList, names, params.AfterName, limit(params.Limit))
	return ces, wrap(err, "list compute environments")
}

func (q *querier) ComputeEnvironmentUpdate(ctx context.Context, ce *gantry.ComputeEnvironment) error {
	detail, err := marshal(ce)
	if err == nil {
		err = mustAffect(rowsAffected(q.write.exec(ctx, computeEnvironmentUpdate, ce.ComputeEnvironmentName, detail)))
	}
	return wrap(err, "update compute environment %q", ce.ComputeEnvironmentName)
}

func (q *querier) EventInsert(ctx context.Context, ev *store.Event) error {
	resources, err := marshal(ev.Resources)
	if err != nil {
		return wrap(err, "insert event")
	}
	if ev.UUID == "" {
		ev.UUID = uuid.NewString()
	}
	res, err := q.write.exec(ctx, eventInsert, ev.Time, ev.DetailType, ev.Source, resources, ev.Detail, ev.UUID)
	if err != nil {
		return wrap(err, "insert event")
	}
	id, err := res.LastInsertId()
	if err != nil {
		return wrap(err, "insert event")
	}
	ev.ID = id
	return nil
}

func (q *querier) EventList(ctx context.Context, params *store.EventListParams) ([]*store.Event, error) {
	if params == nil {
		params = &store.EventListParams{}
	}
	rows, err := q.read.query(ctx, eventList, params.AfterID, limit(params.Limit))
	if err != nil {
		return nil, wrap(err, "list events")
	}
	defer rows.Close()
	var events []*store.Event
	for rows.Next() {
		ev := &store.Event{}
		var resources []byte
		if err := rows.Scan(&ev.ID, &ev.Time, &ev.DetailType, &ev.Source, &resources, &ev.Detail, &ev.UUID); err != nil {
			return nil, wrap(err, "list events")
		}
		if err := json.Unmarshal(resources, &ev.Resources); err != nil {
			return nil, wrap(err, "list events: decode resources of event %d", ev.ID)
		}
		events = append(events, ev)
	}
	return events, wrap(rows.Err(), "list events")
}

func (q *querier) JobDefinitionGet(ctx context.Context, params *store.JobDefinitionGetParams) (*gantry.JobDefinition, error) {
	if params.Revision == 0 {
		def, err := getDoc[gantry.JobDefinition](ctx, q.read, jobDefinitionGetActive, params.Name)
		return def, wrap(err, "get latest active job definition %q", params.Name)
	}
	def, err := getDoc[gantry.JobDefinition](ctx, q.read, jobDefinitionGet, params.Name, params.Revision)
	return def, wrap(err, "get job definition %s:%d", params.Name, params.Revision)
}

// JobDefinitionInsert stores one revision. A trigger records the highest
// revision per name for JobDefinitionLatestRevision.
func (q *querier) JobDefinitionInsert(ctx context.Context, def *gantry.JobDefinition) error {
	detail, err := marshal(def)
	if err == nil {
		_, err = q.write.exec(ctx, jobDefinitionInsert, def.JobDefinitionName, def.Revision, def.Status, detail)
	}
	return wrap(err, "insert job definition %s:%d", def.JobDefinitionName, def.Revision)
}

func (q *querier) JobDefinitionLatestRevision(ctx context.Context, name string) (int32, error) {
	var rev int32
	err := q.read.queryRow(ctx, jobDefinitionLatestRevision, name).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return rev, wrap(err, "latest revision of job definition %q", name)
}

func (q *querier) JobDefinitionList(ctx context.Context, params *store.JobDefinitionListParams) ([]*gantry.JobDefinition, error) {
	if params == nil {
		params = &store.JobDefinitionListParams{}
	}
	var afterName, afterRevision any
	if params.After != nil {
		afterName, afterRevision = params.After.Name, params.After.Revision
	}
	defs, err := listDocs[gantry.JobDefinition](ctx, q.read, jobDefinitionList,
		params.Name, params.Status, afterName, afterRevision, limit(params.Limit))
	return defs, wrap(err, "list job definitions")
}

func (q *querier) JobDefinitionUpdate(ctx context.Context, def *gantry.JobDefinition) error {
	detail, err := marshal(def)
	if err == nil {
		err = mustAffect(rowsAffected(q.write.exec(ctx, jobDefinitionUpdate, def.JobDefinitionName, def.Revision, def.Status, detail)))
	}
	return wrap(err, "update job definition %s:%d", def.JobDefinitionName, def.Revision)
}

func (q *querier) JobQueueDelete(ctx context.Context, name string) error {
	defer q.queueWrite()()
	return wrap(mustAffect(rowsAffected(q.write.exec(ctx, jobQueueDelete, name))), "delete job queue %q", name)
}

func (q *querier) JobQueueGet(ctx context.Context, name string) (*gantry.JobQueue, error) {
	var gen uint64
	if q.inTx && q.queues != nil {
		var jq *gantry.JobQueue
		if jq, gen = q.queues.txGet(name); jq != nil {
			return jq, nil
		}
	}
	var detail string
	if err := q.read.queryRow(ctx, jobQueueGet, name).Scan(&detail); err != nil {
		return nil, wrap(err, "get job queue %q", name)
	}
	jq, err := q.queues.decode(name, detail)
	if err == nil && q.inTx && q.queues != nil {
		q.queues.txPut(name, jq, gen)
	}
	return jq, wrap(err, "get job queue %q", name)
}

// queueWrite tells the queue cache a job_queues write begins; call the
// function it returns when the write is done.
func (q *querier) queueWrite() func() {
	if q.queues == nil {
		return func() {}
	}
	q.queues.writeBegin()
	return q.queues.writeEnd
}

func (q *querier) JobQueueInsert(ctx context.Context, jq *gantry.JobQueue) error {
	defer q.queueWrite()()
	detail, err := marshal(jq)
	if err == nil {
		_, err = q.write.exec(ctx, jobQueueInsert, jq.JobQueueName, jq.Priority, detail)
	}
	return wrap(err, "insert job queue %q", jq.JobQueueName)
}

func (q *querier) JobQueueList(ctx context.Context, params *store.JobQueueListParams) ([]*gantry.JobQueue, error) {
	if params == nil {
		params = &store.JobQueueListParams{}
	}
	names, err := jsonList(params.Names)
	if err != nil {
		return nil, wrap(err, "list job queues")
	}
	jqs, err := listDocs[gantry.JobQueue](ctx, q.read, jobQueueList, names, params.AfterName, limit(params.Limit))
	return jqs, wrap(err, "list job queues")
}

func (q *querier) JobQueueUpdate(ctx context.Context, jq *gantry.JobQueue) error {
	defer q.queueWrite()()
	detail, err := marshal(jq)
	if err == nil {
		err = mustAffect(rowsAffected(q.write.exec(ctx, jobQueueUpdate, jq.JobQueueName, jq.Priority, detail)))
	}
	return wrap(err, "update job queue %q", jq.JobQueueName)
}

func (q *querier) MetaGet(ctx context.Context, key string) (string, error) {
	var value string
	err := q.read.queryRow(ctx, metaGet, key).Scan(&value)
	return value, wrap(err, "get meta %q", key)
}

func (q *querier) MetaSet(ctx context.Context, key, value string) error {
	_, err := q.write.exec(ctx, metaSet, key, value)
	return wrap(err, "set meta %q", key)
}

// getDoc runs a query returning one JSON document and decodes it.
func getDoc[T any](ctx context.Context, h handle, query string, args ...any) (*T, error) {
	var detail []byte
	if err := h.queryRow(ctx, query, args...).Scan(&detail); err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(detail, v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return v, nil
}

// listDocs runs a query returning JSON documents and decodes them.
func listDocs[T any](ctx context.Context, h handle, query string, args ...any) ([]*T, error) {
	rows, err := h.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	var detail []byte
	for rows.Next() {
		if err := rows.Scan(&detail); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(detail, v); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// marshal encodes v as the JSON text stored in a detail column. It returns
// a string: SQLite would treat a []byte as a BLOB (JSONB to its JSON
// functions).
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return string(b), nil
}

// jsonList encodes a list filter for json_each; an empty list is NULL (no
// filter).
func jsonList(values []string) (any, error) {
	if len(values) == 0 {
		return nil, nil
	}
	return marshal(values)
}

// mustAffect turns "no row changed" into gantry.ErrNotFound.
func mustAffect(n int64, err error) error {
	if err == nil && n == 0 {
		return gantry.ErrNotFound
	}
	return err
}

// wrap adds context to err after translating it with interpretError; it
// returns nil for a nil err.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("storesqlite: %s: %w", fmt.Sprintf(format, args...), interpretError(err))
}
