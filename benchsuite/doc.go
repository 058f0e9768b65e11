// Package benchsuite holds the streaming benchmarks that `sluice bench`
// and `make bench` run: the Yahoo Streaming Benchmark (engine-only and
// with JSON parsing), Nexmark queries, end-to-end latency through Kafka
// and Parquet on S3. Each workload runs as a normal Sluice query (source,
// DataFrame plan, sink) and, where one exists, a hand-written Go loop over
// the same data beside it, timed the same way in the same run.
//
// Workloads register themselves with Register from an init function;
// Run measures wall time, CPU time (user + system, getrusage) and peak
// resident memory, and every workload returns a checksum of its result so
// that runs and implementations can be cross-checked. Tests run each
// workload at a small size and compare its result with an independent
// computation.
package benchsuite
