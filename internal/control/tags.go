package control

import (
	"context"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// TagResourceInput is the TagResource request (the ARN comes from the path).
type TagResourceInput struct {
	ResourceArn string            `json:"-"`
	Tags        map[string]string `json:"tags"`
}

// UntagResourceInput is the UntagResource request.
type UntagResourceInput struct {
	ResourceArn string
	TagKeys     []string
}

// ListTagsForResourceInput is the ListTagsForResource request.
type ListTagsForResourceInput struct {
	ResourceArn string
}

// ListTagsForResourceOutput is the ListTagsForResource response.
type ListTagsForResourceOutput struct {
	Tags map[string]string `json:"tags"`
}

// TagResource merges tags into a resource's tags.
func (s *Service) TagResource(ctx context.Context, in *TagResourceInput) (*Empty, error) {
	if len(in.Tags) == 0 {
		return nil, gantry.ClientErrorf("tags: at least one tag is required")
	}
	if err := gantry.ValidateTags("tags", in.Tags); err != nil {
		return nil, err
	}
	err := s.modifyTags(ctx, in.ResourceArn, func(tags map[string]string) (map[string]string, error) {
		merged := gantry.MergeTags(tags, in.Tags)
		if len(merged) > gantry.MaxTags {
			return nil, gantry.ClientErrorf("tags: a resource can have at most %d tags", gantry.MaxTags)
		}
		return merged, nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// UntagResource removes tag keys from a resource.
func (s *Service) UntagResource(ctx context.Context, in *UntagResourceInput) (*Empty, error) {
	if len(in.TagKeys) == 0 {
		return nil, gantry.ClientErrorf("tagKeys: at least one tag key is required")
	}
	err := s.modifyTags(ctx, in.ResourceArn, func(tags map[string]string) (map[string]string, error) {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		if len(tags) == 0 {
			return nil, nil
		}
		return tags, nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// ListTagsForResource returns a resource's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	out := &ListTagsForResourceOutput{}
	err := s.modifyTags(ctx, in.ResourceArn, func(tags map[string]string) (map[string]string, error) {
		out.Tags = tags
		return nil, errReadOnly
	})
	if err != nil {
		return nil, err
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out, nil
}

var errReadOnly = &gantry.Error{Code: "readonly"}

// modifyTags loads the resource an ARN names, applies fn to a copy of its
// tags and stores the result. fn returning errReadOnly only reads.
func (s *Service) modifyTags(ctx context.Context, arn string, fn func(map[string]string) (map[string]string, error)) error {
	p, ok := gantry.ParseARN(arn)
	if !ok {
		return gantry.ClientErrorf("resourceArn: %q is not a valid AWS Batch ARN", arn)
	}
	if p.Type == gantry.ResourceJob && strings.ContainsAny(p.Name, ":#") {
		return gantry.ClientErrorf("resourceArn: tags cannot be applied to array child or multi-node node jobs")
	}
	apply := func(tags map[string]string) (map[string]string, bool, error) {
		cp := gantry.MergeTags(tags, nil)
		if cp == nil {
			cp = map[string]string{}
		}
		out, err := fn(cp)
		if err == errReadOnly {
			return nil, false, nil
		}
		return out, err == nil, err
	}
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		switch p.Type {
		case gantry.ResourceComputeEnvironment:
			ce, err := tx.ComputeEnvironmentGet(ctx, p.Name)
			if err != nil {
				return notFound(err, "resourceArn", arn)
			}
			tags, write, err := apply(ce.Tags)
			if !write {
				return err
			}
			ce.Tags = tags
			return tx.ComputeEnvironmentUpdate(ctx, ce)
		case gantry.ResourceJobQueue:
			q, err := tx.JobQueueGet(ctx, p.Name)
			if err != nil {
				return notFound(err, "resourceArn", arn)
			}
			tags, write, err := apply(q.Tags)
			if !write {
				return err
			}
			q.Tags = tags
			return tx.JobQueueUpdate(ctx, q)
		case gantry.ResourceJobDefinition:
			if p.Revision == 0 {
				return gantry.ClientErrorf("resourceArn: a job definition ARN must include the revision")
			}
			def, err := tx.JobDefinitionGet(ctx, &store.JobDefinitionGetParams{Name: p.Name, Revision: p.Revision})
			if err != nil {
				return notFound(err, "resourceArn", arn)
			}
			tags, write, err := apply(def.Tags)
			if !write {
				return err
			}
			def.Tags = tags
			return tx.JobDefinitionUpdate(ctx, def)
		case gantry.ResourceJob:
			j, err := tx.JobGet(ctx, p.Name)
			if err != nil {
				return notFound(err, "resourceArn", arn)
			}
			tags, write, err := apply(j.Tags)
			if !write {
				return err
			}
			j.Tags = tags
			return s.tr.Transition(ctx, tx, j, j.Status)
		case gantry.ResourceSchedulingPolicy:
			sp, err := tx.SchedulingPolicyGet(ctx, p.Name)
			if err != nil {
				return notFound(err, "resourceArn", arn)
			}
			tags, write, err := apply(sp.Tags)
			if !write {
				return err
			}
			sp.Tags = tags
			return tx.SchedulingPolicyUpdate(ctx, sp)
		default:
			return gantry.ClientErrorf("resourceArn: %s resources cannot be tagged", p.Type)
		}
	})
	return internal("tags", err)
}
