package storetest

import (
	"fmt"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
)

// Fixture builders. Each returns a valid resource with the given name (or a
// fresh unique id for jobs); mods then adjust it. They are exported for the
// tests of packages that need a populated store.

// ARNs is the ARN builder fixtures use.
var ARNs = gantry.ARNBuilder{Region: "us-east-1", AccountID: "123456789012"}

// BaseTime is the createdAt of the first fixture job, in epoch milliseconds
// (2025-01-01T00:00:00Z).
const BaseTime int64 = 1735689600000

var jobSeq atomic.Int64

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }

// ComputeEnvironment returns a managed, enabled, valid EC2 environment.
func ComputeEnvironment(name string, mods ...func(*gantry.ComputeEnvironment)) *gantry.ComputeEnvironment {
	ce := &gantry.ComputeEnvironment{
		ComputeEnvironmentName: name,
		ComputeEnvironmentArn:  ARNs.ARN(gantry.ResourceComputeEnvironment, name),
		Type:                   gantry.CETypeManaged,
		State:                  gantry.StateEnabled,
		Status:                 gantry.StatusValid,
		ComputeResources: &gantry.ComputeResource{
			Type:     gantry.CRTypeEC2,
			MinvCpus: Ptr[int32](0),
			MaxvCpus: Ptr[int32](16),
		},
		Tags: map[string]string{"team": "batch"},
		UUID: uuid.NewString(),
	}
	for _, m := range mods {
		m(ce)
	}
	return ce
}

// JobQueue returns an enabled, valid queue of priority 1 feeding the
// environment "ce".
func JobQueue(name string, mods ...func(*gantry.JobQueue)) *gantry.JobQueue {
	q := &gantry.JobQueue{
		JobQueueName: name,
		JobQueueArn:  ARNs.ARN(gantry.ResourceJobQueue, name),
		State:        gantry.StateEnabled,
		Status:       gantry.StatusValid,
		Priority:     1,
		ComputeEnvironmentOrder: []gantry.ComputeEnvironmentOrder{
			{Order: 1, ComputeEnvironment: ARNs.ARN(gantry.ResourceComputeEnvironment, "ce")},
		},
	}
	for _, m := range mods {
		m(q)
	}
	return q
}

// JobDefinition returns an ACTIVE container definition revision.
func JobDefinition(name string, revision int32, mods ...func(*gantry.JobDefinition)) *gantry.JobDefinition {
	def := &gantry.JobDefinition{
		JobDefinitionName: name,
		JobDefinitionArn:  ARNs.JobDefinitionARN(name, revision),
		Revision:          revision,
		Status:            gantry.JobDefinitionActive,
		Type:              gantry.JobDefinitionTypeContainer,
		Parameters:        map[string]string{"input": "s3://bucket/key"},
		ContainerProperties: &gantry.ContainerProperties{
			Image:   "busybox:latest",
			Command: []string{"echo", "Ref::input"},
			ResourceRequirements: []gantry.ResourceRequirement{
				{Type: gantry.ResourceVCPU, Value: "1"},
				{Type: gantry.ResourceMemory, Value: "512"},
			},
		},
		RetryStrategy: &gantry.RetryStrategy{Attempts: Ptr[int32](2)},
	}
	for _, m := range mods {
		m(def)
	}
	return def
}

// Job returns a SUBMITTED job with a fresh id in queue "queue", of
// definition "def:1", created at BaseTime plus one second per job built so
// far in the process.
func Job(mods ...func(*gantry.Job)) *gantry.Job {
	n := jobSeq.Add(1)
	id := uuid.NewString()
	job := &gantry.Job{
		JobArn:        ARNs.ARN(gantry.ResourceJob, id),
		JobName:       fmt.Sprintf("job-%d", n),
		JobID:         id,
		JobQueue:      ARNs.ARN(gantry.ResourceJobQueue, "queue"),
		Status:        gantry.JobStatusSubmitted,
		CreatedAt:     BaseTime + n*1000,
		UpdatedAt:     BaseTime + n*1000,
		JobDefinition: ARNs.JobDefinitionARN("def", 1),
		Parameters:    map[string]string{"input": "s3://bucket/key"},
		Container: &gantry.ContainerDetail{ContainerProperties: gantry.ContainerProperties{
			Image:   "busybox:latest",
			Command: []string{"echo", "s3://bucket/key"},
			ResourceRequirements: []gantry.ResourceRequirement{
				{Type: gantry.ResourceVCPU, Value: "1"},
				{Type: gantry.ResourceMemory, Value: "512"},
			},
		}},
		RetryStrategy: &gantry.RetryStrategy{Attempts: Ptr[int32](2)},
		Tags:          map[string]string{"owner": "storetest"},
	}
	for _, m := range mods {
		m(job)
	}
	return job
}

// Placed returns a mod that moves a job to status (STARTING or RUNNING)
// in environment ce, holding r.
func Placed(status gantry.JobStatus, ce string, r gantry.Resources) func(*gantry.Job) {
	return func(j *gantry.Job) {
		j.Status = status
		j.ComputeEnvironment = ARNs.ARN(gantry.ResourceComputeEnvironment, ce)
		j.Resources = r
		j.TaskID = "task-" + j.JobID[:8]
		j.ExecutorHandle = "pid:4242"
		j.StartedAt = j.CreatedAt + 500
	}
}

// Stopped returns a mod that finishes a job with status (SUCCEEDED or
// FAILED) at stoppedAt.
func Stopped(status gantry.JobStatus, stoppedAt int64) func(*gantry.Job) {
	return func(j *gantry.Job) {
		j.Status = status
		j.StartedAt = j.CreatedAt + 1
		j.StoppedAt = stoppedAt
		j.StatusReason = "Essential container in task exited"
	}
}
