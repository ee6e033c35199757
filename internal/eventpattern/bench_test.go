package eventpattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// batchJobEvent is a Batch Job State Change event as Gantry emits it (the
// reference's §6.1 example with a full JobDetail), about 2 KB.
const batchJobEvent = `{
  "version": "0",
  "id": "c8f9c4b5-76e5-d76a-f980-7011e206042b",
  "detail-type": "Batch Job State Change",
  "source": "aws.batch",
  "account": "123456789012",
  "time": "2022-01-11T23:36:40Z",
  "region": "us-east-1",
  "resources": ["arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8"],
  "detail": {
    "jobArn": "arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
    "jobName": "nightly-etl-42",
    "jobId": "4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
    "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/queue-7",
    "status": "RUNNABLE",
    "statusReason": "",
    "attempts": [],
    "createdAt": 1641944200058,
    "retryStrategy": {"attempts": 2, "evaluateOnExit": [{"onExitCode": "137", "action": "RETRY"}]},
    "dependsOn": [{"jobId": "0e7b8b3e-9a55-4bd8-8c38-3c4a1b3a0c1f", "type": "SEQUENTIAL"}],
    "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/etl:3",
    "parameters": {"date": "2022-01-11", "mode": "full"},
    "container": {
      "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1.4.2",
      "command": ["sleep", "600"],
      "jobRoleArn": "arn:aws:iam::123456789012:role/etl-job",
      "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
      "volumes": [],
      "environment": [
        {"name": "STAGE", "value": "prod"},
        {"name": "BUCKET", "value": "s3://etl-input/2022-01-11/"},
        {"name": "LOG_LEVEL", "value": "info"}
      ],
      "mountPoints": [],
      "ulimits": [],
      "networkInterfaces": [],
      "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "2048"}],
      "secrets": [],
      "logConfiguration": {"logDriver": "awslogs", "options": {}, "secretOptions": []}
    },
    "tags": {"team": "data", "cost-center": "cc-42", "resourceArn": "arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8"},
    "propagateTags": false,
    "platformCapabilities": ["EC2"],
    "eksAttempts": []
  }
}`

var batchStatuses = []string{"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"}

// realisticRules returns n rules in the mix an operator of a Batch service
// writes: mostly source + detail-type + status (often narrowed to a queue or
// job name), plus rules on other sources and a share of prefix, anything-but,
// numeric, wildcard, exists and $or.
func realisticRules(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	status := func() string { return batchStatuses[r.IntN(len(batchStatuses))] }
	queue := func() string {
		return fmt.Sprintf("arn:aws:batch:us-east-1:123456789012:job-queue/queue-%d", r.IntN(20))
	}
	rules := make([]string, n)
	for i := range rules {
		var rule string
		switch k := r.IntN(100); {
		case k < 35: // one or two statuses
			rule = fmt.Sprintf(`{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":[%q,%q]}}`, status(), status())
		case k < 50: // a status on one queue
			rule = fmt.Sprintf(`{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":[%q],"jobQueue":[%q]}}`, status(), queue())
		case k < 58: // other sources
			rule = fmt.Sprintf(`{"source":["aws.ec2","custom.app%d"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["stopped"]}}`, r.IntN(50))
		case k < 63: // job queue blocked
			rule = fmt.Sprintf(`{"source":["aws.batch"],"detail-type":["Batch Job Queue Blocked"],"resources":[%q]}`, queue())
		case k < 71: // a job name prefix
			rule = fmt.Sprintf(`{"source":["aws.batch"],"detail":{"jobName":[{"prefix":"nightly-%d"}],"status":["FAILED","SUCCEEDED"]}}`, r.IntN(10))
		case k < 79: // anything-but: the terminal states
			rule = `{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":[{"anything-but":["SUCCEEDED","FAILED"]}]}}`
		case k < 84: // numeric on the exit code
			rule = fmt.Sprintf(`{"source":["aws.batch"],"detail":{"status":["FAILED"],"container":{"exitCode":[{"numeric":[">",%d]}]}}}`, r.IntN(128))
		case k < 88: // numeric on the retry strategy
			rule = fmt.Sprintf(`{"detail-type":["Batch Job State Change"],"detail":{"retryStrategy":{"attempts":[{"numeric":[">=",%d,"<=",10]}]}}}`, 1+r.IntN(3))
		case k < 92: // wildcard on the job definition
			rule = fmt.Sprintf(`{"source":["aws.batch"],"detail":{"jobDefinition":[{"wildcard":"arn:aws:batch:*:job-definition/etl*:%d"}]}}`, r.IntN(5))
		case k < 96: // $or: a queue or a team tag
			rule = fmt.Sprintf(`{"source":["aws.batch"],"$or":[{"detail":{"jobQueue":[%q]}},{"detail":{"tags":{"team":["team-%d"]}}}]}`, queue(), r.IntN(10))
		default: // exists, equals-ignore-case
			rule = fmt.Sprintf(`{"source":[{"equals-ignore-case":"AWS.BATCH"}],"detail":{"statusReason":[{"exists":true}],"status":[%q]}}`, status())
		}
		rules[i] = rule
	}
	return rules
}

func newRealisticSet(tb testing.TB, n int) (*Set, []*Pattern) {
	tb.Helper()
	var s Set
	patterns := make([]*Pattern, n)
	for i, rule := range realisticRules(n, 42) {
		p, err := Compile([]byte(rule))
		if err != nil {
			tb.Fatalf("rule %d %s: %v", i, rule, err)
		}
		patterns[i] = p
		s.Put(fmt.Sprintf("rule-%04d", i), p)
	}
	return &s, patterns
}

func decodeBatchEvent(tb testing.TB) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal([]byte(batchJobEvent), &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// BenchmarkMatch1000Rules matches the Batch job state change event against
// 1,000 realistic rules:
//
//   - Set: a Set on the decoded event, as the dispatcher does;
//   - SetWithDecode: the same, decoding the JSON event first;
//   - EachPattern: every pattern's MatchValue in turn, without the index.
func BenchmarkMatch1000Rules(b *testing.B) {
	s, patterns := newRealisticSet(b, 1000)
	event := decodeBatchEvent(b)
	dst := s.AppendMatches(nil, event)
	b.Logf("%d of %d rules match", len(dst), s.Len())

	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = s.AppendMatches(dst[:0], event)
		}
	})
	b.Run("SetWithDecode", func(b *testing.B) {
		b.ReportAllocs()
		data := []byte(batchJobEvent)
		for b.Loop() {
			if _, err := s.Match(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EachPattern", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for _, p := range patterns {
				if p.MatchValue(event) {
					n++
				}
			}
			if n != len(dst) {
				b.Fatalf("%d matches, want %d", n, len(dst))
			}
		}
	})
}

// BenchmarkCompile compiles a pattern using most of the language.
func BenchmarkCompile(b *testing.B) {
	pattern := []byte(`{
	  "source": ["aws.batch"],
	  "detail-type": ["Batch Job State Change", "Batch Job Queue Blocked"],
	  "detail": {
	    "status": [{"anything-but": ["SUCCEEDED", "FAILED"]}],
	    "jobName": [{"prefix": {"equals-ignore-case": "nightly-"}}],
	    "container": {"exitCode": [{"numeric": [">", 0, "<=", 255]}]},
	    "jobDefinition": [{"wildcard": "arn:aws:batch:*:job-definition/etl*"}],
	    "$or": [{"jobQueue": [{"suffix": "queue-7"}]}, {"tags": {"team": ["data"]}}]
	  }
	}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(pattern); err != nil {
			b.Fatal(err)
		}
	}
}
