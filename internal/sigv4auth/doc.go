// Package sigv4auth authenticates API requests with AWS Signature Version 4
// (SigV4), so that a Gantry started with `gantry server --credentials FILE`
// only serves callers that sign with one of the access keys in FILE.
//
// Without --credentials Gantry accepts any (or no) credentials, like a local
// emulator; the server then calls Middleware with a nil *Verifier, which
// passes every request through.
//
// # Pieces
//
//   - LoadCredentials reads the key file: either the AWS shared-credentials
//     INI format or one "ACCESS_KEY_ID SECRET" (or "ACCESS_KEY_ID:SECRET")
//     pair per line.
//   - Verifier.Verify checks one request and returns a *gantry.Error:
//     MissingAuthenticationTokenException (not signed at all),
//     UnrecognizedClientException (unknown access key ID) or
//     InvalidSignatureException (malformed, expired or wrong signature).
//   - Middleware wraps the API handler and turns those errors into the
//     AWS-shaped JSON reply with HTTP 403.
//
// # What is accepted
//
// Header authentication (`Authorization: AWS4-HMAC-SHA256 Credential=...,
// SignedHeaders=..., Signature=...` plus `X-Amz-Date`) and presigned URLs
// (`X-Amz-Algorithm=AWS4-HMAC-SHA256` and friends in the query). The
// credential scope may name any region and one of the services Gantry
// emulates: batch (rest-json), logs and events (JSON 1.1). X-Amz-Date must
// lie within Verifier.MaxSkew (15 minutes by default) of the server clock; a
// presigned URL is valid from X-Amz-Date until X-Amz-Expires seconds later.
// X-Amz-Security-Token is treated as an ordinary signed header: Gantry has no
// session credentials, the signature is checked with the long-term secret of
// the access key ID.
//
// # How the signature is checked
//
// Verify does not reimplement SigV4. It rebuilds the request as the client
// signed it - the method, the path exactly as received, the query, only the
// headers listed in SignedHeaders, the same X-Amz-Date and the SHA-256 of the
// body - re-signs it with the SDK signer
// (github.com/aws/aws-sdk-go-v2/aws/signer/v4) using the stored secret, and
// compares the two signatures in constant time.
//
// The tricky part is the path. AWS clients sign non-S3 paths escaped twice:
// the ARN in `GET /v1/tags/arn%3Aaws%3Abatch...` appears as `arn%253Aaws...`
// in the canonical request. Go's server decodes r.URL.Path, so Verify takes
// the raw path from r.RequestURI and hands it to the signer through
// URL.Opaque, which the signer escapes once more: the same double escaping
// the clients do. botocore additionally removes dot segments and repeated
// slashes from the path before signing; Verify tries that form too when it
// differs from the raw path.
//
// Verified against aws-sdk-go-v2, botocore/boto3 and the aws CLI (see the
// tests).
//
// # Known limits
//
//   - Headers that the SDK signer never signs (Authorization, User-Agent,
//     Expect, Transfer-Encoding, X-Amzn-Trace-Id) and a signed
//     "content-length" of 0 cannot be reproduced; such requests are rejected
//     with a message saying so. None of the AWS SDKs or the CLI sign them.
//   - The request time must come from X-Amz-Date; a bare Date header is not
//     accepted.
//   - A body is buffered in memory to hash it (and put back for the next
//     handler); bodies over 32 MiB are refused with ClientException.
//   - UNSIGNED-PAYLOAD is accepted only for requests without a body.
//   - A reverse proxy in front of Gantry must forward the Host header and the
//     request path unchanged, or no signature will verify.
//   - As with AWS, a captured request can be replayed while its X-Amz-Date is
//     within MaxSkew, and a signature protects integrity, not secrecy: serve
//     Gantry over TLS when the network is not trusted.
//
// # Unauthenticated endpoints
//
// Middleware lets GET (and HEAD) /healthz and /metrics through unsigned, so
// load balancers and Prometheus need no AWS credentials. Everything else is
// authenticated.
package sigv4auth
