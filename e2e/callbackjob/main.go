// Command callbackjob is a batch job that calls Gantry back, the way real
// jobs de-duplicate work and chain jobs: it loads its AWS configuration from
// the environment only (AWS_ENDPOINT_URL_BATCH, credentials and region,
// which Gantry injects into every attempt), lists the STARTING and RUNNING
// jobs of its own queue (a job's first instants may still show STARTING, on
// AWS as on Gantry), checks that it finds itself, and optionally submits a
// follow-up job.
// The e2e tests build it statically into the Docker test image.
//
// Environment: AWS_BATCH_JOB_ID and AWS_BATCH_JQ_NAME (set by Gantry);
// NEXT_JOB_DEFINITION, when set, names the definition of the follow-up job.
// Exit codes: 0 found itself (and submitted), 3 not found, 4 API error.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

func main() {
	os.Exit(run(context.Background()))
}

func run(ctx context.Context) int {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Println("load config:", err)
		return 4
	}
	c := batch.NewFromConfig(cfg)
	self, queue := os.Getenv("AWS_BATCH_JOB_ID"), os.Getenv("AWS_BATCH_JQ_NAME")
	found := false
	for _, st := range []types.JobStatus{types.JobStatusStarting, types.JobStatusRunning} {
		p := batch.NewListJobsPaginator(c, &batch.ListJobsInput{JobQueue: aws.String(queue), JobStatus: st})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				fmt.Println("list jobs:", err)
				return 4
			}
			for _, j := range page.JobSummaryList {
				fmt.Println(st, aws.ToString(j.JobId), aws.ToString(j.JobName))
				found = found || aws.ToString(j.JobId) == self
			}
		}
	}
	if !found {
		fmt.Println("did not find myself:", self)
		return 3
	}
	if def := os.Getenv("NEXT_JOB_DEFINITION"); def != "" {
		out, err := c.SubmitJob(ctx, &batch.SubmitJobInput{
			JobName: aws.String("follow-up"), JobQueue: aws.String(queue), JobDefinition: aws.String(def),
			Parameters: map[string]string{"parent": self},
		})
		if err != nil {
			fmt.Println("submit follow-up:", err)
			return 4
		}
		fmt.Println("submitted:", aws.ToString(out.JobId))
	}
	fmt.Println("found myself:", self)
	return 0
}
