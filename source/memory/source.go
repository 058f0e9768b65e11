package memory

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/source"
)

// Option configures a Source.
type Option func(*Source)

// WithAllocator sets the allocator AddRows builds records with; the default
// is memory.DefaultAllocator. Tests pass a memory.CheckedAllocator.
func WithAllocator(mem memory.Allocator) Option {
	return func(s *Source) { s.mem = mem }
}

// Source is an in-process Source of records added with Add and AddRows.
// See the package documentation for offsets, ownership and Close.
type Source struct {
	schema *arrow.Schema
	mem    memory.Allocator

	mu sync.Mutex
	// recs[i] is record i, or nil once Close has released it.
	recs []arrow.RecordBatch
	// rows[i] is the number of rows of record i, kept after its release.
	rows []int64
	// capped and capAt hold the AvailableNow bound: once capped,
	// LatestOffset never goes beyond capAt records.
	capped bool
	capAt  int64
}

var (
	_ source.Source         = (*Source)(nil)
	_ source.AvailableNower = (*Source)(nil)
	_ source.Describer      = (*Source)(nil)
)

// New returns an empty Source of records with the given schema.
func New(schema *arrow.Schema, opts ...Option) *Source {
	s := &Source{schema: schema, mem: memory.DefaultAllocator}
	for _, o := range opts {
		o(s)
	}
	if s.mem == nil {
		s.mem = memory.DefaultAllocator
	}
	return s
}

// Schema returns the schema given to New.
func (s *Source) Schema() *arrow.Schema { return s.schema }

// Add appends recs, retaining each one (the caller keeps its own reference
// and still releases it), and returns the offset after them.
//
// Add panics if a record's schema differs from the source's: that is a bug
// in the calling test, and a panic shows where it is. AddRows returns an
// error instead.
func (s *Source) Add(recs ...arrow.RecordBatch) source.Offset {
	for i, rec := range recs {
		if !rec.Schema().Equal(s.schema) {
			panic(fmt.Sprintf("memory: Add: record %d has schema\n%v\nbut the source was created with schema\n%v\nbuild records with the source's Schema()", i, rec.Schema(), s.schema))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rec := range recs {
		rec.Retain()
		s.recs = append(s.recs, rec)
		s.rows = append(s.rows, rec.NumRows())
	}
	return encodeOffset(int64(len(s.recs)))
}

// AddRows builds one record from rows of Go values (one value per field, nil
// for null; see arrowrows.Build for the accepted Go types) with the
// source's allocator, appends it, and returns the offset after it. It
// returns an error naming the row and field of a value that does not fit
// the schema, and then adds nothing.
func (s *Source) AddRows(rows ...[]any) (source.Offset, error) {
	rec, err := arrowrows.Build(s.mem, s.schema, rows)
	if err != nil {
		return nil, fmt.Errorf("memory: AddRows: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, rec) // the source now owns the builder's reference
	s.rows = append(s.rows, rec.NumRows())
	return encodeOffset(int64(len(s.recs))), nil
}

// LatestOffset returns the offset after the records that the next batch,
// starting after start, should read: whole records while their rows fit
// under limit, and at least one. It returns start when there is nothing new.
func (s *Source) LatestOffset(ctx context.Context, start source.Offset, limit source.ReadLimit) (source.Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, err := decodeOffset(start)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int64(len(s.recs))
	if err := s.checkInRange(from, n); err != nil {
		return nil, err
	}
	avail := n
	if s.capped {
		avail = min(avail, s.capAt)
	}
	maxRows := limit.Rows()
	end, rows := from, int64(0)
	for end < avail {
		r := s.rows[end]
		if end > from && rows+r > maxRows {
			break
		}
		rows += r
		end++
	}
	if end == from {
		return start, nil
	}
	return encodeOffset(end), nil
}

// Read returns the records in (start, end], in the order they were added.
// The caller owns one reference to each and must Release it. The records
// are the stored ones, retained, not copies: mem is not used.
func (s *Source) Read(ctx context.Context, start, end source.Offset, mem memory.Allocator) ([]arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, err := decodeOffset(start)
	if err != nil {
		return nil, err
	}
	to, err := decodeOffset(end)
	if err != nil {
		return nil, err
	}
	if to < from {
		return nil, fmt.Errorf("memory: Read: end offset %s is before start offset %s", encodeOffset(to), encodeOffset(from))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkInRange(to, int64(len(s.recs))); err != nil {
		return nil, err
	}
	for i := from; i < to; i++ {
		if s.recs[i] == nil {
			return nil, fmt.Errorf("memory: Read(%s, %s): record %d was released by Close; a memory source replays only records added since it was last closed", encodeOffset(from), encodeOffset(to), i)
		}
	}
	out := make([]arrow.RecordBatch, 0, to-from)
	for _, rec := range s.recs[from:to] {
		rec.Retain()
		out = append(out, rec)
	}
	return out, nil
}

// checkInRange reports an offset beyond the n records added.
func (s *Source) checkInRange(off, n int64) error {
	if off > n {
		return fmt.Errorf("memory: offset %s is beyond the %d records added to this source: memory sources keep their records in this process only, so a checkpoint from another process (or another source) cannot be resumed with one; use a new checkpoint", encodeOffset(off), n)
	}
	return nil
}

// PrepareForAvailableNow caps every later LatestOffset at the records added
// so far, for Trigger.AvailableNow.
func (s *Source) PrepareForAvailableNow(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.capped = true
	s.capAt = int64(len(s.recs))
	return nil
}

// Description names the source and its fields: "MemorySource[id,name]".
func (s *Source) Description() string {
	names := make([]string, s.schema.NumFields())
	for i, f := range s.schema.Fields() {
		names[i] = f.Name
	}
	return "MemorySource[" + strings.Join(names, ",") + "]"
}

// Close releases every record the source holds. The source stays usable;
// see the package documentation. Close never fails and may be called more
// than once.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rec := range s.recs {
		if rec != nil {
			rec.Release()
			s.recs[i] = nil
		}
	}
	return nil
}

func encodeOffset(n int64) source.Offset { return source.CounterOffset("batch", n) }

// decodeOffset parses {"batch":N}; a nil offset is 0.
func decodeOffset(off source.Offset) (int64, error) {
	return source.ParseCounterOffset("memory", "batch", off)
}
