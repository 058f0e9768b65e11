// Package console is a Sink that prints each batch as a text table, like
// Spark's console sink, for demos and debugging:
//
//	-------------------------------------------
//	Batch: 3
//	-------------------------------------------
//	+-------------------+-----+
//	|timestamp          |value|
//	+-------------------+-----+
//	|2026-01-01 00:00:00|0    |
//	+-------------------+-----+
//	only showing top 20 rows
//
// A blank line follows each table. WithNumRows sets how many rows are shown
// (default 20); WithTruncate cuts longer cell text to that many characters,
// the last three being "..." (default 20; 0 shows whole values; below 4 the
// text is cut without "..."). Cells are
// formatted by internal/arrowrows.Format: NULL for null, timestamps in UTC.
// Newlines, carriage returns and tabs in values are shown escaped (\n, \r,
// \t) so that each row stays on one line.
//
// # Idempotency
//
// The console is not transactional: if the process dies after printing a
// batch and before the driver commits it, the batch is printed again when
// the query restarts, exactly as with Spark. Within one process the sink
// skips a batch id at or below the last one it printed, so a replay in the
// same process (a query restarted on the same sink) prints nothing.
//
// Each batch is written to the writer with a single Write call. A Sink is
// safe for concurrent use.
package console
