// Package memory is a Sink that keeps each batch's records in memory, for
// tests and examples: the Go counterpart of Spark's memory sink. Import it
// under an alias, since arrow-go has a package of the same name:
//
//	import memsink "github.com/sluicehq/sluice/sink/memory"
//
//	out := memsink.New()
//	defer out.Release()
//	... run a query writing to out ...
//	rows := out.Rows() // [][]any, see internal/arrowrows for the Go types
//
// # Idempotency
//
// Batch ids reach a sink in increasing order, and an id at or below the
// last one accepted is a replay after a restart (see sink.Sink). The sink
// keeps the first delivery of each batch and skips replays, counting them
// in Replays, so the rows of a batch appear once.
//
// # Output modes
//
// In "append" and "update" mode (and before Open) every accepted batch is
// kept, and Rows returns all of them in batch order. In "complete" mode
// each batch is the whole result table, so it replaces the previous one:
// Rows and Batches hold the latest batch only. BatchIDs lists every batch
// accepted, in every mode.
//
// # Ownership and lifetime
//
// AddBatch retains the records it keeps; the driver's references stay the
// driver's. The sink does not release them when a query stops, so a test
// can stop a query, restart it on the same sink and look at all the
// output; call Release when done with the sink to release the records.
//
// # Concurrency
//
// Rows, Batches, BatchIDs and Replays may be called while a query is
// writing; they see whole batches only.
package memory
