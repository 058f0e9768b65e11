package expr

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestStringAndName(t *testing.T) {
	ts := time.Date(2024, 5, 1, 12, 30, 0, 500000000, time.UTC)
	cases := []struct {
		e         Expr
		str, name string
	}{
		{Col("x").Gt(Lit(5)), "(x > 5)", "(x > 5)"},
		{Col("x"), "x", "x"},
		{Col("a.b"), "a.b", "a.b"},
		{Col("x").Mul(Lit(int64(5))).As("y"), "(x * 5) AS y", "y"},
		{Col("a").NotEq(Lit("s")), "(NOT (a = s))", "(NOT (a = s))"},
		{And(Col("p"), Col("q").Or(Col("r").Not())), "(p AND (q OR (NOT r)))", "(p AND (q OR (NOT r)))"},
		{Col("x").IsNull(), "(x IS NULL)", "(x IS NULL)"},
		{Not(Col("x").IsNotNull()), "(NOT (x IS NOT NULL))", "(NOT (x IS NOT NULL))"},
		{Lit(nil), "NULL", "NULL"},
		{Lit(2.0).Add(Lit(float32(0.5))), "(2.0 + 0.5)", "(2.0 + 0.5)"},
		{Lit(ts), "2024-05-01 12:30:00.5", "2024-05-01 12:30:00.5"},
		{Lit([]byte{0x0a, 0x1b}), "X'0A1B'", "X'0A1B'"},
		{Col("x").Div(Col("y")).Sub(Lit(1)).Le(Lit(true)), "(((x / y) - 1) <= true)", "(((x / y) - 1) <= true)"},
		{And(), "true", "true"},
		{Or(Col("p")), "p", "p"},
		{Expr{}, emptyString, emptyString},
	}
	for _, c := range cases {
		if got := c.e.String(); got != c.str {
			t.Errorf("String() = %q, want %q", got, c.str)
		}
		if got := c.e.Name(); got != c.name {
			t.Errorf("Name() of %s = %q, want %q", c.str, got, c.name)
		}
	}
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: false},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

func TestUnknownColumn(t *testing.T) {
	_, err := Col("vlaue").Gt(Lit(5)).Bind(testSchema)
	if err == nil {
		t.Fatal("binding an unknown column succeeded")
	}
	msg := err.Error()
	for _, want := range []string{`expr: unknown column "vlaue"`, "(vlaue > 5)", `did you mean "value"?`, "available columns: ts, value, name, i32, f64, f32, ok"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if !errors.Is(err, ErrUnknownColumn) {
		t.Errorf("error %v is not ErrUnknownColumn", err)
	}
	// Case-insensitive match is suggested; nothing close, nothing suggested.
	_, err = Col("NAME").Bind(testSchema)
	if err == nil || !strings.Contains(err.Error(), `did you mean "name"?`) {
		t.Errorf("NAME: got %v, want a suggestion of name", err)
	}
	_, err = Col("zzzzzzzz").Bind(testSchema)
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("zzzzzzzz: got %v, want no suggestion", err)
	}
}

func TestTypeErrors(t *testing.T) {
	cases := []struct {
		e    Expr
		want []string
	}{
		{Col("name").Gt(Lit(5)), []string{"type mismatch in (name > 5)", "cannot compare name (utf8) with 5 (int64)"}},
		{Col("value").Gt(Lit(0)).And(Col("value")), []string{"((value > 0) AND value)", "AND needs boolean operands", "value is int64"}},
		{Col("name").Add(Lit(1)).As("n"), []string{"(name + 1) in (name + 1) AS n", "+ needs numeric operands"}},
		{Col("ok").Lt(Col("name")), []string{"cannot compare ok (bool) with name (utf8)"}},
		{Col("value").Not(), []string{"NOT needs a boolean operand"}},
		{Col("ts").Eq(Lit("not a time")), []string{"cannot compare ts (timestamp[ms, tz=UTC]) with not a time (utf8)"}},
	}
	for _, c := range cases {
		_, err := c.e.Bind(testSchema)
		if err == nil {
			t.Errorf("Bind(%s) succeeded, want a type error", c.e)
			continue
		}
		if !errors.Is(err, ErrType) {
			t.Errorf("Bind(%s): %v is not ErrType", c.e, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Bind(%s): error %q does not contain %q", c.e, err, w)
			}
		}
	}
	if _, err := (Expr{}).Bind(testSchema); err == nil || !strings.Contains(err.Error(), "zero Expr") {
		t.Errorf("binding the zero Expr: %v", err)
	}
	if _, err := Col("value").Add(Expr{}).Bind(testSchema); err == nil || !strings.Contains(err.Error(), "(value + <empty expression>) has an empty operand") {
		t.Errorf("binding an empty operand: %v", err)
	}
	if _, err := Lit(struct{}{}).Bind(testSchema); err == nil || !strings.Contains(err.Error(), "Lit(struct {}): unsupported literal type") {
		t.Errorf("binding a bad literal: %v", err)
	}
}

func TestCoercion(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		e     Expr
		typ   arrow.DataType
		bound string
	}{
		// A literal takes the column's type when exact.
		{Col("i32").Add(Lit(5)), arrow.PrimitiveTypes.Int32, "(i32 + 5)"},
		{Lit(5).Mul(Col("i32")), arrow.PrimitiveTypes.Int32, "(5 * i32)"},
		{Col("f64").Gt(Lit(5)), arrow.FixedWidthTypes.Boolean, "(f64 > 5.0)"},
		{Col("f32").Gt(Lit(0.5)), arrow.FixedWidthTypes.Boolean, "(f32 > 0.5)"},
		// ... and widens the column when not.
		{Col("i32").Add(Lit(int64(1) << 40)), arrow.PrimitiveTypes.Int64, "(cast(i32 as bigint) + 1099511627776)"},
		{Col("f32").Gt(Lit(0.1)), arrow.FixedWidthTypes.Boolean, "(cast(f32 as double) > 0.1)"},
		{Col("i32").Add(Lit(1.5)), arrow.PrimitiveTypes.Float64, "(cast(i32 as double) + 1.5)"},
		// Columns widen to their common type.
		{Col("i32").Add(Col("value")), arrow.PrimitiveTypes.Int64, "(cast(i32 as bigint) + value)"},
		{Col("value").Sub(Col("f64")), arrow.PrimitiveTypes.Float64, "(cast(value as double) - f64)"},
		// Spark's '/' is a double division.
		{Col("value").Div(Lit(2)), arrow.PrimitiveTypes.Float64, "(cast(value as double) / 2.0)"},
		// Timestamps: a time.Time literal in the column's unit; a string parsed.
		{Col("ts").Ge(Lit(ts)), arrow.FixedWidthTypes.Boolean, "(ts >= 2024-01-02 03:04:05)"},
		{Col("ts").Lt(Lit("2024-01-02 03:04:05")), arrow.FixedWidthTypes.Boolean, "(ts < 2024-01-02 03:04:05)"},
		// Nulls take the other side's type; comparing with null is null.
		{Col("value").Eq(Lit(nil)), arrow.FixedWidthTypes.Boolean, "NULL"},
		{Col("value").Add(Lit(nil)), arrow.PrimitiveTypes.Int64, "NULL"},
		{Col("ok").And(Lit(nil)), arrow.FixedWidthTypes.Boolean, "(ok AND NULL)"},
	}
	for _, c := range cases {
		b, err := c.e.Bind(testSchema)
		if err != nil {
			t.Errorf("Bind(%s): %v", c.e, err)
			continue
		}
		if !arrow.TypeEqual(b.Field().Type, c.typ) {
			t.Errorf("Bind(%s) type %s, want %s", c.e, b.Field().Type, c.typ)
		}
		if got := b.String(); got != c.bound {
			t.Errorf("Bind(%s) bound as %q, want %q", c.e, got, c.bound)
		}
	}
}

func TestConstantFolding(t *testing.T) {
	cases := []struct {
		e     Expr
		bound string
	}{
		{Lit(1).Add(Lit(2)).Mul(Col("value")), "(3 * value)"},
		{Col("value").Gt(Lit(10).Sub(Lit(4)).Mul(Lit(2))), "(value > 12)"},
		{Lit(1).Lt(Lit(2)), "true"},
		{Lit(3).Div(Lit(2)), "1.5"},
		{Col("ok").And(Lit(true)), "ok"},
		{Lit(false).And(Col("ok")), "false"},
		{Col("ok").Or(Lit(1).Eq(Lit(1))), "true"},
		{Lit(false).Or(Col("ok")), "ok"},
		{Lit(nil).IsNull(), "true"},
		{Lit(nil).And(Lit(false)), "false"},
		{Lit(nil).Or(Lit(false)), "NULL"},
		{Lit("a").Lt(Lit("b")).Not(), "false"},
		{Col("value").Add(Lit(1)).As("v1"), "(value + 1) AS v1"},
	}
	for _, c := range cases {
		b, err := c.e.Bind(testSchema)
		if err != nil {
			t.Errorf("Bind(%s): %v", c.e, err)
			continue
		}
		if got := b.String(); got != c.bound {
			t.Errorf("Bind(%s) = %q, want %q", c.e, got, c.bound)
		}
	}
	_, err := Col("value").Add(Lit(1).Div(Lit(0))).Bind(testSchema)
	if !errors.Is(err, ErrDivideByZero) || !strings.Contains(err.Error(), "division by zero in (1 / 0): 1 / 0") {
		t.Errorf("folding 1 / 0: %v", err)
	}
	_, err = Lit(int64(math.MaxInt64)).Add(Lit(1)).Bind(testSchema)
	if !errors.Is(err, ErrOverflow) || !strings.Contains(err.Error(), "9223372036854775807 + 1 = 9223372036854775808 does not fit in int64") {
		t.Errorf("folding an overflow: %v", err)
	}
}

func TestArithmetic(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem,
		column{"a", arrow.PrimitiveTypes.Int64, []any{int64(7), int64(-3), nil, int64(10)}},
		column{"b", arrow.PrimitiveTypes.Int64, []any{int64(2), int64(4), int64(5), nil}},
		column{"s", arrow.PrimitiveTypes.Int8, []any{int8(100), int8(-100), int8(1), nil}},
		column{"u", arrow.PrimitiveTypes.Uint8, []any{uint8(200), uint8(1), uint8(0), uint8(7)}},
		column{"f", arrow.PrimitiveTypes.Float32, []any{float32(1.5), float32(-2), nil, float32(0.25)}},
	)
	defer rec.Release()
	cases := []struct {
		e    Expr
		want []any
	}{
		{Col("a").Add(Col("b")), []any{int64(9), int64(1), nil, nil}},
		{Col("a").Sub(Col("b")), []any{int64(5), int64(-7), nil, nil}},
		{Col("a").Mul(Col("b")), []any{int64(14), int64(-12), nil, nil}},
		{Col("a").Div(Col("b")), []any{3.5, -0.75, nil, nil}},
		{Lit(100).Sub(Col("a")), []any{int64(93), int64(103), nil, int64(90)}},
		{Col("a").Mul(Lit(3)).Add(Lit(1)), []any{int64(22), int64(-8), nil, int64(31)}},
		{Col("s").Add(Lit(27)), []any{int8(127), int8(-73), int8(28), nil}},
		{Col("u").Add(Lit(55)), []any{uint8(255), uint8(56), uint8(55), uint8(62)}},
		{Col("f").Mul(Lit(float32(2))), []any{float32(3), float32(-4), nil, float32(0.5)}},
		{Col("f").Add(Col("a")), []any{8.5, -5.0, nil, 10.25}},
		{Col("s").Add(Col("u")), []any{int16(300), int16(-99), int16(1), nil}},
	}
	for _, c := range cases {
		if got := eval(t, mem, c.e, rec); !sameValues(got, c.want) {
			t.Errorf("%s = %v, want %v", c.e, got, c.want)
		}
	}
}

func evalErr(t *testing.T, mem memory.Allocator, e Expr, rec arrow.RecordBatch) error {
	t.Helper()
	b, err := e.Bind(rec.Schema())
	if err != nil {
		t.Fatalf("Bind(%s): %v", e, err)
	}
	arr, err := b.Eval(context.Background(), rec, mem)
	if err == nil {
		arr.Release()
	}
	return err
}

func TestOverflowAndDivisionByZero(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem,
		column{"value", arrow.PrimitiveTypes.Int64, []any{int64(1), nil, int64(math.MaxInt64 / 2), int64(math.MaxInt64)}},
		column{"i", arrow.PrimitiveTypes.Int32, []any{int32(0), int32(math.MinInt32), int32(5), int32(1 << 30)}},
		column{"d", arrow.PrimitiveTypes.Int64, []any{int64(1), int64(2), int64(0), nil}},
		column{"u", arrow.PrimitiveTypes.Uint64, []any{uint64(0), uint64(1), uint64(2), uint64(3)}},
	)
	defer rec.Release()
	cases := []struct {
		e    Expr
		is   error
		want string
	}{
		{Col("value").Mul(Lit(int64(5))), ErrOverflow,
			"expr: integer overflow in (value * 5) at row 2: 4611686018427387903 * 5 = 23058430092136939515 does not fit in int64"},
		{Col("value").Add(Lit(1)), ErrOverflow, "in (value + 1) at row 3: 9223372036854775807 + 1 = 9223372036854775808"},
		// Wrapping negative overflow (MinInt32 + -1), which arrow's
		// checked kernels miss.
		{Col("i").Add(Lit(int32(-1))), ErrOverflow, "in (i + -1) at row 1: -2147483648 + -1 = -2147483649 does not fit in int32"},
		{Lit(int32(0)).Sub(Col("i")), ErrOverflow, "in (0 - i) at row 1: 0 - -2147483648 = 2147483648"},
		{Col("i").Mul(Col("i")), ErrOverflow, "in (i * i) at row 1"},
		{Col("u").Sub(Lit(1)), ErrOverflow, "in (u - 1) at row 0: 0 - 1 = -1 does not fit in uint64"},
		{Col("value").Div(Col("d")), ErrDivideByZero, "expr: division by zero in (value / d) at row 2: 4.611686018427388e+18 / 0"},
	}
	for _, c := range cases {
		err := evalErr(t, mem, c.e, rec)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %v containing %q", c.e, err, c.is, c.want)
		}
	}
	// The overflowing value sits in a null slot of the other operand: no
	// error, and the row is null.
	rec2 := record(t, mem,
		column{"a", arrow.PrimitiveTypes.Int64, []any{int64(math.MaxInt64), int64(1)}},
		column{"b", arrow.PrimitiveTypes.Int64, []any{nil, int64(2)}},
	)
	defer rec2.Release()
	// Put a large value under b's null slot so that the kernel sees it.
	b2 := rec2.Column(1).Data().Buffers()[1].Bytes()
	arrow.GetData[int64](b2)[0] = math.MaxInt64
	if got := eval(t, mem, Col("a").Mul(Col("b")), rec2); !sameValues(got, []any{nil, int64(2)}) {
		t.Errorf("a * b = %v, want [nil 2]", got)
	}
}

func TestKleeneLogic(t *testing.T) {
	mem := checked(t)
	var ps, qs []any
	for _, p := range []any{true, false, nil} {
		for _, q := range []any{true, false, nil} {
			ps, qs = append(ps, p), append(qs, q)
		}
	}
	rec := record(t, mem,
		column{"p", arrow.FixedWidthTypes.Boolean, ps},
		column{"q", arrow.FixedWidthTypes.Boolean, qs},
	)
	defer rec.Release()
	T, F := any(true), any(false)
	cases := []struct {
		e    Expr
		want []any
	}{
		{Col("p").And(Col("q")), []any{T, F, nil, F, F, F, nil, F, nil}},
		{Col("p").Or(Col("q")), []any{T, T, T, T, F, nil, T, nil, nil}},
		{Col("p").Not(), []any{F, F, F, T, T, T, nil, nil, nil}},
		{Col("p").IsNull(), []any{F, F, F, F, F, F, T, T, T}},
		{Col("q").IsNotNull(), []any{T, T, F, T, T, F, T, T, F}},
		{Col("p").Eq(Col("q")), []any{T, F, nil, F, T, nil, nil, nil, nil}},
		{Col("p").NotEq(Col("q")), []any{F, T, nil, T, F, nil, nil, nil, nil}},
		{Col("p").And(Lit(nil)), []any{nil, nil, nil, F, F, F, nil, nil, nil}},
		{Col("p").Or(Lit(nil)), []any{T, T, T, nil, nil, nil, nil, nil, nil}},
		{Lit(nil).IsNull(), []any{T, T, T, T, T, T, T, T, T}},
	}
	for _, c := range cases {
		if got := eval(t, mem, c.e, rec); !sameValues(got, c.want) {
			t.Errorf("%s = %v, want %v", c.e, got, c.want)
		}
	}
}

func TestColumnIsNotCopied(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem, column{"v", arrow.PrimitiveTypes.Int64, []any{int64(1), nil, int64(3)}})
	defer rec.Release()
	b, err := Col("v").As("w").Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Field(); f.Name != "w" || !f.Nullable || f.Type.ID() != arrow.INT64 {
		t.Errorf("field %v, want w: nullable int64", f)
	}
	before := mem.CurrentAlloc()
	arr, err := b.Eval(context.Background(), rec, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Release()
	if arr.Data().Buffers()[1] != rec.Column(0).Data().Buffers()[1] {
		t.Error("a column reference copied the column's values")
	}
	if mem.CurrentAlloc() != before {
		t.Errorf("a column reference allocated %d bytes", mem.CurrentAlloc()-before)
	}
}

func TestTimestampComparison(t *testing.T) {
	mem := checked(t)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) any { return arrow.Timestamp(base.Add(d).UnixMilli()) }
	rec := record(t, mem, column{"ts", arrow.FixedWidthTypes.Timestamp_ms, []any{ms(0), ms(time.Second), nil, ms(2 * time.Second)}})
	defer rec.Release()
	got := eval(t, mem, Col("ts").Ge(Lit(base.Add(time.Second))), rec)
	if want := []any{false, true, nil, true}; !sameValues(got, want) {
		t.Errorf("ts >= t+1s = %v, want %v", got, want)
	}
	// A time between two milliseconds: the column is compared at
	// microsecond precision rather than truncating the literal.
	b, err := Col("ts").Gt(Lit(base.Add(time.Second + 500*time.Microsecond))).Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "cast(ts as timestamp)") {
		t.Errorf("bound as %s, want the column cast to microseconds", b)
	}
	got = eval(t, mem, b.Expr(), rec)
	if want := []any{false, false, nil, true}; !sameValues(got, want) {
		t.Errorf("ts > t+1.0005s = %v, want %v", got, want)
	}
}

func TestNestedField(t *testing.T) {
	mem := checked(t)
	inner := arrow.StructOf(
		arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "tag", Type: arrow.BinaryTypes.String, Nullable: false},
	)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: inner, Nullable: true},
		{Name: "a.b", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	// Built by hand so that the child under the null struct (row 2) holds
	// a value, 99, which must read as null.
	xs := record(t, mem,
		column{"x", arrow.PrimitiveTypes.Int64, []any{int64(0), int64(100), int64(99), int64(300), nil, int64(500)}},
		column{"tag", arrow.BinaryTypes.String, []any{"t", "t", "hidden", "t", "t4", "t"}},
		column{"id", arrow.PrimitiveTypes.Int64, []any{int64(0), int64(1), int64(2), int64(3), int64(4), int64(5)}},
		column{"a.b", arrow.PrimitiveTypes.Int64, []any{int64(0), int64(10), int64(20), int64(30), int64(40), int64(50)}},
	)
	defer xs.Release()
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(1)
	valid.Bytes()[0] = 0b111011
	st, err := array.NewStructArrayWithFieldsAndNulls(xs.Columns()[:2], inner.Fields(), valid, 1, 0)
	valid.Release()
	if err != nil {
		t.Fatal(err)
	}
	full := array.NewRecordBatch(schema, []arrow.Array{xs.Column(2), st, xs.Column(3)}, 6)
	st.Release()
	defer full.Release()
	rec := full.NewSlice(1, 6) // an offset exercises bitmap alignment
	defer rec.Release()

	if got, want := eval(t, mem, Col("s.x"), rec), []any{int64(100), nil, int64(300), nil, int64(500)}; !sameValues(got, want) {
		t.Errorf("s.x = %v, want %v", got, want)
	}
	if got, want := eval(t, mem, Col("s.tag").IsNull(), rec), []any{false, true, false, false, false}; !sameValues(got, want) {
		t.Errorf("s.tag IS NULL = %v, want %v", got, want)
	}
	if got, want := eval(t, mem, Col("a.b").Add(Col("s.x")), rec), []any{int64(110), nil, int64(330), nil, int64(550)}; !sameValues(got, want) {
		t.Errorf("a.b + s.x = %v, want %v", got, want)
	}
	b, err := Col("s.tag").Bind(schema)
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Field(); f.Name != "tag" || !f.Nullable {
		t.Errorf("s.tag field = %v, want a nullable field named tag (the struct is nullable)", f)
	}
	_, err = Col("s.tga").Bind(schema)
	if err == nil || !strings.Contains(err.Error(), `struct s has no field "tga"; did you mean "tag"? its fields: x, tag`) {
		t.Errorf("s.tga: %v", err)
	}
	_, err = Col("id.x").Bind(schema)
	if err == nil || !strings.Contains(err.Error(), "id is int64, not a struct") {
		t.Errorf("id.x: %v", err)
	}
}

func TestEvalChecksTheRecord(t *testing.T) {
	mem := checked(t)
	b, err := Col("value").Gt(Lit(1)).Bind(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, mem, column{"ts", arrow.PrimitiveTypes.Int64, []any{int64(1)}}, column{"value", arrow.BinaryTypes.String, []any{"x"}})
	defer rec.Release()
	_, err = b.Eval(context.Background(), rec, mem)
	if err == nil || !strings.Contains(err.Error(), "column value was bound as int64, but the record's column 1 is utf8") {
		t.Errorf("mismatched record: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Eval(ctx, rec, mem); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestConstantExpressionFillsRows(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem, column{"v", arrow.PrimitiveTypes.Int64, []any{int64(1), int64(2), int64(3)}})
	defer rec.Release()
	if got, want := eval(t, mem, Lit(2).Add(Lit(3)).As("five"), rec), []any{int64(5), int64(5), int64(5)}; !sameValues(got, want) {
		t.Errorf("2 + 3 = %v, want %v", got, want)
	}
	if got, want := eval(t, mem, Col("v").IsNull(), rec), []any{false, false, false}; !sameValues(got, want) {
		t.Errorf("v IS NULL = %v, want %v", got, want)
	}
	b, err := Col("v").Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if cols := b.Columns(); len(cols) != 1 || cols[0] != 0 {
		t.Errorf("Columns() = %v, want [0]", cols)
	}
}
