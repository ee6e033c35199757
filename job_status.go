package gantry

import "fmt"

// JobStatus is the AWS Batch job state.
type JobStatus string

// The job states, in lifecycle order.
const (
	JobStatusSubmitted JobStatus = "SUBMITTED"
	JobStatusPending   JobStatus = "PENDING"
	JobStatusRunnable  JobStatus = "RUNNABLE"
	JobStatusStarting  JobStatus = "STARTING"
	JobStatusRunning   JobStatus = "RUNNING"
	JobStatusSucceeded JobStatus = "SUCCEEDED"
	JobStatusFailed    JobStatus = "FAILED"
)

// JobStatuses lists every status in lifecycle order.
var JobStatuses = []JobStatus{
	JobStatusSubmitted, JobStatusPending, JobStatusRunnable, JobStatusStarting,
	JobStatusRunning, JobStatusSucceeded, JobStatusFailed,
}

// Valid reports whether s is one of the seven AWS statuses.
func (s JobStatus) Valid() bool {
	for _, v := range JobStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether s is SUCCEEDED or FAILED.
func (s JobStatus) Terminal() bool {
	return s == JobStatusSucceeded || s == JobStatusFailed
}

// Active reports whether a job in s holds compute capacity (STARTING or RUNNING).
func (s JobStatus) Active() bool {
	return s == JobStatusStarting || s == JobStatusRunning
}

// jobTransitions is the AWS Batch state machine (reference §5.1). A job moves
// only along these edges; everything else is a programming error or a lost
// race, reported as ErrInvalidTransition.
var jobTransitions = map[JobStatus][]JobStatus{
	JobStatusSubmitted: {JobStatusPending, JobStatusRunnable, JobStatusFailed},
	JobStatusPending:   {JobStatusRunnable, JobStatusFailed, JobStatusSucceeded},
	JobStatusRunnable:  {JobStatusStarting, JobStatusFailed},
	JobStatusStarting:  {JobStatusRunning, JobStatusRunnable, JobStatusFailed},
	JobStatusRunning:   {JobStatusSucceeded, JobStatusFailed, JobStatusRunnable},
}

// CheckTransition returns nil if a job may move from one status to another,
// and an error wrapping ErrInvalidTransition otherwise. PENDING->SUCCEEDED
// exists for array parents, whose status is derived from their children.
func CheckTransition(from, to JobStatus) error {
	for _, s := range jobTransitions[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("%w: %s -> %s", ErrInvalidTransition, from, to)
}
