package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// This file exercises the EventBridge resources: rules, targets,
// connections and API destinations. Deliveries, schedule states and the
// outbox are in eventbridge_delivery.go.

// eventsARN is the EventBridge ARN prefix of the fixtures.
const eventsARN = "arn:aws:events:us-east-1:123456789012:"

// Rule returns an enabled event pattern rule on the default bus.
func Rule(name string, mods ...func(*gantry.Rule)) *gantry.Rule {
	r := &gantry.Rule{
		Name:         name,
		Arn:          eventsARN + "rule/" + name,
		EventPattern: `{"source":["aws.batch"]}`,
		State:        gantry.RuleStateEnabled,
		EventBusName: gantry.DefaultEventBus,
		CreatedAt:    BaseTime,
	}
	for _, m := range mods {
		m(r)
	}
	return r
}

// Target returns a Batch job queue target.
func Target(id, arn string, mods ...func(*gantry.Target)) *gantry.Target {
	t := &gantry.Target{
		Id:  id,
		Arn: arn,
		BatchParameters: &gantry.BatchTargetParameters{
			JobDefinition: ARNs.JobDefinitionARN("def", 1),
			JobName:       "from-rule",
		},
	}
	for _, m := range mods {
		m(t)
	}
	return t
}

// Connection returns an API key connection.
func Connection(name string, mods ...func(*gantry.Connection)) *gantry.Connection {
	c := &gantry.Connection{
		Name:              name,
		ConnectionArn:     eventsARN + "connection/" + name + "/0000",
		ConnectionState:   gantry.ConnectionStateAuthorized,
		AuthorizationType: gantry.ConnectionAuthAPIKey,
		AuthParameters: &gantry.ConnectionAuthParameters{
			ApiKeyAuthParameters: &gantry.ConnectionAPIKeyAuth{ApiKeyName: "X-Key", ApiKeyValue: "secret"},
		},
		CreationTime:     1735689600,
		LastModifiedTime: 1735689600,
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

// APIDestination returns an active POST destination.
func APIDestination(name string, mods ...func(*gantry.APIDestination)) *gantry.APIDestination {
	d := &gantry.APIDestination{
		Name:                name,
		ApiDestinationArn:   eventsARN + "api-destination/" + name + "/0000",
		ApiDestinationState: gantry.APIDestinationStateActive,
		ConnectionArn:       eventsARN + "connection/c/0000",
		InvocationEndpoint:  "https://example.com/hook",
		HttpMethod:          "POST",
		CreationTime:        1735689600,
		LastModifiedTime:    1735689600,
	}
	for _, m := range mods {
		m(d)
	}
	return d
}

func exerciseEventBridge(t *testing.T, newTx newTxFunc) {
	t.Run("EventBridge", func(t *testing.T) {
		t.Parallel()
		exerciseRules(t, newTx)
		exerciseRuleTargets(t, newTx)
		exerciseNamedDocs(t, newTx)
		exerciseDeliveries(t, newTx)
		exerciseScheduleStates(t, newTx)
		exerciseEventOutbox(t, newTx)
	})
}

// ruleNames returns the names of rules.
func ruleNames(rs []*gantry.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

func exerciseRules(t *testing.T, newTx newTxFunc) {
	t.Run("Rule", func(t *testing.T) {
		t.Parallel()

		t.Run("InsertGetRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			want := Rule("r-full", func(r *gantry.Rule) {
				r.ScheduleExpression = "cron(0 12 * * ? *)"
				r.ScheduleExpressionTimezone = "Europe/Paris"
				r.Description = "d"
				r.RoleArn = "arn:aws:iam::123456789012:role/r"
				r.ManagedBy = "m"
				r.CreatedBy = "123456789012"
				r.Tags = []gantry.RuleTag{{Key: "k", Value: "v"}}
			})
			require.NoError(t, tx.RuleInsert(ctx, want))
			got, err := tx.RuleGet(ctx, "r-full")
			require.NoError(t, err)
			require.Equal(t, want, got)

			minimal := &gantry.Rule{Name: "r-min", Arn: eventsARN + "rule/r-min", State: gantry.RuleStateDisabled, EventBusName: "default"}
			require.NoError(t, tx.RuleInsert(ctx, minimal))
			got, err = tx.RuleGet(ctx, "r-min")
			require.NoError(t, err)
			require.Equal(t, minimal, got)
		})

		t.Run("InsertDuplicateIsAlreadyExists", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.RuleInsert(ctx, Rule("r")))
			require.ErrorIs(t, tx.RuleInsert(ctx, Rule("r")), gantry.ErrAlreadyExists)
		})

		t.Run("MissingIsNotFound", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			_, err := tx.RuleGet(ctx, "nope")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			require.ErrorIs(t, tx.RuleUpdate(ctx, Rule("nope")), gantry.ErrNotFound)
			require.ErrorIs(t, tx.RuleDelete(ctx, "nope"), gantry.ErrNotFound)
		})

		t.Run("Update", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.RuleInsert(ctx, Rule("r-a")))
			require.NoError(t, tx.RuleInsert(ctx, Rule("r-b")))
			want := Rule("r-a", func(r *gantry.Rule) { r.State = gantry.RuleStateDisabled; r.EventPattern = "" })
			require.NoError(t, tx.RuleUpdate(ctx, want))
			got, err := tx.RuleGet(ctx, "r-a")
			require.NoError(t, err)
			require.Equal(t, want, got)
			other, err := tx.RuleGet(ctx, "r-b")
			require.NoError(t, err)
			require.Equal(t, Rule("r-b"), other, "update touches one rule")
		})

		t.Run("DeleteCascadesToTargetsAndScheduleState", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			queue := ARNs.ARN(gantry.ResourceJobQueue, "q")
			for _, name := range []string{"r-a", "r-b"} {
				require.NoError(t, tx.RuleInsert(ctx, Rule(name)))
				require.NoError(t, tx.RuleTargetUpsert(ctx, name, []*gantry.Target{Target("1", queue), Target("2", queue)}))
				require.NoError(t, tx.ScheduleStateUpsert(ctx, &store.ScheduleState{Rule: name, NextFireAt: BaseTime, Expression: "rate(1 minute)"}))
			}
			d := Delivery("r-a", "1")
			require.NoError(t, tx.DeliveryInsert(ctx, []*store.Delivery{d}))

			require.NoError(t, tx.RuleDelete(ctx, "r-a"))
			_, err := tx.RuleGet(ctx, "r-a")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			targets, err := tx.RuleTargetList(ctx, "r-a")
			require.NoError(t, err)
			require.Empty(t, targets)
			_, err = tx.ScheduleStateGet(ctx, "r-a")
			require.ErrorIs(t, err, gantry.ErrNotFound)
			byTarget, err := tx.RuleList(ctx, &store.RuleListParams{TargetArn: queue})
			require.NoError(t, err)
			require.Equal(t, []string{"r-b"}, ruleNames(byTarget))

			// The other rule is intact; deliveries are history and stay.
			targets, err = tx.RuleTargetList(ctx, "r-b")
			require.NoError(t, err)
			require.Len(t, targets, 2)
			_, err = tx.ScheduleStateGet(ctx, "r-b")
			require.NoError(t, err)
			ds, err := tx.DeliveryList(ctx, &store.DeliveryListParams{Rule: "r-a"})
			require.NoError(t, err)
			require.Equal(t, []*store.Delivery{d}, ds)
			require.ErrorIs(t, tx.RuleDelete(ctx, "r-a"), gantry.ErrNotFound)
		})

		t.Run("ListOrderPagingPrefix", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			got, err := tx.RuleList(ctx, &store.RuleListParams{})
			require.NoError(t, err)
			require.Empty(t, got)
			// '_' and '%' are LIKE wildcards: a prefix must match them literally.
			for _, name := range []string{"b-2", "a_1", "b-1", "a-1", "ab", "b-3", "a%1", "B-0"} {
				require.NoError(t, tx.RuleInsert(ctx, Rule(name)))
			}
			got, err = tx.RuleList(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, []string{"B-0", "a%1", "a-1", "a_1", "ab", "b-1", "b-2", "b-3"}, ruleNames(got))
			require.Equal(t, Rule("a-1"), got[2], "list returns whole rules")

			for _, tc := range []struct {
				params store.RuleListParams
				want   []string
			}{
				{store.RuleListParams{Limit: 3}, []string{"B-0", "a%1", "a-1"}},
				{store.RuleListParams{AfterName: "a-1", Limit: 3}, []string{"a_1", "ab", "b-1"}},
				{store.RuleListParams{AfterName: "b-3"}, []string{}},
				{store.RuleListParams{NamePrefix: "b-"}, []string{"b-1", "b-2", "b-3"}},
				{store.RuleListParams{NamePrefix: "b-", AfterName: "b-1", Limit: 1}, []string{"b-2"}},
				{store.RuleListParams{NamePrefix: "a_"}, []string{"a_1"}},
				{store.RuleListParams{NamePrefix: "a%"}, []string{"a%1"}},
				{store.RuleListParams{NamePrefix: "b"}, []string{"b-1", "b-2", "b-3"}},
				{store.RuleListParams{NamePrefix: "ab"}, []string{"ab"}},
				{store.RuleListParams{NamePrefix: "abc"}, []string{}},
				{store.RuleListParams{NamePrefix: "b-3"}, []string{"b-3"}},
			} {
				got, err := tx.RuleList(ctx, &tc.params)
				require.NoError(t, err)
				require.Equal(t, tc.want, append([]string{}, ruleNames(got)...), "%+v", tc.params)
			}
		})

		t.Run("ListByTargetArn", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			q1, q2 := ARNs.ARN(gantry.ResourceJobQueue, "q1"), ARNs.ARN(gantry.ResourceJobQueue, "q2")
			for _, name := range []string{"r-c", "r-a", "r-b", "s-a", "r-none"} {
				require.NoError(t, tx.RuleInsert(ctx, Rule(name)))
			}
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r-a", []*gantry.Target{Target("1", q1), Target("2", q1), Target("3", q2)}))
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r-b", []*gantry.Target{Target("1", q2)}))
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r-c", []*gantry.Target{Target("x", q1)}))
			require.NoError(t, tx.RuleTargetUpsert(ctx, "s-a", []*gantry.Target{Target("x", q1)}))

			for _, tc := range []struct {
				params store.RuleListParams
				want   []string
			}{
				{store.RuleListParams{TargetArn: q1}, []string{"r-a", "r-c", "s-a"}},
				{store.RuleListParams{TargetArn: q2}, []string{"r-a", "r-b"}},
				{store.RuleListParams{TargetArn: q1, Limit: 1}, []string{"r-a"}},
				{store.RuleListParams{TargetArn: q1, AfterName: "r-a"}, []string{"r-c", "s-a"}},
				{store.RuleListParams{TargetArn: q1, NamePrefix: "r-"}, []string{"r-a", "r-c"}},
				{store.RuleListParams{TargetArn: "arn:other"}, []string{}},
			} {
				got, err := tx.RuleList(ctx, &tc.params)
				require.NoError(t, err)
				require.Equal(t, tc.want, append([]string{}, ruleNames(got)...), "%+v", tc.params)
			}

			// Retargeting moves the rule between ARNs.
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r-c", []*gantry.Target{Target("x", q2)}))
			got, err := tx.RuleList(ctx, &store.RuleListParams{TargetArn: q2})
			require.NoError(t, err)
			require.Equal(t, []string{"r-a", "r-b", "r-c"}, ruleNames(got))
			require.NoError(t, tx.RuleTargetDelete(ctx, "r-a", []string{"3"}))
			got, err = tx.RuleList(ctx, &store.RuleListParams{TargetArn: q2})
			require.NoError(t, err)
			require.Equal(t, []string{"r-b", "r-c"}, ruleNames(got))
		})
	})
}

func exerciseRuleTargets(t *testing.T, newTx newTxFunc) {
	t.Run("RuleTarget", func(t *testing.T) {
		t.Parallel()

		t.Run("UpsertListRoundTrip", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			require.NoError(t, tx.RuleInsert(ctx, Rule("r")))
			got, err := tx.RuleTargetList(ctx, "r")
			require.NoError(t, err)
			require.Empty(t, got)

			queue := ARNs.ARN(gantry.ResourceJobQueue, "q")
			full := Target("b-full", queue, func(t *gantry.Target) {
				t.RoleArn = "arn:aws:iam::123456789012:role/r"
				t.InputTransformer = &gantry.InputTransformer{
					InputPathsMap: map[string]string{"id": "$.detail.jobId"},
					InputTemplate: `{"parent":<id>}`,
				}
				t.BatchParameters.ArrayProperties = &gantry.BatchTargetArrayProperties{Size: 3}
				t.BatchParameters.RetryStrategy = &gantry.BatchTargetRetryStrategy{Attempts: 2}
				t.RetryPolicy = &gantry.TargetRetryPolicy{MaximumRetryAttempts: Ptr[int32](0), MaximumEventAgeInSeconds: Ptr[int32](60)}
				t.DeadLetterConfig = &gantry.TargetDeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:123456789012:dlq"}
			})
			hook := &gantry.Target{
				Id:    "a-http",
				Arn:   eventsARN + "api-destination/d/0000",
				Input: `{"k":"v"}`,
				HttpParameters: &gantry.HttpTargetParameters{
					PathParameterValues: []string{"p"},
					HeaderParameters:    map[string]string{"H": "v"},
				},
			}
			plain := Target("c", queue, func(t *gantry.Target) { t.InputPath = "$.detail" })
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r", []*gantry.Target{full, hook, plain}))
			got, err = tx.RuleTargetList(ctx, "r")
			require.NoError(t, err)
			require.Equal(t, []*gantry.Target{hook, full, plain}, got, "ordered by id")

			other, err := tx.RuleTargetList(ctx, "other")
			require.NoError(t, err)
			require.Empty(t, other)
		})

		t.Run("UpsertReplacesByID", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			q1, q2 := ARNs.ARN(gantry.ResourceJobQueue, "q1"), ARNs.ARN(gantry.ResourceJobQueue, "q2")
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r", []*gantry.Target{Target("1", q1), Target("2", q1)}))
			require.NoError(t, tx.RuleTargetUpsert(ctx, "other", []*gantry.Target{Target("1", q1)}))
			replaced := Target("2", q2, func(t *gantry.Target) { t.Input = `"x"`; t.BatchParameters = nil })
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r", []*gantry.Target{replaced, Target("3", q2)}))
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r", nil), "an empty upsert is a no-op")
			got, err := tx.RuleTargetList(ctx, "r")
			require.NoError(t, err)
			require.Equal(t, []*gantry.Target{Target("1", q1), replaced, Target("3", q2)}, got)
			got, err = tx.RuleTargetList(ctx, "other")
			require.NoError(t, err)
			require.Equal(t, []*gantry.Target{Target("1", q1)}, got, "targets are per rule")
		})

		t.Run("DeleteIgnoresUnknownIDs", func(t *testing.T) {
			t.Parallel()
			tx, ctx := newTx(t), t.Context()
			queue := ARNs.ARN(gantry.ResourceJobQueue, "q")
			require.NoError(t, tx.RuleTargetUpsert(ctx, "r", []*gantry.Target{Target("1", queue), Target("2", queue), Target("3", queue)}))
			require.NoError(t, tx.RuleTargetUpsert(ctx, "other", []*gantry.Target{Target("1", queue)}))
			require.NoError(t, tx.RuleTargetDelete(ctx, "r", []string{"1", "3", "nope"}))
			require.NoError(t, tx.RuleTargetDelete(ctx, "r", nil))
			require.NoError(t, tx.RuleTargetDelete(ctx, "missing-rule", []string{"1"}))
			got, err := tx.RuleTargetList(ctx, "r")
			require.NoError(t, err)
			require.Equal(t, []*gantry.Target{Target("2", queue)}, got)
			got, err = tx.RuleTargetList(ctx, "other")
			require.NoError(t, err)
			require.Equal(t, []*gantry.Target{Target("1", queue)}, got)
		})
	})
}

// namedDocOps adapts the Connection and APIDestination methods, which share
// one contract, to a common shape so one test covers both.
type namedDocOps struct {
	name   string
	insert func(ctx context.Context, tx store.Tx, name, variant string) error
	update func(ctx context.Context, tx store.Tx, name, variant string) error
	get    func(ctx context.Context, tx store.Tx, name string) (any, error)
	want   func(name, variant string) any
	list   func(ctx context.Context, tx store.Tx, p *store.NameListParams) ([]string, error)
	delete func(ctx context.Context, tx store.Tx, name string) error
}

func exerciseNamedDocs(t *testing.T, newTx newTxFunc) {
	connection := func(name, variant string) *gantry.Connection {
		return Connection(name, func(c *gantry.Connection) {
			if variant != "" {
				c.Description = variant
				c.ConnectionState = gantry.ConnectionStateDeauthorized
				c.AuthorizationType = gantry.ConnectionAuthBasic
				c.AuthParameters = &gantry.ConnectionAuthParameters{
					BasicAuthParameters: &gantry.ConnectionBasicAuth{Username: "u", Password: "p"},
					InvocationHttpParameters: &gantry.ConnectionHTTPParams{
						HeaderParameters: []gantry.ConnectionParameter{{Key: "h", Value: "s", IsValueSecret: true}},
						BodyParameters:   []gantry.ConnectionParameter{{Key: "b", Value: "v"}},
					},
				}
				c.LastAuthorizedTime = 1735689601.5
			}
		})
	}
	destination := func(name, variant string) *gantry.APIDestination {
		return APIDestination(name, func(d *gantry.APIDestination) {
			if variant != "" {
				d.Description = variant
				d.ApiDestinationState = gantry.APIDestinationStateInactive
				d.InvocationRateLimitPerSecond = 10
				d.LastModifiedTime = 1735689601.25
			}
		})
	}
	for _, ops := range []namedDocOps{
		{
			name: "Connection",
			insert: func(ctx context.Context, tx store.Tx, name, variant string) error {
				return tx.ConnectionInsert(ctx, connection(name, variant))
			},
			update: func(ctx context.Context, tx store.Tx, name, variant string) error {
				return tx.ConnectionUpdate(ctx, connection(name, variant))
			},
			get:  func(ctx context.Context, tx store.Tx, name string) (any, error) { return tx.ConnectionGet(ctx, name) },
			want: func(name, variant string) any { return connection(name, variant) },
			list: func(ctx context.Context, tx store.Tx, p *store.NameListParams) ([]string, error) {
				cs, err := tx.ConnectionList(ctx, p)
				names := []string{}
				for _, c := range cs {
					names = append(names, c.Name)
				}
				return names, err
			},
			delete: func(ctx context.Context, tx store.Tx, name string) error { return tx.ConnectionDelete(ctx, name) },
		},
		{
			name: "APIDestination",
			insert: func(ctx context.Context, tx store.Tx, name, variant string) error {
				return tx.APIDestinationInsert(ctx, destination(name, variant))
			},
			update: func(ctx context.Context, tx store.Tx, name, variant string) error {
				return tx.APIDestinationUpdate(ctx, destination(name, variant))
			},
			get: func(ctx context.Context, tx store.Tx, name string) (any, error) {
				return tx.APIDestinationGet(ctx, name)
			},
			want: func(name, variant string) any { return destination(name, variant) },
			list: func(ctx context.Context, tx store.Tx, p *store.NameListParams) ([]string, error) {
				ds, err := tx.APIDestinationList(ctx, p)
				names := []string{}
				for _, d := range ds {
					names = append(names, d.Name)
				}
				return names, err
			},
			delete: func(ctx context.Context, tx store.Tx, name string) error { return tx.APIDestinationDelete(ctx, name) },
		},
	} {
		t.Run(ops.name, func(t *testing.T) {
			t.Parallel()

			t.Run("RoundTripUpdateDelete", func(t *testing.T) {
				t.Parallel()
				tx, ctx := newTx(t), t.Context()
				require.NoError(t, ops.insert(ctx, tx, "x-a", ""))
				require.NoError(t, ops.insert(ctx, tx, "x-b", ""))
				got, err := ops.get(ctx, tx, "x-a")
				require.NoError(t, err)
				require.Equal(t, ops.want("x-a", ""), got)

				require.NoError(t, ops.update(ctx, tx, "x-a", "changed"))
				got, err = ops.get(ctx, tx, "x-a")
				require.NoError(t, err)
				require.Equal(t, ops.want("x-a", "changed"), got, "secrets and every field round-trip")
				got, err = ops.get(ctx, tx, "x-b")
				require.NoError(t, err)
				require.Equal(t, ops.want("x-b", ""), got)

				require.NoError(t, ops.delete(ctx, tx, "x-a"))
				_, err = ops.get(ctx, tx, "x-a")
				require.ErrorIs(t, err, gantry.ErrNotFound)
				names, err := ops.list(ctx, tx, nil)
				require.NoError(t, err)
				require.Equal(t, []string{"x-b"}, names)
			})

			t.Run("ErrorSentinels", func(t *testing.T) {
				t.Parallel()
				tx, ctx := newTx(t), t.Context()
				require.NoError(t, ops.insert(ctx, tx, "x", ""))
				require.ErrorIs(t, ops.insert(ctx, tx, "x", "other"), gantry.ErrAlreadyExists)
				_, err := ops.get(ctx, tx, "nope")
				require.ErrorIs(t, err, gantry.ErrNotFound)
				require.ErrorIs(t, ops.update(ctx, tx, "nope", ""), gantry.ErrNotFound)
				require.ErrorIs(t, ops.delete(ctx, tx, "nope"), gantry.ErrNotFound)
			})

			t.Run("ListOrderPagingPrefix", func(t *testing.T) {
				t.Parallel()
				tx, ctx := newTx(t), t.Context()
				names, err := ops.list(ctx, tx, &store.NameListParams{})
				require.NoError(t, err)
				require.Empty(t, names)
				for _, name := range []string{"b-2", "a_1", "b-1", "a-1", "ab", "b-3"} {
					require.NoError(t, ops.insert(ctx, tx, name, ""))
				}
				for _, tc := range []struct {
					params store.NameListParams
					want   []string
				}{
					{store.NameListParams{}, []string{"a-1", "a_1", "ab", "b-1", "b-2", "b-3"}},
					{store.NameListParams{Limit: 2}, []string{"a-1", "a_1"}},
					{store.NameListParams{AfterName: "a_1", Limit: 2}, []string{"ab", "b-1"}},
					{store.NameListParams{NamePrefix: "b-"}, []string{"b-1", "b-2", "b-3"}},
					{store.NameListParams{NamePrefix: "b-", AfterName: "b-1"}, []string{"b-2", "b-3"}},
					{store.NameListParams{NamePrefix: "a_"}, []string{"a_1"}},
					{store.NameListParams{NamePrefix: "c"}, []string{}},
				} {
					names, err := ops.list(ctx, tx, &tc.params)
					require.NoError(t, err)
					require.Equal(t, tc.want, names, "%+v", tc.params)
				}
			})
		})
	}
}
