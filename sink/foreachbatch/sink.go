package foreachbatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/sink"
)

// Func processes one batch. records are borrowed: see the package
// documentation.
type Func func(ctx context.Context, batchID int64, records []arrow.RecordBatch) error

// Sink calls a function for each batch.
type Sink struct {
	fn Func
}

var (
	_ sink.Sink      = (*Sink)(nil)
	_ sink.Describer = (*Sink)(nil)
)

// New returns a Sink calling fn for every batch, replays included. A nil
// fn makes every AddBatch fail.
func New(fn func(ctx context.Context, batchID int64, records []arrow.RecordBatch) error) *Sink {
	return &Sink{fn: fn}
}

// AddBatch calls the function with the batch. Its error is returned
// wrapped with the batch id, so errors.Is and errors.As still see it.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, records []arrow.RecordBatch) error {
	if s.fn == nil {
		return errors.New("foreachbatch: New(nil): give a function to call for each batch")
	}
	if err := s.fn(ctx, batchID, records); err != nil {
		return fmt.Errorf("foreachbatch: batch %d: %w", batchID, err)
	}
	return nil
}

// Description returns "ForeachBatchSink".
func (s *Sink) Description() string { return "ForeachBatchSink" }
