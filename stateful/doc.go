// Package stateful is arbitrary stateful processing with timers, in the
// spirit of Spark's transformWithState: a user's Processor gets the rows
// of each key of a micro-batch, keeps typed per-key state, sets timers,
// and emits rows of a declared schema. DataFrame users reach it through
// GroupBy(...).TransformWithState; the incremental package runs it.
//
// # Contract
//
//   - Init runs once per query start and declares the state variables:
//     Value[T], List[T] and Map[K, V], each with a name unique in the
//     query and optionally WithTTL. The variables are used in the Handle*
//     calls with the handle the call is given: count.Get(h),
//     count.Update(h, n). Their state is the key's being handled.
//   - Each batch, HandleInputRows runs once for every key with input rows
//     (rows in arrival order), keys in order of first arrival within a
//     state partition; then the timers due run HandleExpiredTimer, in time
//     order within a partition; then TTL expiry deletes what has expired.
//     Partitions run concurrently: keep per-key data in state.
//   - Timers (Handle.RegisterTimer, DeleteTimer, ListTimers) are per key
//     and follow the query's TimeMode: ProcessingTime timers fire in the
//     first batch whose processing time is at or after them, EventTime
//     timers in the first batch whose watermark is. A fired timer is
//     deleted before its handler runs.
//   - TTL is processing time: an entry expires TTL after its last update
//     and reads as absent from the first batch whose processing time is
//     at or after its expiry.
//   - State and timers are written to the state store with the batch and
//     committed with it: a batch that is re-run after a crash starts from
//     the previous version and sees the same processing time and
//     watermark, so it produces the same state and, for a deterministic
//     processor, the same rows.
//   - A processor error or panic fails the batch, with an error naming the
//     key.
//
// The engine side (Runner, Partition, KV, NewKey, NewRows, NewOutput) is
// how the incremental package drives a processor over state partitions;
// users do not need it.
//
// The store layout (keys, value encodings, timers, TTL) is documented in
// docs/format/transform-state.md.
package stateful
