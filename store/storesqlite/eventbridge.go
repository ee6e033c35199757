package storesqlite

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file holds the EventBridge resources (migration 004): rules and
// their targets, connections, API destinations, deliveries, schedule states
// and the retention of outbox events. The static statements are prepared
// with the others: see readQueries and writeQueries in queries.go.
//
// Name prefixes are matched with "name >= prefix AND substr(name, 1,
// length(prefix)) = prefix" rather than LIKE, whose wildcards ('_' is common
// in names) would need escaping; the range lets SQLite start at the prefix
// in the primary key.

const (
	apiDestinationDelete = `DELETE FROM api_destinations WHERE name = ?1`
	apiDestinationGet    = `SELECT detail FROM api_destinations WHERE name = ?1`
	apiDestinationInsert = `INSERT INTO api_destinations (name, detail) VALUES (?1, ?2)`
	apiDestinationList   = `SELECT detail FROM api_destinations
WHERE name >= ?1 AND substr(name, 1, length(?1)) = ?1
  AND name > ?2
ORDER BY name
LIMIT ?3`
	apiDestinationUpdate = `UPDATE api_destinations SET detail = ?2 WHERE name = ?1`

	connectionDelete = `DELETE FROM connections WHERE name = ?1`
	connectionGet    = `SELECT detail FROM connections WHERE name = ?1`
	connectionInsert = `INSERT INTO connections (name, detail) VALUES (?1, ?2)`
	connectionList   = `SELECT detail FROM connections
WHERE name >= ?1 AND substr(name, 1, length(?1)) = ?1
  AND name > ?2
ORDER BY name
LIMIT ?3`
	connectionUpdate = `UPDATE connections SET detail = ?2 WHERE name = ?1`

	// deliveryInsert writes every delivery of a JSON array of
	// deliveryRow objects in one statement, in array order, so the
	// AUTOINCREMENT ids are consecutive: the last one is last_insert_rowid.
	// The snapshots travel hex-encoded (a JSON null stays NULL).
	deliveryInsert = `INSERT INTO deliveries (
    event_id, rule, target_id, target, event, state, attempts,
    created_at, next_attempt_at, updated_at, last_error, result
)
SELECT value ->> '$.e', value ->> '$.r', value ->> '$.i', unhex(value ->> '$.t'), unhex(value ->> '$.v'),
    value ->> '$.s', value ->> '$.a', value ->> '$.c', value ->> '$.n', value ->> '$.u',
    value ->> '$.l', value ->> '$.x'
FROM json_each(?1)
ORDER BY key`
	deliveryUpdate = `UPDATE deliveries SET
    state = ?2, attempts = ?3, next_attempt_at = ?4, updated_at = ?5, last_error = ?6, result = ?7
WHERE id = ?1`
	// deliveryDeleteFinished repeats deliveries_finished's WHERE clause so
	// that SQLite uses that index.
	deliveryDeleteFinished = `DELETE FROM deliveries WHERE id IN (
    SELECT id FROM deliveries
    WHERE state IN ('DELIVERED', 'DEAD') AND updated_at < ?1
    ORDER BY updated_at
    LIMIT ?2
)`
	// deliverySelect is the projection scanned by scanDeliveries.
	deliverySelect = `SELECT id, event_id, rule, target_id, target, event, state, attempts,
    created_at, next_attempt_at, updated_at, last_error, result FROM deliveries`

	eventDeleteThrough = `DELETE FROM events WHERE id IN (
    SELECT id FROM events
    WHERE id <= ?1 AND time < ?2
    ORDER BY id
    LIMIT ?3
)`

	// ruleDelete also removes the rule's targets and schedule state, by
	// the trigger rules_delete_children (the same statement, so atomic even
	// outside InTx; RowsAffected counts only the rule).
	ruleDelete = `DELETE FROM rules WHERE name = ?1`
	ruleGet    = `SELECT detail FROM rules WHERE name = ?1`
	ruleInsert = `INSERT INTO rules (name, detail) VALUES (?1, ?2)`
	ruleList   = `SELECT detail FROM rules
WHERE name >= ?1 AND substr(name, 1, length(?1)) = ?1
  AND name > ?2
  AND (?4 = '' OR name IN (SELECT rule FROM rule_targets WHERE arn = ?4))
ORDER BY name
LIMIT ?3`
	ruleUpdate = `UPDATE rules SET detail = ?2 WHERE name = ?1`

	ruleTargetDelete = `DELETE FROM rule_targets WHERE rule = ?1 AND id IN (SELECT value FROM json_each(?2))`
	ruleTargetList   = `SELECT detail FROM rule_targets WHERE rule = ?1 ORDER BY id`
	// ruleTargetUpsert writes every target of a JSON array of
	// {"i","a","d"} objects in one statement. "WHERE true" keeps SQLite
	// from parsing ON CONFLICT as a join constraint.
	ruleTargetUpsert = `INSERT INTO rule_targets (rule, id, arn, detail)
SELECT ?1, value ->> '$.i', value ->> '$.a', value ->> '$.d' FROM json_each(?2) WHERE true
ON CONFLICT (rule, id) DO UPDATE SET arn = excluded.arn, detail = excluded.detail`

	scheduleStateDelete = `DELETE FROM schedule_states WHERE rule = ?1`
	scheduleStateGet    = `SELECT rule, next_fire_at, last_fire_at, expression FROM schedule_states WHERE rule = ?1`
	scheduleStateList   = `SELECT rule, next_fire_at, last_fire_at, expression FROM schedule_states ORDER BY rule`
	scheduleStateUpsert = `INSERT INTO schedule_states (rule, next_fire_at, last_fire_at, expression) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (rule) DO UPDATE SET
    next_fire_at = excluded.next_fire_at, last_fire_at = excluded.last_fire_at, expression = excluded.expression`
)

func (q *querier) APIDestinationDelete(ctx context.Context, name string) error {
	return wrap(mustAffect(rowsAffected(q.write.exec(ctx, apiDestinationDelete, name))),
		"delete API destination %q", name)
}

func (q *querier) APIDestinationGet(ctx context.Context, name string) (*gantry.APIDestination, error) {
	d, err := getDoc[gantry.APIDestination](ctx, q.read, apiDestinationGet, name)
	return d, wrap(err, "get API destination %q", name)
}

func (q *querier) APIDestinationInsert(ctx context.Context, d *gantry.APIDestination) error {
	detail, err := marshal(d)
	if err == nil {
		_, err = q.write.exec(ctx, apiDestinationInsert, d.Name, detail)
	}
	return wrap(err, "insert API destination %q", d.Name)
}

func (q *querier) APIDestinationList(ctx context.Context, params *store.NameListParams) ([]*gantry.APIDestination, error) {
	if params == nil {
		params = &store.NameListParams{}
	}
	ds, err := listDocs[gantry.APIDestination](ctx, q.read, apiDestinationList, params.NamePrefix, params.AfterName, limit(params.Limit))
	return ds, wrap(err, "list API destinations")
}

func (q *querier) APIDestinationUpdate(ctx context.Context, d *gantry.APIDestination) error {
	detail, err := marshal(d)
	if err == nil {
		err = mustAffect(rowsAffected(q.write.exec(ctx, apiDestinationUpdate, d.Name, detail)))
	}
	return wrap(err, "update API destination %q", d.Name)
}

func (q *querier) ConnectionDelete(ctx context.Context, name string) error {
	return wrap(mustAffect(rowsAffected(q.write.exec(ctx, connectionDelete, name))),
		"delete connection %q", name)
}

func (q *querier) ConnectionGet(ctx context.Context, name string) (*gantry.Connection, error) {
	c, err := getDoc[gantry.Connection](ctx, q.read, connectionGet, name)
	return c, wrap(err, "get connection %q", name)
}

func (q *querier) ConnectionInsert(ctx context.Context, c *gantry.Connection) error {
	detail, err := marshal(c)
	if err == nil {
		_, err = q.write.exec(ctx, connectionInsert, c.Name, detail)
	}
	return wrap(err, "insert connection %q", c.Name)
}

func (q *querier) ConnectionList(ctx context.Context, params *store.NameListParams) ([]*gantry.Connection, error) {
	if params == nil {
		params = &store.NameListParams{}
	}
	cs, err := listDocs[gantry.Connection](ctx, q.read, connectionList, params.NamePrefix, params.AfterName, limit(params.Limit))
	return cs, wrap(err, "list connections")
}

func (q *querier) ConnectionUpdate(ctx context.Context, c *gantry.Connection) error {
	detail, err := marshal(c)
	if err == nil {
		err = mustAffect(rowsAffected(q.write.exec(ctx, connectionUpdate, c.Name, detail)))
	}
	return wrap(err, "update connection %q", c.Name)
}

// deliveryRow is the JSON form of one DeliveryInsert row.
type deliveryRow struct {
	E int64   `json:"e"`
	R string  `json:"r"`
	I string  `json:"i"`
	T *string `json:"t"` // hex; nil for a nil snapshot
	V *string `json:"v"`
	S string  `json:"s"`
	A int     `json:"a"`
	C int64   `json:"c"`
	N int64   `json:"n"`
	U int64   `json:"u"`
	L string  `json:"l"`
	X string  `json:"x"`
}

// hexOrNil encodes b for unhex(); nil stays NULL.
func hexOrNil(b []byte) *string {
	if b == nil {
		return nil
	}
	s := hex.EncodeToString(b)
	return &s
}

// DeliveryInsert writes all deliveries in one statement, so that they land
// together even outside InTx, and sets their IDs.
func (q *querier) DeliveryInsert(ctx context.Context, ds []*store.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	batch := make([]deliveryRow, len(ds))
	for i, d := range ds {
		batch[i] = deliveryRow{
			E: d.EventID, R: d.Rule, I: d.TargetID, T: hexOrNil(d.Target), V: hexOrNil(d.Event),
			S: d.State, A: d.Attempts, C: d.CreatedAt, N: d.NextAttemptAt, U: d.UpdatedAt,
			L: d.LastError, X: d.Result,
		}
	}
	doc, err := marshal(batch)
	if err != nil {
		return wrap(err, "insert %d deliveries", len(ds))
	}
	res, err := q.write.exec(ctx, deliveryInsert, doc)
	if err != nil {
		return wrap(err, "insert %d deliveries", len(ds))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, "insert %d deliveries", len(ds))
	}
	last, err := res.LastInsertId()
	if err != nil {
		return wrap(err, "insert %d deliveries", len(ds))
	}
	if n != int64(len(ds)) {
		return fmt.Errorf("storesqlite: insert %d deliveries: inserted %d", len(ds), n)
	}
	for i, d := range ds {
		d.ID = last - n + 1 + int64(i)
	}
	return nil
}

// DeliveryList builds its query from the set fields of params. A States
// filter of exactly PENDING is written as a literal, so that SQLite uses
// the partial index deliveries_due.
func (q *querier) DeliveryList(ctx context.Context, params *store.DeliveryListParams) ([]*store.Delivery, error) {
	if params == nil {
		params = &store.DeliveryListParams{}
	}
	query, args := buildDeliveryList(params)
	rows, err := q.read.query(ctx, query, args...)
	if err != nil {
		return nil, wrap(err, "list deliveries")
	}
	defer rows.Close()
	var out []*store.Delivery
	for rows.Next() {
		d := &store.Delivery{}
		if err := rows.Scan(&d.ID, &d.EventID, &d.Rule, &d.TargetID, &d.Target, &d.Event, &d.State, &d.Attempts,
			&d.CreatedAt, &d.NextAttemptAt, &d.UpdatedAt, &d.LastError, &d.Result); err != nil {
			return nil, wrap(err, "list deliveries")
		}
		out = append(out, d)
	}
	return out, wrap(rows.Err(), "list deliveries")
}

// buildDeliveryList returns DeliveryList's query and arguments.
func buildDeliveryList(p *store.DeliveryListParams) (string, []any) {
	var (
		where []string
		args  []any
	)
	cond := func(clause string, vals ...any) {
		where = append(where, clause)
		args = append(args, vals...)
	}
	if p.Rule != "" {
		cond("rule = ?", p.Rule)
	}
	switch {
	case len(p.States) == 1 && p.States[0] == store.DeliveryPending:
		cond("state = 'PENDING'")
	case len(p.States) > 0:
		vals := make([]any, len(p.States))
		for i, s := range p.States {
			vals[i] = s
		}
		cond("state IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")", vals...)
	}
	if p.DueBefore != 0 {
		cond("next_attempt_at <= ?", p.DueBefore)
	}
	if p.AfterID != 0 {
		if p.Newest {
			cond("id < ?", p.AfterID)
		} else {
			cond("id > ?", p.AfterID)
		}
	}
	var b strings.Builder
	b.WriteString(deliverySelect)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	if p.Newest {
		b.WriteString(" ORDER BY id DESC")
	} else {
		b.WriteString(" ORDER BY id")
	}
	b.WriteString(" LIMIT ?")
	args = append(args, limit(p.Limit))
	return b.String(), args
}

func (q *querier) DeliveryUpdate(ctx context.Context, d *store.Delivery) error {
	return wrap(mustAffect(rowsAffected(q.write.exec(ctx, deliveryUpdate,
		d.ID, d.State, d.Attempts, d.NextAttemptAt, d.UpdatedAt, d.LastError, d.Result))),
		"update delivery %d", d.ID)
}

func (q *querier) DeliveryDeleteFinished(ctx context.Context, before int64, lim int) (int, error) {
	n, err := rowsAffected(q.write.exec(ctx, deliveryDeleteFinished, before, limit(lim)))
	return int(n), wrap(err, "delete finished deliveries")
}

func (q *querier) EventDeleteThrough(ctx context.Context, id, before int64, lim int) (int, error) {
	n, err := rowsAffected(q.write.exec(ctx, eventDeleteThrough, id, before, limit(lim)))
	return int(n), wrap(err, "delete events through %d", id)
}

func (q *querier) RuleDelete(ctx context.Context, name string) error {
	return wrap(mustAffect(rowsAffected(q.write.exec(ctx, ruleDelete, name))), "delete rule %q", name)
}

func (q *querier) RuleGet(ctx context.Context, name string) (*gantry.Rule, error) {
	r, err := getDoc[gantry.Rule](ctx, q.read, ruleGet, name)
	return r, wrap(err, "get rule %q", name)
}

func (q *querier) RuleInsert(ctx context.Context, r *gantry.Rule) error {
	detail, err := marshal(r)
	if err == nil {
		_, err = q.write.exec(ctx, ruleInsert, r.Name, detail)
	}
	return wrap(err, "insert rule %q", r.Name)
}

func (q *querier) RuleList(ctx context.Context, params *store.RuleListParams) ([]*gantry.Rule, error) {
	if params == nil {
		params = &store.RuleListParams{}
	}
	rs, err := listDocs[gantry.Rule](ctx, q.read, ruleList,
		params.NamePrefix, params.AfterName, limit(params.Limit), params.TargetArn)
	return rs, wrap(err, "list rules")
}

func (q *querier) RuleUpdate(ctx context.Context, r *gantry.Rule) error {
	detail, err := marshal(r)
	if err == nil {
		err = mustAffect(rowsAffected(q.write.exec(ctx, ruleUpdate, r.Name, detail)))
	}
	return wrap(err, "update rule %q", r.Name)
}

func (q *querier) RuleTargetDelete(ctx context.Context, rule string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := jsonList(ids)
	if err == nil {
		_, err = q.write.exec(ctx, ruleTargetDelete, rule, list)
	}
	return wrap(err, "delete %d targets of rule %q", len(ids), rule)
}

func (q *querier) RuleTargetList(ctx context.Context, rule string) ([]*gantry.Target, error) {
	ts, err := listDocs[gantry.Target](ctx, q.read, ruleTargetList, rule)
	return ts, wrap(err, "list targets of rule %q", rule)
}

// ruleTargetRow is the JSON form of one RuleTargetUpsert row.
type ruleTargetRow struct {
	I string `json:"i"`
	A string `json:"a"`
	D string `json:"d"`
}

// RuleTargetUpsert writes all targets in one statement, so that they land
// together even outside InTx.
func (q *querier) RuleTargetUpsert(ctx context.Context, rule string, targets []*gantry.Target) error {
	if len(targets) == 0 {
		return nil
	}
	batch := make([]ruleTargetRow, len(targets))
	for i, t := range targets {
		detail, err := marshal(t)
		if err != nil {
			return wrap(err, "upsert targets of rule %q", rule)
		}
		batch[i] = ruleTargetRow{I: t.Id, A: t.Arn, D: detail}
	}
	doc, err := marshal(batch)
	if err == nil {
		_, err = q.write.exec(ctx, ruleTargetUpsert, rule, doc)
	}
	return wrap(err, "upsert %d targets of rule %q", len(targets), rule)
}

// ScheduleStateDelete is idempotent: forgetting a rule without a schedule
// state is not an error.
func (q *querier) ScheduleStateDelete(ctx context.Context, rule string) error {
	_, err := q.write.exec(ctx, scheduleStateDelete, rule)
	return wrap(err, "delete schedule state of rule %q", rule)
}

func (q *querier) ScheduleStateGet(ctx context.Context, rule string) (*store.ScheduleState, error) {
	st := &store.ScheduleState{}
	err := q.read.queryRow(ctx, scheduleStateGet, rule).Scan(&st.Rule, &st.NextFireAt, &st.LastFireAt, &st.Expression)
	if err != nil {
		return nil, wrap(err, "get schedule state of rule %q", rule)
	}
	return st, nil
}

func (q *querier) ScheduleStateList(ctx context.Context) ([]*store.ScheduleState, error) {
	rows, err := q.read.query(ctx, scheduleStateList)
	if err != nil {
		return nil, wrap(err, "list schedule states")
	}
	defer rows.Close()
	var out []*store.ScheduleState
	for rows.Next() {
		st := &store.ScheduleState{}
		if err := rows.Scan(&st.Rule, &st.NextFireAt, &st.LastFireAt, &st.Expression); err != nil {
			return nil, wrap(err, "list schedule states")
		}
		out = append(out, st)
	}
	return out, wrap(rows.Err(), "list schedule states")
}

func (q *querier) ScheduleStateUpsert(ctx context.Context, st *store.ScheduleState) error {
	_, err := q.write.exec(ctx, scheduleStateUpsert, st.Rule, st.NextFireAt, st.LastFireAt, st.Expression)
	return wrap(err, "upsert schedule state of rule %q", st.Rule)
}
