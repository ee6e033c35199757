"""The README's boto3 quick start, then more of what boto3 users rely on.

Run by e2e/boto3_test.go as

    python3 getting_started.py ENDPOINT_URL

(or with the endpoint in GANTRY_ENDPOINT). It exits non-zero on any
unexpected error and prints a JSON summary as its last line of output; the Go
test asserts on that summary.
"""

import json
import os
import sys
import time

ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else os.environ["GANTRY_ENDPOINT"]
DEADLINE_SECONDS = 20
summary = {}


def wait_for(batch, job_id, statuses):
    """Polls describe_jobs until the job reaches one of statuses."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        jobs = batch.describe_jobs(jobs=[job_id])["jobs"]
        if jobs and jobs[0]["status"] in statuses:
            return jobs[0]
        if time.monotonic() > deadline:
            last = jobs[0]["status"] if jobs else "not found"
            raise AssertionError(f"job {job_id} did not reach {statuses}; last status {last}")
        time.sleep(0.05)


# --- The README, as written, with the endpoint from the command line. --------
# (Its unbounded polling loop gets a deadline: the script must never hang.)
import boto3, time
batch = boto3.client("batch", endpoint_url=ENDPOINT, region_name="us-east-1",
                     aws_access_key_id="gantry", aws_secret_access_key="gantry")
batch.create_compute_environment(computeEnvironmentName="py", type="MANAGED",
    computeResources={"type": "EC2", "maxvCpus": 4, "subnets": ["subnet-1"],
                      "securityGroupIds": ["sg-1"], "instanceRole": "ecsInstanceRole"})
batch.create_job_queue(jobQueueName="py", priority=1,
    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "py"}])
batch.register_job_definition(jobDefinitionName="py", type="container",
    containerProperties={"image": "busybox", "command": ["echo", "hi"],
                         "resourceRequirements": [{"type": "VCPU", "value": "1"}]})
job = batch.submit_job(jobName="py-1", jobQueue="py", jobDefinition="py")
deadline = time.monotonic() + DEADLINE_SECONDS
while (j := batch.describe_jobs(jobs=[job["jobId"]])["jobs"][0])["status"] not in ("SUCCEEDED", "FAILED"):
    assert time.monotonic() < deadline, f"README job stuck in {j['status']}"
    time.sleep(0.2)
print(j["status"], j["container"]["exitCode"])

summary["readme"] = {
    "jobId": job["jobId"],
    "jobArn": job["jobArn"],
    "jobName": job["jobName"],
    "status": j["status"],
    "exitCode": j["container"]["exitCode"],
    "statusReason": j.get("statusReason"),
    "jobQueue": j["jobQueue"],
    "jobDefinition": j["jobDefinition"],
}

# --- Paginators over enough items for several pages. ------------------------
more = [batch.submit_job(jobName=f"py-{i}", jobQueue="py", jobDefinition="py")["jobId"] for i in range(2, 7)]
for job_id in more:
    wait_for(batch, job_id, ("SUCCEEDED", "FAILED"))

pages = list(batch.get_paginator("list_jobs").paginate(
    jobQueue="py", jobStatus="SUCCEEDED", PaginationConfig={"PageSize": 2}))
listed = [s["jobId"] for p in pages for s in p["jobSummaryList"]]
summary["list_jobs"] = {
    "pages": len(pages),
    "page_sizes": [len(p["jobSummaryList"]) for p in pages],
    "jobIds": listed,
    "expected": [job["jobId"]] + more,
}
# build_full_result follows the tokens too and merges the pages.
full = batch.get_paginator("list_jobs").paginate(
    jobQueue="py", jobStatus="SUCCEEDED", PaginationConfig={"PageSize": 4}).build_full_result()
summary["list_jobs"]["full_result_count"] = len(full["jobSummaryList"])

revisions = [batch.register_job_definition(
    jobDefinitionName="py", type="container",
    containerProperties={"image": "busybox", "command": ["echo", str(i)],
                         "resourceRequirements": [{"type": "VCPU", "value": "1"}]})["revision"]
    for i in range(2, 6)]
pages = list(batch.get_paginator("describe_job_definitions").paginate(
    jobDefinitionName="py", status="ACTIVE", PaginationConfig={"PageSize": 2}))
summary["describe_job_definitions"] = {
    "registered_revisions": revisions,
    "pages": len(pages),
    "page_sizes": [len(p["jobDefinitions"]) for p in pages],
    "revisions": [d["revision"] for p in pages for d in p["jobDefinitions"]],
    "arns": [d["jobDefinitionArn"] for p in pages for d in p["jobDefinitions"]],
}

# --- A ClientException from a disabled queue, as the modeled exception. -----
batch.create_job_queue(jobQueueName="py-off", priority=1,
                       computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "py"}])
batch.update_job_queue(jobQueue="py-off", state="DISABLED")
try:
    batch.submit_job(jobName="nope", jobQueue="py-off", jobDefinition="py")
    summary["disabled_queue"] = {"raised": None}
except batch.exceptions.ClientException as e:
    summary["disabled_queue"] = {
        "raised": type(e).__name__,
        "code": e.response["Error"]["Code"],
        "message": e.response["Error"]["Message"],
        "http_status": e.response["ResponseMetadata"]["HTTPStatusCode"],
        "request_id": e.response["ResponseMetadata"].get("RequestId", ""),
    }

# --- describe_jobs leaves out ids it does not know. --------------------------
unknown = "00000000-0000-4000-8000-000000000000"
described = batch.describe_jobs(jobs=[unknown, job["jobId"]])["jobs"]
summary["describe_unknown"] = {"jobIds": [d["jobId"] for d in described]}

# --- Tags round trip on the queue and on a job. ------------------------------
queue_arn = batch.describe_job_queues(jobQueues=["py"])["jobQueues"][0]["jobQueueArn"]
batch.tag_resource(resourceArn=queue_arn, tags={"team": "ml", "env": "dev", "cost center": "a/b=c"})
after_tag = batch.list_tags_for_resource(resourceArn=queue_arn)["tags"]
batch.untag_resource(resourceArn=queue_arn, tagKeys=["env", "cost center"])
after_untag = batch.list_tags_for_resource(resourceArn=queue_arn)["tags"]
tagged = batch.submit_job(jobName="tagged", jobQueue="py", jobDefinition="py", tags={"owner": "boto3"})
summary["tags"] = {
    "queueArn": queue_arn,
    "after_tag": after_tag,
    "after_untag": after_untag,
    "described_queue_tags": batch.describe_job_queues(jobQueues=["py"])["jobQueues"][0].get("tags", {}),
    "job_tags": batch.list_tags_for_resource(resourceArn=tagged["jobArn"])["tags"],
}
wait_for(batch, tagged["jobId"], ("SUCCEEDED", "FAILED"))

# --- A failing job. ---------------------------------------------------------
batch.register_job_definition(jobDefinitionName="py-fail", type="container",
    containerProperties={"image": "busybox", "command": ["sh", "-c", "exit 4"],
                         "resourceRequirements": [{"type": "VCPU", "value": "1"}]})
failing = batch.submit_job(jobName="py-fail", jobQueue="py", jobDefinition="py-fail")
f = wait_for(batch, failing["jobId"], ("SUCCEEDED", "FAILED"))
summary["failing"] = {
    "jobId": failing["jobId"],
    "status": f["status"],
    "statusReason": f.get("statusReason"),
    "exitCode": f["container"].get("exitCode"),
    "attempts": len(f.get("attempts", [])),
    "attempt_exitCode": (f.get("attempts") or [{}])[0].get("container", {}).get("exitCode"),
}

print(json.dumps(summary, sort_keys=True))
