package scheduler

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
	"github.com/gantrybatch/gantry/store/storetest"
)

// BenchmarkComputePlan measures the pure planner on a busy snapshot: 4
// queues with a full head (256 RUNNABLE jobs each, the default HeadSize)
// over 4 environments with room for 64 jobs each, so every cycle places
// 256 jobs and holds back the rest with reasons.
func BenchmarkComputePlan(b *testing.B) {
	snap := &Snapshot{CEs: map[string]CE{}, MaxPlacements: 1000, MaxWaiting: WaitingReasonLimit}
	var ces []string
	for i := range 4 {
		arn := fmt.Sprintf("ce%d", i)
		ces = append(ces, arn)
		snap.CEs[arn] = CE{Arn: arn, Name: arn, Enabled: true, MaxVCPUs: 16, MaxMemoryMiB: -1}
	}
	for q := range 4 {
		sq := Queue{Arn: fmt.Sprintf("q%d", q), Name: fmt.Sprintf("q%d", q), Priority: int32(q), CEs: ces}
		for j := range 256 {
			sq.Jobs = append(sq.Jobs, JobRef{
				ID: fmt.Sprintf("q%d-%d", q, j), Resources: gantry.Resources{VCPUs: 0.25, MemoryMiB: 64}, CreatedAt: int64(j),
			})
		}
		snap.Queues = append(snap.Queues, sq)
	}
	b.ReportAllocs()
	for b.Loop() {
		plan := ComputePlan(snap)
		if len(plan.Placements) != 256 {
			b.Fatalf("placed %d, want 256", len(plan.Placements))
		}
	}
}

// BenchmarkResolveDependency measures dependency resolution over a real
// SQLite store: per op, one job of a chain finishes and a scheduling cycle
// makes the next one RUNNABLE (the finished-jobs queue, the dependent's
// evaluation and its transition, committed). ns/op is per link, including
// the finishing job's own transitions (one transaction).
func BenchmarkResolveDependency(b *testing.B) {
	tb := setup(b)
	ctx := context.Background()
	n := b.N + 1
	ids := make([]string, n)
	for start := 0; start < n; start += 1000 {
		require.NoError(b, tb.store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				j := storetest.Job(func(j *gantry.Job) {
					j.Status = gantry.JobStatusPending
					if i == 0 {
						j.Status = gantry.JobStatusRunning
					} else {
						j.Deps = []string{ids[i-1]}
					}
				})
				ids[i] = j.JobID
				if err := tx.JobInsert(ctx, j); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	// finish runs a job to SUCCEEDED in one transaction, as the runner
	// would in three.
	finish := func(id string) {
		require.NoError(b, tb.store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
			j, err := tx.JobGet(ctx, id)
			if err != nil {
				return err
			}
			for _, to := range []gantry.JobStatus{gantry.JobStatusStarting, gantry.JobStatusRunning, gantry.JobStatusSucceeded} {
				if j.Status == gantry.JobStatusRunning && to != gantry.JobStatusSucceeded {
					continue
				}
				from := j.Status
				j.Status = to
				if err := tb.tr.Transition(ctx, tx, j, from); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		finish(ids[i])
		res, err := tb.sched.RunOnce(ctx)
		require.NoError(b, err)
		if res.Resolved < 1 {
			b.Fatalf("link %d: nothing resolved", i)
		}
	}
	b.StopTimer()
	last, err := tb.store.JobGet(ctx, ids[n-1])
	require.NoError(b, err)
	require.Equal(b, gantry.JobStatusRunnable, last.Status)
}
