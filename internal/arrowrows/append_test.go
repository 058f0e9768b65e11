package arrowrows

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

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
