package eventsapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/eventpattern"
	"github.com/gantrybatch/gantry/internal/schedule"
	"github.com/gantrybatch/gantry/store"
)

// TimezoneTag is the tag that sets a rule's ScheduleExpressionTimezone for
// clients whose SDK does not know the member.
const TimezoneTag = "gantry:ScheduleExpressionTimezone"

const maxTags = 50

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type putRuleInput struct {
	Name                       *string `json:"Name"`
	Description                *string `json:"Description"`
	EventBusName               *string `json:"EventBusName"`
	EventPattern               *string `json:"EventPattern"`
	RoleArn                    *string `json:"RoleArn"`
	ScheduleExpression         *string `json:"ScheduleExpression"`
	ScheduleExpressionTimezone *string `json:"ScheduleExpressionTimezone"`
	State                      *string `json:"State"`
	Tags                       []tag   `json:"Tags"`
}

type putRuleOutput struct {
	RuleArn string `json:"RuleArn"`
}

// ruleOutput is DescribeRule's output and ListRules' element.
type ruleOutput struct {
	Name                       string `json:"Name"`
	Arn                        string `json:"Arn"`
	EventPattern               string `json:"EventPattern,omitempty"`
	ScheduleExpression         string `json:"ScheduleExpression,omitempty"`
	ScheduleExpressionTimezone string `json:"ScheduleExpressionTimezone,omitempty"`
	State                      string `json:"State"`
	Description                string `json:"Description,omitempty"`
	RoleArn                    string `json:"RoleArn,omitempty"`
	ManagedBy                  string `json:"ManagedBy,omitempty"`
	EventBusName               string `json:"EventBusName"`
	CreatedBy                  string `json:"CreatedBy,omitempty"`
}

func ruleOut(r *gantry.Rule) ruleOutput {
	return ruleOutput{
		Name: r.Name, Arn: r.Arn, EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression,
		ScheduleExpressionTimezone: r.ScheduleExpressionTimezone, State: r.State, Description: r.Description,
		RoleArn: r.RoleArn, ManagedBy: r.ManagedBy, EventBusName: r.EventBusName, CreatedBy: r.CreatedBy,
	}
}

// checkPattern compiles an event pattern, as PutRule and TestEventPattern do.
func checkPattern(p string) error {
	if _, err := eventpattern.Compile([]byte(p)); err != nil {
		reason := err.Error()
		var pe *eventpattern.Error
		if errors.As(err, &pe) {
			reason = pe.Reason
			if pe.Path != "" {
				reason = pe.Path + ": " + pe.Reason
			}
		}
		return &apiError{Code: codeInvalidPattern, Message: "Event pattern is not valid. Reason: " + reason}
	}
	return nil
}

// checkSchedule parses a schedule expression in an optional time zone.
func checkSchedule(expr, zone string) error {
	loc := time.UTC
	if zone != "" {
		var err error
		if loc, err = time.LoadLocation(zone); err != nil || zone == "Local" {
			return validationf("Parameter ScheduleExpressionTimezone is not valid: %q is not an IANA time zone name.", zone)
		}
	}
	if _, err := schedule.ParseInZone(expr, loc); err != nil {
		return validationf("%s", schedule.ValidationMessage)
	}
	return nil
}

// tagZone returns the time zone a rule's tags set, if any.
func tagZone(tags []gantry.RuleTag) string {
	for _, t := range tags {
		if t.Key == TimezoneTag {
			return t.Value
		}
	}
	return ""
}

func checkTags(tags []tag) ([]gantry.RuleTag, error) {
	if len(tags) > maxTags {
		return nil, validationf("Tags: at most %d tags are allowed, not %d.", maxTags, len(tags))
	}
	out := make([]gantry.RuleTag, 0, len(tags))
	for i, t := range tags {
		if t.Key == nil {
			return nil, required(fmt.Sprintf("tags.%d.member.key", i+1))
		}
		if t.Value == nil {
			return nil, required(fmt.Sprintf("tags.%d.member.value", i+1))
		}
		if *t.Key == "" || len(*t.Key) > 128 {
			return nil, constraint(fmt.Sprintf("tags.%d.member.key", i+1), *t.Key, "have length between 1 and 128")
		}
		if len(*t.Value) > 256 {
			return nil, constraint(fmt.Sprintf("tags.%d.member.value", i+1), *t.Value, "have length less than or equal to 256")
		}
		out = mergeTags(out, []gantry.RuleTag{{Key: *t.Key, Value: *t.Value}})
	}
	return out, nil
}

// mergeTags sets add's keys in tags, replacing values of existing keys.
func mergeTags(tags, add []gantry.RuleTag) []gantry.RuleTag {
	tags = slices.Clone(tags)
	for _, a := range add {
		if i := slices.IndexFunc(tags, func(t gantry.RuleTag) bool { return t.Key == a.Key }); i >= 0 {
			tags[i].Value = a.Value
		} else {
			tags = append(tags, a)
		}
	}
	return tags
}

func (h *Handler) putRule(ctx context.Context, in *putRuleInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	r := &gantry.Rule{Name: name, Arn: h.ruleARN(name), EventBusName: gantry.DefaultEventBus, State: gantry.RuleStateEnabled}
	if in.State != nil {
		switch *in.State {
		case gantry.RuleStateEnabled, gantry.RuleStateDisabled:
			r.State = *in.State
		case "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS":
			return nil, validationf("Parameter State is not valid: Gantry has no CloudTrail management events; use ENABLED or DISABLED.")
		default:
			return nil, constraint("state", *in.State, "satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]")
		}
	}
	if in.Description != nil {
		if len(*in.Description) > 512 {
			return nil, constraint("description", *in.Description, "have length less than or equal to 512")
		}
		r.Description = *in.Description
	}
	if in.RoleArn != nil {
		if *in.RoleArn == "" || len(*in.RoleArn) > 1600 {
			return nil, constraint("roleArn", *in.RoleArn, "have length between 1 and 1600")
		}
		r.RoleArn = *in.RoleArn
	}
	if in.EventPattern != nil && *in.EventPattern != "" {
		if len(*in.EventPattern) > 4096 {
			return nil, constraint("eventPattern", "...", "have length less than or equal to 4096")
		}
		if err := checkPattern(*in.EventPattern); err != nil {
			return nil, err
		}
		r.EventPattern = *in.EventPattern
	}
	if in.ScheduleExpression != nil && *in.ScheduleExpression != "" {
		if len(*in.ScheduleExpression) > 256 {
			return nil, constraint("scheduleExpression", *in.ScheduleExpression, "have length less than or equal to 256")
		}
		r.ScheduleExpression = *in.ScheduleExpression
	}
	if r.EventPattern == "" && r.ScheduleExpression == "" {
		return nil, validationf("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	newTags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		old, err := tx.RuleGet(ctx, name)
		switch {
		case errors.Is(err, gantry.ErrNotFound):
			old = nil
			r.Tags = newTags // tags are set on create only, as on AWS
		case err != nil:
			return fmt.Errorf("get rule %s: %w", name, err)
		default:
			r.Tags, r.CreatedAt, r.ManagedBy, r.CreatedBy = old.Tags, old.CreatedAt, old.ManagedBy, old.CreatedBy
		}
		r.ScheduleExpressionTimezone = tagZone(r.Tags)
		if in.ScheduleExpressionTimezone != nil {
			r.ScheduleExpressionTimezone = *in.ScheduleExpressionTimezone
		}
		if r.ScheduleExpression != "" {
			if err := checkSchedule(r.ScheduleExpression, r.ScheduleExpressionTimezone); err != nil {
				return err
			}
		} else if r.ScheduleExpressionTimezone != "" && in.ScheduleExpressionTimezone != nil {
			return validationf("Parameter ScheduleExpressionTimezone is only valid with a ScheduleExpression.")
		} else {
			r.ScheduleExpressionTimezone = ""
		}
		if old == nil {
			r.CreatedAt, r.CreatedBy = h.ms(), h.cfg.AccountID
			if err := tx.RuleInsert(ctx, r); err != nil {
				return fmt.Errorf("insert rule %s: %w", name, err)
			}
			return nil
		}
		if err := tx.RuleUpdate(ctx, r); err != nil {
			return fmt.Errorf("update rule %s: %w", name, err)
		}
		if r.State == gantry.RuleStateDisabled {
			// A disabled schedule forgets its position in the same
			// transaction, so re-enabling it never catches up a fire
			// that was due while it was disabled.
			if err := tx.ScheduleStateDelete(ctx, name); err != nil {
				return fmt.Errorf("reset schedule of rule %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.rulesChanged()
	return putRuleOutput{RuleArn: r.Arn}, nil
}

type ruleRef struct {
	Name         *string `json:"Name"`
	EventBusName *string `json:"EventBusName"`
}

// ruleNotFound is AWS's message for an unknown rule.
func ruleNotFound(name string) error {
	return notFoundf("Rule %s does not exist on EventBus %s.", name, gantry.DefaultEventBus)
}

// getRule reads a rule through q (the store or a transaction).
func (h *Handler) getRule(ctx context.Context, q store.Tx, name string) (*gantry.Rule, error) {
	r, err := q.RuleGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, ruleNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("get rule %s: %w", name, err)
	}
	return r, nil
}

func (h *Handler) describeRule(ctx context.Context, in *ruleRef) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	r, err := h.getRule(ctx, h.cfg.Store, name)
	if err != nil {
		return nil, err
	}
	return ruleOut(r), nil
}

type listRulesInput struct {
	EventBusName *string `json:"EventBusName"`
	NamePrefix   *string `json:"NamePrefix"`
	NextToken    *string `json:"NextToken"`
	Limit        *int32  `json:"Limit"`
}

type listRulesOutput struct {
	Rules     []ruleOutput `json:"Rules"`
	NextToken *string      `json:"NextToken,omitempty"`
}

func (h *Handler) listRules(ctx context.Context, in *listRulesInput) (any, error) {
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	rules, tok, err := listByName(in.Limit, in.NextToken, in.NamePrefix, nil, func(r *gantry.Rule) string { return r.Name },
		func(p *store.NameListParams) ([]*gantry.Rule, error) {
			return h.cfg.Store.RuleList(ctx, &store.RuleListParams{NamePrefix: p.NamePrefix, AfterName: p.AfterName, Limit: p.Limit})
		})
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	out := listRulesOutput{Rules: make([]ruleOutput, 0, len(rules)), NextToken: tok}
	for _, r := range rules {
		out.Rules = append(out.Rules, ruleOut(r))
	}
	return out, nil
}

type deleteRuleInput struct {
	ruleRef
	Force bool `json:"Force"`
}

func (h *Handler) deleteRule(ctx context.Context, in *deleteRuleInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	deleted := false
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		deleted = false
		if _, err := tx.RuleGet(ctx, name); errors.Is(err, gantry.ErrNotFound) {
			return nil // AWS: deleting a rule that does not exist succeeds
		} else if err != nil {
			return fmt.Errorf("get rule %s: %w", name, err)
		}
		targets, err := tx.RuleTargetList(ctx, name)
		if err != nil {
			return fmt.Errorf("list targets of %s: %w", name, err)
		}
		if len(targets) > 0 {
			return validationf("Rule can't be deleted since it has targets.")
		}
		if err := tx.RuleDelete(ctx, name); err != nil {
			return fmt.Errorf("delete rule %s: %w", name, err)
		}
		deleted = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if deleted {
		h.rulesChanged()
	}
	return emptyOutput{}, nil
}

func (h *Handler) enableRule(ctx context.Context, in *ruleRef) (any, error) {
	return h.setRuleState(ctx, in, gantry.RuleStateEnabled)
}

func (h *Handler) disableRule(ctx context.Context, in *ruleRef) (any, error) {
	return h.setRuleState(ctx, in, gantry.RuleStateDisabled)
}

func (h *Handler) setRuleState(ctx context.Context, in *ruleRef, state string) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	if err := h.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	err = h.updateRule(ctx, name, func(r *gantry.Rule) error {
		r.State = state
		return nil
	})
	if err != nil {
		return nil, err
	}
	return emptyOutput{}, nil
}

// updateRule changes a rule in one transaction and reports the change.
func (h *Handler) updateRule(ctx context.Context, name string, fn func(*gantry.Rule) error) error {
	err := h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		r, err := h.getRule(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		if err := tx.RuleUpdate(ctx, r); err != nil {
			return fmt.Errorf("update rule %s: %w", name, err)
		}
		if r.State == gantry.RuleStateDisabled { // see putRule
			if err := tx.ScheduleStateDelete(ctx, name); err != nil {
				return fmt.Errorf("reset schedule of rule %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.rulesChanged()
	return nil
}

type listRuleNamesByTargetInput struct {
	TargetArn    *string `json:"TargetArn"`
	EventBusName *string `json:"EventBusName"`
	NextToken    *string `json:"NextToken"`
	Limit        *int32  `json:"Limit"`
}

type listRuleNamesByTargetOutput struct {
	RuleNames []string `json:"RuleNames"`
	NextToken *string  `json:"NextToken,omitempty"`
}

func (h *Handler) listRuleNamesByTarget(ctx context.Context, in *listRuleNamesByTargetInput) (any, error) {
	if in.TargetArn == nil {
		return nil, required("targetArn")
	}
	if *in.TargetArn == "" || len(*in.TargetArn) > 1600 {
		return nil, constraint("targetArn", *in.TargetArn, "have length between 1 and 1600")
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
	rules, err := h.cfg.Store.RuleList(ctx, &store.RuleListParams{TargetArn: *in.TargetArn, AfterName: after, Limit: limit + 1})
	if err != nil {
		return nil, fmt.Errorf("list rules by target: %w", err)
	}
	rules, tok := page(rules, limit, func(r *gantry.Rule) string { return r.Name })
	out := listRuleNamesByTargetOutput{RuleNames: make([]string, 0, len(rules)), NextToken: tok}
	for _, r := range rules {
		out.RuleNames = append(out.RuleNames, r.Name)
	}
	return out, nil
}

// ruleFromARN returns the rule name of a rule ARN of this region and
// account (arn:aws:events:REGION:ACCOUNT:rule/NAME, or rule/default/NAME).
func (h *Handler) ruleFromARN(field string, arn *string) (string, error) {
	if arn == nil {
		return "", required(field)
	}
	prefix := h.arn("rule/")
	name, ok := strings.CutPrefix(*arn, prefix)
	if !ok {
		if strings.HasPrefix(*arn, "arn:") && strings.Contains(*arn, ":rule/") {
			return "", notFoundf("Rule %s does not exist.", *arn)
		}
		return "", validationf("Parameter ResourceARN is not valid: Gantry tags rules only (%sNAME), not %q.", prefix, *arn)
	}
	name = strings.TrimPrefix(name, gantry.DefaultEventBus+"/")
	if err := checkName(field, name, 64); err != nil {
		return "", err
	}
	return name, nil
}

type tagResourceInput struct {
	ResourceARN *string `json:"ResourceARN"`
	Tags        []tag   `json:"Tags"`
}

func (h *Handler) tagResource(ctx context.Context, in *tagResourceInput) (any, error) {
	name, err := h.ruleFromARN("resourceARN", in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, required("tags")
	}
	add, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	err = h.updateRule(ctx, name, func(r *gantry.Rule) error {
		r.Tags = mergeTags(r.Tags, add)
		if len(r.Tags) > maxTags {
			return validationf("Tags: a rule has at most %d tags.", maxTags)
		}
		return h.retagZone(r, add)
	})
	if err != nil {
		return nil, err
	}
	return emptyOutput{}, nil
}

// retagZone applies a change of the time zone tag to the rule.
func (h *Handler) retagZone(r *gantry.Rule, changed []gantry.RuleTag) error {
	if !slices.ContainsFunc(changed, func(t gantry.RuleTag) bool { return t.Key == TimezoneTag }) {
		return nil
	}
	r.ScheduleExpressionTimezone = tagZone(r.Tags)
	if r.ScheduleExpression == "" {
		r.ScheduleExpressionTimezone = ""
		return nil
	}
	return checkSchedule(r.ScheduleExpression, r.ScheduleExpressionTimezone)
}

type untagResourceInput struct {
	ResourceARN *string  `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

func (h *Handler) untagResource(ctx context.Context, in *untagResourceInput) (any, error) {
	name, err := h.ruleFromARN("resourceARN", in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, required("tagKeys")
	}
	err = h.updateRule(ctx, name, func(r *gantry.Rule) error {
		var removed []gantry.RuleTag
		r.Tags = slices.DeleteFunc(slices.Clone(r.Tags), func(t gantry.RuleTag) bool {
			if slices.Contains(in.TagKeys, t.Key) {
				removed = append(removed, t)
				return true
			}
			return false
		})
		return h.retagZone(r, removed)
	})
	if err != nil {
		return nil, err
	}
	return emptyOutput{}, nil
}

type listTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN"`
}

type tagOutput struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type listTagsForResourceOutput struct {
	Tags []tagOutput `json:"Tags"`
}

func (h *Handler) listTagsForResource(ctx context.Context, in *listTagsForResourceInput) (any, error) {
	name, err := h.ruleFromARN("resourceARN", in.ResourceARN)
	if err != nil {
		return nil, err
	}
	r, err := h.getRule(ctx, h.cfg.Store, name)
	if err != nil {
		return nil, err
	}
	out := listTagsForResourceOutput{Tags: make([]tagOutput, 0, len(r.Tags))}
	for _, t := range r.Tags {
		out.Tags = append(out.Tags, tagOutput(t))
	}
	return out, nil
}

type describeEventBusInput struct {
	Name *string `json:"Name"`
}

type eventBusOutput struct {
	Name string `json:"Name"`
	Arn  string `json:"Arn"`
}

func (h *Handler) describeEventBus(_ context.Context, in *describeEventBusInput) (any, error) {
	if err := h.checkBus(in.Name); err != nil {
		return nil, err
	}
	return eventBusOutput{Name: gantry.DefaultEventBus, Arn: h.busARN()}, nil
}

type listEventBusesInput struct {
	NamePrefix *string `json:"NamePrefix"`
	NextToken  *string `json:"NextToken"`
	Limit      *int32  `json:"Limit"`
}

type listEventBusesOutput struct {
	EventBuses []eventBusOutput `json:"EventBuses"`
}

func (h *Handler) listEventBuses(_ context.Context, in *listEventBusesInput) (any, error) {
	if _, err := pageLimit(in.Limit); err != nil {
		return nil, err
	}
	out := listEventBusesOutput{EventBuses: []eventBusOutput{}}
	if in.NamePrefix == nil || strings.HasPrefix(gantry.DefaultEventBus, *in.NamePrefix) {
		out.EventBuses = append(out.EventBuses, eventBusOutput{Name: gantry.DefaultEventBus, Arn: h.busARN()})
	}
	return out, nil
}
