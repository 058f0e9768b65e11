package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/sink"
)

// Batch is one accepted batch: its id and its rows as Go values.
type Batch struct {
	ID   int64
	Rows [][]any
}

type held struct {
	id   int64
	recs []arrow.RecordBatch
}

// Sink keeps the records of each batch; see the package documentation.
type Sink struct {
	mu       sync.RWMutex
	complete bool
	batches  []held
	ids      []int64
	hasLast  bool
	last     int64
	replays  int
}

var (
	_ sink.Sink      = (*Sink)(nil)
	_ sink.Opener    = (*Sink)(nil)
	_ sink.Describer = (*Sink)(nil)
)

// New returns an empty Sink.
func New() *Sink { return &Sink{} }

// Open takes the output mode of the query: "append", "update" or
// "complete" ("" is append). It keeps what earlier runs wrote.
func (s *Sink) Open(ctx context.Context, info sink.OpenInfo) error {
	var complete bool
	switch info.OutputMode {
	case "", "append", "update":
	case "complete":
		complete = true
	default:
		return fmt.Errorf("memory: Open: unknown output mode %q: want append, update or complete", info.OutputMode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.complete = complete
	return nil
}

// AddBatch keeps records (retaining each) as batch batchID, or skips the
// call if batchID is a replay. In complete mode the batch replaces the
// previous one, whose records are released.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, records []arrow.RecordBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasLast && batchID <= s.last {
		s.replays++
		return nil
	}
	for _, r := range records {
		r.Retain()
	}
	if s.complete {
		s.releaseLocked()
	}
	s.batches = append(s.batches, held{id: batchID, recs: slices.Clone(records)})
	s.ids = append(s.ids, batchID)
	s.hasLast, s.last = true, batchID
	return nil
}

// Rows returns the rows of the batches held, in batch order: every batch
// in append and update mode, the latest in complete mode.
func (s *Sink) Rows() [][]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rows := [][]any{}
	for _, b := range s.batches {
		rows = append(rows, arrowrows.RowsOf(b.recs)...)
	}
	return rows
}

// Batches returns the batches held, in batch order, with their rows.
func (s *Sink) Batches() []Batch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Batch, len(s.batches))
	for i, b := range s.batches {
		out[i] = Batch{ID: b.id, Rows: arrowrows.RowsOf(b.recs)}
	}
	return out
}

// BatchIDs returns the id of every batch accepted (replays excluded), in
// order, including batches a later one replaced in complete mode.
func (s *Sink) BatchIDs() []int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.ids)
}

// Replays returns how many AddBatch calls were skipped as replays.
func (s *Sink) Replays() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.replays
}

// Release releases every record the sink holds; Rows and Batches are empty
// afterwards. BatchIDs and the last batch id are kept, so a later replay is
// still skipped.
func (s *Sink) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *Sink) releaseLocked() {
	for _, b := range s.batches {
		for _, r := range b.recs {
			r.Release()
		}
	}
	s.batches = nil
}

// Description returns "MemorySink".
func (s *Sink) Description() string { return "MemorySink" }
