// Package microbatch runs a streaming query as a sequence of micro-batches,
// one at a time, with exactly-once output.
//
// The loop (Driver.Run), as in DESIGN.md:
//
//  0. Recover: read the latest offsets/N and commits/M of the checkpoint.
//     M == N: the next batch is N+1. M == N-1: batch N was planned but not
//     finished; it is re-run first with exactly the logged offsets and
//     watermark. Anything else is a damaged checkpoint and an error.
//  1. Construct the next batch: ask every source for its latest offset
//     (bounded by its read limit). Run a batch if a source has new data, or
//     if the plan says a no-data batch can emit or evict state.
//  2. Log the offsets: create offsets/N with PutIfAbsent. If it exists,
//     another driver owns the checkpoint: stop with ErrConcurrentRun.
//  3. Run: read (start, end] from each source and run the plan.
//  4. Sink: AddBatch(N, out); sinks are idempotent per batch id, so a re-run
//     after a crash between steps 4 and 5 writes nothing twice.
//  5. Commit: create commits/N (next watermark, state versions), tell the
//     sources they may discard data up to the committed offsets, report
//     progress.
//  6. Wait for the trigger.
//
// Exactly one batch is in flight at a time. Records read from sources are
// released by the driver after the plan has processed them; records the
// plan returns are released by the driver after the sink's AddBatch.
//
// A driver never rewrites a log object: a crash at any point leaves either
// nothing durable for the batch, an offsets entry (re-run), or both entries
// (done). Corrupt log objects stop the query with a wal.CorruptionError
// naming the object; the driver never overwrites them.
package microbatch
