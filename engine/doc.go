// Package engine starts streaming queries and gives each a handle.
//
// Engine.Start reads the checkpoint's metadata (so Query.ID is known and
// stable across restarts), refuses a second query on a checkpoint that is
// already active in this process (ErrAlreadyActive; across processes the
// offsets log's create-if-absent fences a second driver), and runs the
// micro-batch loop on its own goroutine.
//
// The Query handle: ID, RunID, Stop (after the batch in progress), Wait,
// ProcessAllAvailable, LastProgress and RecentProgress (Spark's
// StreamingQueryProgress fields and JSON). Listeners receive started,
// progress and terminated events on the query's goroutine, in order.
// When a query ends, its sources and sink are closed and no goroutine of it
// is left.
package engine
