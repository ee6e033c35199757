package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/spf13/cobra"

	"github.com/gantrybatch/gantry/internal/eventsapi"
)

// This file holds `gantry rules` and `gantry schedules`: EventBridge rules,
// their delivery history (and dead-letter records), and the next fire times
// of scheduled rules. Rules come from the EventBridge API; deliveries and
// schedules from Gantry's own read routes (eventsapi.Routes).

func (o *clientOptions) credentials() aws.Credentials {
	akid, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if akid == "" {
		akid, secret = "gantry", "gantry"
	}
	return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
}

func (o *clientOptions) eventsClient() *eventbridge.Client {
	c := o.credentials()
	return eventbridge.New(eventbridge.Options{
		Region:       o.region,
		BaseEndpoint: aws.String(o.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
	})
}

// emptySHA256 is the SigV4 payload hash of an empty body.
var emptySHA256 = func() string { h := sha256.Sum256(nil); return hex.EncodeToString(h[:]) }()

// getNative GETs one of Gantry's own routes, signed with SigV4 (service
// "events") so it works on servers that require credentials, and decodes
// the JSON answer into out.
func (o *clientOptions) getNative(ctx context.Context, path string, q url.Values, out any) error {
	u := strings.TrimRight(o.endpoint, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if err := v4.NewSigner().SignHTTP(ctx, o.credentials(), req, emptySHA256, "events", o.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return fmt.Errorf("GET %s: %s: %s", path, e.Type, e.Message)
		}
		return fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, truncate(strings.TrimSpace(string(body)), 200))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// printWire prints an EventBridge SDK value as its PascalCase wire shape:
// the SDK's Go field names are the member names; absent members are
// dropped.
func printWire(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	doc, _ = prune(doc)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// prune removes nulls, empty objects and the SDK's ResultMetadata.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		delete(x, "ResultMetadata")
		for k, e := range x {
			if p, ok := prune(e); ok {
				x[k] = p
			} else {
				delete(x, k)
			}
		}
		return x, len(x) > 0
	case []any:
		for i, e := range x {
			x[i], _ = prune(e)
		}
		return x, true
	}
	return v, true
}

func newRulesCmd(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List EventBridge rules (show NAME for one rule, deliveries for delivery history)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return listRules(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(newRulesShowCmd(o), newRulesDeliveriesCmd(o))
	return cmd
}

// ruleRow is one line of `gantry rules`.
type ruleRow struct {
	Name               string `json:"Name"`
	Arn                string `json:"Arn"`
	State              string `json:"State"`
	EventPattern       string `json:"EventPattern,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	Targets            int    `json:"Targets"`
}

func listRules(ctx context.Context, o *clientOptions, w io.Writer) error {
	c := o.eventsClient()
	var rows []ruleRow
	in := &eventbridge.ListRulesInput{}
	for {
		page, err := c.ListRules(ctx, in)
		if err != nil {
			return err
		}
		for _, r := range page.Rules {
			targets, err := allTargets(ctx, c, aws.ToString(r.Name))
			if err != nil {
				return err
			}
			rows = append(rows, ruleRow{Name: aws.ToString(r.Name), Arn: aws.ToString(r.Arn), State: string(r.State),
				EventPattern: aws.ToString(r.EventPattern), ScheduleExpression: aws.ToString(r.ScheduleExpression), Targets: len(targets)})
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if o.output == "json" {
		if rows == nil {
			rows = []ruleRow{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPATTERN OR SCHEDULE\tTARGETS")
	for _, r := range rows {
		what := r.ScheduleExpression
		if r.EventPattern != "" {
			what = strings.TrimSpace(strings.Join([]string{compactJSON(r.EventPattern), what}, " "))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", r.Name, r.State, truncate(what, 80), r.Targets)
	}
	return tw.Flush()
}

// compactJSON removes a JSON document's insignificant white space, keeping
// its member order.
func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

func allTargets(ctx context.Context, c *eventbridge.Client, rule string) ([]ebtypes.Target, error) {
	var out []ebtypes.Target
	in := &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)}
	for {
		page, err := c.ListTargetsByRule(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Targets...)
		if page.NextToken == nil {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// ruleDetail is `gantry rules show -o json`.
type ruleDetail struct {
	Rule       *eventbridge.DescribeRuleOutput `json:"Rule"`
	Targets    []ebtypes.Target                `json:"Targets"`
	Schedule   *eventsapi.Schedule             `json:"Schedule,omitempty"`
	Deliveries []eventsapi.Delivery            `json:"Deliveries"`
}

func newRulesShowCmd(o *clientOptions) *cobra.Command {
	var count int
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a rule: its pattern or schedule, targets, next fire times and last 10 deliveries",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ctx, name := cmd.Context(), args[0]
			c := o.eventsClient()
			rule, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
			if err != nil {
				return err
			}
			d := ruleDetail{Rule: rule}
			if d.Targets, err = allTargets(ctx, c, name); err != nil {
				return err
			}
			if aws.ToString(rule.ScheduleExpression) != "" {
				var sp eventsapi.SchedulesPage
				if err := o.getNative(ctx, eventsapi.SchedulesPath, url.Values{"count": {strconv.Itoa(count)}}, &sp); err != nil {
					return err
				}
				for i := range sp.Schedules {
					if sp.Schedules[i].Name == name {
						d.Schedule = &sp.Schedules[i]
					}
				}
			}
			var dp eventsapi.DeliveriesPage
			if err := o.getNative(ctx, eventsapi.DeliveriesPath, url.Values{"rule": {name}, "limit": {"10"}}, &dp); err != nil {
				return err
			}
			d.Deliveries = dp.Deliveries
			if o.output == "json" {
				return printWire(cmd.OutOrStdout(), d)
			}
			showRule(cmd.OutOrStdout(), &d)
			return nil
		},
	}
	cmd.Flags().IntVar(&count, "count", 5, "how many next fire times to show for a scheduled rule")
	return cmd
}

func showRule(w io.Writer, d *ruleDetail) {
	r := d.Rule
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Name", aws.ToString(r.Name))
	row("Arn", aws.ToString(r.Arn))
	row("State", string(r.State))
	row("Description", aws.ToString(r.Description))
	row("Event pattern", compactJSON(aws.ToString(r.EventPattern)))
	if s := d.Schedule; s != nil {
		expr := s.Expression
		if s.Timezone != "" {
			expr += " (" + s.Timezone + ")"
		}
		row("Schedule", expr)
		row("Last fire", s.LastFireAt)
		row("Next fires", strings.Join(s.NextFires, ", "))
		row("Schedule error", s.Error)
	} else {
		row("Schedule", aws.ToString(r.ScheduleExpression))
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nTargets (%d):\n", len(d.Targets))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tARN\tDETAILS")
	for _, t := range d.Targets {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", aws.ToString(t.Id), aws.ToString(t.Arn), targetDetails(t))
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nLast deliveries (%d):\n", len(d.Deliveries))
	printDeliveries(w, d.Deliveries, "  ", false)
}

func targetDetails(t ebtypes.Target) string {
	var parts []string
	if bp := t.BatchParameters; bp != nil {
		parts = append(parts, fmt.Sprintf("job definition %s, job name %s", aws.ToString(bp.JobDefinition), aws.ToString(bp.JobName)))
		if bp.ArrayProperties != nil && bp.ArrayProperties.Size > 0 {
			parts = append(parts, fmt.Sprintf("array size %d", bp.ArrayProperties.Size))
		}
	}
	switch {
	case t.Input != nil:
		parts = append(parts, "input "+truncate(aws.ToString(t.Input), 40))
	case t.InputPath != nil:
		parts = append(parts, "input path "+aws.ToString(t.InputPath))
	case t.InputTransformer != nil:
		parts = append(parts, "input transformer")
	}
	if rp := t.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			parts = append(parts, fmt.Sprintf("max retries %d", *rp.MaximumRetryAttempts))
		}
		if rp.MaximumEventAgeInSeconds != nil {
			parts = append(parts, fmt.Sprintf("max age %ds", *rp.MaximumEventAgeInSeconds))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

// printDeliveries prints deliveries as a table; withRule adds the rule.
func printDeliveries(w io.Writer, ds []eventsapi.Delivery, indent string, withRule bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := indent + "ID\tTARGET\tSTATE\tATTEMPTS\tCREATED\tUPDATED\tRESULT OR ERROR"
	if withRule {
		head = indent + "ID\tRULE\tTARGET\tSTATE\tATTEMPTS\tCREATED\tUPDATED\tRESULT OR ERROR"
	}
	fmt.Fprintln(tw, head)
	for _, d := range ds {
		outcome := d.Result
		if d.LastError != "" && (d.State != "DELIVERED" || outcome == "") {
			outcome = d.LastError
		}
		if d.State == "PENDING" && d.NextAttemptAt != "" {
			outcome = strings.TrimSpace("next attempt " + shortTime(d.NextAttemptAt) + "; " + outcome)
		}
		cols := []string{strconv.FormatInt(d.ID, 10), d.TargetID, d.State, strconv.Itoa(d.Attempts), shortTime(d.CreatedAt), shortTime(d.UpdatedAt), truncate(orDash(outcome), 70)}
		if withRule {
			cols = append(cols[:1], append([]string{d.Rule}, cols[1:]...)...)
		}
		fmt.Fprintln(tw, indent+strings.Join(cols, "\t"))
	}
	_ = tw.Flush()
}

func shortTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return orDash(s)
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newRulesDeliveriesCmd(o *clientOptions) *cobra.Command {
	var rule, state string
	var dead bool
	var limit int
	cmd := &cobra.Command{
		Use:   "deliveries [--rule R] [--dead] [--limit N]",
		Short: "Show delivery history, newest first; --dead for the dead-letter records",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if limit < 1 {
				return fmt.Errorf("--limit: %d must be 1 or more", limit)
			}
			if dead {
				if state != "" && !strings.EqualFold(state, "DEAD") {
					return fmt.Errorf("--dead and --state %s contradict each other", state)
				}
				state = "DEAD"
			}
			var all []eventsapi.Delivery
			q := url.Values{}
			if rule != "" {
				q.Set("rule", rule)
			}
			if state != "" {
				q.Set("state", strings.ToUpper(state))
			}
			for len(all) < limit {
				q.Set("limit", strconv.Itoa(min(limit-len(all), 1000)))
				var page eventsapi.DeliveriesPage
				if err := o.getNative(cmd.Context(), eventsapi.DeliveriesPath, q, &page); err != nil {
					return err
				}
				all = append(all, page.Deliveries...)
				if page.NextToken == "" {
					break
				}
				q.Set("nextToken", page.NextToken)
			}
			if o.output == "json" {
				if all == nil {
					all = []eventsapi.Delivery{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			printDeliveries(cmd.OutOrStdout(), all, "", true)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&rule, "rule", "r", "", "only deliveries of this rule")
	f.BoolVar(&dead, "dead", false, "only dead-letter records (deliveries whose retries ran out)")
	f.StringVar(&state, "state", "", "only deliveries in this state: PENDING, DELIVERED or DEAD")
	f.IntVar(&limit, "limit", 50, "at most this many deliveries")
	return cmd
}

func newSchedulesCmd(o *clientOptions) *cobra.Command {
	var count int
	cmd := &cobra.Command{
		Use:   "schedules [--count N]",
		Short: "List scheduled rules with their last and next N fire times",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if count < 0 || count > 100 {
				return fmt.Errorf("--count: %d must be from 0 to 100", count)
			}
			var page eventsapi.SchedulesPage
			if err := o.getNative(cmd.Context(), eventsapi.SchedulesPath, url.Values{"count": {strconv.Itoa(count)}}, &page); err != nil {
				return err
			}
			if o.output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(page.Schedules)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tSCHEDULE\tTIMEZONE\tLAST FIRE\tNEXT FIRES")
			for _, s := range page.Schedules {
				next := strings.Join(s.NextFires, ", ")
				if s.Error != "" {
					next = "error: " + s.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, s.Expression, orDash(s.Timezone), orDash(s.LastFireAt), orDash(next))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVarP(&count, "count", "n", 5, "how many next fire times to show")
	return cmd
}
