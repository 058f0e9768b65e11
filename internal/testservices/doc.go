// Package testservices provisions real servers for integration tests: an
// S3-compatible object store (MinIO) and a Kafka-protocol broker.
//
// Two providers stand behind one API:
//
//   - "docker": when a Docker engine answers a health check within a couple
//     of seconds, MinIO (image minio/minio, "server /data") and Kafka (image
//     apache/kafka, a single KRaft node that is both broker and controller)
//     run as generic containers through testcontainers-go. The containers
//     are started at most once per test process and shared by its tests;
//     the testcontainers reaper removes them when the process exits.
//   - "local": otherwise the servers are the ones managed by
//     scripts/services.sh (MinIO built from its Go module, and
//     cmd/sluice-devkafka). If .services/env at the repository root is
//     missing, or the endpoints it names do not answer, the helper runs
//     "scripts/services.sh up" while holding an exclusive lock on
//     .services/lock, so that test binaries of several packages running in
//     parallel never start two copies. Local services are left running when
//     the tests end, for the next package or run to reuse; stop them with
//     "scripts/services.sh down".
//
// The environment variable SLUICE_TEST_PROVIDER=docker or =local forces a
// provider instead of probing Docker. SLUICE_SERVICES_DIR (default
// .services), SLUICE_MINIO_PORT and SLUICE_KAFKA_PORTS are passed on to
// scripts/services.sh and select another set of local servers.
//
// RestartMinIO stops MinIO and starts it again with the same data and
// address, for tests of recovery from a server outage (the local provider
// runs "scripts/services.sh restart-minio" under the lock).
//
// The helpers never skip a test: if a server cannot be provided, the test
// fails with the reason (the failing command's output, the endpoint that did
// not answer).
//
// Every S3 test should work in its own bucket from NewBucket, which is
// emptied and removed at the end of the test; Kafka tests should use topic
// names unique to the test.
package testservices
