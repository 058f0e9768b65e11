package arrowrows

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// allTypes has one field of each type Value converts specially.
var allTypes = arrow.NewSchema([]arrow.Field{
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
	{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
	{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	{Name: "f16", Type: arrow.FixedWidthTypes.Float16, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "tsms", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true},
	{Name: "d32", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "d64", Type: arrow.FixedWidthTypes.Date64, Nullable: true},
	{Name: "dur", Type: arrow.FixedWidthTypes.Duration_ms, Nullable: true},
	{Name: "dec", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "t32", Type: arrow.FixedWidthTypes.Time32s, Nullable: true},
}, nil)

var (
	ts0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ts1 = time.Date(2026, 1, 1, 12, 30, 5, 250_000_000, time.UTC)
	day = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
)

func allTypesRows() [][]any {
	return [][]any{
		{true, int64(-8), int64(-16), int64(-32), int64(-64), int64(8), int64(16), int64(32), uint64(math.MaxUint64),
			1.5, 2.25, 0.1, "héllo", "large", []byte{0x0a, 0xff}, ts1, ts0, day, day, 1500 * time.Millisecond, "12.50", "01:02:03"},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
}

func TestBuildRowsRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	want := allTypesRows()
	rec, err := Build(mem, allTypes, want)
	if err != nil {
		t.Fatal(err)
	}
	got := Rows(rec)
	rec.Release()
	if !reflect.DeepEqual(got, want) {
		for c := range want[0] {
			if !reflect.DeepEqual(got[0][c], want[0][c]) {
				t.Errorf("column %s: got %T %v, want %T %v", allTypes.Field(c).Name, got[0][c], got[0][c], want[0][c], want[0][c])
			}
		}
		t.Fatalf("rows differ:\n got %v\nwant %v", got, want)
	}
}

func TestFormat(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	rec, err := Build(mem, allTypes, allTypesRows())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	want := []string{"true", "-8", "-16", "-32", "-64", "8", "16", "32", "18446744073709551615",
		"1.5", "2.25", "0.1", "héllo", "large", "[0A FF]", "2026-01-01 12:30:05.25", "2026-01-01 00:00:00",
		"2026-03-04", "2026-03-04", "1.5s", "12.50", "01:02:03"}
	for c, w := range want {
		if got := Format(rec.Column(c), 0); got != w {
			t.Errorf("Format(%s, 0) = %q, want %q", allTypes.Field(c).Name, got, w)
		}
		if got := Format(rec.Column(c), 1); got != NullString {
			t.Errorf("Format(%s, 1) = %q, want %q", allTypes.Field(c).Name, got, NullString)
		}
	}
}

func TestValueDictionaryAndSlice(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, s := range []string{"x", "y", "x"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	arr := b.NewArray()
	defer arr.Release()
	var got []any
	for i := range arr.Len() {
		got = append(got, Value(arr, i))
	}
	if want := []any{"x", "y", "x", nil}; !reflect.DeepEqual(got, want) {
		t.Fatalf("dictionary values = %v, want %v", got, want)
	}

	// A sliced record must give the rows of the slice, not of its parent.
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec, err := Build(mem, schema, [][]any{{1}, {2}, {3}, {4}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	sl := rec.NewSlice(1, 3)
	defer sl.Release()
	if rows, want := Rows(sl), [][]any{{int64(2)}, {int64(3)}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("Rows(slice) = %v, want %v", rows, want)
	}
	fs := arrow.NewSchema([]arrow.Field{{Name: "f", Type: arrow.PrimitiveTypes.Float64}}, nil)
	frec, err := Build(mem, fs, [][]any{{3.0}, {math.Copysign(0, -1)}, {1e21}, {math.Inf(-1)}, {math.NaN()}, {1.25}})
	if err != nil {
		t.Fatal(err)
	}
	defer frec.Release()
	for i, want := range []string{"3.0", "-0.0", "1e+21", "-Inf", "NaN", "1.25"} {
		if got := Format(frec.Column(0), i); got != want {
			t.Errorf("Format(float row %d) = %q, want %q", i, got, want)
		}
	}
	if rows, want := RowsOf([]arrow.RecordBatch{sl, sl}), [][]any{{int64(2)}, {int64(3)}, {int64(2)}, {int64(3)}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("RowsOf = %v, want %v", rows, want)
	}
}

func TestBuildErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int8},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	for _, tc := range []struct {
		rows [][]any
		want string
	}{
		{[][]any{{1, "a"}, {2}}, `row 1 has 1 values but the schema has 2 fields (id, name)`},
		{[][]any{{nil, "a"}}, `row 0 field "id" is nil, but the field is not nullable`},
		{[][]any{{300, "a"}}, `row 0 field "id" (int8): 300: value out of range`},
		{[][]any{{1, 2}}, `row 0 field "name" (utf8): cannot store int 2: want string or []byte`},
		{[][]any{{"one", "a"}}, `row 0 field "id" (int8): cannot store string one: want an integer`},
	} {
		rec, err := Build(mem, schema, tc.rows)
		if err == nil {
			rec.Release()
			t.Errorf("Build(%v) succeeded, want error containing %q", tc.rows, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "arrowrows: ") {
			t.Errorf("Build(%v) error = %q, want it to contain %q", tc.rows, err, tc.want)
		}
	}
}

func TestSortRows(t *testing.T) {
	nan := math.NaN()
	rows := [][]any{
		{int64(10), "b"},
		{int64(9), "z"},
		{nil, "a"},
		{int64(10), "a"},
		{int64(10)},
		{1.5, nil},
		{nan, nil},
		{"s", nil},
		{ts1, nil},
		{ts0, nil},
	}
	SortRows(rows)
	// nil first; then by type name: float64 < int64 < string < time.Time.
	want := [][]any{
		{nil, "a"},
		{nan, nil},
		{1.5, nil},
		{int64(9), "z"},
		{int64(10)},
		{int64(10), "a"},
		{int64(10), "b"},
		{"s", nil},
		{ts0, nil},
		{ts1, nil},
	}
	if len(rows) != len(want) {
		t.Fatalf("SortRows changed the number of rows: %d", len(rows))
	}
	for i := range want {
		if CompareRows(rows[i], want[i]) != 0 {
			t.Fatalf("SortRows: row %d = %v, want %v (all: %v)", i, rows[i], want[i], rows)
		}
	}
	if CompareRows([]any{int64(1)}, []any{int64(2)}) >= 0 || CompareRows([]any{int64(2)}, []any{int64(1)}) <= 0 {
		t.Fatal("CompareRows is not antisymmetric on integers")
	}
	if CompareRows([]any{[]byte("a")}, []any{[]byte("b")}) >= 0 || CompareRows([]any{false}, []any{true}) >= 0 {
		t.Fatal("CompareRows misorders bytes or bools")
	}
}

// TestCheckValueAgreesWithAppendValue checks, for good and bad values of
// each type, that CheckValue appends nothing and returns the error
// AppendValue returns, and that a failed AppendValue appends nothing.
func TestCheckValueAgreesWithAppendValue(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		typ  arrow.DataType
		v    any
		ok   bool
		want any // the value read back when ok
	}{
		{arrow.FixedWidthTypes.Boolean, true, true, true},
		{arrow.FixedWidthTypes.Boolean, 1, false, nil},
		{arrow.PrimitiveTypes.Int8, int64(-128), true, int64(-128)},
		{arrow.PrimitiveTypes.Int8, 128, false, nil},
		{arrow.PrimitiveTypes.Int64, uint64(math.MaxUint64), false, nil},
		{arrow.PrimitiveTypes.Uint16, uint(65535), true, int64(65535)},
		{arrow.PrimitiveTypes.Uint16, -1, false, nil},
		{arrow.PrimitiveTypes.Float64, int16(3), true, 3.0},
		{arrow.PrimitiveTypes.Float64, "3", false, nil},
		{arrow.BinaryTypes.String, []byte("x"), true, "x"},
		{arrow.BinaryTypes.String, 7, false, nil},
		{arrow.BinaryTypes.Binary, "y", true, []byte("y")},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, ts, true, ts},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, "2024", false, nil},
		{arrow.FixedWidthTypes.Date32, int64(math.MaxInt32) + 1, false, nil},
		{arrow.FixedWidthTypes.Duration_ms, 2 * time.Second, true, 2 * time.Second},
		{&arrow.Decimal128Type{Precision: 4, Scale: 2}, "12.50", true, "12.50"},
		{&arrow.Decimal128Type{Precision: 4, Scale: 2}, "123.50", false, nil},
		{arrow.PrimitiveTypes.Int32, nil, true, nil},
	} {
		b := array.NewBuilder(mem, c.typ)
		checkErr := CheckValue(b, c.v)
		if b.Len() != 0 {
			t.Errorf("%s %#v: CheckValue appended %d values", c.typ, c.v, b.Len())
		}
		appendErr := AppendValue(b, c.v)
		if (checkErr == nil) != c.ok || (appendErr == nil) != c.ok {
			t.Errorf("%s %#v: CheckValue %v, AppendValue %v; want ok %v from both", c.typ, c.v, checkErr, appendErr, c.ok)
		}
		if checkErr != nil && appendErr != nil && checkErr.Error() != appendErr.Error() {
			t.Errorf("%s %#v: CheckValue says %q, AppendValue %q", c.typ, c.v, checkErr, appendErr)
		}
		wantLen := 0
		if c.ok {
			wantLen = 1
		}
		arr := b.NewArray()
		if arr.Len() != wantLen {
			t.Errorf("%s %#v: AppendValue appended %d values, want %d", c.typ, c.v, arr.Len(), wantLen)
		} else if c.ok {
			got := Value(arr, 0)
			if gb, ok := got.([]byte); ok {
				got = string(gb)
				if wb, ok := c.want.([]byte); ok {
					c.want = string(wb)
				}
			}
			if got != c.want {
				t.Errorf("%s %#v: read back %#v, want %#v", c.typ, c.v, got, c.want)
			}
		}
		arr.Release()
		b.Release()
	}
}

// TestCheckValueRefusesParsedColumns: a column filled by parsing a string
// cannot be checked, so CheckValue says so, while AppendValue parses.
func TestCheckValueRefusesParsedColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewBuilder(mem, arrow.FixedWidthTypes.Time32s)
	defer b.Release()
	if err := CheckValue(b, "12:00:00"); !errors.Is(err, ErrNoGoConversion) {
		t.Fatalf("CheckValue of a time32 string: %v, want ErrNoGoConversion", err)
	}
	if err := CheckValue(b, 5); !errors.Is(err, ErrNoGoConversion) {
		t.Fatalf("CheckValue of an int for a time32 column: %v, want ErrNoGoConversion", err)
	}
	if err := CheckValue(b, nil); err != nil {
		t.Fatalf("CheckValue of nil for a time32 column: %v, want nil (a null)", err)
	}
	if err := AppendValue(b, 5); err == nil || b.Len() != 0 {
		t.Fatalf("AppendValue of an int for a time32 column: %v, %d values; want a type error and none", err, b.Len())
	}
	if err := AppendValue(b, "12:00:00"); err != nil || b.Len() != 1 {
		t.Fatalf("AppendValue of a time32 string: %v, %d values", err, b.Len())
	}
}
