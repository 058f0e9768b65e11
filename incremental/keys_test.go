package incremental

import (
	"fmt"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
)

// TestKeyEncodingRoundTrip encodes columns of every key type, fixed and
// variable width, and decodes them back through builders.
func TestKeyEncodingRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	structType := arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true})
	types := []arrow.DataType{
		arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Int32,
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Uint64, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
		arrow.FixedWidthTypes.Date32, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"},
		arrow.BinaryTypes.String, arrow.BinaryTypes.Binary, arrow.BinaryTypes.LargeString,
		structType, arrow.ListOf(arrow.PrimitiveTypes.Int64),
	}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			b := array.NewBuilder(mem, typ)
			defer b.Release()
			for i := 0; i < 20; i++ {
				if i%7 == 3 {
					b.AppendNull()
					continue
				}
				appendSample(t, b, i)
			}
			arr := b.NewArray()
			defer arr.Release()
			col := newKeyColumn(typ)
			var rows [][]byte
			if col.width > 0 {
				buf := make([]byte, arr.Len()*col.width)
				col.encodeFixed(arr, buf, col.width, 0)
				for i := 0; i < arr.Len(); i++ {
					rows = append(rows, buf[i*col.width:(i+1)*col.width])
					if got := appendKeyValue(nil, arr, i); string(got) != string(rows[i]) {
						t.Fatalf("row %d: encodeFixed gives %x, appendKeyValue %x", i, rows[i], got)
					}
				}
			} else {
				for i := 0; i < arr.Len(); i++ {
					rows = append(rows, appendKeyValue(nil, arr, i))
				}
			}
			db := array.NewBuilder(mem, typ)
			defer db.Release()
			for i, r := range rows {
				rest, err := decodeKeyValue(db, r)
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				if len(rest) != 0 {
					t.Fatalf("row %d: %d bytes left over", i, len(rest))
				}
			}
			got := db.NewArray()
			defer got.Release()
			if !array.Equal(arr, got) {
				t.Fatalf("round trip changed the values:\n%v\n%v", arr, got)
			}
			if _, err := decodeKeyValue(db, rows[1][:len(rows[1])-1]); err == nil && col.width > 0 {
				t.Fatal("a truncated key decoded without error")
			}
		})
	}
}

func appendSample(t *testing.T, b array.Builder, i int) {
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(i%2 == 0)
	case *array.Int8Builder:
		b.Append(int8(i - 10))
	case *array.Uint16Builder:
		b.Append(uint16(i * 1000))
	case *array.Int32Builder:
		b.Append(int32(i*7919 - 50000))
	case *array.Int64Builder:
		b.Append(int64(i) << 40)
	case *array.Uint64Builder:
		b.Append(math.MaxUint64 - uint64(i))
	case *array.Float32Builder:
		b.Append(float32(i) / 3)
	case *array.Float64Builder:
		b.Append(float64(i) * 1.5)
	case *array.Date32Builder:
		b.Append(arrow.Date32(19000 + i))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(1_700_000_000_000 + int64(i)))
	case *array.StringBuilder:
		b.Append(fmt.Sprintf("key-%d", i))
	case *array.LargeStringBuilder:
		b.Append(fmt.Sprintf("large-%d", i))
	case *array.BinaryBuilder:
		b.Append([]byte{byte(i), 0, byte(i * 3)})
	case *array.StructBuilder:
		b.Append(true)
		b.FieldBuilder(0).(*array.Int32Builder).Append(int32(i))
		if i%5 == 0 {
			b.FieldBuilder(1).AppendNull()
		} else {
			b.FieldBuilder(1).(*array.StringBuilder).Append(fmt.Sprint(i))
		}
	case *array.ListBuilder:
		b.Append(true)
		for j := 0; j < i%4; j++ {
			b.ValueBuilder().(*array.Int64Builder).Append(int64(i * j))
		}
	default:
		t.Fatalf("no sample for %T", b)
	}
}

// TestFloatKeysNormalised checks that -0.0 and 0.0, and all NaNs, group
// together, as in Spark.
func TestFloatKeysNormalised(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues([]float64{0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000abc)}, nil)
	arr := b.NewArray()
	defer arr.Release()
	k := func(i int) string { return string(appendKeyValue(nil, arr, i)) }
	if k(0) != k(1) {
		t.Error("0.0 and -0.0 encode differently")
	}
	if k(2) != k(3) {
		t.Error("two NaNs encode differently")
	}
}

// TestGroupTable checks that the fixed and variable tables give each
// distinct key one dense id, across growth and Reset.
func TestGroupTable(t *testing.T) {
	for _, width := range []int{9, -1} {
		tab := newGroupTable(width)
		for round := 0; round < 2; round++ {
			ids := map[string]int32{}
			for i := 0; i < 5000; i++ {
				key := make([]byte, 9)
				key[0] = 1
				key[1+i%8] = byte(i % 251)
				key[8] = byte(i % 3)
				var g int32
				if width > 0 {
					g = tab.findFixed(key)
				} else {
					g = tab.findVar(key)
				}
				if prev, ok := ids[string(key)]; ok && prev != g {
					t.Fatalf("width %d: key %x got ids %d and %d", width, key, prev, g)
				}
				if _, ok := ids[string(key)]; !ok && int(g) != len(ids) {
					t.Fatalf("width %d: new key got id %d, want %d", width, g, len(ids))
				}
				ids[string(key)] = g
				if string(tab.Key(int(g))) != string(key) {
					t.Fatalf("width %d: Key(%d) = %x, want %x", width, g, tab.Key(int(g)), key)
				}
			}
			if tab.Len() != len(ids) {
				t.Fatalf("width %d: Len %d, want %d", width, tab.Len(), len(ids))
			}
			tab.Reset()
			if tab.Len() != 0 {
				t.Fatalf("width %d: Len %d after Reset", width, tab.Len())
			}
		}
	}
}
