package scheduler

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gantrybatch/gantry"
)

// Why a RUNNABLE job is not placed. The planner gives every job it holds
// back a statusReason: the never-fit reasons of plan.go (ReasonCEMaxResource,
// ReasonJobRequirement) for a job no environment could ever hold, and the
// waiting reasons below for the others. A reason starts with an AWS code
// (reference §5.16) when one applies, so that jobStateTimeLimitActions can
// match it, and goes on with Gantry's detail.

// ReasonCapacity starts the reason of the job at the head of a queue that
// waits for capacity in the queue's compute environments (or the host).
const ReasonCapacity = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"

// WaitingReasonLimit is how many waiting jobs of each queue the scheduler
// gives a reason per cycle (in dispatch order), so that a deep queue costs
// a bounded number of writes.
const WaitingReasonLimit = 100

// capacityReason says why the job needing need, at the head of q, cannot be
// placed now although some environment could hold it once capacity frees
// up: which resource of which environment (or of the host) is short.
func capacityReason(need gantry.Resources, q Queue, ces map[string]*CE) string {
	var short []string
	for _, arn := range q.CEs {
		ce := ces[arn]
		switch {
		case ce == nil:
		case !ce.Enabled:
			short = append(short, "compute environment "+ce.Name+" is DISABLED")
		default:
			if s := shortage(need, ce, "vCPU"); s != "" {
				short = append(short, "compute environment "+ce.Name+" "+s)
			}
		}
	}
	if h := ces[hostKey]; h != nil {
		if s := shortage(need, h, "CPUs"); s != "" {
			short = append(short, h.Name+" "+s)
		}
	}
	if len(short) == 0 {
		short = append(short, "no compute environment of queue "+q.Name+" has room")
	}
	return ReasonCapacity + " - Gantry: waiting for capacity: needs " + needs(need) + "; " + strings.Join(short, "; ")
}

// shortage describes what ce lacks for need on top of what it holds, such
// as "has 3 of 4 vCPU in use" or "allows at most 2 vCPU", or "" if need
// fits. cpuUnit names its CPUs ("vCPU" for an environment, "CPUs" for the
// host).
func shortage(need gantry.Resources, ce *CE, cpuUnit string) string {
	var small, busy []string
	if ce.MaxVCPUs >= 0 && ce.Used.VCPUs+need.VCPUs > ce.MaxVCPUs+1e-9 {
		if need.VCPUs > ce.MaxVCPUs+1e-9 {
			small = append(small, num(ce.MaxVCPUs)+" "+cpuUnit)
		} else {
			busy = append(busy, num(ce.Used.VCPUs)+" of "+num(ce.MaxVCPUs)+" "+cpuUnit)
		}
	}
	if ce.MaxMemoryMiB >= 0 && ce.Used.MemoryMiB+need.MemoryMiB > ce.MaxMemoryMiB {
		if need.MemoryMiB > ce.MaxMemoryMiB {
			small = append(small, fmt.Sprintf("%d MiB memory", ce.MaxMemoryMiB))
		} else {
			busy = append(busy, fmt.Sprintf("%d of %d MiB memory", ce.Used.MemoryMiB, ce.MaxMemoryMiB))
		}
	}
	if ce.MaxGPUs >= 0 && ce.Used.GPUs+need.GPUs > ce.MaxGPUs {
		if need.GPUs > ce.MaxGPUs {
			small = append(small, fmt.Sprintf("%d GPU", ce.MaxGPUs))
		} else {
			busy = append(busy, fmt.Sprintf("%d of %d GPU", ce.Used.GPUs, ce.MaxGPUs))
		}
	}
	var parts []string
	if len(small) > 0 {
		parts = append(parts, "allows at most "+strings.Join(small, " and "))
	}
	if len(busy) > 0 {
		parts = append(parts, "has "+strings.Join(busy, " and ")+" in use")
	}
	return strings.Join(parts, " and ")
}

// needs describes a job's resources: "2 vCPU, 512 MiB", plus GPUs if any.
func needs(r gantry.Resources) string {
	s := fmt.Sprintf("%s vCPU, %d MiB", num(r.VCPUs), r.MemoryMiB)
	if r.GPUs > 0 {
		s += fmt.Sprintf(", %d GPU", r.GPUs)
	}
	return s
}

// num formats a vCPU count without float noise (2.9999999999999996 -> 3).
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// queueWaitReason is the reason every job of q waits when the queue itself
// cannot dispatch: it is DISABLED, every environment it names is DISABLED,
// or it names none that exists. It is "" when the queue can dispatch.
func queueWaitReason(q Queue, ces map[string]*CE) string {
	if q.Disabled {
		return "Gantry: queue " + q.Name + " is DISABLED"
	}
	known, enabled := 0, 0
	for _, arn := range q.CEs {
		if ce := ces[arn]; ce != nil {
			known++
			if ce.Enabled {
				enabled++
			}
		}
	}
	switch {
	case known == 0:
		return "Gantry: queue " + q.Name + " has no compute environment"
	case enabled == 0:
		return "Gantry: every compute environment of queue " + q.Name + " is DISABLED"
	}
	return ""
}

// behindReason is the reason of the jobs of a FIFO queue behind head, which
// waits for capacity.
func behindReason(head JobRef, q Queue) string {
	return "Gantry: waiting behind job " + head.ID + " at the head of queue " + q.Name + " (FIFO)"
}

// shareReason is the reason of the jobs of a fair share queue that come
// after head, the next job of share in fair share order, which waits for
// capacity.
func shareReason(share string, head JobRef) string {
	return "Gantry: waiting for share " + share + ": its job " + head.ID + " is next in fair share order and waits for capacity"
}

// reservedReason is the reason of the jobs of a fair share queue held back
// by its policy's computeReservation: with active shares, the queue's
// environments (total vCPUs) may hold limit vCPUs, and hold used.
func reservedReason(q Queue, active int, limit, total, used float64) string {
	shares := "shares"
	if active == 1 {
		shares = "share"
	}
	return fmt.Sprintf("Gantry: capacity reserved for new shares (computeReservation %d%%): with %d active %s, queue %s may use %s of %s vCPU and %s are in use",
		q.FairShare.Policy.Reservation(), active, shares, q.Name, num(limit), num(total), num(used))
}

// DependencyReason is the statusReason of a PENDING job with n
// dependencies, which waits until every one has succeeded.
func DependencyReason(n int) string {
	if n == 1 {
		return "Gantry: waiting for 1 dependency"
	}
	return fmt.Sprintf("Gantry: waiting for %d dependencies", n)
}

// reasonCode is the AWS code a statusReason starts with, as in
// "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - ...", or "" if it has none.
func reasonCode(reason string) string {
	code, _, _ := strings.Cut(reason, " ")
	if !strings.Contains(code, ":") {
		return ""
	}
	for _, r := range code {
		if (r < 'A' || r > 'Z') && r != '_' && r != ':' {
			return ""
		}
	}
	return code
}
