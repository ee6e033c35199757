package storesqlite

import (
	"context"
	"errors"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// Placeholders until scheduling policies are stored (fair share).
var errNoPolicies = errors.New("storesqlite: scheduling policies are not stored yet")

func (q *querier) SchedulingPolicyDelete(ctx context.Context, name string) error { return errNoPolicies }
func (q *querier) SchedulingPolicyGet(ctx context.Context, name string) (*gantry.SchedulingPolicy, error) {
	return nil, gantry.ErrNotFound
}
func (q *querier) SchedulingPolicyInsert(ctx context.Context, p *gantry.SchedulingPolicy) error {
	return errNoPolicies
}
func (q *querier) SchedulingPolicyList(ctx context.Context, params *store.SchedulingPolicyListParams) ([]*gantry.SchedulingPolicy, error) {
	return nil, nil
}
func (q *querier) SchedulingPolicyUpdate(ctx context.Context, p *gantry.SchedulingPolicy) error {
	return errNoPolicies
}
func (q *querier) ShareUsageList(ctx context.Context, queueArn string) ([]*store.ShareUsage, error) {
	return nil, nil
}
func (q *querier) ShareUsageUpsert(ctx context.Context, rows []*store.ShareUsage) error {
	return errNoPolicies
}
