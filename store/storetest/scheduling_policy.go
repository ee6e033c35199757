package storetest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file exercises scheduling policies and share usage.

// SchedulingPolicy returns a fair share policy with two weighted shares.
func SchedulingPolicy(name string, mods ...func(*gantry.SchedulingPolicy)) *gantry.SchedulingPolicy {
	p := &gantry.SchedulingPolicy{
		Name: name,
		Arn:  ARNs.ARN(gantry.ResourceSchedulingPolicy, name),
		FairsharePolicy: &gantry.FairsharePolicy{
			ShareDecaySeconds:  Ptr[int32](3600),
			ComputeReservation: Ptr[int32](10),
			ShareDistribution: []gantry.ShareAttributes{
				{ShareIdentifier: "A", WeightFactor: Ptr[float32](1)},
				{ShareIdentifier: "B*", WeightFactor: Ptr[float32](0.5)},
			},
		},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func exerciseSchedulingPolicies(t *testing.T, newTx newTxFunc) {
	t.Run("SchedulingPolicy", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertGetRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			want := SchedulingPolicy("p-a", func(p *gantry.SchedulingPolicy) {
				p.Tags = map[string]string{"k": "v"}
				p.FairsharePolicy.ShareDistribution[1].WeightFactor = Ptr[float32](0.0001)
			})
			require.NoError(t, tx.SchedulingPolicyInsert(ctx, want))
			got, err := tx.SchedulingPolicyGet(ctx, "p-a")
			require.NoError(t, err)
			require.Equal(t, want, got)

			minimal := &gantry.SchedulingPolicy{Name: "p-min", Arn: ARNs.ARN(gantry.ResourceSchedulingPolicy, "p-min"), FairsharePolicy: &gantry.FairsharePolicy{}}
			require.NoError(t, tx.SchedulingPolicyInsert(ctx, minimal))
			got, err = tx.SchedulingPolicyGet(ctx, "p-min")
			require.NoError(t, err)
			require.Equal(t, minimal, got)
		})

		t.Run("InsertDuplicateIsAlreadyExists", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.SchedulingPolicyInsert(ctx, SchedulingPolicy("p-a")))
			require.ErrorIs(t, tx.SchedulingPolicyInsert(ctx, SchedulingPolicy("p-a")), gantry.ErrAlreadyExists)
		})

		t.Run("MissingIsNotFound", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			_, err := tx.SchedulingPolicyGet(ctx, "nope")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			require.ErrorIs(t, tx.SchedulingPolicyUpdate(ctx, SchedulingPolicy("nope")), gantry.ErrNotFound)
			require.ErrorIs(t, tx.SchedulingPolicyDelete(ctx, "nope"), gantry.ErrNotFound)
		})

		t.Run("UpdateDelete", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.SchedulingPolicyInsert(ctx, SchedulingPolicy("p-a")))
			require.NoError(t, tx.SchedulingPolicyInsert(ctx, SchedulingPolicy("p-b")))
			want := SchedulingPolicy("p-a", func(p *gantry.SchedulingPolicy) {
				p.FairsharePolicy = &gantry.FairsharePolicy{ShareDecaySeconds: Ptr[int32](60)}
				p.Tags = map[string]string{"new": "tag"}
			})
			require.NoError(t, tx.SchedulingPolicyUpdate(ctx, want))
			got, err := tx.SchedulingPolicyGet(ctx, "p-a")
			require.NoError(t, err)
			require.Equal(t, want, got)
			other, err := tx.SchedulingPolicyGet(ctx, "p-b")
			require.NoError(t, err)
			require.Equal(t, SchedulingPolicy("p-b"), other)

			require.NoError(t, tx.SchedulingPolicyDelete(ctx, "p-a"))
			_, err = tx.SchedulingPolicyGet(ctx, "p-a")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			require.ErrorIs(t, tx.SchedulingPolicyDelete(ctx, "p-a"), gantry.ErrNotFound)
			_, err = tx.SchedulingPolicyGet(ctx, "p-b")
			require.NoError(t, err)
			// The name is free again.
			require.NoError(t, tx.SchedulingPolicyInsert(ctx, SchedulingPolicy("p-a")))
		})

		t.Run("List", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			got, err := tx.SchedulingPolicyList(ctx, &store.SchedulingPolicyListParams{})
			require.NoError(t, err)
			require.Empty(t, got)
			for _, name := range []string{"p3", "p1", "p4", "p2"} {
				require.NoError(t, tx.SchedulingPolicyInsert(ctx, SchedulingPolicy(name)))
			}
			for name, tc := range map[string]struct {
				params    store.SchedulingPolicyListParams
				wantNames []string
			}{
				"All":             {store.SchedulingPolicyListParams{}, []string{"p1", "p2", "p3", "p4"}},
				"Names":           {store.SchedulingPolicyListParams{Names: []string{"p3", "zz", "p1"}}, []string{"p1", "p3"}},
				"UnknownNames":    {store.SchedulingPolicyListParams{Names: []string{"zz"}}, nil},
				"AfterName":       {store.SchedulingPolicyListParams{AfterName: "p2"}, []string{"p3", "p4"}},
				"Limit":           {store.SchedulingPolicyListParams{Limit: 3}, []string{"p1", "p2", "p3"}},
				"AfterNameLimit":  {store.SchedulingPolicyListParams{AfterName: "p1", Limit: 2}, []string{"p2", "p3"}},
				"PastEnd":         {store.SchedulingPolicyListParams{AfterName: "p4"}, nil},
				"NamesAfterLimit": {store.SchedulingPolicyListParams{Names: []string{"p1", "p3", "p4"}, AfterName: "p1", Limit: 1}, []string{"p3"}},
			} {
				got, err := tx.SchedulingPolicyList(ctx, &tc.params)
				require.NoError(t, err, name)
				var names []string
				for _, p := range got {
					names = append(names, p.Name)
				}
				require.Equal(t, tc.wantNames, names, name)
			}
			all, err := tx.SchedulingPolicyList(ctx, nil)
			require.NoError(t, err, "nil params list everything")
			require.Len(t, all, 4)
		})
	})

	t.Run("ShareUsage", func(t *testing.T) {
		t.Parallel()
		qa, qb := ARNs.ARN(gantry.ResourceJobQueue, "qa"), ARNs.ARN(gantry.ResourceJobQueue, "qb")
		sorted := func(rows []*store.ShareUsage) []*store.ShareUsage {
			return slices.SortedFunc(slices.Values(rows), func(a, b *store.ShareUsage) int {
				return cmp.Compare(a.ShareIdentifier, b.ShareIdentifier)
			})
		}

		t.Run("EmptyQueue", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			got, err := tx.ShareUsageList(ctx, qa)
			require.NoError(t, err)
			require.Empty(t, got)
			require.NoError(t, tx.ShareUsageUpsert(ctx, nil), "an empty batch is a no-op")
		})

		t.Run("UpsertInsertsAndReplaces", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			first := []*store.ShareUsage{
				{QueueArn: qa, ShareIdentifier: "B", Usage: 12.5, UpdatedAt: BaseTime},
				{QueueArn: qa, ShareIdentifier: "A", Usage: 3, UpdatedAt: BaseTime},
				{QueueArn: qb, ShareIdentifier: "A", Usage: 99.25, UpdatedAt: BaseTime + 1},
				{QueueArn: qa, ShareIdentifier: "", Usage: 0, UpdatedAt: BaseTime},
			}
			require.NoError(t, tx.ShareUsageUpsert(ctx, first))
			got, err := tx.ShareUsageList(ctx, qa)
			require.NoError(t, err)
			require.Equal(t, []*store.ShareUsage{first[3], first[1], first[0]}, sorted(got))

			// Replacing one row keeps the others; another queue is untouched.
			second := []*store.ShareUsage{
				{QueueArn: qa, ShareIdentifier: "A", Usage: 1.0 / 3, UpdatedAt: BaseTime + 1000},
				{QueueArn: qa, ShareIdentifier: "C", Usage: 1e-9, UpdatedAt: BaseTime + 1000},
			}
			require.NoError(t, tx.ShareUsageUpsert(ctx, second))
			got, err = tx.ShareUsageList(ctx, qa)
			require.NoError(t, err)
			require.Equal(t, []*store.ShareUsage{first[3], second[0], first[0], second[1]}, sorted(got))
			got, err = tx.ShareUsageList(ctx, qb)
			require.NoError(t, err)
			require.Equal(t, []*store.ShareUsage{first[2]}, got)
		})

		t.Run("LargeBatch", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			var rows []*store.ShareUsage
			for i := range 500 {
				rows = append(rows, &store.ShareUsage{QueueArn: qa, ShareIdentifier: "s" + itoa(int32(i)), Usage: float64(i) * 1.5, UpdatedAt: BaseTime})
			}
			require.NoError(t, tx.ShareUsageUpsert(ctx, rows))
			got, err := tx.ShareUsageList(ctx, qa)
			require.NoError(t, err)
			require.ElementsMatch(t, rows, got)
		})
	})
}
