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
// DataFrames are immutable values. Errors made while building one are kept
// and returned by Start (and shown by Err and Explain), so chains stay
// readable; nothing that can be checked before the first batch fails later.
package dataframe
