package eventsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/store"
)

func (b *testBundle) get(t *testing.T, path string, out any) int {
	t.Helper()
	resp, err := b.srv.Client().Get(b.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func TestDeliveriesRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ds []*store.Delivery
	for i := range 5 {
		state := store.DeliveryDelivered
		if i%2 == 1 {
			state = store.DeliveryDead
		}
		ds = append(ds, &store.Delivery{
			Rule: "r", TargetID: "hook", Target: []byte(`{"Id":"hook","Arn":"https://example.com"}`),
			Event: []byte(fmt.Sprintf(`{"id":"ev-%d","source":"aws.batch"}`, i)), State: state, Attempts: i + 1,
			CreatedAt: t0 + int64(i), NextAttemptAt: t0, UpdatedAt: t0 + 10, LastError: "HTTP 500", Result: "",
		})
	}
	ds = append(ds, &store.Delivery{Rule: "other", TargetID: "t", Target: []byte(`{}`), Event: []byte(`{"id":"x"}`), State: store.DeliveryPending, CreatedAt: t0, NextAttemptAt: t0 + 5000, UpdatedAt: t0})
	require.NoError(t, b.store.DeliveryInsert(ctx(t), ds))

	var page DeliveriesPage
	require.Equal(t, http.StatusOK, b.get(t, DeliveriesPath+"?rule=r&limit=2", &page))
	require.Len(t, page.Deliveries, 2)
	require.Equal(t, "ev-4", page.Deliveries[0].EventID, "newest first")
	require.Equal(t, "ev-3", page.Deliveries[1].EventID)
	require.NotEmpty(t, page.NextToken)
	d := page.Deliveries[1]
	require.Equal(t, "DEAD", d.State)
	require.Equal(t, 4, d.Attempts)
	require.Equal(t, "HTTP 500", d.LastError)
	require.Equal(t, time.UnixMilli(t0+3).UTC().Format(time.RFC3339Nano), d.CreatedAt)
	require.Empty(t, d.NextAttemptAt, "only pending deliveries have a next attempt")
	require.JSONEq(t, `{"id":"ev-3","source":"aws.batch"}`, string(d.Event))

	var ids []string
	next := ""
	for range 10 {
		var p DeliveriesPage
		require.Equal(t, http.StatusOK, b.get(t, DeliveriesPath+"?rule=r&limit=2&nextToken="+next, &p))
		for _, d := range p.Deliveries {
			ids = append(ids, d.EventID)
		}
		if next = p.NextToken; next == "" {
			break
		}
	}
	require.Equal(t, []string{"ev-4", "ev-3", "ev-2", "ev-1", "ev-0"}, ids)

	var dead DeliveriesPage
	require.Equal(t, http.StatusOK, b.get(t, DeliveriesPath+"?state=dead", &dead))
	require.Len(t, dead.Deliveries, 2)
	var pending DeliveriesPage
	require.Equal(t, http.StatusOK, b.get(t, DeliveriesPath+"?state=PENDING", &pending))
	require.Len(t, pending.Deliveries, 1)
	require.Equal(t, time.UnixMilli(t0+5000).UTC().Format(time.RFC3339Nano), pending.Deliveries[0].NextAttemptAt)

	require.Equal(t, http.StatusBadRequest, b.get(t, DeliveriesPath+"?limit=0", nil))
	require.Equal(t, http.StatusBadRequest, b.get(t, DeliveriesPath+"?nextToken=abc", nil))
}

func TestSchedulesRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// t0 is 2023-11-14T22:13:20Z.
	b.ok(t, "PutRule", map[string]any{"Name": "every5", "ScheduleExpression": "rate(5 minutes)"}, nil)
	b.ok(t, "PutRule", map[string]any{"Name": "noon-paris", "ScheduleExpression": "cron(0 12 * * ? *)", "ScheduleExpressionTimezone": "Europe/Paris"}, nil)
	b.ok(t, "PutRule", map[string]any{"Name": "off", "ScheduleExpression": "rate(1 hour)", "State": "DISABLED"}, nil)
	b.putRule(t, "pattern-only", batchPattern)
	_, err := b.eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("fired"), ScheduleExpression: aws.String("cron(0 * * * ? *)")})
	require.NoError(t, err)
	next := time.Date(2023, 11, 14, 23, 0, 0, 0, time.UTC)
	require.NoError(t, b.store.ScheduleStateUpsert(ctx(t), &store.ScheduleState{Rule: "fired", NextFireAt: next.UnixMilli(),
		LastFireAt: next.Add(-time.Hour).UnixMilli(), Expression: "cron(0 * * * ? *)"}))

	b.ms.Add(60_000) // a minute after creation
	var page SchedulesPage
	require.Equal(t, http.StatusOK, b.get(t, SchedulesPath+"?count=3", &page))
	byName := map[string]Schedule{}
	for _, s := range page.Schedules {
		byName[s.Name] = s
	}
	require.Len(t, byName, 4, "only scheduled rules")
	require.Equal(t, []string{"2023-11-14T22:18:20Z", "2023-11-14T22:23:20Z", "2023-11-14T22:28:20Z"}, byName["every5"].NextFires,
		"a rate is anchored at the rule's creation")
	require.Equal(t, []string{"2023-11-15T12:00:00+01:00", "2023-11-16T12:00:00+01:00", "2023-11-17T12:00:00+01:00"}, byName["noon-paris"].NextFires)
	require.Equal(t, "Europe/Paris", byName["noon-paris"].Timezone)
	require.Empty(t, byName["off"].NextFires)
	require.Equal(t, "DISABLED", byName["off"].State)
	f := byName["fired"]
	require.Equal(t, []string{"2023-11-14T23:00:00Z", "2023-11-15T00:00:00Z", "2023-11-15T01:00:00Z"}, f.NextFires)
	require.Equal(t, "2023-11-14T22:00:00Z", f.LastFireAt)

	require.Equal(t, http.StatusOK, b.get(t, SchedulesPath, &page))
	for _, s := range page.Schedules {
		if s.Name == "every5" {
			require.Len(t, s.NextFires, 5, "five by default")
		}
	}
	require.Equal(t, http.StatusBadRequest, b.get(t, SchedulesPath+"?count=x", nil))
}
