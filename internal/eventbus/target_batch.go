package eventbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// deliveryNamespace derives job IDs from delivery IDs (UUID version 5).
var deliveryNamespace = uuid.MustParse("8d0c5a8e-61b4-4b7e-9f7c-4a0d3b9e2f15")

// JobID is the ID of the job a Batch target submits for a delivery: the same
// for every attempt, so a redelivery after a crash submits at most one job.
func JobID(deliveryID int64) string {
	return uuid.NewSHA1(deliveryNamespace, []byte("gantry-delivery-"+strconv.FormatInt(deliveryID, 10))).String()
}

// sendBatch submits the job of a Batch job queue target.
func (b *Bus) sendBatch(ctx context.Context, d *store.Delivery, t *gantry.Target, input []byte) attempt {
	if b.cfg.Submitter == nil {
		return failed(errors.New("no job submitter configured"))
	}
	in, err := batchInput(t, input)
	if err != nil {
		return permanent(err)
	}
	out, err := b.cfg.Submitter.SubmitJobOnce(ctx, in, JobID(d.ID))
	if err != nil {
		if gantry.ErrorCode(err) == gantry.ErrCodeClient {
			return permanent(fmt.Errorf("submit job: %w", err))
		}
		return failed(fmt.Errorf("submit job: %w", err))
	}
	return attempt{result: out.JobID}
}

// batchInput builds the SubmitJob request of a Batch target: queue, job
// definition, name, array size and attempts from BatchParameters, and
// Parameters and ContainerOverrides from the target input (PascalCase, as AWS
// documents, or camelCase; other keys are ignored).
func batchInput(t *gantry.Target, input []byte) (*gantry.SubmitJobInput, error) {
	bp := t.BatchParameters
	if bp == nil {
		return nil, errors.New("batch target without BatchParameters")
	}
	in := &gantry.SubmitJobInput{JobQueue: t.Arn, JobDefinition: bp.JobDefinition, JobName: bp.JobName}
	if bp.ArrayProperties != nil && bp.ArrayProperties.Size >= 2 {
		size := bp.ArrayProperties.Size
		in.ArrayProperties = &gantry.ArrayProperties{Size: &size}
	}
	if bp.RetryStrategy != nil && bp.RetryStrategy.Attempts > 0 {
		attempts := bp.RetryStrategy.Attempts
		in.RetryStrategy = &gantry.RetryStrategy{Attempts: &attempts}
	}
	trimmed := bytes.TrimSpace(input)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return in, nil // a string or array input carries no parameters
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, fmt.Errorf("target input is not valid JSON: %w", err)
	}
	if raw := member(obj, "Parameters"); raw != nil {
		params, err := stringMap(raw)
		if err != nil {
			return nil, fmt.Errorf("target input Parameters: %w", err)
		}
		in.Parameters = params
	}
	if raw := member(obj, "ContainerOverrides"); raw != nil {
		co, err := containerOverrides(raw)
		if err != nil {
			return nil, fmt.Errorf("target input ContainerOverrides: %w", err)
		}
		in.ContainerOverrides = co
	}
	return in, nil
}

// member returns the member of obj named name in any letter case (so
// "Parameters" and "parameters" both work), or nil if absent or null.
func member(obj map[string]json.RawMessage, name string) json.RawMessage {
	if v, ok := obj[name]; ok {
		return nonNull(v)
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return nonNull(v)
		}
	}
	return nil
}

func nonNull(v json.RawMessage) json.RawMessage {
	if string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	return v
}

// stringMap decodes an object whose values are strings; numbers and booleans
// are taken as their text.
func stringMap(raw json.RawMessage) (map[string]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("must be an object of strings: %w", err)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, err := scalarString(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}

func scalarString(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err == nil {
		return n.String(), nil
	}
	var bl bool
	if err := json.Unmarshal(v, &bl); err == nil {
		return strconv.FormatBool(bl), nil
	}
	return "", errors.New("must be a string")
}

func containerOverrides(raw json.RawMessage) (*gantry.ContainerOverrides, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("must be an object: %w", err)
	}
	co := &gantry.ContainerOverrides{}
	if v := member(obj, "Command"); v != nil {
		if err := json.Unmarshal(v, &co.Command); err != nil {
			return nil, fmt.Errorf("Command must be an array of strings: %w", err)
		}
	}
	if v := member(obj, "InstanceType"); v != nil {
		if err := json.Unmarshal(v, &co.InstanceType); err != nil {
			return nil, fmt.Errorf("InstanceType must be a string: %w", err)
		}
	}
	if v := member(obj, "Environment"); v != nil {
		pairs, err := namedPairs(v, "Name", "Value")
		if err != nil {
			return nil, fmt.Errorf("Environment: %w", err)
		}
		for _, p := range pairs {
			co.Environment = append(co.Environment, gantry.KeyValuePair{Name: p[0], Value: p[1]})
		}
	}
	if v := member(obj, "ResourceRequirements"); v != nil {
		pairs, err := namedPairs(v, "Type", "Value")
		if err != nil {
			return nil, fmt.Errorf("ResourceRequirements: %w", err)
		}
		for _, p := range pairs {
			co.ResourceRequirements = append(co.ResourceRequirements, gantry.ResourceRequirement{Type: p[0], Value: p[1]})
		}
	}
	return co, nil
}

// namedPairs decodes [{"Name": .., "Value": ..}, ...] in either letter case.
func namedPairs(raw json.RawMessage, key, value string) ([][2]string, error) {
	var elems []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("must be an array of {%s, %s} objects: %w", key, value, err)
	}
	out := make([][2]string, 0, len(elems))
	for i, e := range elems {
		var pair [2]string
		for j, name := range []string{key, value} {
			if v := member(e, name); v != nil {
				s, err := scalarString(v)
				if err != nil {
					return nil, fmt.Errorf("[%d].%s: %w", i, name, err)
				}
				pair[j] = s
			}
		}
		out = append(out, pair)
	}
	return out, nil
}
