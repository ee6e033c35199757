package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// EnvConfig describes the compute environment, job queue and job definition
// a scenario creates on the endpoint. The environment is a managed FARGATE
// one: it needs no instance role or instance types, and its jobs may ask for
// fractions of a vCPU, so that MaxVCPUs/VCPU jobs run at once.
type EnvConfig struct {
	// Prefix starts every name; it must be unique on the endpoint
	// (letters, digits, hyphens; at most 100 characters).
	Prefix string
	// MaxVCPUs is the environment's maxvCpus.
	MaxVCPUs int32
	// ServiceRole, Subnets and SecurityGroups are what AWS requires of a
	// managed Fargate environment. Gantry accepts any values; moto wants
	// an IAM role and an EC2 subnet and security group that exist in it.
	ServiceRole    string
	Subnets        []string
	SecurityGroups []string
	// Image, Command, VCPU (a Fargate step: "0.25", "0.5", "1"...) and
	// MemoryMiB make the job definition.
	Image     string
	Command   []string
	VCPU      string
	MemoryMiB int
	// CEDisabled creates the compute environment DISABLED (its queue's
	// jobs then stay RUNNABLE on Gantry); Priority is the queue's
	// (default 1).
	CEDisabled bool
	Priority   int32
}

// Env is what CreateEnv made.
type Env struct {
	CE, Queue, JobDefinition string // names; the definition is name:revision
	c                        *batch.Client
}

// CreateEnv creates the compute environment, waits for it to be VALID,
// creates the queue over it, waits for that too, and registers the job
// definition. On error it removes what it had created.
func CreateEnv(ctx context.Context, c *batch.Client, cfg *EnvConfig) (_ *Env, err error) {
	env := &Env{c: c}
	defer func() {
		if err != nil {
			env.Delete(context.WithoutCancel(ctx), 30*time.Second)
		}
	}()
	ceName, qName, defName := cfg.Prefix+"-ce", cfg.Prefix+"-queue", cfg.Prefix+"-def"
	if _, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String(ceName),
		Type:                   types.CETypeManaged,
		State:                  ceState(cfg.CEDisabled),
		ComputeResources: &types.ComputeResource{
			Type:             types.CRTypeFargate,
			MaxvCpus:         aws.Int32(cfg.MaxVCPUs),
			Subnets:          cfg.Subnets,
			SecurityGroupIds: cfg.SecurityGroups,
		},
		ServiceRole: aws.String(cfg.ServiceRole),
	}); err != nil {
		return nil, fmt.Errorf("CreateComputeEnvironment: %w", err)
	}
	env.CE = ceName
	if err := waitValid(ctx, func(ctx context.Context) (types.CEStatus, bool, error) {
		out, err := c.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{ComputeEnvironments: []string{ceName}})
		if err != nil || len(out.ComputeEnvironments) == 0 {
			return "", false, err
		}
		return out.ComputeEnvironments[0].Status, true, nil
	}); err != nil {
		return nil, fmt.Errorf("compute environment %s: %w", ceName, err)
	}
	if _, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{
		JobQueueName: aws.String(qName),
		State:        types.JQStateEnabled,
		Priority:     aws.Int32(max(1, cfg.Priority)),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{
			{Order: aws.Int32(1), ComputeEnvironment: aws.String(ceName)},
		},
	}); err != nil {
		return nil, fmt.Errorf("CreateJobQueue: %w", err)
	}
	env.Queue = qName
	if err := waitValid(ctx, func(ctx context.Context) (types.JQStatus, bool, error) {
		out, err := c.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{qName}})
		if err != nil || len(out.JobQueues) == 0 {
			return "", false, err
		}
		return out.JobQueues[0].Status, true, nil
	}); err != nil {
		return nil, fmt.Errorf("job queue %s: %w", qName, err)
	}
	out, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{
		JobDefinitionName:    aws.String(defName),
		Type:                 types.JobDefinitionTypeContainer,
		PlatformCapabilities: []types.PlatformCapability{types.PlatformCapabilityFargate},
		ContainerProperties: &types.ContainerProperties{
			Image:   aws.String(cfg.Image),
			Command: cfg.Command,
			ResourceRequirements: []types.ResourceRequirement{
				{Type: types.ResourceTypeVcpu, Value: aws.String(cfg.VCPU)},
				{Type: types.ResourceTypeMemory, Value: aws.String(strconv.Itoa(cfg.MemoryMiB))},
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("RegisterJobDefinition: %w", err)
	}
	env.JobDefinition = defName + ":" + strconv.Itoa(int(aws.ToInt32(out.Revision)))
	return env, nil
}

func ceState(disabled bool) types.CEState {
	if disabled {
		return types.CEStateDisabled
	}
	return types.CEStateEnabled
}

// waitValid polls status until it is VALID (AWS creates environments and
// queues asynchronously; Gantry and moto at once), INVALID, or ctx ends.
func waitValid[S ~string](ctx context.Context, status func(context.Context) (S, bool, error)) error {
	for {
		s, found, err := status(ctx)
		switch {
		case err != nil:
			return err
		case found && s == "VALID":
			return nil
		case found && s == "INVALID":
			return errors.New("status INVALID")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not VALID (last status %q): %w", s, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Delete removes what CreateEnv made, best effort within timeout: the job
// definition is deregistered, the queue disabled and deleted, then the
// environment disabled and deleted (AWS deletes asynchronously; an
// environment still referenced by a queue being deleted is retried until
// the deadline). It returns the errors it met.
func (e *Env) Delete(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var errs []error
	if e.JobDefinition != "" {
		if _, err := e.c.DeregisterJobDefinition(ctx, &batch.DeregisterJobDefinitionInput{JobDefinition: aws.String(e.JobDefinition)}); err != nil {
			errs = append(errs, fmt.Errorf("DeregisterJobDefinition: %w", err))
		}
	}
	if e.Queue != "" {
		if _, err := e.c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String(e.Queue), State: types.JQStateDisabled}); err != nil {
			errs = append(errs, fmt.Errorf("UpdateJobQueue DISABLED: %w", err))
		} else if err := retryUntil(ctx, func() error {
			_, err := e.c.DeleteJobQueue(ctx, &batch.DeleteJobQueueInput{JobQueue: aws.String(e.Queue)})
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("DeleteJobQueue: %w", err))
		}
	}
	if e.CE != "" {
		if _, err := e.c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{ComputeEnvironment: aws.String(e.CE), State: types.CEStateDisabled}); err != nil {
			errs = append(errs, fmt.Errorf("UpdateComputeEnvironment DISABLED: %w", err))
		} else if err := retryUntil(ctx, func() error {
			_, err := e.c.DeleteComputeEnvironment(ctx, &batch.DeleteComputeEnvironmentInput{ComputeEnvironment: aws.String(e.CE)})
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("DeleteComputeEnvironment: %w", err))
		}
	}
	return errors.Join(errs...)
}

// retryUntil calls fn every 500ms until it succeeds or ctx ends, and returns
// its last error.
func retryUntil(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}
