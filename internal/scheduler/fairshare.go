package scheduler

import (
	"cmp"
	"iter"
	"math"
	"slices"

	"github.com/gantrybatch/gantry"
)

// Fair share scheduling (reference §5.12), pure like the rest of the
// planner.
//
// Each share of a fair share queue has a usage: the vCPU-seconds its
// STARTING and RUNNING jobs held, decayed exponentially with the policy's
// shareDecaySeconds (DecayUsage; the scheduler advances it every cycle in
// updateShareUsage). The planner repeatedly dispatches from the share with
// the lowest usage × weightFactor, so a share of weight 0.5 settles at twice
// the usage, that is twice the capacity, of a share of weight 1. Jobs
// placed during the cycle are charged to their share at once (vCPUs ×
// ExpectedCycle), so that one cycle's placements are spread over the shares
// instead of all going to the share that was lowest when it began. Inside
// a share, the highest schedulingPriority goes first, then the oldest job.

// FairShare is the fair share state of a queue with a scheduling policy.
type FairShare struct {
	// Policy weighs the shares and sets computeReservation; nil is an
	// empty policy (every share weighs 1, nothing reserved).
	Policy *gantry.FairsharePolicy
	// Usage is each share's decayed vCPU-seconds as of this cycle.
	Usage map[string]float64
	// Running is the vCPUs held by each share's STARTING and RUNNING jobs.
	Running map[string]float64
	// ExpectedCycle is the time, in seconds, until the next cycle accounts
	// for a job placed now: each placement charges its share
	// vCPUs × ExpectedCycle for the rest of this cycle. 0 means 1.
	ExpectedCycle float64
}

// DecayUsage advances a share's usage by dt seconds during which its jobs
// held vcpus: the old usage decays by exp(-dt/decay) and the vCPU-time of
// the interval, itself decayed, is added. For dt much shorter than decay
// this is usage·exp(-dt/decay) + vcpus·dt; unlike that approximation it
// stays bounded (at vcpus·decay) after a long gap between cycles, such as a
// restart. A non-positive dt changes nothing; a non-positive decay means
// the default 600 s.
func DecayUsage(usage, vcpus, dt, decay float64) float64 {
	if dt <= 0 {
		return usage
	}
	if decay <= 0 {
		decay = gantry.DefaultShareDecaySeconds
	}
	f := math.Exp(-dt / decay)
	return usage*f + vcpus*decay*(1-f)
}

// shareOrder hands out a fair share queue's jobs in dispatch order.
type shareOrder struct {
	shares  []string            // every share with jobs, sorted (ties go to the first)
	jobs    map[string][]JobRef // each share's remaining jobs in dispatch order
	weight  map[string]float64
	charged map[string]float64 // usage plus this cycle's placements
	cycle   float64
}

func newShareOrder(q *Queue) *shareOrder {
	fs := q.FairShare
	o := &shareOrder{
		jobs:    map[string][]JobRef{},
		weight:  map[string]float64{},
		charged: map[string]float64{},
		cycle:   cmp.Or(fs.ExpectedCycle, 1),
	}
	for _, j := range q.Jobs {
		o.jobs[j.ShareIdentifier] = append(o.jobs[j.ShareIdentifier], j)
	}
	for share, jobs := range o.jobs {
		// Stable: jobs of equal priority and time keep the queue's order.
		slices.SortStableFunc(jobs, func(a, b JobRef) int {
			return cmp.Or(cmp.Compare(b.SchedulingPriority, a.SchedulingPriority), cmp.Compare(a.CreatedAt, b.CreatedAt))
		})
		o.shares = append(o.shares, share)
		o.weight[share] = fs.Policy.Weight(share)
		o.charged[share] = fs.Usage[share]
	}
	slices.Sort(o.shares)
	return o
}

// next returns the share to dispatch from: the one with jobs left and the
// lowest charged usage × weight. ok is false when no job is left.
func (o *shareOrder) next() (share string, ok bool) {
	best := 0.0
	for _, s := range o.shares {
		if len(o.jobs[s]) == 0 {
			continue
		}
		if v := o.charged[s] * o.weight[s]; !ok || v < best {
			share, best, ok = s, v, true
		}
	}
	return share, ok
}

// head is the next job of share.
func (o *shareOrder) head(share string) JobRef { return o.jobs[share][0] }

// pop removes the head of share, charging its share if it was dispatched.
func (o *shareOrder) pop(share string, dispatched bool) {
	j := o.jobs[share][0]
	o.jobs[share] = o.jobs[share][1:]
	if dispatched {
		o.charged[share] += j.Resources.VCPUs * o.cycle
	}
}

// rest hands out the remaining jobs in dispatch order, as if each were
// dispatched.
func (o *shareOrder) rest() iter.Seq[JobRef] {
	return func(yield func(JobRef) bool) {
		for {
			share, ok := o.next()
			if !ok {
				return
			}
			j := o.head(share)
			o.pop(share, true)
			if !yield(j) {
				return
			}
		}
	}
}

// planFairShare places a fair share queue's jobs in share order. Like FIFO,
// a job that has to wait for capacity holds back the rest of the queue this
// cycle (so large jobs are not starved) and a job that can never fit is
// reported Blocked and skipped. In addition, computeReservation keeps
// (cr/100)^activeShares of the queue's environments' maximum vCPUs free for
// shares that have no queued or running job yet. The jobs held back are
// reported to w with the reason. It reports whether the cycle's placement
// cap was reached.
func planFairShare(q Queue, ces map[string]*CE, plan *Plan, w *waiter, maxPlacements int) (full bool) {
	o := newShareOrder(&q)
	if reason := queueWaitReason(q, ces); reason != "" {
		w.holdAll(o.rest(), reason)
		return false
	}
	active := activeShares(q)
	limit, total, limited := reservationLimit(q, ces, active)
	for {
		share, ok := o.next()
		if !ok {
			return false
		}
		if maxPlacements > 0 && len(plan.Placements) >= maxPlacements {
			return true
		}
		j := o.head(share)
		if block(j, q, ces, plan) {
			o.pop(share, false)
			continue
		}
		if used := usedVCPUs(q, ces); limited && used+j.Resources.VCPUs > limit+1e-9 {
			// The rest is reserved for shares yet to come.
			w.holdAll(o.rest(), reservedReason(q, active, limit, total, used))
			return false
		}
		if !place(j, q, ces, plan) {
			// Head of line waits for capacity.
			o.pop(share, true)
			w.hold(j, capacityReason(j.Resources, q, ces))
			w.holdAll(o.rest(), shareReason(share, j))
			return false
		}
		o.pop(share, true)
	}
}

// activeShares counts the shares of q with a queued or a running job.
func activeShares(q Queue) int {
	active := map[string]bool{}
	for _, j := range q.Jobs {
		active[j.ShareIdentifier] = true
	}
	for share, v := range q.FairShare.Running {
		if v > 0 {
			active[share] = true
		}
	}
	return len(active)
}

// reservationLimit is the vCPUs q's environments may hold in all before the
// computeReservation of its policy stops it: their total maximum minus
// (cr/100)^active of it. limited is false when nothing is reserved, or when
// an environment has no maximum.
func reservationLimit(q Queue, ces map[string]*CE, active int) (limit, total float64, limited bool) {
	cr := q.FairShare.Policy.Reservation()
	if cr <= 0 || active == 0 {
		return 0, 0, false
	}
	for _, arn := range q.CEs {
		ce := ces[arn]
		if ce == nil || !ce.Enabled {
			continue
		}
		if ce.MaxVCPUs < 0 {
			return 0, 0, false
		}
		total += ce.MaxVCPUs
	}
	return total * (1 - math.Pow(float64(cr)/100, float64(active))), total, true
}

// usedVCPUs is what q's enabled environments hold now, from every queue.
func usedVCPUs(q Queue, ces map[string]*CE) float64 {
	var used float64
	for _, arn := range q.CEs {
		if ce := ces[arn]; ce != nil && ce.Enabled {
			used += ce.Used.VCPUs
		}
	}
	return used
}

// DispatchOrder returns up to limit of q's jobs in the order the planner
// would dispatch them given unlimited capacity: q.Jobs itself for a FIFO
// queue, share order for a fair share queue.
func DispatchOrder(q Queue, limit int) []JobRef {
	if q.FairShare == nil {
		return slices.Clone(q.Jobs[:min(limit, len(q.Jobs))])
	}
	var out []JobRef
	if limit <= 0 {
		return out
	}
	for j := range newShareOrder(&q).rest() {
		out = append(out, j)
		if len(out) >= limit {
			break
		}
	}
	return out
}
