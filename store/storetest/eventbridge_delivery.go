package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file exercises deliveries, schedule states, and the outbox's UUIDs
// and retention (the EventBridge dispatcher's tables).

// Delivery returns a PENDING delivery of an outbox event to a rule's target.
func Delivery(rule, targetID string, mods ...func(*store.Delivery)) *store.Delivery {
	d := &store.Delivery{
		EventID:       1,
		Rule:          rule,
		TargetID:      targetID,
		Target:        []byte(`{"Id":"` + targetID + `","Arn":"arn"}`),
		Event:         []byte(`{"id":"e","detail":{}}`),
		State:         store.DeliveryPending,
		CreatedAt:     BaseTime,
		NextAttemptAt: BaseTime,
		UpdatedAt:     BaseTime,
	}
	for _, m := range mods {
		m(d)
	}
	return d
}

// deliveryIDs returns the IDs of ds.
func deliveryIDs(ds []*store.Delivery) []int64 {
	out := []int64{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func exerciseDeliveries(t *testing.T, newTx newTxFunc) {
	t.Run("Delivery", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertAssignsIDsRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.DeliveryInsert(ctx, nil))
			got, err := tx.DeliveryList(ctx, nil)
			require.NoError(t, err)
			require.Empty(t, got)

			first := []*store.Delivery{
				Delivery("r", "1"),
				Delivery("r", "2", func(d *store.Delivery) {
					d.EventID = 0 // a scheduled event
					d.Target = []byte{0, 1, 2, 0xff}
					d.Event = []byte(`{"id":"é"}`)
					d.Attempts = 3
					d.CreatedAt, d.NextAttemptAt, d.UpdatedAt = BaseTime+1, BaseTime+2, BaseTime+3
					d.LastError = "boom"
					d.Result = "job-1"
				}),
				Delivery("other", "1"),
			}
			require.NoError(t, tx.DeliveryInsert(ctx, first))
			second := []*store.Delivery{Delivery("r", "3")}
			require.NoError(t, tx.DeliveryInsert(ctx, second))
			all := append(append([]*store.Delivery{}, first...), second...)
			for i := 1; i < len(all); i++ {
				require.Greater(t, all[i].ID, all[i-1].ID, "IDs increase in insertion order")
			}
			got, err = tx.DeliveryList(ctx, &store.DeliveryListParams{})
			require.NoError(t, err)
			require.Equal(t, all, got)
		})

		t.Run("Update", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			ds := []*store.Delivery{Delivery("r", "1"), Delivery("r", "2")}
			require.NoError(t, tx.DeliveryInsert(ctx, ds))
			want := *ds[0]
			want.State = store.DeliveryDead
			want.Attempts = 5
			want.NextAttemptAt = BaseTime + 100
			want.UpdatedAt = BaseTime + 200
			want.LastError = "HTTP 500"
			want.Result = "500"
			require.NoError(t, tx.DeliveryUpdate(ctx, &want))
			got, err := tx.DeliveryList(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, []*store.Delivery{&want, ds[1]}, got)

			missing := Delivery("r", "1", func(d *store.Delivery) { d.ID = ds[1].ID + 1000 })
			require.ErrorIs(t, tx.DeliveryUpdate(ctx, missing), gantry.ErrNotFound)
		})

		t.Run("ListFilters", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			at := func(state string, next int64) func(*store.Delivery) {
				return func(d *store.Delivery) { d.State, d.NextAttemptAt = state, BaseTime+next }
			}
			ds := []*store.Delivery{
				Delivery("r", "1", at(store.DeliveryPending, 30)),   // 0
				Delivery("r", "2", at(store.DeliveryPending, 10)),   // 1
				Delivery("s", "1", at(store.DeliveryPending, 20)),   // 2
				Delivery("r", "1", at(store.DeliveryDelivered, 5)),  // 3
				Delivery("s", "1", at(store.DeliveryDead, 5)),       // 4
				Delivery("r", "2", at(store.DeliveryPending, 40)),   // 5
				Delivery("r", "3", at(store.DeliveryDelivered, 50)), // 6
			}
			require.NoError(t, tx.DeliveryInsert(ctx, ds))
			ids := func(idx ...int) []int64 {
				out := []int64{}
				for _, i := range idx {
					out = append(out, ds[i].ID)
				}
				return out
			}
			pending := []string{store.DeliveryPending}
			finished := []string{store.DeliveryDelivered, store.DeliveryDead}
			for name, tc := range map[string]struct {
				params store.DeliveryListParams
				want   []int64
			}{
				"All":                {store.DeliveryListParams{}, ids(0, 1, 2, 3, 4, 5, 6)},
				"Newest":             {store.DeliveryListParams{Newest: true}, ids(6, 5, 4, 3, 2, 1, 0)},
				"Rule":               {store.DeliveryListParams{Rule: "r"}, ids(0, 1, 3, 5, 6)},
				"RuleNewestPaged":    {store.DeliveryListParams{Rule: "r", Newest: true, Limit: 2}, ids(6, 5)},
				"RuleNewestAfter":    {store.DeliveryListParams{Rule: "r", Newest: true, AfterID: ds[5].ID, Limit: 2}, ids(3, 1)},
				"RuleAscendingAfter": {store.DeliveryListParams{Rule: "r", AfterID: ds[1].ID}, ids(3, 5, 6)},
				"Pending":            {store.DeliveryListParams{States: pending}, ids(0, 1, 2, 5)},
				"Finished":           {store.DeliveryListParams{States: finished}, ids(3, 4, 6)},
				"FinishedOfRule":     {store.DeliveryListParams{States: finished, Rule: "s"}, ids(4)},
				"DueByID":            {store.DeliveryListParams{States: pending, DueBefore: BaseTime + 30}, ids(0, 1, 2)},
				"DueInclusive":       {store.DeliveryListParams{States: pending, DueBefore: BaseTime + 10}, ids(1)},
				"DueLimited":         {store.DeliveryListParams{States: pending, DueBefore: BaseTime + 100, Limit: 3}, ids(0, 1, 2)},
				"DueAfter":           {store.DeliveryListParams{States: pending, DueBefore: BaseTime + 100, AfterID: ds[2].ID}, ids(5)},
				"DueAnyState":        {store.DeliveryListParams{DueBefore: BaseTime + 5}, ids(3, 4)},
				"NoneDue":            {store.DeliveryListParams{States: pending, DueBefore: BaseTime + 9}, ids()},
				"UnknownRule":        {store.DeliveryListParams{Rule: "nope"}, ids()},
				"AfterLast":          {store.DeliveryListParams{AfterID: ds[6].ID}, ids()},
				"NewestAfterFirst":   {store.DeliveryListParams{AfterID: ds[0].ID, Newest: true}, ids()},
			} {
				got, err := tx.DeliveryList(ctx, &tc.params)
				require.NoError(t, err, name)
				require.Equal(t, tc.want, deliveryIDs(got), name)
			}
		})

		t.Run("DeleteFinished", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			at := func(state string, updated int64) func(*store.Delivery) {
				return func(d *store.Delivery) { d.State, d.UpdatedAt = state, BaseTime+updated }
			}
			ds := []*store.Delivery{
				Delivery("r", "1", at(store.DeliveryDelivered, 30)), // 0
				Delivery("r", "1", at(store.DeliveryDead, 10)),      // 1
				Delivery("r", "1", at(store.DeliveryPending, 0)),    // 2: never purged
				Delivery("r", "1", at(store.DeliveryDelivered, 20)), // 3
				Delivery("r", "1", at(store.DeliveryDead, 100)),     // 4: too recent
			}
			require.NoError(t, tx.DeliveryInsert(ctx, ds))

			n, err := tx.DeliveryDeleteFinished(ctx, BaseTime+100, 2)
			require.NoError(t, err)
			require.Equal(t, 2, n, "limit")
			got, err := tx.DeliveryList(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, []int64{ds[0].ID, ds[2].ID, ds[4].ID}, deliveryIDs(got), "oldest first")

			n, err = tx.DeliveryDeleteFinished(ctx, BaseTime+100, 10)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			n, err = tx.DeliveryDeleteFinished(ctx, BaseTime+100, 10)
			require.NoError(t, err)
			require.Zero(t, n)
			n, err = tx.DeliveryDeleteFinished(ctx, BaseTime+101, 0)
			require.NoError(t, err)
			require.Equal(t, 1, n, "0 = no limit; updated_at < before")
			got, err = tx.DeliveryList(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, []int64{ds[2].ID}, deliveryIDs(got))
		})
	})
}

func exerciseScheduleStates(t *testing.T, newTx newTxFunc) {
	t.Run("ScheduleState", func(t *testing.T) {
		t.Parallel()
		tx, ctx := newTx(t), t.Context()
		_, err := tx.ScheduleStateGet(ctx, "r")
		require.ErrorIs(t, err, gantry.ErrNotFound)
		got, err := tx.ScheduleStateList(ctx)
		require.NoError(t, err)
		require.Empty(t, got)
		require.NoError(t, tx.ScheduleStateDelete(ctx, "r"), "forgetting a missing state is not an error")

		b := &store.ScheduleState{Rule: "b", NextFireAt: BaseTime + 60000, Expression: "rate(1 minute)"}
		a := &store.ScheduleState{Rule: "a", NextFireAt: BaseTime, LastFireAt: BaseTime - 3600000, Expression: "cron(0 * * * ? *)|Europe/Paris"}
		c := &store.ScheduleState{Rule: "c", NextFireAt: BaseTime + 1, Expression: "rate(5 minutes)"}
		for _, st := range []*store.ScheduleState{b, a, c} {
			require.NoError(t, tx.ScheduleStateUpsert(ctx, st))
		}
		one, err := tx.ScheduleStateGet(ctx, "a")
		require.NoError(t, err)
		require.Equal(t, a, one)
		got, err = tx.ScheduleStateList(ctx)
		require.NoError(t, err)
		require.Equal(t, []*store.ScheduleState{a, b, c}, got, "ordered by rule")

		advanced := &store.ScheduleState{Rule: "b", NextFireAt: BaseTime + 120000, LastFireAt: BaseTime + 60000, Expression: "rate(2 minutes)"}
		require.NoError(t, tx.ScheduleStateUpsert(ctx, advanced))
		one, err = tx.ScheduleStateGet(ctx, "b")
		require.NoError(t, err)
		require.Equal(t, advanced, one)

		require.NoError(t, tx.ScheduleStateDelete(ctx, "a"))
		_, err = tx.ScheduleStateGet(ctx, "a")
		require.ErrorIs(t, err, gantry.ErrNotFound)
		got, err = tx.ScheduleStateList(ctx)
		require.NoError(t, err)
		require.Equal(t, []*store.ScheduleState{advanced, c}, got)
	})
}

func exerciseEventOutbox(t *testing.T, newTx newTxFunc) {
	t.Run("EventOutbox", func(t *testing.T) {
		t.Parallel()

		t.Run("UUID", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			assigned := &store.Event{Time: BaseTime, DetailType: "t", Source: "s"}
			kept := &store.Event{UUID: "11111111-2222-3333-4444-555555555555", Time: BaseTime, DetailType: "t", Source: "s"}
			other := &store.Event{Time: BaseTime, DetailType: "t", Source: "s"}
			for _, ev := range []*store.Event{assigned, kept, other} {
				require.NoError(t, tx.EventInsert(ctx, ev))
			}
			require.Len(t, assigned.UUID, 36, "a random UUID")
			require.NotEqual(t, assigned.UUID, other.UUID)
			require.Equal(t, "11111111-2222-3333-4444-555555555555", kept.UUID)
			got, err := tx.EventList(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, []*store.Event{assigned, kept, other}, got)
		})

		t.Run("DeleteThrough", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			times := []int64{10, 20, 5, 30, 40, 15}
			evs := make([]*store.Event, len(times))
			for i, tm := range times {
				evs[i] = &store.Event{Time: BaseTime + tm, DetailType: "t", Source: "s"}
				require.NoError(t, tx.EventInsert(ctx, evs[i]))
			}
			ids := func(evs []*store.Event) []int64 {
				out := []int64{}
				for _, ev := range evs {
					out = append(out, ev.ID)
				}
				return out
			}
			list := func() []int64 {
				got, err := tx.EventList(ctx, nil)
				require.NoError(t, err)
				return ids(got)
			}

			// Through evs[4] and older than 25: evs 0, 1, 2; limit 2 takes the lowest IDs.
			n, err := tx.EventDeleteThrough(ctx, evs[4].ID, BaseTime+25, 2)
			require.NoError(t, err)
			require.Equal(t, 2, n)
			require.Equal(t, ids([]*store.Event{evs[2], evs[3], evs[4], evs[5]}), list())

			n, err = tx.EventDeleteThrough(ctx, evs[4].ID, BaseTime+25, 10)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Equal(t, ids([]*store.Event{evs[3], evs[4], evs[5]}), list())

			// evs[5] is old enough but past id; evs[3] is through id but too recent.
			n, err = tx.EventDeleteThrough(ctx, evs[4].ID, BaseTime+30, 10)
			require.NoError(t, err)
			require.Zero(t, n)

			n, err = tx.EventDeleteThrough(ctx, evs[5].ID, BaseTime+41, 0)
			require.NoError(t, err)
			require.Equal(t, 3, n, "0 = no limit")
			require.Empty(t, list())

			// IDs keep increasing after a purge.
			ev := &store.Event{Time: BaseTime, DetailType: "t", Source: "s"}
			require.NoError(t, tx.EventInsert(ctx, ev))
			require.Greater(t, ev.ID, evs[5].ID)
		})
	})
}
