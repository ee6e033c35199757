// Package gantry holds Gantry's domain: the AWS Batch resources (compute
// environments, job queues, job definitions, jobs), their enumerations, the
// job state machine, input validation and the coded error type.
//
// The types mirror the AWS Batch wire shapes (API version 2016-08-10) and
// carry their JSON member names, so the HTTP layer can encode them directly.
// Gantry-internal fields that are not part of the wire shape are tagged
// `json:"-"`. This package imports only the standard library and performs no
// I/O; adapters (store, executor, HTTP) live in subpackages named after what
// they adapt to.
package gantry
