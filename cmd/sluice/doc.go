// Command sluice is the Sluice command line: `sluice demo` runs the demo
// job on the embedded default (rate source -> filter/project -> Parquet in a
// local folder, checkpoint beside it), `sluice inspect` prints what a
// checkpoint holds. See `sluice help`.
package main
