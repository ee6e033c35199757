package scheduler

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// snapshot reads what the planner needs: queues, environments with the
// capacity in use, and the head of each queue's RUNNABLE jobs (with the
// share state of fair share queues). Jobs are read as light references
// (store.JobRef, columns only): a cycle never decodes a job document, so
// its cost does not grow with the documents of a deep backlog.
//
// A queue that can start nothing (disabled, or every environment of it
// disabled or full) is read only when reasons are due: its jobs would only
// get waiting or blocking reasons, which are refreshed every
// ReasonRefresh. So a deep backlog behind busy environments costs nothing
// per cycle.
func (s *Scheduler) snapshot(ctx context.Context, reasonsDue bool) (*Snapshot, int, error) {
	queues, err := s.cfg.Store.JobQueueList(ctx, &store.JobQueueListParams{})
	if err != nil {
		return nil, 0, err
	}
	ces, err := s.cfg.Store.ComputeEnvironmentList(ctx, &store.ComputeEnvironmentListParams{})
	if err != nil {
		return nil, 0, err
	}
	used, err := s.cfg.Store.JobCapacityInUse(ctx)
	if err != nil {
		return nil, 0, err
	}
	snap := &Snapshot{CEs: make(map[string]CE, len(ces)), MaxPlacements: s.cfg.BatchSize, MaxWaiting: WaitingReasonLimit}
	if h := s.cfg.HostCapacity; h != nil {
		host := &CE{Name: cmp.Or(s.cfg.HostName, "the host"), Enabled: true, MaxVCPUs: h.VCPUs, MaxMemoryMiB: h.MemoryMiB, MaxGPUs: -1}
		for _, u := range used {
			host.Used.VCPUs += u.VCPUs
			host.Used.MemoryMiB += u.MemoryMiB
		}
		snap.Host = host
	}
	for _, ce := range ces {
		snap.CEs[ce.ComputeEnvironmentArn] = CE{
			Arn:          ce.ComputeEnvironmentArn,
			Name:         ce.ComputeEnvironmentName,
			Enabled:      ce.State == gantry.StateEnabled && ce.Status == gantry.StatusValid,
			MaxVCPUs:     ce.MaxVCPUs(),
			MaxMemoryMiB: ce.MaxMemoryMiB(),
			MaxGPUs:      maxGPUs(ce),
			Used:         used[ce.ComputeEnvironmentArn],
		}
	}
	n, room := 0, false
	clear(s.readLimits)
	for _, q := range queues {
		canStart := canStartAny(q, snap)
		room = room || canStart
		if !reasonsDue && !canStart {
			continue
		}
		limit := s.cfg.HeadSize
		if !reasonsDue {
			limit = s.headLimit(q, snap)
		}
		s.readLimits[q.JobQueueArn] = limit
		sq, err := s.queueInput(ctx, q, limit)
		if err != nil {
			s.noRoom.Store(false)
			return nil, 0, err
		}
		if len(sq.Jobs) == 0 {
			continue
		}
		n += len(sq.Jobs)
		snap.Queues = append(snap.Queues, sq)
	}
	s.noRoom.Store(!room)
	return snap, n, nil
}

// canStartAny reports whether q is enabled and has an enabled environment
// (and host) with some capacity left.
func canStartAny(q *gantry.JobQueue, snap *Snapshot) bool {
	if q.State == gantry.StateDisabled {
		return false
	}
	roomIn := func(c *CE) bool {
		return c.Enabled && c.Used.VCPUs < c.MaxVCPUs && (c.MaxMemoryMiB < 0 || c.Used.MemoryMiB < c.MaxMemoryMiB)
	}
	if h := snap.Host; h != nil && !roomIn(h) {
		return false
	}
	for _, o := range q.ComputeEnvironmentOrder {
		if ce, ok := snap.CEs[o.ComputeEnvironment]; ok && roomIn(&ce) {
			return true
		}
	}
	return false
}

// minVCPUStep is the smallest vCPU count a job can hold (a Fargate step).
const minVCPUStep = 0.25

// headMargin is read beyond the jobs that could start at all, for jobs
// too large for what is free that smaller ones behind them pass.
const headMargin = 32

// headLimit is how many RUNNABLE jobs of q a cycle reads when no waiting
// reasons are due: no more than could start in the room its environments
// (and the host) have left, plus headMargin, up to HeadSize. A full queue
// of thousands of jobs with a few free slots thus costs a cycle a few dozen
// rows, not HeadSize; the full head is read with the reasons (every
// ReasonRefresh). Fair share queues always read the full head: the order
// of their jobs depends on the shares found in it.
func (s *Scheduler) headLimit(q *gantry.JobQueue, snap *Snapshot) int {
	if q.SchedulingPolicyArn != "" {
		return s.cfg.HeadSize
	}
	free := 0.0
	for _, o := range q.ComputeEnvironmentOrder {
		if ce, ok := snap.CEs[o.ComputeEnvironment]; ok && ce.Enabled {
			free += max(ce.MaxVCPUs-ce.Used.VCPUs, 0)
		}
	}
	if h := snap.Host; h != nil {
		free = min(free, max(h.MaxVCPUs-h.Used.VCPUs, 0))
	}
	slots := free / minVCPUStep
	if slots >= float64(s.cfg.HeadSize) {
		return s.cfg.HeadSize
	}
	return min(int(math.Ceil(slots))+headMargin, s.cfg.HeadSize)
}

// shareHeadLimit bounds the RUNNABLE jobs read per known share of a fair
// share queue whose oldest HeadSize jobs all belong to other shares.
const shareHeadLimit = 100

var runnableOnly = []gantry.JobStatus{gantry.JobStatusRunnable}

// queueInput reads one queue as the planner sees it: the head of its
// RUNNABLE jobs (oldest first) and, for a fair share queue, the share state.
//
// A fair share queue's oldest HeadSize jobs may all belong to a few busy
// shares. The jobs of the other shares the queue knows (those with recorded
// usage and those its policy names exactly) are then read too, up to
// shareHeadLimit each, so that they are not hidden behind the busy ones.
func (s *Scheduler) queueInput(ctx context.Context, q *gantry.JobQueue, limit int) (Queue, error) {
	sq := Queue{Arn: q.JobQueueArn, Name: q.JobQueueName, Priority: q.Priority, Disabled: q.State == gantry.StateDisabled}
	for _, o := range q.ComputeEnvironmentOrder {
		sq.CEs = append(sq.CEs, o.ComputeEnvironment)
	}
	runnable, err := s.cfg.Store.JobRefList(ctx, &store.JobRefListParams{
		QueueArn: q.JobQueueArn, Statuses: runnableOnly, Limit: limit,
	})
	if err != nil || len(runnable) == 0 {
		return sq, err
	}
	if q.SchedulingPolicyArn != "" {
		st, err := s.shareState(ctx, q)
		if err != nil {
			return sq, err
		}
		sq.FairShare = &FairShare{
			Policy: st.policy, Usage: map[string]float64{}, Running: st.running,
			ExpectedCycle: s.cfg.Interval.Seconds(),
		}
		for _, u := range st.usage {
			sq.FairShare.Usage[u.ShareIdentifier] = u.Usage
		}
		if len(runnable) >= limit {
			more, err := s.hiddenShareJobs(ctx, q, st, runnable)
			if err != nil {
				return sq, err
			}
			runnable = append(runnable, more...)
		}
	}
	sq.Jobs = make([]JobRef, 0, len(runnable))
	for _, j := range runnable {
		sq.Jobs = append(sq.Jobs, JobRef{
			ID: j.ID, Resources: j.Resources, StatusReason: j.StatusReason,
			ShareIdentifier: j.ShareIdentifier, SchedulingPriority: j.SchedulingPriority, CreatedAt: j.CreatedAt,
		})
	}
	return sq, nil
}

// hiddenShareJobs reads the RUNNABLE jobs of the known shares of q that have
// none among runnable.
func (s *Scheduler) hiddenShareJobs(ctx context.Context, q *gantry.JobQueue, st *shareState, runnable []*store.JobRef) ([]*store.JobRef, error) {
	seen := map[string]bool{}
	for _, j := range runnable {
		seen[j.ShareIdentifier] = true
	}
	known := map[string]bool{}
	for _, u := range st.usage {
		known[u.ShareIdentifier] = true
	}
	if st.policy != nil {
		for _, a := range st.policy.ShareDistribution {
			if !strings.HasSuffix(a.ShareIdentifier, "*") {
				known[a.ShareIdentifier] = true
			}
		}
	}
	var out []*store.JobRef
	for _, share := range slices.Sorted(maps.Keys(known)) {
		if share == "" || seen[share] { // "" would not filter
			continue
		}
		jobs, err := s.cfg.Store.JobRefList(ctx, &store.JobRefListParams{
			QueueArn: q.JobQueueArn, Statuses: runnableOnly, ShareIdentifier: share, Limit: shareHeadLimit,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, jobs...)
	}
	return out, nil
}

// shareState is what the store knows of a fair share queue's shares.
type shareState struct {
	policy  *gantry.FairsharePolicy // nil if the policy was deleted meanwhile
	usage   []*store.ShareUsage
	running map[string]float64 // vCPUs of STARTING and RUNNING jobs per share
}

func (s *Scheduler) shareState(ctx context.Context, q *gantry.JobQueue) (*shareState, error) {
	st := &shareState{running: map[string]float64{}}
	if p, ok := gantry.ParseARN(q.SchedulingPolicyArn); ok {
		policy, err := s.cfg.Store.SchedulingPolicyGet(ctx, p.Name)
		switch {
		case err == nil:
			st.policy = policy.FairsharePolicy
		case !errors.Is(err, gantry.ErrNotFound):
			return nil, err
		}
	}
	var err error
	if st.usage, err = s.cfg.Store.ShareUsageList(ctx, q.JobQueueArn); err != nil {
		return nil, err
	}
	active, err := s.cfg.Store.JobRefList(ctx, &store.JobRefListParams{
		QueueArn: q.JobQueueArn, Statuses: []gantry.JobStatus{gantry.JobStatusStarting, gantry.JobStatusRunning},
	})
	if err != nil {
		return nil, err
	}
	for _, j := range active {
		st.running[j.ShareIdentifier] += j.Resources.VCPUs
	}
	return st, nil
}

// TagMaxGPUs is a compute environment resource tag declaring how many GPUs
// its jobs may hold at once (default 0: Gantry assumes no GPUs unless told).
const TagMaxGPUs = "gantry:maxGPUs"

func maxGPUs(ce *gantry.ComputeEnvironment) int64 {
	if v, ok := ce.Tags[TagMaxGPUs]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return 0
}

// updateShareUsage records the vCPU time each share of each fair share queue
// used since the last cycle, decayed by the policy's shareDecaySeconds:
// usage = usage·exp(-dt/decay) + vCPUs of the share's STARTING and RUNNING
// jobs × dt (DecayUsage). Every known share is rewritten each cycle, so that
// dt is always the time since the previous cycle.
func (s *Scheduler) updateShareUsage(ctx context.Context) error {
	queues, err := s.cfg.Store.JobQueueList(ctx, &store.JobQueueListParams{})
	if err != nil {
		return err
	}
	now := s.cfg.Now().UnixMilli()
	var rows []*store.ShareUsage
	for _, q := range queues {
		if q.SchedulingPolicyArn == "" {
			continue
		}
		st, err := s.shareState(ctx, q)
		if err != nil {
			return err
		}
		rows = append(rows, advanceUsage(q.JobQueueArn, float64(st.policy.DecaySeconds()), st.usage, st.running, now)...)
	}
	return s.cfg.Store.ShareUsageUpsert(ctx, rows)
}

// advanceUsage returns the usage rows of one queue as of now (ms): every
// recorded share decayed and charged for the time since its row was
// written, and a zero row for a share that runs jobs for the first time (it
// is charged from the next cycle on). Rows already at now are left out.
func advanceUsage(queueArn string, decay float64, prev []*store.ShareUsage, running map[string]float64, now int64) []*store.ShareUsage {
	var out []*store.ShareUsage
	seen := make(map[string]bool, len(prev))
	for _, u := range prev {
		seen[u.ShareIdentifier] = true
		if u.UpdatedAt >= now {
			continue
		}
		dt := float64(now-u.UpdatedAt) / 1000
		usage := DecayUsage(u.Usage, running[u.ShareIdentifier], dt, decay)
		if math.IsNaN(usage) || math.IsInf(usage, 0) {
			usage = 0
		}
		out = append(out, &store.ShareUsage{QueueArn: queueArn, ShareIdentifier: u.ShareIdentifier, Usage: usage, UpdatedAt: now})
	}
	for _, share := range slices.Sorted(maps.Keys(running)) {
		if !seen[share] && running[share] > 0 {
			out = append(out, &store.ShareUsage{QueueArn: queueArn, ShareIdentifier: share, UpdatedAt: now})
		}
	}
	return out
}
