package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/spf13/cobra"
)

// clientOptions are the flags every client subcommand shares.
type clientOptions struct {
	endpoint string
	region   string
	output   string
}

func (o *clientOptions) client() *batch.Client {
	akid, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if akid == "" {
		akid, secret = "gantry", "gantry"
	}
	return batch.New(batch.Options{
		Region:       o.region,
		BaseEndpoint: aws.String(o.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, os.Getenv("AWS_SESSION_TOKEN")),
	})
}

func (o *clientOptions) validate() error {
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("--output: %q must be table or json", o.output)
	}
	return nil
}

// addClientCommands adds submit, jobs, describe, logs, cancel and terminate.
func addClientCommands(root *cobra.Command) {
	o := &clientOptions{}
	pf := root.PersistentFlags()
	pf.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:8420", "Gantry (or AWS Batch) endpoint URL for client commands")
	pf.StringVar(&o.region, "region-name", "us-east-1", "region to sign client requests for")
	pf.StringVarP(&o.output, "output", "o", "table", "client output: table or json")
	root.AddCommand(newSubmitCmd(o), newJobsCmd(o), newDescribeCmd(o), newStopCmd(o, "cancel"), newStopCmd(o, "terminate"), newLogsCmd(o), newRulesCmd(o), newSchedulesCmd(o))
}

// printJSON prints an SDK value in the AWS wire shape (see awsShape).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(awsShape(v))
}

func newSubmitCmd(o *clientOptions) *cobra.Command {
	var queue, def, name string
	var params, env, deps []string
	var vcpus, memory string
	var attempts, timeout int32
	cmd := &cobra.Command{
		Use:   "submit --queue Q --definition D [--name N] [-- COMMAND ARGS...]",
		Short: "Submit a job",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if name == "" {
				name = def + "-" + time.Now().UTC().Format("20060102T150405")
				name = strings.Map(func(r rune) rune {
					if r == ':' || r == '/' {
						return '-'
					}
					return r
				}, name)
			}
			in := &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(queue), JobDefinition: aws.String(def)}
			kv, err := parsePairs("--param", params)
			if err != nil {
				return err
			}
			if len(kv) > 0 {
				in.Parameters = kv
			}
			ov := &types.ContainerOverrides{Command: args}
			envs, err := parsePairs("--env", env)
			if err != nil {
				return err
			}
			for k, v := range envs {
				ov.Environment = append(ov.Environment, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
			}
			if vcpus != "" {
				ov.ResourceRequirements = append(ov.ResourceRequirements, types.ResourceRequirement{Type: types.ResourceTypeVcpu, Value: aws.String(vcpus)})
			}
			if memory != "" {
				ov.ResourceRequirements = append(ov.ResourceRequirements, types.ResourceRequirement{Type: types.ResourceTypeMemory, Value: aws.String(memory)})
			}
			in.ContainerOverrides = ov
			for _, d := range deps {
				in.DependsOn = append(in.DependsOn, types.JobDependency{JobId: aws.String(d)})
			}
			if attempts > 0 {
				in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(attempts)}
			}
			if timeout > 0 {
				in.Timeout = &types.JobTimeout{AttemptDurationSeconds: aws.Int32(timeout)}
			}
			out, err := o.client().SubmitJob(cmd.Context(), in)
			if err != nil {
				return err
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintln(cmd.OutOrStdout(), aws.ToString(out.JobId))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&queue, "queue", "q", "", "job queue name or ARN (required)")
	f.StringVarP(&def, "definition", "d", "", "job definition: name, name:revision or ARN (required)")
	f.StringVarP(&name, "name", "n", "", "job name (default: definition and time)")
	f.StringArrayVarP(&params, "param", "p", nil, "parameter NAME=VALUE for Ref::NAME (repeatable)")
	f.StringArrayVarP(&env, "env", "e", nil, "environment override NAME=VALUE (repeatable)")
	f.StringArrayVar(&deps, "depends-on", nil, "job id this job waits for (repeatable)")
	f.StringVar(&vcpus, "vcpus", "", "vCPU override")
	f.StringVar(&memory, "memory", "", "memory override in MiB")
	f.Int32Var(&attempts, "attempts", 0, "retry strategy attempts (1-10)")
	f.Int32Var(&timeout, "timeout", 0, "attempt timeout in seconds (>= 60)")
	_ = cmd.MarkFlagRequired("queue")
	_ = cmd.MarkFlagRequired("definition")
	return cmd
}

func parsePairs(flag string, in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: %q must be NAME=VALUE", flag, s)
		}
		out[k] = v
	}
	return out, nil
}

func newJobsCmd(o *clientOptions) *cobra.Command {
	var queue, status, name string
	var limit int
	cmd := &cobra.Command{
		Use:   "jobs [--queue Q] [--status S] [--name PREFIX*]",
		Short: "List jobs (all statuses unless --status; every queue unless --queue)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			c := o.client()
			queues := []string{queue}
			if queue == "" {
				queues = nil
				p := batch.NewDescribeJobQueuesPaginator(c, &batch.DescribeJobQueuesInput{})
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						return err
					}
					for _, q := range page.JobQueues {
						queues = append(queues, aws.ToString(q.JobQueueName))
					}
				}
			}
			statuses := []types.JobStatus{types.JobStatus(strings.ToUpper(status))}
			if status == "" {
				statuses = types.JobStatus("").Values()
			}
			var jobs []types.JobSummary
			for _, q := range queues {
				for _, st := range statuses {
					got, err := listJobs(ctx, c, q, st, name, limit-len(jobs))
					if err != nil {
						return err
					}
					jobs = append(jobs, got...)
				}
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), jobs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB ID\tNAME\tSTATUS\tCREATED\tSTARTED\tSTOPPED\tREASON")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", aws.ToString(j.JobId), aws.ToString(j.JobName), j.Status,
					fmtTime(j.CreatedAt), fmtTime(j.StartedAt), fmtTime(j.StoppedAt), truncate(aws.ToString(j.StatusReason), 60))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&queue, "queue", "q", "", "job queue name or ARN")
	f.StringVarP(&status, "status", "s", "", "only jobs in this status")
	f.StringVarP(&name, "name", "n", "", "job name (case-insensitive; trailing * for a prefix)")
	f.IntVar(&limit, "limit", 1000, "at most this many jobs")
	return cmd
}

func listJobs(ctx context.Context, c *batch.Client, queue string, status types.JobStatus, name string, limit int) ([]types.JobSummary, error) {
	if limit <= 0 {
		return nil, nil
	}
	in := &batch.ListJobsInput{JobQueue: aws.String(queue), JobStatus: status}
	if name != "" {
		in.Filters = []types.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{name}}}
	}
	var out []types.JobSummary
	p := batch.NewListJobsPaginator(c, in)
	for p.HasMorePages() && len(out) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, j := range page.JobSummaryList {
			// A name filter returns every status; keep the one asked for.
			if name == "" || j.Status == status {
				out = append(out, j)
			}
		}
	}
	return out[:min(len(out), limit)], nil
}

func fmtTime(ms *int64) string {
	if ms == nil || *ms == 0 {
		return "-"
	}
	return time.UnixMilli(*ms).UTC().Format("2006-01-02 15:04:05")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func newDescribeCmd(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "describe JOB_ID...",
		Short: "Show jobs in detail",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			out, err := o.client().DescribeJobs(cmd.Context(), &batch.DescribeJobsInput{Jobs: args})
			if err != nil {
				return err
			}
			if len(out.Jobs) == 0 {
				return fmt.Errorf("no such job: %s", strings.Join(args, ", "))
			}
			if o.output == "json" {
				return printJSON(cmd.OutOrStdout(), out.Jobs)
			}
			w := cmd.OutOrStdout()
			for i, j := range out.Jobs {
				if i > 0 {
					fmt.Fprintln(w)
				}
				describeJob(w, j)
			}
			return nil
		},
	}
}

func describeJob(w io.Writer, j types.JobDetail) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Job ID", aws.ToString(j.JobId))
	row("Name", aws.ToString(j.JobName))
	row("Status", string(j.Status))
	row("Reason", aws.ToString(j.StatusReason))
	row("Queue", aws.ToString(j.JobQueue))
	row("Definition", aws.ToString(j.JobDefinition))
	row("Created", fmtTime(j.CreatedAt))
	row("Started", fmtTime(j.StartedAt))
	row("Stopped", fmtTime(j.StoppedAt))
	if c := j.Container; c != nil {
		row("Image", aws.ToString(c.Image))
		row("Command", strings.Join(c.Command, " "))
		if c.ExitCode != nil {
			row("Exit code", fmt.Sprint(*c.ExitCode))
		}
		row("Container reason", aws.ToString(c.Reason))
		row("Log stream", aws.ToString(c.LogStreamName))
	}
	for _, d := range j.DependsOn {
		row("Depends on", aws.ToString(d.JobId))
	}
	if aws.ToBool(j.IsCancelled) {
		row("Cancelled", "yes")
	}
	if aws.ToBool(j.IsTerminated) {
		row("Terminated", "yes")
	}
	for i, a := range j.Attempts {
		code := "-"
		if a.Container != nil && a.Container.ExitCode != nil {
			code = fmt.Sprint(*a.Container.ExitCode)
		}
		row(fmt.Sprintf("Attempt %d", i+1), fmt.Sprintf("%s -> %s exit %s: %s", fmtTime(a.StartedAt), fmtTime(a.StoppedAt), code, aws.ToString(a.StatusReason)))
	}
	_ = tw.Flush()
}

func newStopCmd(o *clientOptions, verb string) *cobra.Command {
	var reason string
	short := "Cancel jobs that have not started (STARTING and RUNNING jobs are not affected)"
	if verb == "terminate" {
		short = "Terminate jobs in any state, stopping running ones"
	}
	cmd := &cobra.Command{
		Use:   verb + " JOB_ID... [--reason R]",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := o.client()
			for _, id := range args {
				var err error
				if verb == "cancel" {
					_, err = c.CancelJob(cmd.Context(), &batch.CancelJobInput{JobId: aws.String(id), Reason: aws.String(reason)})
				} else {
					_, err = c.TerminateJob(cmd.Context(), &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String(reason)})
				}
				if err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", map[string]string{"cancel": "cancelled", "terminate": "terminated"}[verb], id)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&reason, "reason", "r", "requested with gantry "+verb, "reason recorded as the job's status reason")
	return cmd
}
