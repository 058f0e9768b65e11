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
//     if the watermark advanced and the plan says a no-data batch can emit
//     or evict state.
//  2. Log the offsets: create offsets/N with PutIfAbsent. If it exists,
//     another driver owns the checkpoint: stop with ErrConcurrentRun.
//  3. Run: read (start, end] from each source and run the plan.
//  4. Sink: AddBatch(N, out); sinks are idempotent per batch id, so a re-run
//     after a crash between steps 4 and 5 writes nothing twice.
//  5. Commit: create commits/N (next watermark, per-input watermarks,
//     state versions), tell the sources they may discard data up to the
//     committed offsets, report progress.
//  6. Wait for the trigger.
//
// # Plan capabilities
//
// A Plan may implement optional interfaces, as database/sql drivers do:
//
//   - BatchObserver: BeginBatch and EndBatch around a batch's Process calls
//     (state load and write; EndBatch's state versions go into the commit).
//   - BatchMetricser: per-batch counters, reported in Progress.Metrics.
//   - WatermarkPlan: event-time watermark declarations and the statistics
//     of the event times seen, from which the driver computes watermarks.
//   - LateRowser: the rows a batch's stateful operators dropped as late,
//     handed to Config.LateSink (required when LateSink is set).
//   - ConcurrentPlan: a plan whose Process may run on several goroutines
//     (no stateful operators) gets a batch's records on up to GOMAXPROCS
//     goroutines; its outputs keep the records' order.
//   - StateReporter: per-operator state metrics, in
//     Progress.StateOperators.
//   - StatePurger: deletion of state older than the batches retained,
//     called where the driver purges old log entries (every 10 batches, in
//     the background, one purge at a time; Run waits for it before it
//     returns).
//
// # Event-time watermarks
//
// Each declaration of a WatermarkPlan is an input with its own watermark:
// the largest event time it has seen minus its delay, never decreasing,
// and none until it sees a row. After each batch (after EndBatch) the
// driver folds the batch's EventTimeStats into the inputs' watermarks and
// combines those that have one, by minimum or by maximum as the setting
// WatermarkPolicyConf says (pinned in the offsets log; "min" by default);
// inputs without a watermark do not hold it back. The query's watermark
// is the larger of that and the current one: it never goes back, and is 0
// until an input has one. It is logged in the commit entry as the next
// batch's watermark, with each input's (wal.CommitEntry.InputWatermarksMs),
// so a restarted driver carries on with the same values.
//
// An input declared with an IdleTimeout that has seen no rows for that
// long (in processing time, counted from its last batch with rows, or
// from the driver's start) has its watermark advanced by the time since,
// as if event time kept pace with processing time; this lets windows close
// when a stream goes quiet. The advanced value counts when the next batch
// is planned.
//
// A batch runs with the watermark logged in its offsets entry
// (BatchInfo.WatermarkMs); a re-run after a crash uses the logged value.
// Once all of a batch's rows have gone through the plan, the driver
// computes the watermark the next batch will run with (the commit entry's
// value) and hands it to EndBatch as BatchInfo.EvictWatermarkMs: every
// row it makes late has been seen, so an aggregation emits and evicts the
// windows it closes in this batch rather than one batch later, with the
// same rows in them. A re-run computes the same value from the same rows.
// When no source has new data, a batch still runs if its watermark is
// above the one the last committed batch ran with and the plan's
// NeedsNoDataBatch says that watermark lets a stateful operator emit or
// evict: a no-data batch, run once per such watermark. A plan that keeps
// processing-time timers (TimerPlan) also gets a no-data batch when one
// is due.
//
// # Late data
//
// With Config.LateSink set, the rows a batch's stateful operators dropped
// as late are handed to it, with the batch's id, before the batch's output
// reaches Config.Sink; since every sink is idempotent per batch id, a
// re-run of the batch does not duplicate them. The driver releases them
// after AddBatch.
//
// # Ownership
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
