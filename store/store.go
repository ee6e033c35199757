// Package store defines the persistence seam of Gantry: the Store and Tx
// interfaces that every database backend implements (storesqlite now,
// storepg for PostgreSQL with several replicas later), their parameter
// structs, and the error contract.
//
// Error contract, for every method:
//   - gantry.ErrNotFound when the addressed row does not exist (Get, Update,
//     Delete of a single row);
//   - gantry.ErrAlreadyExists when an Insert collides with a unique name;
//   - gantry.ErrConflict when a compare-and-swap (JobUpdate's FromStatus)
//     finds the row in another state;
//   - any other error is an internal failure, wrapped with context.
//
// The database is the source of truth. A backend must make every committed
// transaction durable before InTx returns, so that an API call that
// reported success survives kill -9.
package store

import (
	"context"
	"time"

	"github.com/gantrybatch/gantry"
)

// Store is a database handle. Methods of the embedded Tx run in their own
// implicit transaction; InTx groups several calls atomically.
type Store interface {
	Tx
	// InTx runs fn in one transaction and commits if fn returns nil. fn may
	// be retried by the backend on serialization failures, so it must not
	// have side effects outside tx, and it must use only the tx it is given
	// (calling the Store's own write methods inside fn deadlocks on SQLite,
	// whose one writer connection the transaction holds). Plain reads on the
	// Store never wait for an open transaction and never see its writes.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Close releases the database.
	Close() error
}

// CommitStats are the running totals of a store that funnels its writes
// through one writer (SQLite's group commit): Busy/elapsed is the writer's
// utilization, Calls/Commits the InTx calls per commit. A store whose
// writes scale out (PostgreSQL) does not report them.
type CommitStats struct {
	Commits int64         // transactions committed (batches)
	Calls   int64         // InTx calls those transactions carried
	Busy    time.Duration // time the writer spent running batches, commits included
}

// CommitStatser is implemented by stores that report CommitStats.
type CommitStatser interface {
	CommitStats() CommitStats
}

// Tx is every query Gantry runs. Method names are NounVerb, sorted by noun.
type Tx interface {
	ComputeEnvironmentDelete(ctx context.Context, name string) error
	ComputeEnvironmentGet(ctx context.Context, name string) (*gantry.ComputeEnvironment, error)
	ComputeEnvironmentInsert(ctx context.Context, ce *gantry.ComputeEnvironment) error
	// ComputeEnvironmentList returns environments ordered by name.
	ComputeEnvironmentList(ctx context.Context, params *ComputeEnvironmentListParams) ([]*gantry.ComputeEnvironment, error)
	// ComputeEnvironmentUpdate replaces the stored environment with the same name.
	ComputeEnvironmentUpdate(ctx context.Context, ce *gantry.ComputeEnvironment) error

	// APIDestinationDelete removes an API destination by name.
	APIDestinationDelete(ctx context.Context, name string) error
	APIDestinationGet(ctx context.Context, name string) (*gantry.APIDestination, error)
	// APIDestinationInsert stores a new API destination; ErrAlreadyExists on a taken name.
	APIDestinationInsert(ctx context.Context, d *gantry.APIDestination) error
	// APIDestinationList returns API destinations ordered by name.
	APIDestinationList(ctx context.Context, params *NameListParams) ([]*gantry.APIDestination, error)
	APIDestinationUpdate(ctx context.Context, d *gantry.APIDestination) error

	// ConnectionDelete removes a connection by name.
	ConnectionDelete(ctx context.Context, name string) error
	// ConnectionGet returns a connection with its secrets.
	ConnectionGet(ctx context.Context, name string) (*gantry.Connection, error)
	// ConnectionInsert stores a new connection; ErrAlreadyExists on a taken name.
	ConnectionInsert(ctx context.Context, c *gantry.Connection) error
	// ConnectionList returns connections ordered by name.
	ConnectionList(ctx context.Context, params *NameListParams) ([]*gantry.Connection, error)
	ConnectionUpdate(ctx context.Context, c *gantry.Connection) error

	// DeliveryInsert stores new deliveries and assigns their IDs.
	DeliveryInsert(ctx context.Context, ds []*Delivery) error
	// DeliveryList returns deliveries matching every set field of params,
	// by ID (ascending, or descending with Newest).
	DeliveryList(ctx context.Context, params *DeliveryListParams) ([]*Delivery, error)
	// DeliveryUpdate replaces a delivery's state, attempts, times and error.
	DeliveryUpdate(ctx context.Context, d *Delivery) error
	// DeliveryDeleteFinished removes up to limit (0 = no limit) DELIVERED
	// and DEAD deliveries updated before a time, oldest first; it returns
	// how many it removed.
	DeliveryDeleteFinished(ctx context.Context, before int64, limit int) (int, error)

	// EventInsert appends an event to the outbox, in the caller's transaction.
	EventInsert(ctx context.Context, ev *Event) error
	// EventList returns outbox events with ID > AfterID, oldest first.
	EventList(ctx context.Context, params *EventListParams) ([]*Event, error)
	// EventDeleteThrough removes up to limit (0 = no limit) outbox events
	// with ID <= id and Time < before, lowest IDs first; it returns how many
	// it removed.
	EventDeleteThrough(ctx context.Context, id, before int64, limit int) (int, error)

	// JobCapacityInUse sums the resources of STARTING and RUNNING jobs per
	// compute environment ARN; jobs without an environment are left out.
	JobCapacityInUse(ctx context.Context) (map[string]gantry.Resources, error)
	// JobCountByQueueStatus counts jobs per queue ARN and status.
	JobCountByQueueStatus(ctx context.Context) ([]*JobCount, error)
	// JobDeleteStopped removes up to Limit (0 = no limit) terminal jobs that
	// stopped before a time, and returns how many it removed.
	JobDeleteStopped(ctx context.Context, params *JobDeleteStoppedParams) (int, error)
	// JobCountActiveShares counts the distinct share identifiers of a
	// queue's jobs that have not finished (SUBMITTED through RUNNING).
	JobCountActiveShares(ctx context.Context, queueArn string) (int, error)
	// JobCountByArrayStatus counts an array parent's materialized children
	// by status.
	JobCountByArrayStatus(ctx context.Context, parentID string) (map[gantry.JobStatus]int64, error)
	// JobDependentList returns the jobs whose Deps include jobID.
	JobDependentList(ctx context.Context, jobID string) ([]*gantry.Job, error)
	// JobFinishedDelete removes ids from the finished-jobs queue.
	JobFinishedDelete(ctx context.Context, ids []string) error
	// JobFinishedInsert queues a job that reached a terminal status so the
	// scheduler resolves its dependents and its array parent. Written in
	// the same transaction as the terminal transition; inserting an id
	// twice is not an error. A job with neither dependents nor an array
	// parent is not queued: nothing waits on it (a dependent submitted
	// later sees its status when it is promoted).
	JobFinishedInsert(ctx context.Context, id string) error
	// JobFinishedList returns up to limit queued ids, oldest first.
	JobFinishedList(ctx context.Context, limit int) ([]string, error)
	JobGet(ctx context.Context, id string) (*gantry.Job, error)
	// JobGetMany returns the jobs that exist among ids, in no particular order.
	JobGetMany(ctx context.Context, ids []string) ([]*gantry.Job, error)
	// JobInsert stores a new job and the dependency edges of job.Deps.
	JobInsert(ctx context.Context, job *gantry.Job) error
	// JobInsertEncoded is JobInsert for a caller that has already encoded
	// the job: SubmitJob encodes it before its transaction, off the single
	// writer, and writes the same bytes into the job's event.
	JobInsertEncoded(ctx context.Context, params *JobInsertEncodedParams) error
	// JobInsertMany stores several new jobs (array children) at once.
	JobInsertMany(ctx context.Context, jobs []*gantry.Job) error
	// JobList returns jobs matching every set field of params.
	JobList(ctx context.Context, params *JobListParams) ([]*gantry.Job, error)
	// JobRefList returns light references (columns only, no document) to
	// the jobs of one queue in the given statuses, oldest first: the
	// scheduler's view of each queue's head.
	JobRefList(ctx context.Context, params *JobRefListParams) ([]*JobRef, error)
	// JobUpdate writes params.Job, which must be the whole job (every column
	// and the whole document are replaced), if the stored status equals
	// params.FromStatus; otherwise it returns ErrConflict.
	JobUpdate(ctx context.Context, params *JobUpdateParams) error

	// JobDefinitionGet returns one revision; Revision 0 means the highest
	// ACTIVE revision.
	JobDefinitionGet(ctx context.Context, params *JobDefinitionGetParams) (*gantry.JobDefinition, error)
	JobDefinitionInsert(ctx context.Context, def *gantry.JobDefinition) error
	// JobDefinitionLatestRevision is the highest revision ever registered
	// under name (ACTIVE or not), or 0.
	JobDefinitionLatestRevision(ctx context.Context, name string) (int32, error)
	// JobDefinitionList returns revisions ordered by name, then revision.
	JobDefinitionList(ctx context.Context, params *JobDefinitionListParams) ([]*gantry.JobDefinition, error)
	// JobDefinitionUpdate replaces the stored revision (status, tags).
	JobDefinitionUpdate(ctx context.Context, def *gantry.JobDefinition) error

	JobQueueDelete(ctx context.Context, name string) error
	JobQueueGet(ctx context.Context, name string) (*gantry.JobQueue, error)
	JobQueueInsert(ctx context.Context, q *gantry.JobQueue) error
	// JobQueueList returns queues ordered by name.
	JobQueueList(ctx context.Context, params *JobQueueListParams) ([]*gantry.JobQueue, error)
	JobQueueUpdate(ctx context.Context, q *gantry.JobQueue) error

	// RuleDelete removes a rule, its targets and its schedule state.
	RuleDelete(ctx context.Context, name string) error
	RuleGet(ctx context.Context, name string) (*gantry.Rule, error)
	// RuleInsert stores a new rule; ErrAlreadyExists on a taken name.
	RuleInsert(ctx context.Context, r *gantry.Rule) error
	// RuleList returns rules ordered by name.
	RuleList(ctx context.Context, params *RuleListParams) ([]*gantry.Rule, error)
	RuleUpdate(ctx context.Context, r *gantry.Rule) error

	// RuleTargetDelete removes targets of a rule by id; unknown ids are ignored.
	RuleTargetDelete(ctx context.Context, rule string, ids []string) error
	// RuleTargetList returns a rule's targets ordered by id.
	RuleTargetList(ctx context.Context, rule string) ([]*gantry.Target, error)
	// RuleTargetUpsert inserts or replaces targets of a rule (by Id).
	RuleTargetUpsert(ctx context.Context, rule string, targets []*gantry.Target) error

	// ScheduleStateDelete forgets a rule's schedule state; no error if it
	// has none.
	ScheduleStateDelete(ctx context.Context, rule string) error
	// ScheduleStateGet returns a rule's schedule state; ErrNotFound if none.
	ScheduleStateGet(ctx context.Context, rule string) (*ScheduleState, error)
	// ScheduleStateList returns every schedule state, ordered by rule.
	ScheduleStateList(ctx context.Context) ([]*ScheduleState, error)
	// ScheduleStateUpsert writes a rule's schedule state.
	ScheduleStateUpsert(ctx context.Context, st *ScheduleState) error

	// SchedulingPolicyDelete removes a policy by name.
	SchedulingPolicyDelete(ctx context.Context, name string) error
	SchedulingPolicyGet(ctx context.Context, name string) (*gantry.SchedulingPolicy, error)
	// SchedulingPolicyInsert stores a new policy; ErrAlreadyExists on a taken name.
	SchedulingPolicyInsert(ctx context.Context, p *gantry.SchedulingPolicy) error
	// SchedulingPolicyList returns policies ordered by name.
	SchedulingPolicyList(ctx context.Context, params *SchedulingPolicyListParams) ([]*gantry.SchedulingPolicy, error)
	SchedulingPolicyUpdate(ctx context.Context, p *gantry.SchedulingPolicy) error

	// ShareUsageList returns the recorded usage of every share of a queue.
	ShareUsageList(ctx context.Context, queueArn string) ([]*ShareUsage, error)
	// ShareUsageUpsert writes share usage rows (insert or replace).
	ShareUsageUpsert(ctx context.Context, rows []*ShareUsage) error

	// MetaGet reads a server-wide setting; ErrNotFound if unset.
	MetaGet(ctx context.Context, key string) (string, error)
	MetaSet(ctx context.Context, key, value string) error
}

// ComputeEnvironmentListParams filters ComputeEnvironmentList.
type ComputeEnvironmentListParams struct {
	Names     []string // only these names, if set
	AfterName string   // names strictly greater (pagination)
	Limit     int      // 0 = no limit
}

// JobQueueListParams filters JobQueueList.
type JobQueueListParams struct {
	Names     []string
	AfterName string
	Limit     int
}

// JobDefinitionGetParams addresses one revision.
type JobDefinitionGetParams struct {
	Name     string
	Revision int32 // 0 = latest ACTIVE
}

// JobDefinitionListParams filters JobDefinitionList.
type JobDefinitionListParams struct {
	Name   string // exact name, if set
	Status string // ACTIVE or INACTIVE, if set
	After  *JobDefinitionCursor
	Limit  int
}

// JobDefinitionCursor is a (name, revision) position for pagination.
type JobDefinitionCursor struct {
	Name     string
	Revision int32
}

// JobListOrder chooses the order of JobList.
type JobListOrder int

const (
	// JobListNewestFirst orders by createdAt descending, then id descending
	// (ListJobs).
	JobListNewestFirst JobListOrder = iota
	// JobListOldestFirst orders by createdAt ascending, then id ascending
	// (the scheduler's FIFO).
	JobListOldestFirst
)

// JobListParams filters JobList; zero fields do not filter.
type JobListParams struct {
	QueueArn           string
	Statuses           []gantry.JobStatus
	ComputeEnvironment string // placement CE ARN
	// NameLike matches jobName case-insensitively (ASCII); a trailing '*'
	// makes it a prefix match.
	NameLike string
	// DefinitionName matches every revision of a definition name
	// (case-sensitive); a trailing '*' makes it a prefix match.
	DefinitionName string
	// DefinitionArn matches one revision exactly.
	DefinitionArn   string
	CreatedBefore   int64 // createdAt < this (ms)
	CreatedAfter    int64 // createdAt > this (ms)
	ShareIdentifier string
	// ArrayParentID lists the children of one array job.
	ArrayParentID string
	// ExcludeArrayChildren leaves array children out (queue listings show
	// parents only).
	ExcludeArrayChildren bool
	// ArrayExpanding selects array parents that are materializing their
	// children (0 <= ArrayExpanded < ArraySize).
	ArrayExpanding bool
	Order          JobListOrder
	After          *JobCursor // position of the last row of the previous page
	Limit          int        // 0 = no limit
}

// JobCursor is a (createdAt, id) position for pagination.
type JobCursor struct {
	CreatedAt int64
	ID        string
}

// JobRefListParams selects JobRefList's jobs.
type JobRefListParams struct {
	QueueArn        string
	Statuses        []gantry.JobStatus
	ShareIdentifier string // only this share, if set
	Limit           int    // 0 = no limit
}

// JobRef is what the scheduler needs of a waiting or active job.
type JobRef struct {
	ID                 string
	Status             gantry.JobStatus
	CreatedAt          int64
	ShareIdentifier    string
	Resources          gantry.Resources
	SchedulingPriority int32
	StatusReason       string
}

// JobUpdateParams is a compare-and-swap update of one job.
type JobUpdateParams struct {
	Job        *gantry.Job
	FromStatus gantry.JobStatus
	// Detail is json.Marshal(Job), if the caller already has it (the
	// transition that also writes it into an event); nil: the store
	// encodes Job.
	Detail []byte
}

// JobInsertEncodedParams is a new job and its document.
type JobInsertEncodedParams struct {
	Job *gantry.Job
	// Detail is json.Marshal(Job); nil: the store encodes Job.
	Detail []byte
}

// JobDeleteStoppedParams selects finished jobs to purge.
type JobDeleteStoppedParams struct {
	StoppedBefore int64 // ms
	Limit         int
}

// JobCount is one row of JobCountByQueueStatus.
type JobCount struct {
	QueueArn string
	Status   gantry.JobStatus
	Count    int64
}

// Event is an outbox record: one event to deliver (a job state change, a
// queue blocked notice, a PutEvents entry). Detail is the JSON document.
type Event struct {
	ID int64 // assigned by EventInsert, increasing
	// UUID is the envelope's "id"; EventInsert assigns a random one if empty.
	UUID       string
	Time       int64 // ms
	DetailType string
	Source     string
	Resources  []string
	Detail     []byte
}

// NameListParams pages through resources ordered by name.
type NameListParams struct {
	NamePrefix string // names starting with this, if set
	AfterName  string // names strictly greater (pagination)
	Limit      int    // 0 = no limit
}

// RuleListParams filters RuleList.
type RuleListParams struct {
	NamePrefix string
	AfterName  string
	Limit      int
	// TargetArn lists only rules with a target of this ARN
	// (ListRuleNamesByTarget).
	TargetArn string
}

// Delivery states.
const (
	DeliveryPending   = "PENDING"   // waiting for its next attempt
	DeliveryDelivered = "DELIVERED" // the target accepted it
	DeliveryDead      = "DEAD"      // retries exhausted: the dead-letter record
)

// Delivery is one event on its way to one target of one rule. It is created
// in the transaction that matches the event (or fires the schedule), so
// nothing matched is lost; it is retried until DELIVERED or DEAD.
type Delivery struct {
	ID       int64 // assigned by DeliveryInsert
	EventID  int64 // the outbox event, 0 for a scheduled event
	Rule     string
	TargetID string
	// Target is the target as it was when the event matched (JSON of
	// gantry.Target), so later edits do not change what is delivered.
	Target []byte
	// Event is the full event envelope (JSON) the target input derives from.
	Event         []byte
	State         string
	Attempts      int
	CreatedAt     int64 // ms; the event's age counts from here
	NextAttemptAt int64 // ms
	UpdatedAt     int64 // ms
	LastError     string
	// Result is what the target returned (a job ID, an HTTP status).
	Result string
}

// DeliveryListParams filters DeliveryList; zero fields do not filter.
type DeliveryListParams struct {
	Rule      string
	States    []string
	DueBefore int64 // NextAttemptAt <= this (ms), if set
	AfterID   int64 // ID > this (ascending) or ID < this (Newest), if set
	Newest    bool
	Limit     int
}

// ScheduleState is the durable position of a scheduled rule: the next
// scheduled time it has not fired yet. The dispatcher advances it in the
// transaction that inserts the fire's deliveries, so each time fires once.
type ScheduleState struct {
	Rule       string
	NextFireAt int64 // ms
	LastFireAt int64 // ms, 0 if never fired
	// Expression is the ScheduleExpression (and zone) NextFireAt was
	// computed for; a changed rule recomputes it.
	Expression string
}

// EventListParams pages through the outbox.
type EventListParams struct {
	AfterID int64
	Limit   int
}

// SchedulingPolicyListParams pages through scheduling policies.
type SchedulingPolicyListParams struct {
	Names     []string
	AfterName string
	Limit     int
}

// ShareUsage is the decayed vCPU-seconds a fair share queue's share has used,
// as of UpdatedAt (ms).
type ShareUsage struct {
	QueueArn        string
	ShareIdentifier string
	Usage           float64
	UpdatedAt       int64
}
