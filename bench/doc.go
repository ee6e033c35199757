// Package bench measures AWS-Batch-compatible endpoints (Gantry, moto, AWS
// Batch itself) from the outside, through the AWS API only (aws-sdk-go-v2),
// so that the same scenario runs unchanged against any of them and the
// numbers compare.
//
// A scenario creates what it needs on the endpoint (a compute environment,
// a job queue and a job definition, with unique names), drives it, and
// returns a Result: one JSON record per run, which Aggregate folds into
// medians, spreads and ratios. The gantrybench command (bench/cmd/gantrybench)
// selects scenarios by flag; bench/run-docker-bench.sh starts the servers and
// runs the container-throughput comparison recorded in docs/benchmarks.md,
// bench/run-bench.sh the API-level scenarios below.
//
// Scenarios:
//
//   - container-throughput (ContainerThroughput): N trivial container jobs,
//     submitted as N jobs or as one array job of N, timed from the first
//     SubmitJob until DescribeJobs shows all N finished. Its baseline,
//     DockerRun, runs the same containers with the docker CLI, P at a time.
//
// The API-level scenarios (Run, issue 5) create their own environments too
// and record named figures (Result.Metrics) that `gantrybench report`
// folds per scenario, mode and label, with ratios against baseline labels
// ("moto", and "machine-limit" for jobs/s):
//
//   - submit-throughput: N SubmitJob calls from C concurrent clients (each
//     its own connection pool) into a queue whose jobs are held (Hold: a
//     DISABLED compute environment on Gantry, a dependency on a missing job
//     on moto): jobs/s and call latency.
//   - e2e-throughput: N trivial jobs from the first submit until ListJobs
//     (one result per unfinished status) shows none left.
//   - submit-latency: M jobs one at a time on an idle queue, DescribeJobs
//     polled every few ms: startedAt - createdAt and the client-observed
//     submit-to-RUNNING.
//   - describe-list-latency: with K held jobs, DescribeJobs of 100 ids and
//     ListJobs (one page of 100).
//   - array-10k: one array of N children: the SubmitJob call and the time
//     to all children finished.
//   - chain-10k: N jobs each depending on the one before.
//   - fan-in: an array of W children and one job depending on the parent.
//   - queued-1m: Q held jobs (submit rate per block), then M probe jobs in
//     a higher-priority queue, the server's RSS and, if it exports
//     CycleMetric, its scheduling cycle time.
//   - machine-limit: /bin/true forked in a loop: the machine's ceiling.
//
// Their SubmitJob calls go through aws-sdk-go-v2 (SubmitClientSDK) or,
// with Config.SubmitClient SubmitClientHTTP or SubmitClientWire, through
// HTTPSubmitter: the same signed rest-json request built by hand, sent on
// net/http or on HTTP/1.1 connections of its own. The SDK spends about as
// much CPU per SubmitJob as Gantry does serving it, and net/http's client
// a third as much, so on a small machine the load generator would
// otherwise cap the figure it measures. The client is part of the result's
// mode ("clients=16 client=wire"), so that runs of different clients never
// fold together.
//
// With the server's pid, every run records its RSS (sampled peak, final,
// VmHWM) and CPU time. bench/run-bench.sh runs them all against a fresh
// Gantry (process executor) and a fresh moto per scenario.
//
// Besides the endpoint's own timestamps, a run can record what the Docker
// engine saw of its containers (EngineStats, from `docker events`) and the
// CPU time of named processes (the server, dockerd), so that runs against
// different endpoints compare on the same engine-side terms. EngineProxy
// records which engine API calls a client makes per container.
//
// Every run has a deadline, every loop is bounded by it or by N, and a
// cancelled context stops a run cleanly (the resources it created are still
// removed, within a short grace).
package bench
