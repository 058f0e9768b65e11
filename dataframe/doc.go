// Package dataframe is Sluice's public Go API: build a streaming query from
// a source with DataFrame operations, then start it with WriteStream.
//
//	q, err := dataframe.ReadStream(src).
//		Where(dataframe.Col("value").Gt(dataframe.Lit(10))).
//		Select(dataframe.Col("timestamp"), dataframe.Col("value")).
//		WriteStream(sink).
//		Trigger(trigger.ProcessingTime(time.Second)).
//		Checkpoint("./ckpt").
//		Start(ctx)
//
// Operations: Select (columns, computed values, one generator such as
// explode), Where/Filter, WithColumn, WithColumnRenamed, Drop, Explode,
// Union, MapBatches (a Go function over record batches), FromJSON and
// FromCSV (parse a column, such as a Kafka value, into fields, with
// Spark's PERMISSIVE, DROPMALFORMED and FAILFAST modes) and scalar UDFs
// registered by name (RegisterUDF), callable through expr.Call.
//
// Event time and state: WithWatermark declares an event-time column and
// how late its rows may be; GroupBy(keys...).Agg(...) aggregates per key
// and per event-time window (Window, SlidingWindow, SessionWindow,
// SessionWindowGap) with state kept in the checkpoint; DropDuplicates and
// DropDuplicatesWithinWatermark remove duplicates (without a watermark on
// an event-time key column DropDuplicates keeps every key forever);
// JoinStatic joins a stream with a table read from Parquet, CSV or memory
// (reloaded every N batches or when its files change); Join joins two
// streams (outer and semi joins need watermarks on both sides and an
// event-time range in the condition); GroupBy(keys...).TransformWithState
// runs a user processor per key with typed value, list and map state,
// TTLs and timers (package stateful). Output modes follow Spark's rules,
// checked at Start with messages that say what to change.
//
// DataFrames are immutable values. Errors made while building one are kept
// and returned by Start (and shown by Err and Explain), so chains stay
// readable; nothing that can be checked before the first batch fails later.
package dataframe
