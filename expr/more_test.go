package expr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestDictionaryColumn(t *testing.T) {
	mem := checked(t)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, s := range []string{"click", "view", "click"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "kind", Type: dt, Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 4)
	defer rec.Release()
	if got, want := eval(t, mem, Col("kind").Eq(Lit("click")), rec), []any{true, false, true, nil}; !sameValues(got, want) {
		t.Errorf("kind = click: %v, want %v", got, want)
	}
}

func TestTimestampWithoutZone(t *testing.T) {
	mem := checked(t)
	naive := &arrow.TimestampType{Unit: arrow.Millisecond}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	rec := record(t, mem, column{"ts", naive, []any{arrow.Timestamp(base.UnixMilli()), arrow.Timestamp(base.Add(time.Hour).UnixMilli())}})
	defer rec.Release()
	if got, want := eval(t, mem, Col("ts").Lt(Lit(base.Add(time.Minute))), rec), []any{true, false}; !sameValues(got, want) {
		t.Errorf("ts < base+1m: %v, want %v", got, want)
	}
	if got, want := eval(t, mem, Col("ts").Ge(Lit("2024-03-01T00:30:00Z")), rec), []any{false, true}; !sameValues(got, want) {
		t.Errorf("ts >= '2024-03-01T00:30:00Z': %v, want %v", got, want)
	}
}

func TestLiteralTypes(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem, column{"v", arrow.PrimitiveTypes.Int64, []any{int64(1)}})
	defer rec.Release()
	cases := []struct {
		v    any
		typ  arrow.DataType
		want any
	}{
		{int8(-3), arrow.PrimitiveTypes.Int8, int8(-3)},
		{int32(7), arrow.PrimitiveTypes.Int32, int32(7)},
		{7, arrow.PrimitiveTypes.Int64, int64(7)},
		{uint8(200), arrow.PrimitiveTypes.Uint8, uint8(200)},
		{uint(9), arrow.PrimitiveTypes.Uint64, uint64(9)},
		{float32(1.5), arrow.PrimitiveTypes.Float32, float32(1.5)},
		{"s", arrow.BinaryTypes.String, "s"},
		{true, arrow.FixedWidthTypes.Boolean, true},
		{[]byte(nil), arrow.BinaryTypes.Binary, nil},
		{time.UnixMicro(42).UTC(), timestampUTC, arrow.Timestamp(42)},
	}
	for _, c := range cases {
		e := Lit(c.v).As("x")
		b, err := e.Bind(rec.Schema())
		if err != nil {
			t.Errorf("Lit(%T): %v", c.v, err)
			continue
		}
		if !arrow.TypeEqual(b.Field().Type, c.typ) {
			t.Errorf("Lit(%T) is %s, want %s", c.v, b.Field().Type, c.typ)
		}
		if c.typ.ID() == arrow.BINARY {
			continue
		}
		if got := eval(t, mem, e, rec); got[0] != c.want {
			t.Errorf("Lit(%T) = %v, want %v", c.v, got[0], c.want)
		}
	}
}

func TestCastFailureNamesTheValue(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem,
		column{"u", arrow.PrimitiveTypes.Uint64, []any{uint64(1), uint64(1) << 63}},
		column{"i", arrow.PrimitiveTypes.Int64, []any{int64(1), int64(2)}},
	)
	defer rec.Release()
	b, err := Col("u").Lt(Col("i")).Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Eval(context.Background(), rec, mem)
	if err == nil || !strings.Contains(err.Error(), "expr: cannot cast u from uint64 to int64") || !strings.Contains(err.Error(), "9223372036854775808") {
		t.Errorf("uint64 above the int64 range: %v", err)
	}
}
