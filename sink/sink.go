package sink

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Sink receives the output of each micro-batch.
//
// The contract, which the driver's exactly-once guarantee rests on:
//   - AddBatch(batchID, records) may be called more than once for the same
//     batchID after a crash (always with the same rows); a sink must make the
//     second call a no-op or an idempotent overwrite, so the rows of a batch
//     appear in the output exactly once.
//   - Batch ids given to a sink increase; a batch id lower than one already
//     committed is only ever a replay.
//   - The records are borrowed: the sink must not Release them, and must
//     Retain any it keeps after AddBatch returns. records may be empty (a
//     no-data batch, or every row filtered out); the schema is the one given
//     to Open.
type Sink interface {
	AddBatch(ctx context.Context, batchID int64, records []arrow.RecordBatch) error
}

// OpenInfo describes the query a sink is attached to.
type OpenInfo struct {
	// QueryID is stable across restarts of the same checkpoint.
	QueryID string
	// Schema is the schema of every record given to AddBatch.
	Schema *arrow.Schema
	// OutputMode is "append", "update" or "complete".
	OutputMode string
}

// Opener is an optional capability: Open is called once before the first
// AddBatch of a query run.
type Opener interface {
	Open(ctx context.Context, info OpenInfo) error
}

// Closer is an optional capability: Close is called once when the query
// stops, after the last AddBatch.
type Closer interface {
	Close() error
}

// Describer is an optional capability naming the sink in progress reports.
type Describer interface {
	Description() string
}

// Metricser is an optional capability: metrics reported under
// progress.sink.metrics after each batch (e.g. files written, bytes).
type Metricser interface {
	Metrics() map[string]string
}
