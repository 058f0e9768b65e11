// Package foreachbatch is a Sink that hands each batch to a function, like
// Spark's foreachBatch: for writing to a system Sluice has no sink for, or
// to several places at once.
//
//	out := foreachbatch.New(func(ctx context.Context, batchID int64, recs []arrow.RecordBatch) error {
//		return db.UpsertBatch(ctx, batchID, recs)
//	})
//
// # Ownership
//
// The records are borrowed, as with any Sink: the function must not
// Release them, and must Retain any record it keeps after it returns.
//
// # Idempotency is the function's job
//
// The driver gives a batch to the sink again after a crash between the
// sink and the commit, with the same rows and the same batchID. The sink
// passes every call through, replays included: making the output exactly
// once is up to the function, as in Spark. Because batchID is stable
// across replays, the function can dedupe on it: write the batch id with
// the data in one transaction and skip ids already written, or overwrite
// a destination named after the id.
//
// An error from the function fails the batch (and the query), wrapped with
// the batch id; the batch is given again when the query restarts.
package foreachbatch
