package scheduler

import (
	"cmp"
	"fmt"
	"iter"
	"slices"

	"github.com/gantrybatch/gantry"
)

// Blocking reasons (reference §5.16), followed by Gantry's detail.
const (
	ReasonCEMaxResource  = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet the CPU requirement of the job."
	ReasonJobRequirement = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue."
)

// CE is a compute environment as the planner sees it. Negative maxima mean
// unlimited.
type CE struct {
	Arn          string
	Name         string
	Enabled      bool
	MaxVCPUs     float64
	MaxMemoryMiB int64
	MaxGPUs      int64
	Used         gantry.Resources
}

// Queue is a job queue with the head of its RUNNABLE jobs in FIFO order.
type Queue struct {
	Arn      string
	Name     string
	Priority int32
	CEs      []string // ARNs in computeEnvironmentOrder
	Jobs     []JobRef
	// Disabled is set for a queue whose state is DISABLED: it dispatches
	// nothing, and its jobs wait with a reason saying so.
	Disabled bool
	// FairShare is set for a queue with a scheduling policy: its jobs are
	// then dispatched by share (fairshare.go) instead of FIFO.
	FairShare *FairShare
}

// JobRef is a RUNNABLE job as the planner sees it.
type JobRef struct {
	ID           string
	Resources    gantry.Resources
	StatusReason string
	// The fields below order the jobs of a fair share queue; FIFO queues
	// ignore them.
	ShareIdentifier    string
	SchedulingPriority int32
	CreatedAt          int64 // ms
}

// Snapshot is the immutable input of one planning cycle.
type Snapshot struct {
	Queues []Queue
	CEs    map[string]CE
	// MaxPlacements bounds the placements of one cycle (0 = unbounded).
	MaxPlacements int
	// MaxWaiting bounds the jobs of each queue reported or counted as
	// Waiting, in dispatch order (0 = unbounded).
	MaxWaiting int
	// Host, when set, is the capacity of what every environment runs on
	// (a Docker engine's CPUs and memory) with Used summed over all of
	// them: no placement may exceed it, and a job larger than it is
	// blocked.
	Host *CE
}

// hostKey holds the snapshot's Host in the planner's working map of
// environments, so every placement also charges it.
const hostKey = "\x00host"

// Placement moves a job to STARTING in a compute environment.
type Placement struct {
	JobID    string
	QueueArn string
	CEArn    string
	CEName   string
}

// Blocked is a job that no compute environment of its queue can ever hold,
// with the reason to show in its statusReason.
type Blocked struct {
	JobID  string
	Reason string
}

// Waiting is a job that could run but waits (for capacity, for the job at
// the head of its queue, for its queue to be enabled...), with the reason
// to show in its statusReason.
type Waiting struct {
	JobID    string
	QueueArn string
	Reason   string
}

// Plan is the output of one planning cycle.
type Plan struct {
	Placements []Placement
	// Blocked and Waiting hold the jobs whose statusReason must change:
	// a job that already carries its reason is left out.
	Blocked []Blocked
	Waiting []Waiting
}

// ComputePlan decides which RUNNABLE jobs start where. It is pure: the
// snapshot is not modified.
//
// Queues are served in descending priority (then by name) over shared
// compute environments. Within a queue jobs go in FIFO order; each tries the
// queue's environments in order and takes the first with free vCPU, memory
// and GPU capacity (spill-over). A job that would fit an environment once
// capacity frees up holds back the rest of its queue this cycle, so large
// jobs are not starved; lower-priority queues may still use what is left. A
// job that no environment of its queue could ever hold is reported Blocked
// and does not hold back its queue.
//
// Every other RUNNABLE job the planner looks at and does not place is
// reported Waiting, with a reason (reasons.go): the head of a queue that
// waits for capacity says which resource of which environment is short, the
// jobs behind it name it, and all the jobs of a DISABLED queue, or of a
// queue whose environments are all DISABLED, say so. Only the first
// MaxWaiting jobs of each queue are looked at for this; jobs the cycle's
// placement cap left unexamined are not reported.
//
// A fair share queue (Queue.FairShare set) orders its jobs by share instead
// of FIFO and may keep part of its environments free for new shares; see
// planFairShare.
func ComputePlan(s *Snapshot) *Plan {
	ces := make(map[string]*CE, len(s.CEs)+1)
	for arn, ce := range s.CEs {
		c := ce
		ces[arn] = &c
	}
	if s.Host != nil {
		h := *s.Host
		ces[hostKey] = &h
	}
	queues := slices.Clone(s.Queues)
	slices.SortStableFunc(queues, func(a, b Queue) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Name, b.Name))
	})
	plan := &Plan{}
	for _, q := range queues {
		var full bool
		w := &waiter{plan: plan, q: &q, ces: ces, max: s.MaxWaiting}
		if q.FairShare != nil {
			full = planFairShare(q, ces, plan, w, s.MaxPlacements)
		} else {
			full = planFIFO(q, ces, plan, w, s.MaxPlacements)
		}
		if full {
			return plan
		}
	}
	return plan
}

// planFIFO places q's jobs in order until one has to wait for capacity,
// which then holds back the rest. It reports whether the cycle's placement
// cap was reached.
func planFIFO(q Queue, ces map[string]*CE, plan *Plan, w *waiter, maxPlacements int) (full bool) {
	if reason := queueWaitReason(q, ces); reason != "" {
		w.holdAll(slices.Values(q.Jobs), reason)
		return false
	}
	for i, j := range q.Jobs {
		if maxPlacements > 0 && len(plan.Placements) >= maxPlacements {
			return true
		}
		if block(j, q, ces, plan) {
			continue
		}
		if !place(j, q, ces, plan) {
			// Head of line waits for capacity.
			w.hold(j, capacityReason(j.Resources, q, ces))
			w.holdAll(slices.Values(q.Jobs[i+1:]), behindReason(j, q))
			return false
		}
	}
	return false
}

// waiter reports the jobs of one queue that stay RUNNABLE this cycle:
// those that can never fit as Blocked, the others as Waiting, at most max
// of them (0 = no bound).
type waiter struct {
	plan *Plan
	q    *Queue
	ces  map[string]*CE
	max  int
	n    int // Waiting jobs counted, reported or not
}

// hold reports j, Blocked if it can never fit, else Waiting with reason
// (unless it carries that reason already). It returns false, reporting
// nothing, once the queue's bound is reached.
func (w *waiter) hold(j JobRef, reason string) bool {
	if w.max > 0 && w.n >= w.max {
		return false
	}
	if block(j, *w.q, w.ces, w.plan) {
		return true
	}
	w.n++
	if reason != j.StatusReason {
		w.plan.Waiting = append(w.plan.Waiting, Waiting{JobID: j.ID, QueueArn: w.q.Arn, Reason: reason})
	}
	return true
}

// holdAll holds every job of jobs with the same reason, up to the bound.
func (w *waiter) holdAll(jobs iter.Seq[JobRef], reason string) {
	for j := range jobs {
		if !w.hold(j, reason) {
			return
		}
	}
}

// block reports a job that no environment of q could ever hold (unless it
// already carries the same reason) and tells the caller to skip it.
func block(j JobRef, q Queue, ces map[string]*CE, plan *Plan) bool {
	reason := neverFits(j.Resources, q, ces)
	if reason == "" {
		return false
	}
	if reason != j.StatusReason {
		plan.Blocked = append(plan.Blocked, Blocked{JobID: j.ID, Reason: reason})
	}
	return true
}

// place puts j in the first environment of q with room for it, and reports
// whether there was one.
func place(j JobRef, q Queue, ces map[string]*CE, plan *Plan) bool {
	host := ces[hostKey]
	if host != nil && !fits(j.Resources, host.Used, host) {
		return false
	}
	for _, arn := range q.CEs {
		ce := ces[arn]
		if ce == nil || !ce.Enabled || !fits(j.Resources, ce.Used, ce) {
			continue
		}
		for _, c := range []*CE{ce, host} {
			if c != nil {
				c.Used.VCPUs += j.Resources.VCPUs
				c.Used.MemoryMiB += j.Resources.MemoryMiB
				c.Used.GPUs += j.Resources.GPUs
			}
		}
		plan.Placements = append(plan.Placements, Placement{JobID: j.ID, QueueArn: q.Arn, CEArn: arn, CEName: ce.Name})
		return true
	}
	return false
}

// fits reports whether need fits on top of used within ce's maxima.
func fits(need, used gantry.Resources, ce *CE) bool {
	return (ce.MaxVCPUs < 0 || used.VCPUs+need.VCPUs <= ce.MaxVCPUs+1e-9) &&
		(ce.MaxMemoryMiB < 0 || used.MemoryMiB+need.MemoryMiB <= ce.MaxMemoryMiB) &&
		(ce.MaxGPUs < 0 || used.GPUs+need.GPUs <= ce.MaxGPUs)
}

// neverFits returns the blocking reason if no environment of q could hold
// the job even when empty, or "" if one could.
func neverFits(need gantry.Resources, q Queue, ces map[string]*CE) string {
	if h := ces[hostKey]; h != nil && !fits(need, gantry.Resources{}, h) {
		return fmt.Sprintf("%s Gantry: the job needs %g vCPU and %d MiB memory; %s has %g CPUs and %d MiB memory.",
			ReasonJobRequirement, need.VCPUs, need.MemoryMiB, h.Name, h.MaxVCPUs, h.MaxMemoryMiB)
	}
	var maxVCPU float64
	var maxMem, maxGPU int64
	var biggest string
	known := 0
	for _, arn := range q.CEs {
		ce := ces[arn]
		if ce == nil {
			continue
		}
		known++
		if fits(need, gantry.Resources{}, ce) {
			return ""
		}
		if ce.MaxVCPUs < 0 || ce.MaxVCPUs > maxVCPU {
			maxVCPU, biggest = ce.MaxVCPUs, ce.Name
		}
		maxMem, maxGPU = max(maxMem, ce.MaxMemoryMiB), max(maxGPU, ce.MaxGPUs)
	}
	if known == 0 {
		return ""
	}
	if maxVCPU >= 0 && need.VCPUs > maxVCPU {
		return fmt.Sprintf("%s Gantry: the job needs %g vCPU; the largest compute environment of queue %s (%s) allows %g.",
			ReasonCEMaxResource, need.VCPUs, q.Name, biggest, maxVCPU)
	}
	return fmt.Sprintf("%s Gantry: the job needs %g vCPU, %d MiB memory and %d GPU; no compute environment of queue %s has that much (largest allows %d MiB memory, %d GPU).",
		ReasonJobRequirement, need.VCPUs, need.MemoryMiB, need.GPUs, q.Name, maxMem, maxGPU)
}
