package stateful_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/stateful"
)

// TestOutputAppend: Append converts Go values as the doc says, refuses a
// nested column's value (naming Builder) and a value that does not fit,
// and appends nothing for a refused row.
func TestOutputAppend(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	out := stateful.NewOutput(b)
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := out.Append("a", int64(-5), uint8(2), ts, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		vals []any
		want string
	}{
		{[]any{"b", 1, 1.5, ts, "[1]"}, "column 4 (l): a list<item: int64, nullable> column takes its values through Output.Builder"},
		{[]any{"b", 300, 1.5, ts, nil}, "column 1 (n): 300: value out of range"},
		{[]any{"b", 1, "x", ts, nil}, "column 2 (f): cannot store string x"},
		{[]any{"b", 1}, "2 values for 5 columns"},
	} {
		err := out.Append(c.vals...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Append(%v): %v, want an error containing %q", c.vals, err, c.want)
		}
	}
	if out.Len() != 1 {
		t.Fatalf("Len is %d after one good row, want 1", out.Len())
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	got := arrowrows.Rows(rec)
	want := [][]any{{"a", int64(-5), 2.0, ts, nil}}
	if len(got) != 1 || len(got[0]) != 5 || got[0][0] != want[0][0] || got[0][1] != want[0][1] || got[0][2] != want[0][2] ||
		!got[0][3].(time.Time).Equal(ts) || got[0][4] != nil {
		t.Fatalf("rows %v, want %v (the refused rows append nothing)", got, want)
	}
}
