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
// DataFrames are immutable values. Errors made while building one are kept
// and returned by Start (and shown by Err and Explain), so chains stay
// readable; nothing that can be checked before the first batch fails later.
package dataframe
