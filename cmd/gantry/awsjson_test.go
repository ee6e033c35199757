package main

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/stretchr/testify/require"
)

func TestAWSShape(t *testing.T) {
	t.Parallel()
	in := &batch.DescribeJobsOutput{Jobs: []types.JobDetail{{
		JobId: aws.String("j"), JobName: aws.String("n"), Status: types.JobStatusFailed,
		Container:       &types.ContainerDetail{ExitCode: aws.Int32(3), LogStreamName: aws.String("d/default/t")},
		ArrayProperties: &types.ArrayPropertiesDetail{Size: aws.Int32(2), StatusSummary: map[string]int32{"FAILED": 2}},
		Tags:            map[string]string{"Team": "etl"},
		IsCancelled:     aws.Bool(false),
	}}}
	b, err := json.Marshal(awsShape(in))
	require.NoError(t, err)
	require.JSONEq(t, `{"jobs":[{"jobId":"j","jobName":"n","status":"FAILED",
		"container":{"exitCode":3,"logStreamName":"d/default/t"},
		"arrayProperties":{"size":2,"statusSummary":{"FAILED":2}},
		"tags":{"Team":"etl"},"isCancelled":false}]}`, string(b))
}
