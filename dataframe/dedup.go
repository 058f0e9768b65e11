package dataframe

import "github.com/sluicehq/sluice/plan"

// DropDuplicates keeps the first row of each distinct combination of
// cols (no columns: of every column) and drops the rows that repeat one,
// in the same batch or in any later batch, as Spark's dropDuplicates. A
// null is a value like any other: two rows with null in the same columns
// and equal elsewhere are duplicates.
//
// The keys seen are kept in the state store. Without a watermark on an
// event-time column among cols, DropDuplicates keeps every key forever:
// its state grows without bound, as large as the number of distinct keys
// the stream ever carries. With WithWatermark on a column that is among
// cols, rows whose event time is at or below the watermark are dropped
// as late (counted in progress as numRowsDroppedByWatermark, or sent to
// StreamWriter.LateRows), and keys whose event time the watermark has
// reached are forgotten. To deduplicate by a key that leaves the event
// time out and still bound the state, use DropDuplicatesWithinWatermark.
func (df *DataFrame) DropDuplicates(cols ...string) *DataFrame {
	return df.derive("DropDuplicates", func() (plan.Node, error) { return plan.NewDedup(df.node, cols, false) })
}

// DropDuplicatesWithinWatermark keeps the first row of each distinct
// combination of cols (no columns: of every column) and drops the rows
// that repeat it while the first one is within the watermark delay, as
// Spark's dropDuplicatesWithinWatermark: a key is remembered until the
// watermark reaches the first row's event time plus the delay of
// WithWatermark, so duplicates that arrive within the delay of each other
// are dropped even when their event times differ, and state stays
// bounded. The DataFrame needs a watermark (WithWatermark) before it;
// Start refuses the query without one. Rows at or below the watermark are
// dropped as late. A row whose event time is null is never late, and its
// key never expires.
func (df *DataFrame) DropDuplicatesWithinWatermark(cols ...string) *DataFrame {
	return df.derive("DropDuplicatesWithinWatermark", func() (plan.Node, error) { return plan.NewDedup(df.node, cols, true) })
}
