// Package sink defines the contract every streaming output of Sluice
// implements: AddBatch(ctx, batchID, records), idempotent per batch id.
//
// The driver calls AddBatch once per micro-batch, and again with the same
// batch id and the same rows if it crashed before logging the batch's
// commit. A sink makes the repeat a no-op (the Parquet sink checks its own
// log; a transactional sink checks what it committed), so every row appears
// once. Records are borrowed for the call.
//
// Optional capabilities: Opener (schema and query id before the first
// batch), Closer, Describer and Metricser (progress reporting).
//
// Implementations: sink/parquet (exactly-once files with a sink log),
// sink/memory, sink/console, sink/foreachbatch.
package sink
