package expr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// ---- helpers shared by the math and date/time tests ----

// mdErr is an expected error: the message must contain it.
type mdErr string

// mdCase is one row of a function test: the arguments and the expected
// result (a value, nil for null, or an mdErr).
type mdCase struct {
	args []any
	want any
}

// mdFunc tests f over rows of arguments of the given types. It checks
// every row four ways: all rows as columns, the rows sliced (offset 1),
// every argument a constant, and the first argument a column with the
// others constant. Rows expecting an error are checked one at a time.
type mdFunc struct {
	name  string
	types []arrow.DataType
	f     func(args ...Expr) Expr
	ctx   context.Context
	cases []mdCase
}

func (m mdFunc) run(t *testing.T) {
	t.Helper()
	t.Run(m.name, func(t *testing.T) {
		mem := checked(t)
		ctx := m.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		cols := make([]Expr, len(m.types))
		for i := range cols {
			cols[i] = Col(fmt.Sprintf("c%d", i))
		}
		var good []mdCase
		for _, c := range m.cases {
			if _, isErr := c.want.(mdErr); !isErr {
				good = append(good, c)
			}
		}
		// All good rows as columns, then sliced.
		if len(good) > 0 {
			rec := mdRecord(t, mem, m.types, good)
			got, err := mdEval(t, ctx, mem, m.f(cols...), rec)
			if err != nil {
				t.Fatalf("%s over columns: %v", m.f(cols...), err)
			}
			for i, c := range good {
				mdCompare(t, fmt.Sprintf("%s row %v", m.f(cols...), c.args), got[i], c.want)
			}
			if len(good) > 1 {
				sl := rec.NewSlice(1, int64(len(good)))
				got, err := mdEval(t, ctx, mem, m.f(cols...), sl)
				sl.Release()
				if err != nil {
					t.Fatalf("%s over sliced columns: %v", m.f(cols...), err)
				}
				for i, c := range good[1:] {
					mdCompare(t, fmt.Sprintf("sliced %s row %v", m.f(cols...), c.args), got[i], c.want)
				}
			}
			rec.Release()
		}
		for _, c := range m.cases {
			one := mdRecord(t, mem, m.types, []mdCase{c})
			// every argument a constant
			lits := make([]Expr, len(c.args))
			for i, a := range c.args {
				lits[i] = Lit(mdScalar(t, m.types[i], a))
			}
			m.check(t, ctx, mem, m.f(lits...), one, c, "constants")
			if len(c.args) > 1 {
				mixed := append([]Expr{cols[0]}, lits[1:]...)
				m.check(t, ctx, mem, m.f(mixed...), one, c, "column and constants")
			}
			if _, isErr := c.want.(mdErr); isErr {
				m.check(t, ctx, mem, m.f(cols...), one, c, "columns")
			}
			one.Release()
		}
	})
}

func (m mdFunc) check(t *testing.T, ctx context.Context, mem memory.Allocator, e Expr, rec arrow.RecordBatch, c mdCase, how string) {
	t.Helper()
	got, err := mdEval(t, ctx, mem, e, rec)
	if want, isErr := c.want.(mdErr); isErr {
		if err == nil {
			t.Errorf("%s (%s): got %v, want an error containing %q", e, how, got[0], want)
		} else if !strings.Contains(err.Error(), string(want)) {
			t.Errorf("%s (%s): error %q does not contain %q", e, how, err, want)
		}
		return
	}
	if err != nil {
		t.Errorf("%s (%s): %v", e, how, err)
		return
	}
	mdCompare(t, fmt.Sprintf("%s (%s)", e, how), got[0], c.want)
}

// mdEval binds e to rec's schema and evaluates it; it checks the result's
// length and type against the bound field.
func mdEval(t *testing.T, ctx context.Context, mem memory.Allocator, e Expr, rec arrow.RecordBatch) ([]any, error) {
	t.Helper()
	b, err := e.Bind(rec.Schema())
	if err != nil {
		return nil, err
	}
	arr, err := b.Eval(ctx, rec, mem)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	if arr.Len() != int(rec.NumRows()) {
		t.Fatalf("%s: %d rows, want %d", e, arr.Len(), rec.NumRows())
	}
	if !arrow.TypeEqual(arr.DataType(), b.Field().Type) {
		t.Fatalf("%s: result is %s, but Field says %s", e, arr.DataType(), b.Field().Type)
	}
	if !b.Field().Nullable && arr.NullN() > 0 {
		t.Fatalf("%s: %d nulls, but Field says not nullable", e, arr.NullN())
	}
	return mdValues(t, arr), nil
}

// mdRecord builds columns c0, c1, ... from the rows' arguments.
func mdRecord(t *testing.T, mem memory.Allocator, types []arrow.DataType, rows []mdCase) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(types))
	arrs := make([]arrow.Array, len(types))
	for i, typ := range types {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: typ, Nullable: true}
		vals := make([]any, len(rows))
		for r, row := range rows {
			vals[r] = row.args[i]
		}
		arrs[i] = mdArray(t, mem, typ, vals...)
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(rows)))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// mdArray builds an array of typ from Go values (nil for null). Dates are
// written "2006-01-02", timestamps "2006-01-02 15:04:05.999999" (UTC) or
// as arrow.Timestamp, decimals as strings.
func mdArray(t *testing.T, mem memory.Allocator, typ arrow.DataType, vals ...any) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, typ)
	defer b.Release()
	for _, v := range vals {
		sc := mdScalar(t, typ, v)
		if !sc.IsValid() {
			b.AppendNull()
			continue
		}
		if d, ok := sc.(*scalar.Date32); ok {
			b.(*array.Date32Builder).Append(d.Value)
			continue
		}
		if err := b.AppendValueFromString(mdScalarString(sc)); err != nil {
			t.Fatalf("appending %v to %s: %v", v, typ, err)
		}
	}
	return b.NewArray()
}

func mdScalarString(sc scalar.Scalar) string {
	if !sc.IsValid() {
		return ""
	}
	switch s := sc.(type) {
	case *scalar.Timestamp:
		typ := s.Type.(*arrow.TimestampType)
		if typ.TimeZone == "" {
			return s.Value.ToTime(typ.Unit).Format("2006-01-02T15:04:05.999999999")
		}
		return s.Value.ToTime(typ.Unit).Format("2006-01-02T15:04:05.999999999Z07:00")
	case *scalar.Date32:
		return s.Value.FormattedString()
	case *scalar.Decimal128:
		return s.Value.ToString(s.Type.(*arrow.Decimal128Type).Scale)
	case *scalar.String:
		return string(s.Data())
	}
	return sc.String()
}

// mdScalar makes a scalar of typ from a Go value (see mdArray).
func mdScalar(t *testing.T, typ arrow.DataType, v any) scalar.Scalar {
	t.Helper()
	if v == nil {
		return scalar.MakeNullScalar(typ)
	}
	switch typ := typ.(type) {
	case *arrow.TimestampType:
		switch v := v.(type) {
		case arrow.Timestamp:
			return scalar.NewTimestampScalar(v, typ)
		case string:
			tm, err := time.Parse("2006-01-02 15:04:05.999999", v)
			if err != nil {
				t.Fatalf("timestamp %q: %v", v, err)
			}
			return scalar.NewTimestampScalar(arrow.Timestamp(tm.UnixMicro()), typ)
		}
	case *arrow.Date32Type:
		if d, ok := v.(arrow.Date32); ok {
			return scalar.NewDate32Scalar(d)
		}
		tm, err := time.Parse("2006-01-02", v.(string))
		if err != nil {
			t.Fatalf("date %q: %v", v, err)
		}
		return scalar.NewDate32Scalar(arrow.Date32FromTime(tm))
	case *arrow.Decimal128Type:
		n, err := decimal128.FromString(v.(string), typ.Precision, typ.Scale)
		if err != nil {
			t.Fatalf("decimal %q: %v", v, err)
		}
		return scalar.NewDecimal128Scalar(n, typ)
	case *arrow.StringType:
		return scalar.NewStringScalar(v.(string))
	case *arrow.BooleanType:
		return scalar.NewBooleanScalar(v.(bool))
	}
	sc, err := scalar.MakeScalarParam(v, typ)
	if err != nil {
		t.Fatalf("scalar %v (%T) of %s: %v", v, v, typ, err)
	}
	return sc
}

// mdValues reads an array into Go values: dates and timestamps as
// strings (timestamps in UTC, wall-clock ones as they are), decimals as
// strings, the rest as their Go values.
func mdValues(t *testing.T, a arrow.Array) []any {
	t.Helper()
	out := make([]any, a.Len())
	for i := range out {
		if a.IsNull(i) {
			continue
		}
		switch a := a.(type) {
		case *array.Date32:
			out[i] = a.Value(i).FormattedString()
		case *array.Timestamp:
			out[i] = mdFormatMicros(int64(a.Value(i)))
		case *array.Decimal128:
			out[i] = a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
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
		case *array.Uint32:
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
		default:
			t.Fatalf("mdValues: no support for %T", a)
		}
	}
	return out
}

func mdFormatMicros(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.999999")
}

func mdCompare(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, ok := got.(float64); ok {
		if w, ok := want.(float64); ok {
			same := g == w && math.Signbit(g) == math.Signbit(w) || math.IsNaN(g) && math.IsNaN(w) ||
				!math.IsInf(w, 0) && w != 0 && math.Abs(g-w) <= 1e-12*math.Abs(w)
			if !same {
				t.Errorf("%s = %v, want %v", what, g, w)
			}
			return
		}
	}
	if g, ok := got.(float32); ok {
		if w, ok := want.(float32); ok {
			if !(g == w || g != g && w != w) {
				t.Errorf("%s = %v, want %v", what, g, w)
			}
			return
		}
	}
	if got != want {
		t.Errorf("%s = %v (%T), want %v (%T)", what, got, got, want, want)
	}
}

func mdCall(name string) func(args ...Expr) Expr {
	return func(args ...Expr) Expr { return Call(name, args...) }
}

var (
	i8   = arrow.PrimitiveTypes.Int8
	i16  = arrow.PrimitiveTypes.Int16
	i32  = arrow.PrimitiveTypes.Int32
	i64  = arrow.PrimitiveTypes.Int64
	u8   = arrow.PrimitiveTypes.Uint8
	f32  = arrow.PrimitiveTypes.Float32
	f64  = arrow.PrimitiveTypes.Float64
	str  = arrow.BinaryTypes.String
	dt32 = arrow.FixedWidthTypes.Date32
	tsz  = timestampUTC
)

func dec(p, s int32) arrow.DataType { return &arrow.Decimal128Type{Precision: p, Scale: s} }

func one(args ...any) []any { return args }

// ---- math ----

func TestAbsNegative(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, m := range []mdFunc{
		{name: "abs int8", types: []arrow.DataType{i8}, f: mdCall("abs"), cases: []mdCase{
			{one(int8(-5)), int8(5)}, {one(int8(0)), int8(0)}, {one(int8(127)), int8(127)}, {one(nil), nil},
			{one(int8(-127)), int8(127)}, {one(int8(-128)), mdErr("abs(-128) = 128 does not fit in tinyint")},
		}},
		{name: "abs int64", types: []arrow.DataType{i64}, f: mdCall("abs"), cases: []mdCase{
			{one(int64(-9)), int64(9)}, {one(int64(math.MaxInt64)), int64(math.MaxInt64)},
			{one(int64(math.MinInt64)), mdErr("abs(-9223372036854775808) = 9223372036854775808 does not fit in bigint")},
		}},
		{name: "abs double", types: []arrow.DataType{f64}, f: mdCall("abs"), cases: []mdCase{
			{one(-1.5), 1.5}, {one(math.Copysign(0, -1)), 0.0}, {one(nan), nan}, {one(-inf), inf}, {one(nil), nil},
		}},
		{name: "abs float", types: []arrow.DataType{f32}, f: mdCall("abs"), cases: []mdCase{{one(float32(-2.5)), float32(2.5)}}},
		{name: "abs decimal", types: []arrow.DataType{dec(5, 2)}, f: mdCall("abs"), cases: []mdCase{
			{one("-1.25"), "1.25"}, {one("999.99"), "999.99"}, {one("-999.99"), "999.99"}, {one(nil), nil},
		}},
		{name: "abs unsigned", types: []arrow.DataType{u8}, f: mdCall("abs"), cases: []mdCase{{one(uint8(200)), uint8(200)}}},
		{name: "negative", types: []arrow.DataType{i32}, f: mdCall("negative"), cases: []mdCase{
			{one(int32(5)), int32(-5)}, {one(int32(-5)), int32(5)}, {one(nil), nil},
			{one(int32(math.MinInt32)), mdErr("-(-2147483648) = 2147483648 does not fit in int")},
		}},
		{name: "unary minus", types: []arrow.DataType{f64}, f: func(a ...Expr) Expr { return a[0].Negate() }, cases: []mdCase{
			{one(2.0), -2.0}, {one(nan), nan}, {one(nil), nil},
		}},
		{name: "unary minus decimal", types: []arrow.DataType{dec(38, 0)}, f: func(a ...Expr) Expr { return a[0].Negate() }, cases: []mdCase{
			{one("99999999999999999999999999999999999999"), "-99999999999999999999999999999999999999"},
		}},
		{name: "positive", types: []arrow.DataType{i16}, f: mdCall("positive"), cases: []mdCase{{one(int16(-3)), int16(-3)}}},
	} {
		m.run(t)
	}
}

func TestRound(t *testing.T) {
	round := func(d int) func(a ...Expr) Expr {
		return func(a ...Expr) Expr { return Call("round", a[0], Lit(d)) }
	}
	bround := func(d int) func(a ...Expr) Expr {
		return func(a ...Expr) Expr { return Call("bround", a[0], Lit(d)) }
	}
	nan := math.NaN()
	for _, m := range []mdFunc{
		{name: "round double", types: []arrow.DataType{f64}, f: mdCall("round"), cases: []mdCase{
			{one(2.5), 3.0}, {one(-2.5), -3.0}, {one(0.5), 1.0}, {one(1.4999999), 1.0}, {one(-0.4), 0.0},
			{one(nan), nan}, {one(math.Inf(-1)), math.Inf(-1)}, {one(1e300), 1e300}, {one(nil), nil},
			{one(4503599627370495.5), 4503599627370496.0},
		}},
		{name: "round double 2", types: []arrow.DataType{f64}, f: round(2), cases: []mdCase{
			{one(0.125), 0.13}, {one(1.005), 1.01}, {one(-1.005), -1.01}, {one(2.675), 2.68}, {one(1.0), 1.0},
			{one(0.001), 0.0}, {one(9.999), 10.0}, {one(123.456e-10), 0.0}, {one(5e-324), 0.0},
		}},
		{name: "round double -2", types: []arrow.DataType{f64}, f: round(-2), cases: []mdCase{
			{one(1234.5678), 1200.0}, {one(1250.0), 1300.0}, {one(-1250.0), -1300.0}, {one(49.9), 0.0}, {one(99999.0), 100000.0},
		}},
		{name: "bround double", types: []arrow.DataType{f64}, f: mdCall("bround"), cases: []mdCase{
			{one(2.5), 2.0}, {one(3.5), 4.0}, {one(-2.5), -2.0}, {one(2.5000001), 3.0},
		}},
		{name: "bround double 2", types: []arrow.DataType{f64}, f: bround(2), cases: []mdCase{
			{one(0.125), 0.12}, {one(0.135), 0.14}, {one(0.1251), 0.13},
		}},
		{name: "round float", types: []arrow.DataType{f32}, f: round(1), cases: []mdCase{
			{one(float32(1.25)), float32(1.3)}, {one(float32(-1.25)), float32(-1.3)},
		}},
		{name: "round int", types: []arrow.DataType{i32}, f: round(-1), cases: []mdCase{
			{one(int32(15)), int32(20)}, {one(int32(-15)), int32(-20)}, {one(int32(14)), int32(10)}, {one(nil), nil},
			{one(int32(2147483647)), mdErr("round(2147483647, -1) does not fit in int")},
		}},
		{name: "round int positive scale", types: []arrow.DataType{i32}, f: round(3), cases: []mdCase{{one(int32(15)), int32(15)}}},
		{name: "round int8", types: []arrow.DataType{i8}, f: round(-1), cases: []mdCase{
			{one(int8(124)), int8(120)}, {one(int8(-125)), mdErr("does not fit in tinyint")}, {one(int8(-128)), mdErr("round(-128, -1)")},
		}},
		{name: "round int64 far", types: []arrow.DataType{i64}, f: round(-19), cases: []mdCase{
			{one(int64(4_000_000_000_000_000_000)), int64(0)}, {one(int64(math.MaxInt64)), mdErr("does not fit in bigint")},
		}},
		{name: "round int64 beyond", types: []arrow.DataType{i64}, f: round(-25), cases: []mdCase{{one(int64(math.MaxInt64)), int64(0)}}},
		{name: "bround int", types: []arrow.DataType{i64}, f: bround(-1), cases: []mdCase{
			{one(int64(25)), int64(20)}, {one(int64(35)), int64(40)}, {one(int64(-25)), int64(-20)}, {one(int64(26)), int64(30)},
		}},
		{name: "round decimal", types: []arrow.DataType{dec(5, 3)}, f: round(2), cases: []mdCase{
			{one("1.235"), "1.24"}, {one("1.245"), "1.25"}, {one("-1.235"), "-1.24"}, {one("99.999"), "100.00"}, {one(nil), nil},
		}},
		{name: "bround decimal", types: []arrow.DataType{dec(5, 3)}, f: bround(2), cases: []mdCase{
			{one("1.235"), "1.24"}, {one("1.245"), "1.24"}, {one("1.246"), "1.25"}, {one("-1.245"), "-1.24"}, {one("-1.255"), "-1.26"},
		}},
		{name: "round decimal negative scale", types: []arrow.DataType{dec(5, 2)}, f: round(-1), cases: []mdCase{
			{one("123.45"), "120"}, {one("125.00"), "130"}, {one("-999.99"), "-1000"},
		}},
		{name: "round wide decimal", types: []arrow.DataType{dec(38, 30)}, f: mdCall("round"), cases: []mdCase{
			{one("12345678.555555555555555555555555555555"), "12345679"},
			{one("2.500000000000000000000000000000"), "3"}, {one("-2.499999999999999999999999999999"), "-2"},
		}},
		{name: "bround wide decimal", types: []arrow.DataType{dec(38, 30)}, f: mdCall("bround"), cases: []mdCase{
			{one("2.500000000000000000000000000000"), "2"}, {one("3.500000000000000000000000000000"), "4"},
			{one("2.500000000000000000000000000001"), "3"},
		}},
		{name: "round decimal far left", types: []arrow.DataType{dec(38, 0)}, f: round(-37), cases: []mdCase{
			{one("95000000000000000000000000000000000000"), mdErr("does not fit in decimal(38, 0)")},
			{one("-49999999999999999999999999999999999999"), "-50000000000000000000000000000000000000"},
			{one("14999999999999999999999999999999999999"), "10000000000000000000000000000000000000"},
		}},
		{name: "round decimal beyond", types: []arrow.DataType{dec(10, 2)}, f: round(-40), cases: []mdCase{
			{one("99999999.99"), "0"},
		}},
		{name: "round decimal to 38 digits", types: []arrow.DataType{dec(38, 0)}, f: round(-1), cases: []mdCase{
			{one("99999999999999999999999999999999999999"), mdErr("does not fit in decimal(38, 0)")},
			{one("12345"), "12350"},
		}},
	} {
		m.run(t)
	}
}

func TestRoundDecimalTypes(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{dec(10, 4)}, []mdCase{{one("123456.7891"), nil}})
	defer rec.Release()
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{Call("round", Col("c0"), Lit(2)), "decimal(9, 2)"},
		{Call("round", Col("c0"), Lit(6)), "decimal(11, 4)"},
		{Call("round", Col("c0"), Lit(-2)), "decimal(7, 0)"},
		{Call("round", Col("c0")), "decimal(7, 0)"},
		{Call("floor", Col("c0")), "decimal(7, 0)"},
		{Call("ceil", Col("c0")), "decimal(7, 0)"},
	} {
		b, err := c.e.Bind(rec.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Field().Type.String(); got != c.want {
			t.Errorf("%s is %s, want %s", c.e, got, c.want)
		}
	}
}

func TestFloorCeil(t *testing.T) {
	for _, m := range []mdFunc{
		{name: "floor double", types: []arrow.DataType{f64}, f: mdCall("floor"), cases: []mdCase{
			{one(1.5), int64(1)}, {one(-1.5), int64(-2)}, {one(-0.0), int64(0)}, {one(nil), nil},
			{one(-9.2e18), int64(-9200000000000000000)},
			{one(math.NaN()), mdErr("floor(NaN) does not fit in bigint")}, {one(1e19), mdErr("floor(1e+19)")},
		}},
		{name: "ceil double", types: []arrow.DataType{f64}, f: mdCall("ceil"), cases: []mdCase{
			{one(1.2), int64(2)}, {one(-1.2), int64(-1)}, {one(math.Inf(1)), mdErr("ceil(Infinity)")},
		}},
		{name: "ceiling float", types: []arrow.DataType{f32}, f: mdCall("ceiling"), cases: []mdCase{{one(float32(2.1)), int64(3)}}},
		{name: "floor int", types: []arrow.DataType{i32}, f: mdCall("floor"), cases: []mdCase{{one(int32(-7)), int64(-7)}, {one(nil), nil}}},
		{name: "floor decimal", types: []arrow.DataType{dec(3, 1)}, f: mdCall("floor"), cases: []mdCase{
			{one("-1.5"), "-2"}, {one("1.5"), "1"}, {one("99.9"), "99"}, {one("-0.1"), "-1"}, {one("0.0"), "0"},
		}},
		{name: "ceil decimal", types: []arrow.DataType{dec(4, 2)}, f: mdCall("ceil"), cases: []mdCase{
			{one("1.01"), "2"}, {one("-1.99"), "-1"}, {one("99.99"), "100"}, {one("0.00"), "0"},
		}},
	} {
		m.run(t)
	}
}

func TestDoubleFunctions(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	unary := func(name string, cases ...mdCase) mdFunc {
		return mdFunc{name: name, types: []arrow.DataType{f64}, f: mdCall(name), cases: cases}
	}
	for _, m := range []mdFunc{
		unary("sqrt", mdCase{one(4.0), 2.0}, mdCase{one(-1.0), nan}, mdCase{one(nil), nil}, mdCase{one(inf), inf}),
		unary("cbrt", mdCase{one(-27.0), -3.0}),
		unary("exp", mdCase{one(0.0), 1.0}, mdCase{one(1.0), math.E}, mdCase{one(1000.0), inf}),
		unary("expm1", mdCase{one(0.0), 0.0}),
		unary("ln", mdCase{one(math.E), 1.0}, mdCase{one(0.0), nil}, mdCase{one(-1.0), nil}, mdCase{one(nan), nan}),
		unary("log", mdCase{one(1.0), 0.0}, mdCase{one(0.0), nil}),
		unary("log10", mdCase{one(100.0), 2.0}, mdCase{one(-5.0), nil}),
		unary("log2", mdCase{one(8.0), 3.0}, mdCase{one(0.0), nil}),
		unary("log1p", mdCase{one(0.0), 0.0}, mdCase{one(-1.0), nil}, mdCase{one(-0.5), math.Log1p(-0.5)}),
		unary("sign", mdCase{one(-3.5), -1.0}, mdCase{one(0.0), 0.0}, mdCase{one(math.Copysign(0, -1)), math.Copysign(0, -1)}, mdCase{one(nan), nan}, mdCase{one(2.0), 1.0}),
		unary("signum", mdCase{one(-inf), -1.0}),
		unary("sin", mdCase{one(0.0), 0.0}), unary("cos", mdCase{one(0.0), 1.0}), unary("tan", mdCase{one(0.0), 0.0}),
		unary("asin", mdCase{one(2.0), nan}), unary("acos", mdCase{one(1.0), 0.0}), unary("atan", mdCase{one(inf), math.Pi / 2}),
		unary("sinh", mdCase{one(0.0), 0.0}), unary("cosh", mdCase{one(0.0), 1.0}), unary("tanh", mdCase{one(inf), 1.0}),
		unary("degrees", mdCase{one(math.Pi), 180.0}), unary("radians", mdCase{one(180.0), math.Pi}),
		{name: "log base", types: []arrow.DataType{f64, f64}, f: mdCall("log"), cases: []mdCase{
			{one(2.0, 8.0), 3.0}, {one(10.0, 1000.0), 3.0}, {one(0.0, 8.0), nil}, {one(2.0, -1.0), nil}, {one(nil, 8.0), nil},
		}},
		{name: "pow", types: []arrow.DataType{f64, f64}, f: mdCall("pow"), cases: []mdCase{
			{one(2.0, 10.0), 1024.0}, {one(1.0, nan), nan}, {one(-1.0, inf), nan}, {one(0.0, -1.0), inf},
			{one(nan, 0.0), 1.0}, {one(-8.0, 1.0/3), nan}, {one(2.0, nil), nil},
		}},
		{name: "power ints", types: []arrow.DataType{i32, i64}, f: mdCall("power"), cases: []mdCase{{one(int32(3), int64(2)), 9.0}}},
		{name: "atan2", types: []arrow.DataType{f64, f64}, f: mdCall("atan2"), cases: []mdCase{{one(1.0, 1.0), math.Pi / 4}}},
		{name: "sqrt int", types: []arrow.DataType{i32}, f: mdCall("sqrt"), cases: []mdCase{{one(int32(9)), 3.0}}},
		{name: "sqrt decimal", types: []arrow.DataType{dec(4, 2)}, f: mdCall("sqrt"), cases: []mdCase{{one("6.25"), 2.5}}},
	} {
		m.run(t)
	}
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{f64}, []mdCase{{one(1.0), nil}})
	defer rec.Release()
	for name, want := range map[string]float64{"pi": math.Pi, "e": math.E} {
		got, err := mdEval(t, context.Background(), mem, Call(name), rec)
		if err != nil || got[0] != want {
			t.Errorf("%s() = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestMod(t *testing.T) {
	mod := func(a ...Expr) Expr { return a[0].Mod(a[1]) }
	for _, m := range []mdFunc{
		{name: "% int64", types: []arrow.DataType{i64, i64}, f: mod, cases: []mdCase{
			{one(int64(7), int64(3)), int64(1)}, {one(int64(-7), int64(3)), int64(-1)}, {one(int64(7), int64(-3)), int64(1)},
			{one(int64(math.MinInt64), int64(-1)), int64(0)}, {one(nil, int64(0)), nil}, {one(int64(3), nil), nil},
			{one(int64(7), int64(0)), mdErr("7 % 0; filter out zero divisors first")},
		}},
		{name: "% int8", types: []arrow.DataType{i8, i8}, f: mod, cases: []mdCase{
			{one(int8(-128), int8(-1)), int8(0)}, {one(int8(-128), int8(127)), int8(-1)}, {one(int8(5), int8(0)), mdErr("5 % 0")},
		}},
		{name: "% double", types: []arrow.DataType{f64, f64}, f: mod, cases: []mdCase{
			{one(5.5, 2.0), 1.5}, {one(-5.5, 2.0), -1.5}, {one(5.0, math.Inf(1)), 5.0}, {one(math.NaN(), 1.0), math.NaN()},
			{one(1.0, 0.0), mdErr("division by zero")}, {one(1.0, math.Copysign(0, -1)), mdErr("1.0 % 0")},
		}},
		{name: "pmod", types: []arrow.DataType{i32, i32}, f: mdCall("pmod"), cases: []mdCase{
			{one(int32(-7), int32(3)), int32(2)}, {one(int32(7), int32(3)), int32(1)}, {one(int32(7), int32(-3)), int32(1)},
			{one(int32(-7), int32(-3)), int32(-1)}, {one(int32(-1), int32(math.MinInt32)), int32(math.MaxInt32)},
			{one(int32(1), int32(0)), mdErr("division by zero in pmod(")},
		}},
		{name: "pmod double", types: []arrow.DataType{f64, f64}, f: mdCall("pmod"), cases: []mdCase{{one(-7.5, 2.0), 0.5}}},
		{name: "try_mod", types: []arrow.DataType{i64, i64}, f: mdCall("try_mod"), cases: []mdCase{
			{one(int64(7), int64(0)), nil}, {one(int64(7), int64(2)), int64(1)}, {one(nil, int64(0)), nil},
		}},
		{name: "try_mod double", types: []arrow.DataType{f64, f64}, f: mdCall("try_mod"), cases: []mdCase{{one(7.0, 0.0), nil}}},
		{name: "% unsigned", types: []arrow.DataType{u8, u8}, f: mod, cases: []mdCase{{one(uint8(255), uint8(16)), uint8(15)}}},
	} {
		m.run(t)
	}
}

func TestTryArithmetic(t *testing.T) {
	for _, m := range []mdFunc{
		{name: "try_add", types: []arrow.DataType{i32, i32}, f: mdCall("try_add"), cases: []mdCase{
			{one(int32(1), int32(2)), int32(3)}, {one(int32(math.MaxInt32), int32(1)), nil}, {one(nil, int32(1)), nil},
			{one(int32(math.MinInt32), int32(-1)), nil},
		}},
		{name: "try_subtract", types: []arrow.DataType{i64, i64}, f: mdCall("try_subtract"), cases: []mdCase{
			{one(int64(1), int64(2)), int64(-1)}, {one(int64(math.MinInt64), int64(1)), nil},
		}},
		{name: "try_multiply", types: []arrow.DataType{i64, i64}, f: mdCall("try_multiply"), cases: []mdCase{
			{one(int64(3), int64(4)), int64(12)}, {one(int64(math.MaxInt64/2), int64(3)), nil},
		}},
		{name: "try_divide", types: []arrow.DataType{i32, i32}, f: mdCall("try_divide"), cases: []mdCase{
			{one(int32(3), int32(2)), 1.5}, {one(int32(1), int32(0)), nil}, {one(nil, int32(0)), nil},
		}},
		{name: "try_divide double", types: []arrow.DataType{f64, f64}, f: mdCall("try_divide"), cases: []mdCase{
			{one(1.0, 0.0), nil}, {one(-1.0, 4.0), -0.25},
		}},
		{name: "plain add still fails", types: []arrow.DataType{i32, i32}, f: func(a ...Expr) Expr { return a[0].Add(a[1]) }, cases: []mdCase{
			{one(int32(math.MaxInt32), int32(1)), mdErr("integer overflow")},
		}},
	} {
		m.run(t)
	}
}

func TestTryArithmeticKeepsOtherRows(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{i8, i8}, []mdCase{
		{one(int8(100), int8(100)), nil}, {one(int8(1), int8(2)), nil}, {one(nil, int8(1)), nil},
		{one(int8(-100), int8(-100)), nil}, {one(int8(5), int8(5)), nil},
	})
	defer rec.Release()
	got, err := mdEval(t, context.Background(), mem, Call("try_add", Col("c0"), Col("c1")), rec)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{nil, int8(3), nil, nil, int8(10)}
	for i := range want {
		mdCompare(t, fmt.Sprintf("try_add row %d", i), got[i], want[i])
	}
	b, err := Call("try_add", Col("c0"), Lit(1)).Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if s := b.String(); s != "try_add(c0, 1)" {
		t.Errorf("bound try_add shows as %q", s)
	}
	if !b.Field().Nullable {
		t.Error("try_add must be nullable")
	}
}

func TestMathDisplayAndBindErrors(t *testing.T) {
	if s := Col("x").Mod(Lit(3)).String(); s != "(x % 3)" {
		t.Errorf("Mod shows as %q", s)
	}
	if s := Col("x").Negate().String(); s != "(- x)" {
		t.Errorf("Negate shows as %q", s)
	}
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{i32, str}, []mdCase{{one(int32(1), "a"), nil}})
	defer rec.Release()
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{Call("abs", Col("c1")), "abs needs a numeric argument, but c1 is string"},
		{Call("round", Col("c0"), Col("c0")), "the scale of round must be a constant integer"},
		{Call("round", Col("c0"), Lit(1.5)), "the scale of round must be a constant integer"},
		{Col("c1").Mod(Lit(2)), "% needs numeric operands"},
		{Call("sqrt", Col("c1")), "sqrt needs a numeric argument"},
		{Call("pow", Col("c1"), Lit(2)), "pow needs a numeric argument, but c1 is string"},
		{Lit(5).Mod(Lit(0)), "division by zero in (5 % 0)"},
		{Call("abs", Lit(int8(-128))), "abs(-128) = 128 does not fit in tinyint"},
		{Call("log", Col("c0"), Col("c0"), Col("c0")), "log takes 1 to 2 arguments, got 3"},
	} {
		_, err := c.e.Bind(rec.Schema())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Bind(%s) = %v, want an error containing %q", c.e, err, c.want)
		}
	}
	_, err := Lit(5).Mod(Lit(0)).Bind(rec.Schema())
	if !errors.Is(err, ErrDivideByZero) {
		t.Errorf("5 %% 0 is not ErrDivideByZero: %v", err)
	}
	_, err = Call("abs", Lit(int8(-128))).Bind(rec.Schema())
	if !errors.Is(err, ErrOverflow) {
		t.Errorf("abs(-128) is not ErrOverflow: %v", err)
	}
	// Folding: constant arguments are computed once, at Bind.
	b, err := Call("round", Lit(2.5)).Bind(rec.Schema())
	if err != nil || b.String() != "3.0" {
		t.Errorf("round(2.5) binds to %v, %v; want the constant 3.0", b, err)
	}
}

func TestMathErrorNamesRow(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{i64, i64}, []mdCase{
		{one(int64(1), int64(1)), nil}, {one(int64(2), nil), nil}, {one(int64(3), int64(0)), nil},
	})
	defer rec.Release()
	_, err := mdEval(t, context.Background(), mem, Col("c0").Mod(Col("c1")), rec)
	if err == nil || !strings.Contains(err.Error(), "at row 2: 3 % 0") {
		t.Errorf("error %v does not name row 2 and the values", err)
	}
}

func TestRoundDoubleAgainstExactDecimal(t *testing.T) {
	// Scattered doubles: rounding must equal rounding the shortest
	// decimal representation exactly (as Java's BigDecimal), half up.
	var buf [40]byte
	for i := 1; i < 30000; i++ {
		x := math.Float64frombits(uint64(i) * 0x9E3779B97F4A7C15)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		for _, d := range []int{-3, 0, 1, 4, 300} {
			got := mdRoundDouble(x, d, mdHalfUp, buf[:0])
			want := exactRoundHalfUp(x, d)
			if got != want || (got == 0 && math.Signbit(got)) {
				t.Fatalf("round(%v, %d) = %v, want %v", x, d, got, want)
			}
		}
	}
}

// exactRoundHalfUp rounds the shortest decimal form of x to d places,
// half away from zero, with exact rational arithmetic.
func exactRoundHalfUp(x float64, d int) float64 {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	neg := r.Sign() < 0
	r.Abs(r)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(mdAbsInt(d))), nil))
	if d >= 0 {
		r.Mul(r, scale)
	} else {
		r.Quo(r, scale)
	}
	// floor(r + 1/2)
	r.Add(r, big.NewRat(1, 2))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	out := new(big.Rat).SetInt(n)
	if d >= 0 {
		out.Quo(out, scale)
	} else {
		out.Mul(out, scale)
	}
	f, _ := out.Float64()
	if neg && f != 0 {
		f = -f
	}
	return f
}

func mdAbsInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
