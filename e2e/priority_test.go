//go:build linux

package e2e

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry/internal/gantrytest"
	"github.com/gantrybatch/gantry/internal/server"
)

// TestJobsKeepTheServersPriority runs jobs on a server whose store writer
// has a nice value of its own (--writer-nice): the jobs, forked while the
// writer commits their transitions, run at the server's priority, not the
// writer thread's.
func TestJobsKeepTheServersPriority(t *testing.T) {
	t.Parallel()
	stat, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	want := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))[16] // field 19: nice

	srv := gantrytest.New(t, gantrytest.WithConfig(func(c *server.Config) { c.WriterNice = 7 }))
	e := logsEnv{srv: srv, c: srv.Batch, logs: newLogsClient(srv.URL()), Env: gantrytest.Setup(t, srv.Batch, "nice", 4)}
	var ids []string
	for range 12 {
		ids = append(ids, submit(t, e.c, &batch.SubmitJobInput{
			JobName: aws.String("nice"), JobQueue: aws.String(e.Queue), JobDefinition: aws.String(e.JobDefinition),
			ContainerOverrides: &types.ContainerOverrides{Command: []string{"sh", "-c", `s=$(cat /proc/self/stat); s=${s##*) }; set -- $s; echo "nice=${17}"`}},
		}))
	}
	for _, id := range ids {
		j := wait(t, e.c, id, types.JobStatusSucceeded, types.JobStatusFailed)
		require.Equal(t, types.JobStatusSucceeded, j.Status, aws.ToString(j.StatusReason))
		out, err := e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(batchLogGroup), LogStreamName: j.Container.LogStreamName, StartFromHead: aws.Bool(true)})
		require.NoError(t, err)
		require.Equal(t, []string{"nice=" + want}, eventMessages(out.Events), "job %s", id)
	}
}
