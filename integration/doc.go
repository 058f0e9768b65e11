// Package integration holds end-to-end tests of Sluice against real
// external systems, run on loopback without Docker: outputs are checked by
// independent readers (the Parquet sink's files are read back with DuckDB),
// and storage and messaging run against real servers where a test needs
// them.
//
// The package has no non-test code and nothing imports it. Its tests are
// slower to build than unit tests (DuckDB is linked with cgo; a C compiler
// must be installed) but each runs in seconds. They assert exact results:
// row counts, sums and individual values equal to what was written, so a
// lost or duplicated row fails the test.
package integration
