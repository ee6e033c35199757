// Package bench measures AWS-Batch-compatible endpoints (Gantry, moto, AWS
// Batch itself) from the outside, through aws-sdk-go-v2 only, so that the
// same scenario runs unchanged against any of them and the numbers compare.
//
// A scenario creates what it needs on the endpoint (a compute environment,
// a job queue and a job definition, with unique names), drives it, and
// returns a Result: one JSON record per run, which Aggregate folds into
// medians, spreads and ratios. The gantrybench command (bench/cmd/gantrybench)
// selects scenarios by flag; bench/run-docker-bench.sh starts the servers and
// runs the container-throughput comparison recorded in docs/benchmarks.md.
//
// Scenarios:
//
//   - container-throughput (ContainerThroughput): N trivial container jobs,
//     submitted as N jobs or as one array job of N, timed from the first
//     SubmitJob until DescribeJobs shows all N finished. Its baseline,
//     DockerRun, runs the same containers with the docker CLI, P at a time.
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
