package source

import (
	"context"
	"encoding/json"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
)

// Offset is a source's position, as JSON text chosen by the source (the
// rate source uses {"row":123}; Kafka uses {"topic":{"0":123}}). The driver
// stores offsets verbatim in the offsets log and hands them back after a
// restart, so a source must accept every offset it ever returned. A nil
// Offset means "before the first record".
type Offset = json.RawMessage

// ReadLimit bounds how far LatestOffset may move in one batch.
type ReadLimit struct {
	// MaxRows caps the rows of one batch; 0 or negative means no cap.
	MaxRows int64
}

// ReadAll is the ReadLimit with no cap.
var ReadAll = ReadLimit{}

// MaxRows returns a ReadLimit of at most n rows per batch.
func MaxRows(n int64) ReadLimit { return ReadLimit{MaxRows: n} }

// Rows returns the cap, or math.MaxInt64 when there is none.
func (l ReadLimit) Rows() int64 {
	if l.MaxRows <= 0 {
		return math.MaxInt64
	}
	return l.MaxRows
}

// Source is a replayable input of Arrow record batches.
//
// The contract, which the driver's exactly-once guarantee rests on:
//   - Schema is fixed for the life of the source.
//   - LatestOffset(start, limit) returns the offset the next batch should end
//     at, given the batch starts after start (nil: from the beginning) and may
//     read at most limit. Returning an offset equal to start means "no new
//     data". It must not block waiting for data.
//   - Read(start, end) returns exactly the records in (start, end]. The same
//     (start, end) must give the same rows, in the same order, after a
//     restart of the process: this is what lets the driver re-run a batch.
//   - Records returned by Read are owned by the caller, who must Release
//     each one. They are allocated with mem.
//   - Close releases resources; the driver calls it once when the query stops.
type Source interface {
	Schema() *arrow.Schema
	LatestOffset(ctx context.Context, start Offset, limit ReadLimit) (Offset, error)
	Read(ctx context.Context, start, end Offset, mem memory.Allocator) ([]arrow.RecordBatch, error)
	Close() error
}

// Initializer is an optional capability: Init is called once before the
// first LatestOffset with a Store private to this source inside the
// checkpoint (the checkpoint's "sources/<index>/" folder). A source keeps
// here whatever it needs to replay deterministically, such as the rate
// source's start time. Init may be called again after a restart with the
// same store.
type Initializer interface {
	Init(ctx context.Context, meta objstore.Store) error
}

// Committer is an optional capability: Commit is called after batch data up
// to end is durably committed by the sink; the source may discard data at
// or before end. It is advisory: the source must still serve (start, end]
// for offsets after the last commit.
type Committer interface {
	Commit(ctx context.Context, end Offset) error
}

// RateLimiter is an optional capability: the read limit a source applies
// when the query sets none (e.g. maxOffsetsPerTrigger, rowsPerTrigger).
type RateLimiter interface {
	DefaultReadLimit() ReadLimit
}

// AvailableNower is an optional capability for Trigger.AvailableNow: the
// driver calls PrepareForAvailableNow once at query start, after which the
// source never reports a LatestOffset beyond what was available at that
// moment, so the query drains a fixed backlog in as many rate-limited
// batches as needed and stops. Sources without it are read up to the
// offset they report at start, in a single batch.
type AvailableNower interface {
	PrepareForAvailableNow(ctx context.Context) error
}

// Describer is an optional capability naming the source in progress
// reports ("RateSource[rowsPerSecond=10]"); the default is its Go type.
type Describer interface {
	Description() string
}
