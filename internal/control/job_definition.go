package control

import (
	"context"
	"errors"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// RegisterJobDefinitionOutput is the RegisterJobDefinition response.
type RegisterJobDefinitionOutput struct {
	JobDefinitionName string `json:"jobDefinitionName"`
	JobDefinitionArn  string `json:"jobDefinitionArn"`
	Revision          int32  `json:"revision"`
}

// RegisterJobDefinition registers the next revision of a job definition.
// Privileged containers and host volumes are refused unless the operator's
// Policy allows them.
func (s *Service) RegisterJobDefinition(ctx context.Context, in *gantry.RegisterJobDefinitionInput) (*RegisterJobDefinitionOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkPolicy(in.ContainerProperties); err != nil {
		return nil, err
	}
	def := &gantry.JobDefinition{
		JobDefinitionName:            in.JobDefinitionName,
		Status:                       gantry.JobDefinitionActive,
		Type:                         in.Type,
		SchedulingPriority:           in.SchedulingPriority,
		Parameters:                   in.Parameters,
		RetryStrategy:                in.RetryStrategy,
		ContainerProperties:          in.ContainerProperties,
		Timeout:                      in.Timeout,
		NodeProperties:               in.NodeProperties,
		Tags:                         in.Tags,
		PropagateTags:                in.PropagateTags,
		PlatformCapabilities:         in.PlatformCapabilities,
		EcsProperties:                in.EcsProperties,
		EksProperties:                in.EksProperties,
		ContainerOrchestrationType:   gantry.OrchestrationECS,
		ConsumableResourceProperties: in.ConsumableResourceProperties,
	}
	if len(in.EksProperties) > 0 {
		def.ContainerOrchestrationType = gantry.OrchestrationEKS
	}
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		rev, err := tx.JobDefinitionLatestRevision(ctx, in.JobDefinitionName)
		if err != nil {
			return err
		}
		def.Revision = rev + 1
		def.JobDefinitionArn = s.cfg.ARN.JobDefinitionARN(def.JobDefinitionName, def.Revision)
		return tx.JobDefinitionInsert(ctx, def)
	})
	s.defs.invalidate() // a bare name now resolves to the new revision
	if err != nil {
		return nil, internal("register job definition", err)
	}
	return &RegisterJobDefinitionOutput{JobDefinitionName: def.JobDefinitionName, JobDefinitionArn: def.JobDefinitionArn, Revision: def.Revision}, nil
}

func (s *Service) checkPolicy(c *gantry.ContainerProperties) error {
	if c == nil {
		return nil
	}
	if c.Privileged != nil && *c.Privileged && !s.cfg.Policy.AllowPrivileged {
		return gantry.ClientErrorf("containerProperties.privileged: privileged containers are not allowed on this server (the operator can enable them with --allow-privileged)")
	}
	for _, v := range c.Volumes {
		if v.Host != nil && v.Host.SourcePath != "" && !s.cfg.Policy.AllowHostVolumes {
			return gantry.ClientErrorf("containerProperties.volumes: host volume %q is not allowed on this server (the operator can enable host volumes with --allow-host-volumes)", v.Name)
		}
	}
	for _, d := range devices(c) {
		if !s.cfg.Policy.AllowPrivileged {
			return gantry.ClientErrorf("containerProperties.linuxParameters.devices: host device %q is not allowed on this server (requires --allow-privileged)", d.HostPath)
		}
	}
	return nil
}

func devices(c *gantry.ContainerProperties) []gantry.Device {
	if c.LinuxParameters == nil {
		return nil
	}
	return c.LinuxParameters.Devices
}

// DeregisterJobDefinitionInput is the DeregisterJobDefinition request.
type DeregisterJobDefinitionInput struct {
	JobDefinition string `json:"jobDefinition"`
}

// DeregisterJobDefinition marks one revision INACTIVE.
func (s *Service) DeregisterJobDefinition(ctx context.Context, in *DeregisterJobDefinitionInput) (*Empty, error) {
	if in.JobDefinition == "" {
		return nil, gantry.ClientErrorf("jobDefinition: required")
	}
	name, rev, err := gantry.ResolveName("jobDefinition", gantry.ResourceJobDefinition, in.JobDefinition)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, gantry.ClientErrorf("jobDefinition: %q must name a revision (name:revision or a revision ARN)", in.JobDefinition)
	}
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		def, err := tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: name, Revision: rev})
		if err != nil {
			return notFound(err, "jobDefinition", in.JobDefinition)
		}
		if def.Status == gantry.JobDefinitionInactive {
			return nil
		}
		def.Status = gantry.JobDefinitionInactive
		return tx.JobDefinitionUpdate(ctx, def)
	})
	s.defs.invalidate()
	if err != nil {
		return nil, internal("deregister job definition", err)
	}
	return &Empty{}, nil
}

// DescribeJobDefinitionsOutput is the DescribeJobDefinitions response.
type DescribeJobDefinitionsOutput struct {
	JobDefinitions []*gantry.JobDefinition `json:"jobDefinitions"`
	NextToken      string                  `json:"nextToken,omitempty"`
}

// DescribeJobDefinitions returns revisions by name:revision, ARN or bare name
// (all revisions), or filtered by name and status a page at a time.
func (s *Service) DescribeJobDefinitions(ctx context.Context, in *gantry.DescribeJobDefinitionsInput) (*DescribeJobDefinitionsOutput, error) {
	if len(in.JobDefinitions) > 100 {
		return nil, gantry.ClientErrorf("jobDefinitions: at most 100 job definitions are allowed")
	}
	if in.Status != "" && in.Status != gantry.JobDefinitionActive && in.Status != gantry.JobDefinitionInactive {
		return nil, gantry.ClientErrorf("status: must be ACTIVE or INACTIVE")
	}
	if len(in.JobDefinitions) > 0 {
		if in.MaxResults != nil || in.NextToken != "" {
			return nil, gantry.ClientErrorf("JobDefinitions and MaxResults cannot both be set")
		}
		if in.JobDefinitionName != "" || in.Status != "" {
			return nil, gantry.ClientErrorf("jobDefinitions: cannot be combined with jobDefinitionName or status")
		}
		return s.describeJobDefinitionRefs(ctx, in.JobDefinitions)
	}
	limit, err := pageSize(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	params := &store.JobDefinitionListParams{Name: in.JobDefinitionName, Status: in.Status, Limit: limit + 1}
	if in.NextToken != "" {
		params.After = &store.JobDefinitionCursor{}
		if err := decodeToken(in.NextToken, params.After); err != nil {
			return nil, err
		}
	}
	defs, err := s.cfg.Store.JobDefinitionList(ctx, params)
	if err != nil {
		return nil, internal("describe job definitions", err)
	}
	out := &DescribeJobDefinitionsOutput{JobDefinitions: defs}
	if len(defs) > limit {
		out.JobDefinitions = defs[:limit]
		last := defs[limit-1]
		out.NextToken = encodeToken(store.JobDefinitionCursor{Name: last.JobDefinitionName, Revision: last.Revision})
	}
	if out.JobDefinitions == nil {
		out.JobDefinitions = []*gantry.JobDefinition{}
	}
	return out, nil
}

func (s *Service) describeJobDefinitionRefs(ctx context.Context, refs []string) (*DescribeJobDefinitionsOutput, error) {
	out := &DescribeJobDefinitionsOutput{JobDefinitions: []*gantry.JobDefinition{}}
	for _, ref := range refs {
		name, rev, err := gantry.ResolveName("jobDefinitions", gantry.ResourceJobDefinition, ref)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			// A bare name returns every revision (reference §8, decision 3).
			defs, err := s.cfg.Store.JobDefinitionList(ctx, &store.JobDefinitionListParams{Name: name})
			if err != nil {
				return nil, internal("describe job definitions", err)
			}
			out.JobDefinitions = append(out.JobDefinitions, defs...)
			continue
		}
		def, err := s.cfg.Store.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: name, Revision: rev})
		if errors.Is(err, gantry.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, internal("describe job definitions", err)
		}
		out.JobDefinitions = append(out.JobDefinitions, def)
	}
	return out, nil
}

// resolveJobDefinition finds the definition SubmitJob names: a bare name is
// the latest ACTIVE revision; an explicit revision must be ACTIVE.
func resolveJobDefinition(ctx context.Context, tx store.Tx, ref string) (*gantry.JobDefinition, error) {
	name, rev, err := gantry.ResolveName("jobDefinition", gantry.ResourceJobDefinition, ref)
	if err != nil {
		return nil, err
	}
	def, err := tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: name, Revision: rev})
	if errors.Is(err, gantry.ErrNotFound) {
		if rev == 0 {
			return nil, gantry.ClientErrorf("jobDefinition: %s has no ACTIVE revision", strings.TrimSpace(ref))
		}
		return nil, gantry.ClientErrorf("jobDefinition: %s does not exist", ref)
	}
	if err != nil {
		return nil, err
	}
	if def.Status != gantry.JobDefinitionActive {
		return nil, gantry.ClientErrorf("jobDefinition: %s is INACTIVE", ref)
	}
	return def, nil
}
