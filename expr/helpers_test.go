package expr

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checked returns a checked allocator that fails t if anything allocated
// from it is still held when the test ends.
func checked(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// column is one column of a test record: a name, a type and Go values,
// nil meaning null.
type column struct {
	name string
	typ  arrow.DataType
	vals []any
}

// record builds a record from columns; the caller releases it.
func record(t testing.TB, mem memory.Allocator, cols ...column) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	rows := -1
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
		b := array.NewBuilder(mem, c.typ)
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			if err := appendValue(b, v); err != nil {
				t.Fatalf("column %s: %v", c.name, err)
			}
		}
		arrs[i] = b.NewArray()
		b.Release()
		if rows >= 0 && rows != len(c.vals) {
			t.Fatalf("column %s has %d values, others %d", c.name, len(c.vals), rows)
		}
		rows = len(c.vals)
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(max(rows, 0)))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func appendValue(b array.Builder, v any) error {
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(v.(int8))
	case *array.Int16Builder:
		b.Append(v.(int16))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Uint8Builder:
		b.Append(v.(uint8))
	case *array.Uint64Builder:
		b.Append(v.(uint64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.TimestampBuilder:
		b.Append(v.(arrow.Timestamp))
	default:
		return fmt.Errorf("no test support for %T", b)
	}
	return nil
}

// values reads an array back into Go values, nil for null.
func values(t testing.TB, a arrow.Array) []any {
	t.Helper()
	out := make([]any, a.Len())
	if a.DataType().ID() == arrow.NULL {
		return out
	}
	for i := range out {
		if a.IsNull(i) {
			continue
		}
		switch a := a.(type) {
		case *array.Int8:
			out[i] = a.Value(i)
		case *array.Int16:
			out[i] = a.Value(i)
		case *array.Int32:
			out[i] = a.Value(i)
		case *array.Int64:
			out[i] = a.Value(i)
		case *array.Uint8:
			out[i] = a.Value(i)
		case *array.Uint64:
			out[i] = a.Value(i)
		case *array.Float32:
			out[i] = a.Value(i)
		case *array.Float64:
			out[i] = a.Value(i)
		case *array.String:
			out[i] = a.Value(i)
		case *array.Boolean:
			out[i] = a.Value(i)
		case *array.Timestamp:
			out[i] = a.Value(i)
		default:
			t.Fatalf("no test support for %T", a)
		}
	}
	return out
}

// eval binds e to rec's schema and evaluates it, failing t on error.
func eval(t testing.TB, mem memory.Allocator, e Expr, rec arrow.RecordBatch) []any {
	t.Helper()
	b, err := e.Bind(rec.Schema())
	if err != nil {
		t.Fatalf("Bind(%s): %v", e, err)
	}
	arr, err := b.Eval(context.Background(), rec, mem)
	if err != nil {
		t.Fatalf("Eval(%s): %v", e, err)
	}
	defer arr.Release()
	if arr.Len() != int(rec.NumRows()) {
		t.Fatalf("Eval(%s) has %d rows, want %d", e, arr.Len(), rec.NumRows())
	}
	if !arrow.TypeEqual(arr.DataType(), b.Field().Type) {
		t.Fatalf("Eval(%s) is %s, but Field says %s", e, arr.DataType(), b.Field().Type)
	}
	if !b.Field().Nullable && arr.NullN() > 0 {
		t.Fatalf("Eval(%s) has %d nulls, but Field says it is not nullable", e, arr.NullN())
	}
	return values(t, arr)
}

func sameValues(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
