// Package incremental runs a logical plan over the records of each
// micro-batch: Build turns a plan.Node into a Pipeline of physical
// Operators.
//
// Contract:
//
//   - Operator.Process borrows its input record and returns a record the
//     caller owns and releases, or nil when no rows remain. Pipeline.Process
//     borrows its input and returns records the caller owns; an empty
//     result means every row was filtered out.
//
//   - Project evaluates its expressions over whole arrays; a plain column
//     is passed on without copying. Filter drops rows whose condition is
//     false or null; when every row passes it returns its input record
//     itself (retained), and when none does it returns nil, so the common
//     cases cost no copy.
//
//   - Errors from evaluation (integer overflow, division by zero) name the
//     expression, the row and the values; a record whose schema differs
//     from its source's declared schema is refused.
//
//   - Stateless pipelines' Process is safe for concurrent use. A plan with
//     an aggregation (Aggregate, or SessionAggregate for session windows)
//     is stateful: it needs WithStateProvider, Process must be called from
//     one goroutine between BeginBatch and EndBatch, Process absorbs the
//     rows (the operators above the aggregation see them at EndBatch), and
//     EndBatch merges the batch's partial aggregates into the state store,
//     emits what the output mode says, evicts what the watermark closed
//     (the next batch's, BatchInfo.EvictWatermarkMs, for a tumbling or
//     sliding window or a plain key: one batch sooner than the batch's
//     own) and commits state version BatchID. State partitions are
//     merged and committed in parallel on up to GOMAXPROCS goroutines.
//     In a staged pipeline, an aggregation whose functions merge in any
//     order (count, count_if, min, max, approx_count_distinct, integer
//     sum and avg) folds each chunk into a partial on the first-stage
//     goroutines (ProcessFirstStage), and ProcessSecondStage merges the
//     partials in order.
//
//   - Event time: a row is late when the window it falls in (or, grouping
//     by the event-time column itself, its time) ends at or before the
//     batch's watermark, and a session row when its time plus gap does;
//     late rows are dropped and counted (numRowsDroppedByWatermark, per
//     window for sliding windows) or, WithLateRows, kept for LateRows.
//     Append emits a group once, when the watermark reaches its end;
//     update emits the groups a batch changed and evicts closed ones;
//     complete emits every group each batch and never drops or evicts.
//
//   - Other stateful operators (Dedup, StreamJoin, TransformWithState)
//     follow the same batch protocol; a pipeline may hold several, named
//     by kind and position bottom-up ("dedup-0", "aggregate-1"), each with
//     its own state partitions; the rows each emits at the end of a batch
//     run through the operators above it. Deduplication emits rows as it
//     processes them and may sit below a union; a stream-stream join takes
//     its two inputs as the pipeline's branches. Operators register their
//     builders from their own files (registerUnary, registerBinary).
//
//   - StaticJoin is a broadcast hash join with a table of package table,
//     loaded before the first batch and reloaded as its options say; it
//     keeps no state in the checkpoint.
//
//   - Watermark operators pass rows through and record their event times
//     (EventTimeStats) from which the driver derives the watermark.
//
//   - Pipeline exposes the driver's optional capabilities: BeginBatch,
//     EndBatch, Watermarks, EventTimeStats, LateRows, StateOperators,
//     PurgeState and BatchMetrics; Close gives back open stores and kept
//     rows (the state provider belongs to the caller).
//
//   - Generate emits the rows of its generator with the kept input
//     columns repeated; MapBatches calls the user's function and checks
//     its output schema; a Union routes each source's records through the
//     branch that reads it, then through the operators above the union.
//
// Explain prints the physical plan with bound expressions, so implicit
// casts and folded constants are visible.
package incremental
