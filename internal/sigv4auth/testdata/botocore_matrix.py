"""Drive a Gantry endpoint with botocore and report what happened.

Reads a JSON list of cases on stdin and prints one JSON object per case on
stdout: {"name": ..., "ok": true} or {"name": ..., "ok": false, "code": ...,
"status": ..., "message": ...}. The Go test (botocore_test.go) decides what is
expected; this script only runs the calls.

A case: {"name", "endpoint", "region", "service" (batch|logs|events),
"operation" (botocore snake_case name), "params", "access_key", "secret_key",
"session_token" (optional), "anonymous" (bool), "presign" (bool: build a
presigned URL with generate_presigned_url and GET it with urllib)}.
"""

import json
import sys
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config


def client_for(case):
    config = Config(retries={"total_max_attempts": 1})
    if case.get("anonymous"):
        config = config.merge(Config(signature_version=botocore.UNSIGNED))
    session = boto3.session.Session()
    return session.client(
        case["service"],
        endpoint_url=case["endpoint"],
        region_name=case["region"],
        aws_access_key_id=case.get("access_key") or "unused",
        aws_secret_access_key=case.get("secret_key") or "unused",
        aws_session_token=case.get("session_token"),
        config=config,
    )


def run_presigned(client, case):
    url = client.generate_presigned_url(
        case["operation"], Params=case.get("params") or {}, ExpiresIn=300
    )
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            resp.read()
            return {"ok": True, "status": resp.status}
    except urllib.error.HTTPError as err:
        body = json.loads(err.read() or b"{}")
        return {
            "ok": False,
            "status": err.code,
            "code": err.headers.get("X-Amzn-ErrorType") or body.get("__type"),
            "message": body.get("message", ""),
        }


def run(case):
    client = client_for(case)
    if case.get("presign"):
        return run_presigned(client, case)
    try:
        getattr(client, case["operation"])(**(case.get("params") or {}))
        return {"ok": True}
    except botocore.exceptions.ClientError as err:
        return {
            "ok": False,
            "status": err.response["ResponseMetadata"]["HTTPStatusCode"],
            "code": err.response["Error"]["Code"],
            "message": err.response["Error"].get("Message", ""),
        }


def main():
    for case in json.load(sys.stdin):
        result = run(case)
        result["name"] = case["name"]
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
