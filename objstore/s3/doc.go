// Package s3 is an objstore.Store over Amazon S3 and S3-compatible servers
// (MinIO, Ceph, R2, ...), built on minio-go. Importing it registers the
// "s3" scheme, so objstore.Open(ctx, "s3://bucket/prefix") works:
//
//	import _ "github.com/sluicehq/sluice/objstore/s3"
//
// # Contract
//
// A Store keeps every object of the location s3://bucket/prefix under the
// key prefix + "/" + name and honours the objstore.Store contract (checked
// by objstore/storetest against a real MinIO):
//
//   - Get reads the whole object; a missing object gives an error wrapping
//     fs.ErrNotExist.
//   - Put is a PUT, or above the multipart threshold (WithMultipartThreshold,
//     default 64 MiB) a multipart upload; either way the object appears
//     whole or not at all.
//   - PutIfAbsent is a single PUT with "If-None-Match: *": of concurrent
//     creates of one name exactly one succeeds, the others get an error
//     wrapping fs.ErrExist (HTTP 412 Precondition Failed).
//   - List pages through ListObjectsV2 (1000 names a page) and returns the
//     names relative to the store's prefix in byte order. Names in the
//     folder _sluice_probe/ (ProbeDir) are reserved for the probe below and
//     never listed.
//   - Delete removes an object; a missing object is not an error.
//
// # Configuration
//
// Each setting comes from, in order: an Option; the location's query
// parameters (?endpoint=host:port or an http(s):// URL, &region=...,
// &singleWriter=true; credentials are refused there because locations end
// up in logs); the environment (AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL,
// either possibly with a scheme; AWS_REGION, then AWS_DEFAULT_REGION;
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, then the
// shared AWS credentials file, then an IAM role); the defaults
// (s3.amazonaws.com over TLS, the region looked up from the bucket).
// TLS is on unless the endpoint was given as an http:// URL or
// WithSecure(false) says otherwise. Invalid settings are reported by Open
// with the option, parameter or variable they came from.
//
// # Retries
//
// Every operation retries transient failures: connection errors and
// timeouts, HTTP 408, 429, 500, 502, 503 and 504, and the S3 codes that
// mean "try again" (SlowDown, InternalError, RequestTimeout, Throttling,
// ConditionalRequestConflict — a concurrent conditional write in
// progress — and MinIO's XMinioServerNotInitialized while it starts). The
// wait before retry n is base·2^(n-1), capped at 5s (or base if larger)
// and scaled by a random factor in [0.5, 1); by default there are at most
// 8 retries from 100ms (8 to 16s of waiting in all), see WithRetries.
// Errors that a retry cannot fix (missing bucket, rejected credentials,
// access denied, bad TLS certificate) fail at once. A canceled context stops an operation at
// once, including during a wait, with an error wrapping the context's
// error. A List that fails midway resumes after the last name received.
//
// A retried PutIfAbsent needs care: when an attempt's outcome is unknown
// (the connection broke, or the server answered 5xx), the object may have
// been written although the reply was lost, and the retry then meets 412.
// In that case, and only then, the store reads the object back: if it
// holds exactly the bytes being written, the earlier attempt is taken to
// have succeeded and PutIfAbsent returns nil; otherwise it reports
// fs.ErrExist. The one case this cannot tell apart, another writer
// creating the same bytes at the same moment, is harmless for callers
// that, like Sluice's logs, write the same bytes for the same decision.
//
// # Checks at Open
//
// Open lists one name under the prefix, so that an unreachable endpoint
// (after the retries, naming the address), rejected credentials
// (InvalidAccessKeyId, SignatureDoesNotMatch) and a missing bucket (to be
// created first) each fail with an error saying so.
//
// Then the probe: Sluice's exactly-once commit protocol relies on
// PutIfAbsent, and some S3-compatible stores silently ignore
// If-None-Match. Open creates an object with a random name under
// <prefix>/_sluice_probe/, creates it a second time, which must fail with
// 412, and deletes it. A store that accepts the second create is refused
// with an error explaining this; WithSingleWriter() or ?singleWriter=true
// skips the probe for such stores when a single query ever writes to the
// location at a time. With two writers on such a store, both can commit
// the same batch, duplicating or losing output.
package s3
