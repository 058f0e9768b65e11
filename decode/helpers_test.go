package decode

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
)

// checkedMem returns a checked allocator that fails t if anything is
// still allocated when the test ends.
func checkedMem(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// records builds a string array of recs; a nil entry is null. The caller
// releases it.
func records(mem memory.Allocator, recs ...*string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for _, r := range recs {
		if r == nil {
			b.AppendNull()
		} else {
			b.Append(*r)
		}
	}
	return b.NewArray()
}

// binRecords builds a binary array of recs (nil is null). The caller
// releases it.
func binRecords(mem memory.Allocator, recs ...[]byte) arrow.Array {
	b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	for _, r := range recs {
		if r == nil {
			b.AppendNull()
		} else {
			b.Append(r)
		}
	}
	return b.NewArray()
}

func str(s string) *string { return &s }

func strs(ss ...string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}

// schemaOf builds a schema from name, type pairs.
func schemaOf(pairs ...any) *arrow.Schema {
	var fs []arrow.Field
	for i := 0; i < len(pairs); i += 2 {
		fs = append(fs, arrow.Field{Name: pairs[i].(string), Type: pairs[i+1].(arrow.DataType), Nullable: true})
	}
	return arrow.NewSchema(fs, nil)
}

var (
	tsUS   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	i8     = arrow.PrimitiveTypes.Int8
	i16    = arrow.PrimitiveTypes.Int16
	i32    = arrow.PrimitiveTypes.Int32
	i64    = arrow.PrimitiveTypes.Int64
	f32    = arrow.PrimitiveTypes.Float32
	f64    = arrow.PrimitiveTypes.Float64
	utf8T  = arrow.BinaryTypes.String
	binT   = arrow.BinaryTypes.Binary
	boolT  = arrow.FixedWidthTypes.Boolean
	dateT  = arrow.FixedWidthTypes.Date32
	dec5_2 = &arrow.Decimal128Type{Precision: 5, Scale: 2}
)

// render formats row i of a as text: null, numbers, quoted strings,
// b"..." for binary, ISO times, {name:value ...} for structs, [...] for
// lists and {key:value ...} for maps.
func render(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch a := a.(type) {
	case *array.Null:
		return "null"
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Int8:
		return strconv.Itoa(int(a.Value(i)))
	case *array.Int16:
		return strconv.Itoa(int(a.Value(i)))
	case *array.Int32:
		return strconv.Itoa(int(a.Value(i)))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.String:
		return strconv.Quote(a.Value(i))
	case *array.Binary:
		return "b" + strconv.Quote(string(a.Value(i)))
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02")
	case *array.Timestamp:
		v := int64(a.Value(i))
		var tm time.Time
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			tm = time.Unix(v, 0)
		case arrow.Millisecond:
			tm = time.UnixMilli(v)
		case arrow.Microsecond:
			tm = time.UnixMicro(v)
		default:
			tm = time.Unix(0, v)
		}
		return tm.UTC().Format(time.RFC3339Nano)
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		parts := make([]string, a.NumField())
		for k := range parts {
			parts[k] = st.Field(k).Name + ":" + render(a.Field(k), i)
		}
		return "{" + strings.Join(parts, " ") + "}"
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		parts := []string{}
		for k := int(start); k < int(end); k++ {
			parts = append(parts, render(keys, k)+":"+render(items, k))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case *array.List:
		start, end := a.ValueOffsets(i)
		parts := []string{}
		for k := int(start); k < int(end); k++ {
			parts = append(parts, render(a.ListValues(), k))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "?" + a.DataType().String()
}

// rows renders every row of a.
func rows(a arrow.Array) []string {
	out := make([]string, a.Len())
	for i := range out {
		out[i] = render(a, i)
	}
	return out
}

// decodeRows decodes recs with d and returns the rendered rows of
// Result.Array and the result's malformed rows. It checks the result's
// arrays.
func decodeRows(t *testing.T, d Decoder, mem memory.Allocator, in arrow.Array) ([]string, []RowError) {
	t.Helper()
	res, err := d.Decode(in, mem)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	defer res.Release()
	checkResult(t, res)
	arr := res.Array()
	defer arr.Release()
	return rows(arr), res.Malformed
}

// checkResult validates the arrays of res and their agreement.
func checkResult(t testing.TB, res *Result) {
	t.Helper()
	arr := res.Array()
	defer arr.Release()
	if err := validate(arr); err != nil {
		t.Fatalf("result array is invalid: %v", err)
	}
	if arr.Len() != res.Rows {
		t.Fatalf("result has %d rows, Rows says %d", arr.Len(), res.Rows)
	}
	if len(res.Columns) != res.Schema.NumFields() {
		t.Fatalf("result has %d columns, schema %d", len(res.Columns), res.Schema.NumFields())
	}
	for i, c := range res.Columns {
		if c.Len() != res.Rows {
			t.Fatalf("column %d has %d rows, want %d", i, c.Len(), res.Rows)
		}
		if !arrow.TypeEqual(c.DataType(), res.Schema.Field(i).Type) {
			t.Fatalf("column %d is %s, schema says %s", i, c.DataType(), res.Schema.Field(i).Type)
		}
	}
	rec := res.Record()
	rec.Release()
}

// validate checks a and its children with arrow's full validation where
// there is one, and that strings are valid UTF-8.
func validate(a arrow.Array) error {
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		if err := v.ValidateFull(); err != nil {
			return err
		}
	}
	switch a := a.(type) {
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
				return fmt.Errorf("row %d: invalid UTF-8 %q", i, a.Value(i))
			}
		}
	case *array.Struct:
		for k := 0; k < a.NumField(); k++ {
			if a.Field(k).Len() != a.Len() {
				return fmt.Errorf("struct field %d has %d rows, the struct %d", k, a.Field(k).Len(), a.Len())
			}
			if err := validate(a.Field(k)); err != nil {
				return err
			}
		}
	case array.ListLike:
		return validate(a.ListValues())
	}
	return nil
}
