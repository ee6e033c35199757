package storesqlite

import (
	"context"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file holds scheduling policies and the share usage of fair share
// queues (migration 003). The statements are prepared with the others: see
// readQueries and writeQueries in queries.go.

const (
	schedulingPolicyDelete = `DELETE FROM scheduling_policies WHERE name = ?1`
	schedulingPolicyGet    = `SELECT detail FROM scheduling_policies WHERE name = ?1`
	schedulingPolicyInsert = `INSERT INTO scheduling_policies (name, detail) VALUES (?1, ?2)`
	schedulingPolicyList   = `SELECT detail FROM scheduling_policies
WHERE (?1 IS NULL OR name IN (SELECT value FROM json_each(?1)))
  AND name > ?2
ORDER BY name
LIMIT ?3`
	schedulingPolicyUpdate = `UPDATE scheduling_policies SET detail = ?2 WHERE name = ?1`

	shareUsageList = `SELECT queue_arn, share_identifier, usage, updated_at FROM share_usage
WHERE queue_arn = ?1
ORDER BY share_identifier`
	// shareUsageUpsert writes every row of a JSON array of
	// {"q","s","u","t"} objects in one statement. "WHERE true" keeps
	// SQLite from parsing ON CONFLICT as a join constraint.
	shareUsageUpsert = `INSERT INTO share_usage (queue_arn, share_identifier, usage, updated_at)
SELECT value ->> '$.q', value ->> '$.s', value ->> '$.u', value ->> '$.t' FROM json_each(?1) WHERE true
ON CONFLICT (queue_arn, share_identifier) DO UPDATE SET usage = excluded.usage, updated_at = excluded.updated_at`
)

func (q *querier) SchedulingPolicyDelete(ctx context.Context, name string) error {
	return wrap(mustAffect(rowsAffected(q.write.exec(ctx, schedulingPolicyDelete, name))),
		"delete scheduling policy %q", name)
}

func (q *querier) SchedulingPolicyGet(ctx context.Context, name string) (*gantry.SchedulingPolicy, error) {
	p, err := getDoc[gantry.SchedulingPolicy](ctx, q.read, schedulingPolicyGet, name)
	return p, wrap(err, "get scheduling policy %q", name)
}

func (q *querier) SchedulingPolicyInsert(ctx context.Context, p *gantry.SchedulingPolicy) error {
	detail, err := marshal(p)
	if err == nil {
		_, err = q.write.exec(ctx, schedulingPolicyInsert, p.Name, detail)
	}
	return wrap(err, "insert scheduling policy %q", p.Name)
}

func (q *querier) SchedulingPolicyList(ctx context.Context, params *store.SchedulingPolicyListParams) ([]*gantry.SchedulingPolicy, error) {
	if params == nil {
		params = &store.SchedulingPolicyListParams{}
	}
	names, err := jsonList(params.Names)
	if err != nil {
		return nil, wrap(err, "list scheduling policies")
	}
	ps, err := listDocs[gantry.SchedulingPolicy](ctx, q.read, schedulingPolicyList, names, params.AfterName, limit(params.Limit))
	return ps, wrap(err, "list scheduling policies")
}

func (q *querier) SchedulingPolicyUpdate(ctx context.Context, p *gantry.SchedulingPolicy) error {
	detail, err := marshal(p)
	if err == nil {
		err = mustAffect(rowsAffected(q.write.exec(ctx, schedulingPolicyUpdate, p.Name, detail)))
	}
	return wrap(err, "update scheduling policy %q", p.Name)
}

func (q *querier) ShareUsageList(ctx context.Context, queueArn string) ([]*store.ShareUsage, error) {
	rows, err := q.read.query(ctx, shareUsageList, queueArn)
	if err != nil {
		return nil, wrap(err, "list share usage of %q", queueArn)
	}
	defer rows.Close()
	var out []*store.ShareUsage
	for rows.Next() {
		u := &store.ShareUsage{}
		if err := rows.Scan(&u.QueueArn, &u.ShareIdentifier, &u.Usage, &u.UpdatedAt); err != nil {
			return nil, wrap(err, "list share usage of %q", queueArn)
		}
		out = append(out, u)
	}
	return out, wrap(rows.Err(), "list share usage of %q", queueArn)
}

// shareUsageRow is the JSON form of one ShareUsageUpsert row.
type shareUsageRow struct {
	Q string  `json:"q"`
	S string  `json:"s"`
	U float64 `json:"u"`
	T int64   `json:"t"`
}

// ShareUsageUpsert writes all rows in one statement, so that they land
// together even outside InTx.
func (q *querier) ShareUsageUpsert(ctx context.Context, rows []*store.ShareUsage) error {
	if len(rows) == 0 {
		return nil
	}
	batch := make([]shareUsageRow, len(rows))
	for i, r := range rows {
		batch[i] = shareUsageRow{Q: r.QueueArn, S: r.ShareIdentifier, U: r.Usage, T: r.UpdatedAt}
	}
	doc, err := marshal(batch)
	if err == nil {
		_, err = q.write.exec(ctx, shareUsageUpsert, doc)
	}
	return wrap(err, "upsert %d share usage rows", len(rows))
}
