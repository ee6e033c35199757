// Package e2e holds Gantry's end-to-end tests: a real server on 127.0.0.1
// driven through aws-sdk-go-v2's Batch client, the installed aws CLI and
// boto3, including crash tests that kill the server binary with SIGKILL.
package e2e
