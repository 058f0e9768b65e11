// Command sluice is the Sluice command line: `sluice demo` runs the demo
// job on the embedded default (rate source -> filter/project -> Parquet in a
// local folder, checkpoint beside it), `sluice inspect` prints what a
// checkpoint holds, and `sluice bench WORKLOAD... [--events N] [--json]`
// runs the benchmark workloads of package benchsuite (ysb, ysb-json,
// nexmark-q0..q8, latency-kafka, parquet-s3, or all) and prints one table
// or one JSON object per workload. See `sluice help`.
package main
