package incremental

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/expr"
)

// Operator is a physical operator run over each record of a batch.
type Operator interface {
	// Schema is the schema of the records Process returns.
	Schema() *arrow.Schema
	// Process runs the operator over rec, which is borrowed. The result
	// is owned by the caller, who releases it; it is nil when no rows
	// remain.
	Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error)
}

// Project evaluates one expression per output column.
type Project struct {
	exprs  []*expr.Bound
	schema *arrow.Schema
	mem    memory.Allocator
}

// NewProject returns the projection onto exprs, which must be bound to the
// schema of the records it will process. Arrays are allocated from mem
// (memory.DefaultAllocator if nil).
func NewProject(exprs []*expr.Bound, mem memory.Allocator) (*Project, error) {
	if len(exprs) == 0 {
		return nil, errors.New("incremental: Project: no expressions")
	}
	fields := make([]arrow.Field, len(exprs))
	for i, e := range exprs {
		if e == nil {
			return nil, fmt.Errorf("incremental: Project: expression %d is nil", i+1)
		}
		fields[i] = e.Field()
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Project{exprs: append([]*expr.Bound(nil), exprs...), schema: arrow.NewSchema(fields, nil), mem: mem}, nil
}

// Schema has one field per expression.
func (p *Project) Schema() *arrow.Schema { return p.schema }

// Process evaluates the expressions over rec (borrowed) and returns a new
// record owned by the caller, or nil when rec has no rows. Columns that
// are plain column references share rec's arrays rather than copying them.
func (p *Project) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if rec.NumRows() == 0 {
		return nil, nil
	}
	cols := make([]arrow.Array, 0, len(p.exprs))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, e := range p.exprs {
		arr, err := e.Eval(ctx, rec, p.mem)
		if err != nil {
			return nil, fmt.Errorf("incremental: Project: %w", err)
		}
		cols = append(cols, arr)
	}
	return array.NewRecordBatch(p.schema, cols, rec.NumRows()), nil
}

// String describes the operator with its bound expressions.
func (p *Project) String() string {
	parts := make([]string, len(p.exprs))
	for i, e := range p.exprs {
		parts[i] = e.String()
	}
	return "ProjectExec [" + strings.Join(parts, ", ") + "]"
}

// Filter keeps the rows for which a boolean condition is true; a null
// condition drops the row.
type Filter struct {
	cond   *expr.Bound
	schema *arrow.Schema
	mem    memory.Allocator
	// keep, when set, marks the columns the operator above reads (a
	// Project): only those are gathered (see Process).
	keep []bool
	sels sync.Pool // *[]int32 selection scratch
}

// NewFilter returns the filter on cond, which must be a boolean bound to
// schema, the schema of the records it will process. Arrays are allocated
// from mem (memory.DefaultAllocator if nil).
func NewFilter(cond *expr.Bound, schema *arrow.Schema, mem memory.Allocator) (*Filter, error) {
	if cond == nil {
		return nil, errors.New("incremental: Filter: condition is nil")
	}
	if !cond.IsBoolean() {
		return nil, fmt.Errorf("incremental: Filter: the condition %s is %s, not boolean", cond, cond.Field().Type)
	}
	if schema == nil {
		return nil, errors.New("incremental: Filter: schema is nil")
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Filter{cond: cond, schema: schema, mem: mem}, nil
}

// Schema is the input's schema.
func (f *Filter) Schema() *arrow.Schema { return f.schema }

// Process evaluates the condition over rec (borrowed). When every row
// passes it returns rec itself, retained; when none does, nil; otherwise a
// new record with the passing rows, gathered by their indices (a
// selection vector), fixed-width columns by a plain loop. A non-nil
// result is owned by the caller.
func (f *Filter) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	mask, err := f.cond.Eval(ctx, rec, f.mem)
	if err != nil {
		return nil, fmt.Errorf("incremental: Filter: %w", err)
	}
	defer mask.Release()
	switch selected(mask) {
	case n:
		rec.Retain()
		return rec, nil
	case 0:
		return nil, nil
	}
	sp, _ := f.sels.Get().(*[]int32)
	if sp == nil {
		sp = new([]int32)
	}
	defer f.sels.Put(sp)
	*sp = selection(mask, *sp)
	out, err := takeRecord(ctx, f.mem, rec, f.schema, *sp, f.keep)
	if err != nil {
		return nil, fmt.Errorf("incremental: Filter %s: %w", f.cond, err)
	}
	return out, nil
}

// readOnly narrows what Process gathers to the columns cols (indices
// into the filter's schema) when the operator above reads only those:
// the others come out as all-null columns of type null, and only such
// an operator may consume the filter's records.
func (f *Filter) readOnly(cols []int) {
	keep := make([]bool, f.schema.NumFields())
	for _, c := range cols {
		keep[c] = true
	}
	// A decoder's errors name the record's source position.
	for _, name := range decode.PositionColumns {
		for _, i := range f.schema.FieldIndices(name) {
			keep[i] = true
		}
	}
	f.keep = keep
}

// selected counts the rows of a boolean mask that are true and not null.
func selected(mask arrow.Array) int {
	d := mask.Data()
	n, off := d.Len(), d.Offset()
	bits := d.Buffers()[1].Bytes()
	if mask.NullN() == 0 {
		return bitutil.CountSetBits(bits, off, n)
	}
	both := make([]byte, bitutil.BytesForBits(int64(n)))
	bitutil.BitmapAnd(bits, mask.NullBitmapBytes(), int64(off), int64(off), both, 0, int64(n))
	return bitutil.CountSetBits(both, 0, n)
}

// String describes the operator with its bound condition.
func (f *Filter) String() string { return "FilterExec " + f.cond.String() }
