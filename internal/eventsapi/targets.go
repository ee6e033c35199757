package eventsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

// MaxTargetsPerRule is EventBridge's quota of targets per rule.
const MaxTargetsPerRule = 5

// Error codes of failed entries.
const (
	entryValidation = "ValidationException"
	entryNotFound   = "ResourceNotFoundException"
)

type inputTransformerInput struct {
	InputPathsMap map[string]string `json:"InputPathsMap"`
	InputTemplate *string           `json:"InputTemplate"`
}

type targetInput struct {
	Id               *string                        `json:"Id"`
	Arn              *string                        `json:"Arn"`
	RoleArn          *string                        `json:"RoleArn"`
	Input            *string                        `json:"Input"`
	InputPath        *string                        `json:"InputPath"`
	InputTransformer *inputTransformerInput         `json:"InputTransformer"`
	BatchParameters  *gantry.BatchTargetParameters  `json:"BatchParameters"`
	HttpParameters   *gantry.HttpTargetParameters   `json:"HttpParameters"`
	RetryPolicy      *gantry.TargetRetryPolicy      `json:"RetryPolicy"`
	DeadLetterConfig *gantry.TargetDeadLetterConfig `json:"DeadLetterConfig"`
}

type putTargetsInput struct {
	Rule         *string       `json:"Rule"`
	EventBusName *string       `json:"EventBusName"`
	Targets      []targetInput `json:"Targets"`
}

type failedEntry struct {
	TargetId     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type targetsOutput struct {
	FailedEntryCount int           `json:"FailedEntryCount"`
	FailedEntries    []failedEntry `json:"FailedEntries"`
}

// checkTargetShape checks a target's model constraints; a violation fails
// the whole request, as on AWS.
func checkTargetShape(i int, t *targetInput) error {
	f := func(name string) string { return fmt.Sprintf("targets.%d.member.%s", i+1, name) }
	if t.Id == nil {
		return required(f("id"))
	}
	if err := checkName(f("id"), *t.Id, 64); err != nil {
		return err
	}
	if t.Arn == nil {
		return required(f("arn"))
	}
	if *t.Arn == "" || len(*t.Arn) > 1600 {
		return constraint(f("arn"), *t.Arn, "have length between 1 and 1600")
	}
	if t.Input != nil && len(*t.Input) > 8192 {
		return constraint(f("input"), "...", "have length less than or equal to 8192")
	}
	if t.InputPath != nil && len(*t.InputPath) > 256 {
		return constraint(f("inputPath"), *t.InputPath, "have length less than or equal to 256")
	}
	if rp := t.RetryPolicy; rp != nil {
		if v := rp.MaximumRetryAttempts; v != nil && (*v < 0 || *v > 185) {
			return constraint(f("retryPolicy.maximumRetryAttempts"), *v, "have value between 0 and 185")
		}
		if v := rp.MaximumEventAgeInSeconds; v != nil && (*v < 60 || *v > 86400) {
			return constraint(f("retryPolicy.maximumEventAgeInSeconds"), *v, "have value between 60 and 86400")
		}
	}
	if it := t.InputTransformer; it != nil {
		if it.InputTemplate == nil {
			return required(f("inputTransformer.inputTemplate"))
		}
		if *it.InputTemplate == "" || len(*it.InputTemplate) > 8192 {
			return constraint(f("inputTransformer.inputTemplate"), "...", "have length between 1 and 8192")
		}
	}
	return nil
}

// targetKind is what Gantry delivers a target to.
type targetKind int

const (
	kindBatch targetKind = iota + 1
	kindAPIDestination
	kindWebhook
)

// checkTarget checks a target's meaning; a problem fails this entry only.
// For an API destination target it returns the destination's name.
func (h *Handler) checkTarget(t *targetInput) (kind targetKind, dest string, err error) {
	id, arn := *t.Id, *t.Arn
	n := 0
	for _, set := range []bool{t.Input != nil, t.InputPath != nil, t.InputTransformer != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return 0, "", fmt.Errorf("Only one of Input, InputPath or InputTransformer can be specified for target %s.", id)
	}
	if t.Input != nil && !json.Valid([]byte(*t.Input)) {
		return 0, "", fmt.Errorf("Parameter Input is not valid for target %s: it must be valid JSON.", id)
	}
	if t.InputPath != nil && !isJSONPath(*t.InputPath) {
		return 0, "", fmt.Errorf("Parameter InputPath is not valid for target %s: %q is not a JSONPath starting with $.", id, *t.InputPath)
	}
	if it := t.InputTransformer; it != nil {
		if len(it.InputPathsMap) > 100 {
			return 0, "", fmt.Errorf("InputPathsMap of target %s has %d entries; at most 100 are allowed.", id, len(it.InputPathsMap))
		}
		for k, v := range it.InputPathsMap {
			if k == "" || len(k) > 256 || strings.IndexFunc(k, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
			}) >= 0 {
				return 0, "", fmt.Errorf("InputPathsMap key %q of target %s is not valid: keys are 1 to 256 of [A-Za-z0-9_-].", k, id)
			}
			if !isJSONPath(v) || len(v) > 256 {
				return 0, "", fmt.Errorf("InputPathsMap value %q (key %q) of target %s is not a JSONPath starting with $.", v, k, id)
			}
		}
	}
	switch {
	case strings.HasPrefix(arn, "http://") || strings.HasPrefix(arn, "https://"):
		u, err := url.Parse(arn)
		if err != nil || u.Host == "" {
			return 0, "", fmt.Errorf("Target %s: %q is not a valid http(s) URL.", id, arn)
		}
		return kindWebhook, "", nil
	case strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":batch:"):
		queue, ok := strings.CutPrefix(arn, fmt.Sprintf("arn:%s:batch:%s:%s:job-queue/", gantry.Partition, h.cfg.Region, h.cfg.AccountID))
		if !ok || queue == "" || strings.Contains(queue, "/") {
			return 0, "", fmt.Errorf("Target %s: %q is not a job queue ARN of this Gantry (arn:%s:batch:%s:%s:job-queue/NAME).", id, arn, gantry.Partition, h.cfg.Region, h.cfg.AccountID)
		}
		bp := t.BatchParameters
		if bp == nil {
			return 0, "", fmt.Errorf("Parameter(s) BatchParameters must be specified for target: %s.", id)
		}
		if bp.JobDefinition == "" || bp.JobName == "" {
			return 0, "", fmt.Errorf("BatchParameters of target %s must have a JobDefinition and a JobName.", id)
		}
		if ap := bp.ArrayProperties; ap != nil && ap.Size != 0 && (ap.Size < 2 || ap.Size > 10000) {
			return 0, "", fmt.Errorf("BatchParameters.ArrayProperties.Size of target %s must be between 2 and 10000, not %d.", id, ap.Size)
		}
		if rs := bp.RetryStrategy; rs != nil && rs.Attempts != 0 && (rs.Attempts < 1 || rs.Attempts > 10) {
			return 0, "", fmt.Errorf("BatchParameters.RetryStrategy.Attempts of target %s must be between 1 and 10, not %d.", id, rs.Attempts)
		}
		return kindBatch, "", nil
	case strings.HasPrefix(arn, h.arn("api-destination/")):
		rest := strings.TrimPrefix(arn, h.arn("api-destination/"))
		name, _, _ := strings.Cut(rest, "/")
		if checkName("arn", name, 64) != nil {
			return 0, "", fmt.Errorf("Target %s: %q is not a valid API destination ARN.", id, arn)
		}
		return kindAPIDestination, name, nil
	}
	return 0, "", fmt.Errorf("Target %s: Gantry does not deliver to %q. Supported targets are AWS Batch job queues (arn:%s:batch:%s:%s:job-queue/NAME, with BatchParameters), API destinations (arn:%s:events:%s:%s:api-destination/NAME) and http:// or https:// URLs (Gantry webhooks).",
		id, arn, gantry.Partition, h.cfg.Region, h.cfg.AccountID, gantry.Partition, h.cfg.Region, h.cfg.AccountID)
}

// isJSONPath accepts the JSONPaths EventBridge uses: $ or $.a.b or $['a'].
func isJSONPath(p string) bool {
	return p == "$" || strings.HasPrefix(p, "$.") && len(p) > 2 || strings.HasPrefix(p, "$[") && len(p) > 2
}

func toTarget(t *targetInput) *gantry.Target {
	out := &gantry.Target{
		Id: *t.Id, Arn: *t.Arn, BatchParameters: t.BatchParameters, HttpParameters: t.HttpParameters,
		RetryPolicy: t.RetryPolicy, DeadLetterConfig: t.DeadLetterConfig,
	}
	if t.RoleArn != nil {
		out.RoleArn = *t.RoleArn
	}
	if t.Input != nil {
		out.Input = *t.Input
	}
	if t.InputPath != nil {
		out.InputPath = *t.InputPath
	}
	if it := t.InputTransformer; it != nil {
		out.InputTransformer = &gantry.InputTransformer{InputPathsMap: it.InputPathsMap, InputTemplate: *it.InputTemplate}
	}
	return out
}

func (h *Handler) putTargets(ctx context.Context, in *putTargetsInput) (any, error) {
	rule, err := validName("rule", in.Rule)
	if err != nil {
		return nil, err
	}
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	if in.Targets == nil {
		return nil, required("targets")
	}
	if len(in.Targets) < 1 || len(in.Targets) > 100 {
		return nil, constraint("targets", fmt.Sprintf("[%d targets]", len(in.Targets)), "have length between 1 and 100")
	}
	seen := map[string]bool{}
	for i := range in.Targets {
		if err := checkTargetShape(i, &in.Targets[i]); err != nil {
			return nil, err
		}
		if id := *in.Targets[i].Id; seen[id] {
			return nil, validationf("Parameter(s) Targets is not valid: the Id %s appears more than once.", id)
		} else {
			seen[id] = true
		}
	}
	var out targetsOutput
	stored := false
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		out, stored = targetsOutput{FailedEntries: []failedEntry{}}, false
		if _, err := h.getRule(ctx, tx, rule); err != nil {
			return err
		}
		var ok []*gantry.Target
		for i := range in.Targets {
			t := &in.Targets[i]
			kind, dest, err := h.checkTarget(t)
			code := entryValidation
			if err == nil && kind == kindAPIDestination {
				var ierr error
				if err, ierr = h.checkDestination(ctx, tx, *t.Arn, dest); ierr != nil {
					return ierr
				}
				code = entryNotFound
			}
			if err != nil {
				out.FailedEntries = append(out.FailedEntries, failedEntry{TargetId: *t.Id, ErrorCode: code, ErrorMessage: err.Error()})
				continue
			}
			ok = append(ok, toTarget(t))
		}
		out.FailedEntryCount = len(out.FailedEntries)
		if len(ok) == 0 {
			return nil
		}
		existing, err := tx.RuleTargetList(ctx, rule)
		if err != nil {
			return fmt.Errorf("list targets of %s: %w", rule, err)
		}
		ids := map[string]bool{}
		for _, t := range existing {
			ids[t.Id] = true
		}
		for _, t := range ok {
			ids[t.Id] = true
		}
		if len(ids) > MaxTargetsPerRule {
			return &apiError{Code: codeLimitExceeded, Message: fmt.Sprintf("The requested resource exceeds the maximum number allowed: a rule has at most %d targets, and this would make %d.", MaxTargetsPerRule, len(ids))}
		}
		if err := tx.RuleTargetUpsert(ctx, rule, ok); err != nil {
			return fmt.Errorf("put targets of %s: %w", rule, err)
		}
		stored = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if stored {
		h.rulesChanged()
	}
	return out, nil
}

// checkDestination checks that an API destination target names one that
// exists (with the same ARN when the ARN has its UUID).
// It returns the entry's problem, or an internal error.
func (h *Handler) checkDestination(ctx context.Context, tx store.Tx, arn, name string) (problem, err error) {
	d, err := tx.APIDestinationGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return fmt.Errorf("API destination %s does not exist.", name), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get API destination %s: %w", name, err)
	}
	if arn != h.arn("api-destination/"+name) && arn != d.ApiDestinationArn {
		return fmt.Errorf("API destination %s does not exist (its ARN is %s).", arn, d.ApiDestinationArn), nil
	}
	return nil, nil
}

type removeTargetsInput struct {
	Rule         *string  `json:"Rule"`
	EventBusName *string  `json:"EventBusName"`
	Ids          []string `json:"Ids"`
	Force        bool     `json:"Force"`
}

func (h *Handler) removeTargets(ctx context.Context, in *removeTargetsInput) (any, error) {
	rule, err := validName("rule", in.Rule)
	if err != nil {
		return nil, err
	}
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	if in.Ids == nil {
		return nil, required("ids")
	}
	if len(in.Ids) < 1 || len(in.Ids) > 100 {
		return nil, constraint("ids", fmt.Sprintf("[%d ids]", len(in.Ids)), "have length between 1 and 100")
	}
	for i, id := range in.Ids {
		if err := checkName(fmt.Sprintf("ids.%d.member", i+1), id, 64); err != nil {
			return nil, err
		}
	}
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := h.getRule(ctx, tx, rule); err != nil {
			return err
		}
		// Unknown ids are ignored, as on AWS.
		if err := tx.RuleTargetDelete(ctx, rule, in.Ids); err != nil {
			return fmt.Errorf("remove targets of %s: %w", rule, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.rulesChanged()
	return targetsOutput{FailedEntries: []failedEntry{}}, nil
}

type listTargetsByRuleInput struct {
	Rule         *string `json:"Rule"`
	EventBusName *string `json:"EventBusName"`
	NextToken    *string `json:"NextToken"`
	Limit        *int32  `json:"Limit"`
}

type listTargetsByRuleOutput struct {
	Targets   []*gantry.Target `json:"Targets"`
	NextToken *string          `json:"NextToken,omitempty"`
}

func (h *Handler) listTargetsByRule(ctx context.Context, in *listTargetsByRuleInput) (any, error) {
	rule, err := validName("rule", in.Rule)
	if err != nil {
		return nil, err
	}
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	if _, err := h.getRule(ctx, h.cfg.Store, rule); err != nil {
		return nil, err
	}
	targets, err := h.cfg.Store.RuleTargetList(ctx, rule)
	if err != nil {
		return nil, fmt.Errorf("list targets of %s: %w", rule, err)
	}
	slices.SortFunc(targets, func(a, b *gantry.Target) int { return strings.Compare(a.Id, b.Id) })
	if after != "" {
		targets = slices.DeleteFunc(targets, func(t *gantry.Target) bool { return t.Id <= after })
	}
	targets, tok := page(targets, limit, func(t *gantry.Target) string { return t.Id })
	if targets == nil {
		targets = []*gantry.Target{}
	}
	return listTargetsByRuleOutput{Targets: targets, NextToken: tok}, nil
}
