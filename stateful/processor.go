package stateful

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/internal/arrowrows"
)

// Processor is a user's per-key state machine, run by
// GroupBy(...).TransformWithState. Init runs once when the query starts
// and declares the state variables (Value, List, Map) on h. Each batch,
// HandleInputRows runs once for every key with rows in the batch; then
// HandleExpiredTimer runs once for every timer that is due, in time
// order within a state partition.
//
// Calls for keys of different state partitions run concurrently, so a
// processor must keep per-key data in its state variables, not in its
// own fields, and guard anything else it shares. h, key and rows are
// valid only during the call.
type Processor interface {
	Init(ctx context.Context, h *Handle) error
	HandleInputRows(ctx context.Context, key Key, rows Rows, h *Handle, out *Output) error
	HandleExpiredTimer(ctx context.Context, key Key, t ExpiredTimer, h *Handle, out *Output) error
}

// InitialStateHandler is implemented by a Processor that accepts initial
// state (TransformWithState's initial-state option): in the query's first
// batch, before any input, HandleInitialState runs once per key of the
// initial table with that key's rows, and writes state or registers
// timers. It emits nothing.
type InitialStateHandler interface {
	HandleInitialState(ctx context.Context, key Key, rows Rows, h *Handle) error
}

// TimeMode says which clock a query's timers follow.
type TimeMode string

const (
	// ProcessingTime timers fire in the first batch whose processing
	// time (the time the batch was planned, as the offsets log records
	// it) is at or after the timer.
	ProcessingTime TimeMode = "ProcessingTime"
	// EventTime timers fire in the first batch whose watermark is at or
	// after the timer. The input needs a watermark (WithWatermark), and
	// input rows at or behind the watermark are dropped as late.
	EventTime TimeMode = "EventTime"
)

// Validate reports whether m is ProcessingTime or EventTime.
func (m TimeMode) Validate() error {
	switch m {
	case ProcessingTime, EventTime:
		return nil
	}
	return fmt.Errorf("stateful: time mode %q is not known: use stateful.ProcessingTime or stateful.EventTime", string(m))
}

// ExpiredTimer is the timer HandleExpiredTimer is called for.
type ExpiredTimer struct {
	// ExpiryMs is the time the timer was registered for, in milliseconds
	// since the Unix epoch.
	ExpiryMs int64
}

// Key is the grouping key of the rows or timer being handled.
type Key struct {
	enc  []byte
	arrs []arrow.Array
	row  int
}

// NewKey is for the engine: the key whose encoding is enc and whose
// values are row row of arrs, one array per grouping key (borrowed for
// the life of the Key).
func NewKey(enc []byte, arrs []arrow.Array, row int) Key {
	return Key{enc: enc, arrs: arrs, row: row}
}

// Len is the number of grouping keys.
func (k Key) Len() int { return len(k.arrs) }

// Value returns grouping key i as a Go value: nil for null, int64 for
// signed and small unsigned integers, uint64, float64, string, []byte,
// bool, time.Time for timestamps and dates, time.Duration.
func (k Key) Value(i int) any { return arrowrows.Value(k.arrs[i], k.row) }

// Bytes is the key's encoding in the state store, which identifies it.
func (k Key) Bytes() []byte { return k.enc }

// String shows the key's values, such as [k001 7].
func (k Key) String() string {
	parts := make([]string, len(k.arrs))
	for i, a := range k.arrs {
		parts[i] = arrowrows.Format(a, k.row)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Rows are the rows of one key in a batch, in arrival order, with typed
// access by column name and row number (0 to Len()-1). The typed getters
// panic when the column does not exist or has another type; the panic
// fails the batch with an error naming the key. Values of a null cell
// are zero: check IsNull first where nulls may occur.
type Rows struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	rec    []int32
	row    []int32
	pos    []int32
}

// NewRows is for the engine: the rows pos (indices into rec and row,
// which give each row's record in recs and its row there) of records of
// schema. Everything is borrowed for the life of the Rows.
func NewRows(schema *arrow.Schema, recs []arrow.RecordBatch, rec, row, pos []int32) Rows {
	return Rows{schema: schema, recs: recs, rec: rec, row: row, pos: pos}
}

// Len is the number of rows.
func (r Rows) Len() int { return len(r.pos) }

// Schema is the schema of the rows.
func (r Rows) Schema() *arrow.Schema { return r.schema }

// Column returns the index of the column called name, or -1.
func (r Rows) Column(name string) int {
	idx := r.schema.FieldIndices(name)
	if len(idx) == 0 {
		return -1
	}
	return idx[0]
}

// Cell returns column c's array and the row of row i in it (borrowed).
func (r Rows) Cell(c, i int) (arrow.Array, int) {
	g := r.pos[i]
	return r.recs[r.rec[g]].Column(c), int(r.row[g])
}

func (r Rows) cell(col string, i int) (arrow.Array, int) {
	c := r.Column(col)
	if c < 0 {
		panic(fmt.Sprintf("stateful: Rows: no column %q; the columns are %s", col, fieldNames(r.schema)))
	}
	return r.Cell(c, i)
}

// IsNull reports whether column col of row i is null.
func (r Rows) IsNull(col string, i int) bool {
	a, j := r.cell(col, i)
	return a.IsNull(j)
}

// Int64 returns column col of row i, an integer column (or a timestamp,
// date, time or duration, as its stored number).
func (r Rows) Int64(col string, i int) int64 {
	a, j := r.cell(col, i)
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(j)
	case *array.Int32:
		return int64(a.Value(j))
	case *array.Int16:
		return int64(a.Value(j))
	case *array.Int8:
		return int64(a.Value(j))
	case *array.Uint64:
		return int64(a.Value(j))
	case *array.Uint32:
		return int64(a.Value(j))
	case *array.Uint16:
		return int64(a.Value(j))
	case *array.Uint8:
		return int64(a.Value(j))
	case *array.Timestamp:
		return int64(a.Value(j))
	case *array.Date32:
		return int64(a.Value(j))
	case *array.Date64:
		return int64(a.Value(j))
	case *array.Duration:
		return int64(a.Value(j))
	case *array.Time32:
		return int64(a.Value(j))
	case *array.Time64:
		return int64(a.Value(j))
	}
	panic(fmt.Sprintf("stateful: Rows.Int64: column %q is %s, not an integer", col, a.DataType()))
}

// Float64 returns column col of row i, a floating-point or integer
// column.
func (r Rows) Float64(col string, i int) float64 {
	a, j := r.cell(col, i)
	switch a := a.(type) {
	case *array.Float64:
		return a.Value(j)
	case *array.Float32:
		return float64(a.Value(j))
	case *array.Float16:
		return float64(a.Value(j).Float32())
	}
	if v, ok := arrowrows.Value(a, j).(int64); ok {
		return float64(v)
	}
	panic(fmt.Sprintf("stateful: Rows.Float64: column %q is %s, not a number", col, a.DataType()))
}

// Str returns column col of row i, a string column. The string is a
// copy, the caller's to keep (Arrow's own Value is a view of the batch's
// buffer, which a reusing allocator hands on after the batch).
func (r Rows) Str(col string, i int) string {
	a, j := r.cell(col, i)
	switch a := a.(type) {
	case *array.String:
		return strings.Clone(a.Value(j))
	case *array.LargeString:
		return strings.Clone(a.Value(j))
	case *array.StringView:
		return strings.Clone(a.Value(j))
	}
	panic(fmt.Sprintf("stateful: Rows.Str: column %q is %s, not a string", col, a.DataType()))
}

// Bool returns column col of row i, a boolean column.
func (r Rows) Bool(col string, i int) bool {
	a, j := r.cell(col, i)
	if b, ok := a.(*array.Boolean); ok {
		return b.Value(j)
	}
	panic(fmt.Sprintf("stateful: Rows.Bool: column %q is %s, not a boolean", col, a.DataType()))
}

// Bytes returns column col of row i, a binary column; the bytes belong
// to the batch: copy them to keep them after the call.
func (r Rows) Bytes(col string, i int) []byte {
	a, j := r.cell(col, i)
	switch a := a.(type) {
	case *array.Binary:
		return a.Value(j)
	case *array.LargeBinary:
		return a.Value(j)
	}
	panic(fmt.Sprintf("stateful: Rows.Bytes: column %q is %s, not binary", col, a.DataType()))
}

// Time returns column col of row i, a timestamp or date column, in UTC.
func (r Rows) Time(col string, i int) time.Time {
	a, j := r.cell(col, i)
	switch a.(type) {
	case *array.Timestamp, *array.Date32, *array.Date64:
		if t, ok := arrowrows.Value(a, j).(time.Time); ok {
			return t
		}
		return time.Time{}
	}
	panic(fmt.Sprintf("stateful: Rows.Time: column %q is %s, not a timestamp or date", col, a.DataType()))
}

// Value returns column col of row i as a Go value, as Key.Value does.
func (r Rows) Value(col string, i int) any {
	a, j := r.cell(col, i)
	return arrowrows.Value(a, j)
}

// Row returns row i as Go values, one per column (a new slice).
func (r Rows) Row(i int) []any {
	out := make([]any, r.schema.NumFields())
	for c := range out {
		a, j := r.Cell(c, i)
		out[c] = arrowrows.Value(a, j)
	}
	return out
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// Output collects the rows a processor emits, of the schema declared to
// TransformWithState. Append adds a row of Go values; for speed, append
// each column's value to Builder(i) and then call EndRow.
type Output struct {
	b *array.RecordBuilder
	n int
}

// NewOutput is for the engine: an Output appending to b, which the
// caller owns.
func NewOutput(b *array.RecordBuilder) *Output { return &Output{b: b} }

// Schema is the output schema.
func (o *Output) Schema() *arrow.Schema { return o.b.Schema() }

// Len is the number of rows emitted.
func (o *Output) Len() int { return o.n }

// Builder returns the builder of column i; after appending one value to
// every column, call EndRow.
func (o *Output) Builder(i int) array.Builder { return o.b.Field(i) }

// EndRow ends a row appended through Builder. It fails when a column did
// not get exactly one value.
func (o *Output) EndRow() error {
	for i, f := range o.b.Fields() {
		if f.Len() != o.n+1 {
			return fmt.Errorf("stateful: Output.EndRow: column %d (%s) has %d values for row %d; append one value to every column before EndRow",
				i, o.b.Schema().Field(i).Name, f.Len(), o.n+1)
		}
	}
	o.n++
	return nil
}

// Append emits one row: one Go value per output column, nil for null.
// Accepted values: bool; any Go integer that fits for integer columns;
// floats and integers for float columns; string or []byte for string and
// binary columns; time.Time (or an int64 in the column's unit) for
// timestamp and date columns; time.Duration (or an int64) for duration
// columns; a string such as "12.50", an integer or a float64 for
// decimal128 columns. Other columns, nested ones among them, take their
// values through Builder. Nothing is appended when a value does not fit.
func (o *Output) Append(vals ...any) error {
	s := o.b.Schema()
	if len(vals) != s.NumFields() {
		return fmt.Errorf("stateful: Output.Append: %d values for %d columns (%s)", len(vals), s.NumFields(), fieldNames(s))
	}
	for i, v := range vals {
		b := o.b.Field(i)
		err := arrowrows.CheckValue(b, v)
		if errors.Is(err, arrowrows.ErrNoGoConversion) {
			err = fmt.Errorf("a %s column takes its values through Output.Builder, not Append", b.Type())
		}
		if err != nil {
			return fmt.Errorf("stateful: Output.Append: column %d (%s): %w", i, s.Field(i).Name, err)
		}
	}
	for i, v := range vals {
		// Checked above: the values fit.
		_ = arrowrows.AppendValue(o.b.Field(i), v)
	}
	o.n++
	return nil
}
