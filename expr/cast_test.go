package expr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fromJSON builds an array of type typ from a JSON array; the caller
// releases it.
func fromJSON(t testing.TB, mem memory.Allocator, typ arrow.DataType, js string) arrow.Array {
	t.Helper()
	arr, _, err := array.FromJSON(mem, typ, strings.NewReader(js))
	if err != nil {
		t.Fatalf("array.FromJSON(%s, %s): %v", typ, js, err)
	}
	return arr
}

// evalOn binds e to a record holding col as column "x" (plus an int64
// column "y" of row numbers) and evaluates it. The result is owned by the
// caller.
func evalOn(t testing.TB, mem memory.Allocator, e Expr, col arrow.Array) (arrow.Array, error) {
	t.Helper()
	b := array.NewInt64Builder(mem)
	for i := 0; i < col.Len(); i++ {
		b.Append(int64(i))
	}
	rows := b.NewArray()
	b.Release()
	defer rows.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: col.DataType(), Nullable: true}, {Name: "y", Type: rows.DataType()}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col, rows}, int64(col.Len()))
	defer rec.Release()
	bound, err := e.Bind(schema)
	if err != nil {
		return nil, err
	}
	out, err := bound.Eval(context.Background(), rec, mem)
	if err != nil {
		return nil, err
	}
	if !arrow.TypeEqual(out.DataType(), bound.Field().Type) {
		t.Errorf("%s: result is %s, Field says %s", e, out.DataType(), bound.Field().Type)
	}
	if out.Len() != col.Len() {
		t.Errorf("%s: %d rows, want %d", e, out.Len(), col.Len())
	}
	return out, nil
}

// padded returns js's array with a null before and after, sliced back to
// js's rows: the same values at a non-zero offset.
func padded(t testing.TB, mem memory.Allocator, typ arrow.DataType, js string) arrow.Array {
	t.Helper()
	inner := strings.TrimSpace(js)
	inner = strings.TrimSpace(inner[1 : len(inner)-1])
	full := "[null]"
	if inner != "" {
		full = "[null, " + inner + ", null]"
	} else {
		full = "[null, null]"
	}
	arr := fromJSON(t, mem, typ, full)
	defer arr.Release()
	return array.NewSlice(arr, 1, int64(arr.Len()-1))
}

func mustType(t testing.TB, ddl string) arrow.DataType {
	t.Helper()
	typ, err := ParseType(ddl)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

type castCase struct {
	from, in string // input type (DDL) and values (JSON)
	to       string // target type (DDL)
	want     string // JSON of the TRY_CAST result (and the CAST result when err is empty)
	err      string // what the CAST error must contain; empty if CAST succeeds
}

func runCastCases(t *testing.T, cases []castCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.from+"->"+c.to+":"+c.in, func(t *testing.T) {
			mem := checked(t)
			from, to := mustType(t, c.from), mustType(t, c.to)
			want := fromJSON(t, mem, to, c.want)
			defer want.Release()
			for _, slice := range []bool{false, true} {
				var in arrow.Array
				if slice {
					in = padded(t, mem, from, c.in)
				} else {
					in = fromJSON(t, mem, from, c.in)
				}
				got, err := evalOn(t, mem, Col("x").Cast(to), in)
				switch {
				case c.err == "" && err != nil:
					t.Errorf("CAST (sliced %v): %v", slice, err)
				case c.err == "" && !array.Equal(got, want):
					t.Errorf("CAST (sliced %v) = %s, want %s", slice, got, want)
				case c.err != "" && err == nil:
					t.Errorf("CAST (sliced %v) = %s, want an error containing %q", slice, got, c.err)
				case c.err != "" && !strings.Contains(err.Error(), c.err):
					t.Errorf("CAST (sliced %v) error %q does not contain %q", slice, err, c.err)
				case c.err != "" && !errors.Is(err, ErrCast) && !errors.Is(err, ErrOverflow):
					t.Errorf("CAST error %v is neither ErrCast nor ErrOverflow", err)
				}
				if got != nil {
					got.Release()
				}
				got, err = evalOn(t, mem, Col("x").TryCast(to), in)
				if err != nil {
					t.Errorf("TRY_CAST (sliced %v): %v", slice, err)
				} else {
					if !array.Equal(got, want) {
						t.Errorf("TRY_CAST (sliced %v) = %s, want %s", slice, got, want)
					}
					got.Release()
				}
				in.Release()
			}
		})
	}
}

func TestCastStringToNumbers(t *testing.T) {
	runCastCases(t, []castCase{
		{"string", `[" 12 ", "-7", "+3", null, "\t5\n", "0"]`, "int", `[12, -7, 3, null, 5, 0]`, ""},
		{"string", `["1", "abc"]`, "int", `[1, null]`, "at row 1: CAST('abc' AS INT): the value is malformed"},
		{"string", `["1.5"]`, "int", `[null]`, "CAST('1.5' AS INT)"},
		{"string", `[""]`, "bigint", `[null]`, "CAST('' AS BIGINT)"},
		{"string", `["-"]`, "bigint", `[null]`, "CAST('-' AS BIGINT)"},
		{"string", `["2147483647", "2147483648"]`, "int", `[2147483647, null]`, "out of the range of int"},
		{"string", `["9223372036854775807", "-9223372036854775808"]`, "bigint", `[9223372036854775807, -9223372036854775808]`, ""},
		{"string", `["9223372036854775808"]`, "bigint", `[null]`, "CAST('9223372036854775808' AS BIGINT)"},
		{"string", `["127", "-128", "128"]`, "tinyint", `[127, -128, null]`, "CAST('128' AS TINYINT)"},
		{"string", `["-32768", "32767"]`, "smallint", `[-32768, 32767]`, ""},
		{"string", `["true", "T", "yes", "Y", "1", " false ", "f", "NO", "n", "0", null]`, "boolean",
			`[true, true, true, true, true, false, false, false, false, false, null]`, ""},
		{"string", `["maybe"]`, "boolean", `[null]`, "CAST('maybe' AS BOOLEAN)"},
		{"string", `["123.456", "-1.005", "1e2", ".5", "0.000", "-0", " 7 ", "1.2E-1"]`, "decimal(5,2)",
			`["123.46", "-1.01", "100.00", "0.50", "0.00", "0.00", "7.00", "0.12"]`, ""},
		{"string", `["999.995"]`, "decimal(5,2)", `[null]`, "CAST('999.995' AS DECIMAL(5,2)): the value is out of range"},
		{"string", `["1.2.3"]`, "decimal(5,2)", `[null]`, "malformed"},
		{"string", `["e5"]`, "decimal(5,2)", `[null]`, "malformed"},
		{"string", `["12345678901234567890123456789012345678"]`, "decimal(38,0)", `["12345678901234567890123456789012345678"]`, ""},
		{"string", `["123456789012345678901234567890123456789"]`, "decimal(38,0)", `[null]`, "out of range"},
	})
}

func TestCastStringToFloat(t *testing.T) {
	mem := checked(t)
	in := fromJSON(t, mem, arrow.BinaryTypes.String,
		`[" 1.5 ", "1e10", "NaN", "-Infinity", "inf", "1.5d", "2F", "0x1p3", "1e400", null, "-0.0", "1e-400"]`)
	defer in.Release()
	want := []float64{1.5, 1e10, math.NaN(), math.Inf(-1), math.Inf(1), 1.5, 2, 8, math.Inf(1), 0, math.Copysign(0, -1), 0}
	out, err := evalOn(t, mem, Col("x").Cast(arrow.PrimitiveTypes.Float64), in)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	f := out.(*array.Float64)
	for i, w := range want {
		if i == 9 {
			if f.IsValid(i) {
				t.Errorf("row 9 should be null")
			}
			continue
		}
		got := f.Value(i)
		if !(got == w && math.Signbit(got) == math.Signbit(w)) && !(math.IsNaN(got) && math.IsNaN(w)) {
			t.Errorf("row %d: %v, want %v", i, got, w)
		}
	}
	for _, bad := range []string{"abc", "", "1_000", "1.5x", "d"} {
		arr := fromJSON(t, mem, arrow.BinaryTypes.String, fmt.Sprintf("[%q]", bad))
		_, err := evalOn(t, mem, Col("x").Cast(arrow.PrimitiveTypes.Float64), arr)
		if err == nil || !errors.Is(err, ErrCast) || !strings.Contains(err.Error(), fmt.Sprintf("CAST('%s' AS DOUBLE)", bad)) {
			t.Errorf("CAST(%q AS DOUBLE): %v", bad, err)
		}
		arr.Release()
	}
	// float32: beyond its range is infinite, as Java's Float.parseFloat.
	f32in := fromJSON(t, mem, arrow.BinaryTypes.String, `["3.4e39", "0.1"]`)
	defer f32in.Release()
	f32, err := evalOn(t, mem, Col("x").Cast(arrow.PrimitiveTypes.Float32), f32in)
	if err != nil {
		t.Fatal(err)
	}
	defer f32.Release()
	if v := f32.(*array.Float32); !math.IsInf(float64(v.Value(0)), 1) || v.Value(1) != 0.1 {
		t.Errorf("float casts: %v", v)
	}
}

func TestCastNumbers(t *testing.T) {
	runCastCases(t, []castCase{
		{"bigint", `[1, -2147483648, 2147483647, null]`, "int", `[1, -2147483648, 2147483647, null]`, ""},
		{"bigint", `[1, 3000000000]`, "int", `[1, null]`, "at row 1: CAST(3000000000L AS INT): the value is out of range"},
		{"bigint", `[-2147483649]`, "int", `[null]`, "CAST(-2147483649L AS INT)"},
		{"int", `[127, 128, -129]`, "tinyint", `[127, null, null]`, "CAST(128 AS TINYINT)"},
		{"smallint", `[-5, 300]`, "bigint", `[-5, 300]`, ""},
		{"double", `[1.9, -1.9, 0.5, 2147483647.9, -2147483648.9, null]`, "int", `[1, -1, 0, 2147483647, -2147483648, null]`, ""},
		{"double", `[2147483648.0]`, "int", `[null]`, "CAST(2.147483648E9D AS INT)"},
		{"double", `[-9.223372036854775808e18]`, "bigint", `[-9223372036854775808]`, ""},
		{"double", `[9.223372036854775808e18]`, "bigint", `[null]`, "out of range"},
		{"float", `[1.5, -300.7]`, "smallint", `[1, -300]`, ""},
		{"bigint", `[9007199254740993, -3]`, "double", `[9007199254740992, -3]`, ""},
		{"double", `[1.5, 1e300]`, "float", `[1.5, "+Inf"]`, ""},
		{"boolean", `[true, false, null]`, "int", `[1, 0, null]`, ""},
		{"boolean", `[true, false]`, "double", `[1, 0]`, ""},
		{"int", `[0, 5, -1, null]`, "boolean", `[false, true, true, null]`, ""},
		{"double", `[0, 0.1]`, "boolean", `[false, true]`, ""},
		{"decimal(4,2)", `["0.00", "0.01"]`, "boolean", `[false, true]`, ""},
		{"boolean", `[true, false]`, "decimal(3,2)", `["1.00", "0.00"]`, ""},
		{"boolean", `[false, true]`, "decimal(2,2)", `["0.00", null]`, "CAST(true AS DECIMAL(2,2))"},
	})
}

func TestCastNaNToInt(t *testing.T) {
	mem := checked(t)
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		b := array.NewFloat64Builder(mem)
		b.AppendValues([]float64{1, v}, nil)
		in := b.NewArray()
		b.Release()
		_, err := evalOn(t, mem, Col("x").Cast(arrow.PrimitiveTypes.Int64), in)
		if err == nil || !errors.Is(err, ErrOverflow) || !strings.Contains(err.Error(), "at row 1") {
			t.Errorf("CAST(%v AS BIGINT): %v", v, err)
		}
		got, err := evalOn(t, mem, Col("x").TryCast(arrow.PrimitiveTypes.Int64), in)
		if err != nil || got.IsValid(1) || got.(*array.Int64).Value(0) != 1 {
			t.Errorf("TRY_CAST(%v AS BIGINT) = %v, %v", v, got, err)
		}
		got.Release()
		_, err = evalOn(t, mem, Col("x").Cast(mustType(t, "decimal(10,2)")), in)
		if err == nil {
			t.Errorf("CAST(%v AS DECIMAL) succeeded", v)
		}
		in.Release()
	}
}

func TestCastDecimals(t *testing.T) {
	runCastCases(t, []castCase{
		{"int", `[123, -5, 0, null]`, "decimal(5,2)", `["123.00", "-5.00", "0.00", null]`, ""},
		{"int", `[1000]`, "decimal(5,2)", `[null]`, "CAST(1000 AS DECIMAL(5,2)): the value is out of range"},
		{"bigint", `[-9223372036854775808]`, "decimal(19,0)", `["-9223372036854775808"]`, ""},
		{"bigint", `[9223372036854775807]`, "decimal(38,20)", `[null]`, "out of range"},
		{"double", `[2.675, 1.005, -2.675, 1e-10, 999.994, 0]`, "decimal(5,2)", `["2.68", "1.01", "-2.68", "0.00", "999.99", "0.00"]`, ""},
		{"double", `[999.995]`, "decimal(5,2)", `[null]`, "CAST(999.995D AS DECIMAL(5,2))"},
		{"double", `[1.5e30]`, "decimal(38,0)", `["1500000000000000000000000000000"]`, ""},
		{"float", `[0.1]`, "decimal(10,9)", `["0.100000001"]`, ""},
		{"decimal(10,3)", `["1234.567", "-0.005", "0.004", null]`, "decimal(6,2)", `["1234.57", "-0.01", "0.00", null]`, ""},
		{"decimal(10,3)", `["9999.995"]`, "decimal(6,2)", `[null]`, "CAST(9999.995BD AS DECIMAL(6,2))"},
		{"decimal(5,2)", `["123.45"]`, "decimal(20,10)", `["123.4500000000"]`, ""},
		{"decimal(10,2)", `["12.99", "-12.99", "0.5", null]`, "int", `[12, -12, 0, null]`, ""},
		{"decimal(20,0)", `["30000000000"]`, "int", `[null]`, "CAST(30000000000BD AS INT)"},
		{"decimal(20,0)", `["-128", "-129"]`, "tinyint", `[-128, null]`, "CAST(-129BD AS TINYINT)"},
		{"decimal(38,0)", `["-9223372036854775808", "9223372036854775807"]`, "bigint", `[-9223372036854775808, 9223372036854775807]`, ""},
		{"decimal(10,2)", `["12.34", "-0.01", null]`, "double", `[12.34, -0.01, null]`, ""},
		{"decimal(38,30)", `["1.000000000000000000000000000001"]`, "double", `[1]`, ""},
		{"decimal(10,2)", `["12.34"]`, "float", `[12.34]`, ""},
	})
}

func TestCastTemporal(t *testing.T) {
	day := func(y int, m time.Month, d int) string {
		return fmt.Sprint(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	us := func(s string) string {
		ts, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", s)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(ts.UnixMicro())
	}
	runCastCases(t, []castCase{
		{"string", `["2024-02-29", "2024", "2024-3", "2024-03-05 12:00:00", "2024-03-05T10", "1969-12-31", "0001-01-01", " 2000-1-2 ", null]`, "date",
			"[" + strings.Join([]string{day(2024, 2, 29), day(2024, 1, 1), day(2024, 3, 1), day(2024, 3, 5), day(2024, 3, 5), "-1", day(1, 1, 1), day(2000, 1, 2), "null"}, ", ") + "]", ""},
		{"string", `["2023-02-29"]`, "date", `[null]`, "CAST('2023-02-29' AS DATE)"},
		{"string", `["2024-13-01"]`, "date", `[null]`, "malformed"},
		{"string", `["24-01-01"]`, "date", `[null]`, "malformed"},
		{"string", `["2024-01-01x"]`, "date", `[null]`, "malformed"},
		{"string", `["2024-01-"]`, "date", `[null]`, "malformed"},
		{"string", `[
			"2024-01-02 03:04:05", "2024-01-02T03:04:05.123456Z", "2024-01-02 03:04:05.1234567", "2024-01-02T03:04:05+01:00",
			"2024-01-02 03:04:05 America/New_York", "2024-07-01 12:00:00 Europe/Paris", "2024-01-02", "1969-12-31 23:59:59.5",
			"2024-01-02 03:04", "2024-01-02 03:04:05 UTC+02:00", "2024-01-02T03:04:05-0130", "2024-01-02 03:04:05UTC", "2024-01-02T", null]`, "timestamp",
			"[" + strings.Join([]string{us("2024-01-02 03:04:05Z"), us("2024-01-02 03:04:05.123456Z"), us("2024-01-02 03:04:05.123456Z"), us("2024-01-02 02:04:05Z"),
				us("2024-01-02 08:04:05Z"), us("2024-07-01 10:00:00Z"), us("2024-01-02 00:00:00Z"), "-500000",
				us("2024-01-02 03:04:00Z"), us("2024-01-02 01:04:05Z"), us("2024-01-02 04:34:05Z"), us("2024-01-02 03:04:05Z"), us("2024-01-02 00:00:00Z"), "null"}, ", ") + "]", ""},
		{"string", `["2024-01-02 25:00:00"]`, "timestamp", `[null]`, "CAST('2024-01-02 25:00:00' AS TIMESTAMP)"},
		{"string", `["2024-01-02 03:04:05 Mars/Olympus"]`, "timestamp", `[null]`, "malformed"},
		{"string", `["12:00:00"]`, "timestamp", `[null]`, "malformed"},
		{"string", `["2024-01-02 03:04:05+25:00"]`, "timestamp", `[null]`, "malformed"},
		{"string", `["2024-01-02 03:04:05"]`, "timestamp_ntz", "[" + us("2024-01-02 03:04:05Z") + "]", ""},
		{"timestamp", `[-1500000, 0, 1700000000000000, null]`, "bigint", `[-2, 0, 1700000000, null]`, ""},
		{"timestamp", `[-1500000, 250000]`, "double", `[-1.5, 0.25]`, ""},
		{"timestamp", `[-1500000, 1]`, "decimal(10,3)", `["-1.500", "0.000"]`, ""},
		{"timestamp", `[1700000000000000]`, "int", `[1700000000]`, ""},
		{"timestamp", `[9000000000000000000]`, "int", `[null]`, "out of range"},
		{"bigint", `[1700000000, -2, null]`, "timestamp", `[1700000000000000, -2000000, null]`, ""},
		{"bigint", `[9223372036854775807]`, "timestamp", `[null]`, "CAST(9223372036854775807L AS TIMESTAMP)"},
		{"double", `[1.5, -0.25]`, "timestamp", `[1500000, -250000]`, ""},
		{"double", `[1e20]`, "timestamp", `[null]`, "out of range"},
		{"decimal(10,3)", `["1.5", "-0.001"]`, "timestamp", `[1500000, -1000]`, ""},
		{"timestamp", `[-1, 0, 86400000000]`, "date", `[-1, 0, 1]`, ""},
		{"date", `[-1, 0, 19782, null]`, "timestamp", `[-86400000000, 0, 1709164800000000, null]`, ""},
	})
}

func TestCastTimestampUnits(t *testing.T) {
	mem := checked(t)
	ms := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	ns := &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	in := fromJSON(t, mem, ms, `[1500, -1, null]`)
	defer in.Release()
	got, err := evalOn(t, mem, Col("x").Cast(timestampUTC), in)
	if err != nil {
		t.Fatal(err)
	}
	want := fromJSON(t, mem, timestampUTC, `[1500000, -1000, null]`)
	if !array.Equal(got, want) {
		t.Errorf("ms -> us: %s, want %s", got, want)
	}
	got.Release()
	want.Release()
	got, err = evalOn(t, mem, Col("x").Cast(arrow.BinaryTypes.String), in)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, got); v[0] != "1970-01-01 00:00:01.5" || v[1] != "1969-12-31 23:59:59.999" || v[2] != nil {
		t.Errorf("ms to string: %v", v)
	}
	got.Release()
	big := fromJSON(t, mem, ms, `[9000000000000000]`)
	defer big.Release()
	if _, err := evalOn(t, mem, Col("x").Cast(ns), big); err == nil || !errors.Is(err, ErrOverflow) {
		t.Errorf("ms -> ns overflow: %v", err)
	}
	got, err = evalOn(t, mem, Col("x").TryCast(ns), big)
	if err != nil || got.IsValid(0) {
		t.Errorf("try ms -> ns: %v %v", got, err)
	}
	got.Release()
	nsIn := fromJSON(t, mem, ns, `[-1, 1999]`)
	defer nsIn.Release()
	got, err = evalOn(t, mem, Col("x").Cast(timestampUTC), nsIn)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, got); v[0] != arrow.Timestamp(-1) || v[1] != arrow.Timestamp(1) {
		t.Errorf("ns -> us rounds down: %v", v)
	}
	got.Release()
}

func stringsOf(t testing.TB, a arrow.Array) []string {
	t.Helper()
	out := make([]string, a.Len())
	s := a.(*array.String)
	for i := range out {
		if s.IsNull(i) {
			out[i] = "<null>"
		} else {
			out[i] = s.Value(i)
		}
	}
	return out
}

func TestCastToString(t *testing.T) {
	cases := []struct {
		from, in string
		want     []string
	}{
		{"int", `[-5, 0, 2147483647, null]`, []string{"-5", "0", "2147483647", "<null>"}},
		{"tinyint", `[-128]`, []string{"-128"}},
		{"double", `[1.0, 1e10, 0.001, 1e-4, 123456.789, 1e7, 9999999.0, -0.0, 0.30000000000000004, 1.2345e-7, 100, 1e21, -2.5]`,
			[]string{"1.0", "1.0E10", "0.001", "1.0E-4", "123456.789", "1.0E7", "9999999.0", "-0.0", "0.30000000000000004", "1.2345E-7", "100.0", "1.0E21", "-2.5"}},
		{"double", `["NaN", "Inf", "-Inf"]`, []string{"NaN", "Infinity", "-Infinity"}},
		{"float", `[0.1, 1e10, 3.4028235e38, 1.5]`, []string{"0.1", "1.0E10", "3.4028235E38", "1.5"}},
		{"decimal(10,2)", `["12.30", "-0.05", "0.00", null]`, []string{"12.30", "-0.05", "0.00", "<null>"}},
		{"decimal(5,0)", `["7"]`, []string{"7"}},
		{"decimal(38,0)", `["-12345678901234567890123456789012345678"]`, []string{"-12345678901234567890123456789012345678"}},
		{"decimal(38,37)", `["-1.2345678901234567890123456789012345678"]`, []string{"-1.2345678901234567890123456789012345678"}},
		{"boolean", `[true, false, null]`, []string{"true", "false", "<null>"}},
		{"date", `[0, 19782, -1, -719162, 2932896, null]`, []string{"1970-01-01", "2024-02-29", "1969-12-31", "0001-01-01", "9999-12-31", "<null>"}},
		{"date", `[2932897, -719163]`, []string{"+10000-01-01", "0000-12-31"}},
		{"timestamp", `[0, 1500000, -1, 1709210096789000, 1000, null]`, []string{"1970-01-01 00:00:00", "1970-01-01 00:00:01.5", "1969-12-31 23:59:59.999999", "2024-02-29 12:34:56.789", "1970-01-01 00:00:00.001", "<null>"}},
		{"binary", `["aGk=", ""]`, []string{"hi", ""}},
		{"array<int>", `[[1, 2], null, [], [3, null]]`, []string{"[1, 2]", "<null>", "[]", "[3, null]"}},
		{"array<array<string>>", `[[["a", "b"], null, []]]`, []string{"[[a, b], null, []]"}},
		{"struct<a: int, b: string>", `[{"a": 1, "b": "x"}, null, {"a": null, "b": "y"}]`, []string{"{1, x}", "<null>", "{null, y}"}},
		{"struct<a: int, l: array<double>>", `[{"a": 1, "l": [1.5, 2]}]`, []string{"{1, [1.5, 2.0]}"}},
		{"map<string, int>", `[[{"key": "a", "value": 1}, {"key": "b", "value": null}], null, []]`, []string{"{a -> 1, b -> null}", "<null>", "{}"}},
	}
	for _, c := range cases {
		mem := checked(t)
		from := mustType(t, c.from)
		for _, slice := range []bool{false, true} {
			var in arrow.Array
			if slice {
				in = padded(t, mem, from, c.in)
			} else {
				in = fromJSON(t, mem, from, c.in)
			}
			got, err := evalOn(t, mem, Col("x").Cast(arrow.BinaryTypes.String), in)
			if err != nil {
				t.Errorf("CAST(%s AS STRING): %v", c.from, err)
			} else {
				if s := stringsOf(t, got); strings.Join(s, "|") != strings.Join(c.want, "|") {
					t.Errorf("CAST(%s %s AS STRING) (sliced %v) = %q, want %q", c.from, c.in, slice, s, c.want)
				}
				got.Release()
			}
			in.Release()
		}
	}
}

func TestCastStringBinary(t *testing.T) {
	mem := checked(t)
	in := fromJSON(t, mem, arrow.BinaryTypes.String, `["hi", null, ""]`)
	defer in.Release()
	bin, err := evalOn(t, mem, Col("x").Cast(arrow.BinaryTypes.Binary), in)
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Release()
	b := bin.(*array.Binary)
	if string(b.Value(0)) != "hi" || b.IsValid(1) || len(b.Value(2)) != 0 {
		t.Errorf("string to binary: %v", b)
	}
	// Large string columns convert through string.
	large := fromJSON(t, mem, arrow.BinaryTypes.LargeString, `["12", null]`)
	defer large.Release()
	n, err := evalOn(t, mem, Col("x").Cast(arrow.PrimitiveTypes.Int32), large)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, n); v[0] != int32(12) || v[1] != nil {
		t.Errorf("large string to int: %v", v)
	}
	n.Release()
	ls, err := evalOn(t, mem, Col("y").Cast(arrow.BinaryTypes.LargeString), large)
	if err != nil {
		t.Fatal(err)
	}
	if ls.DataType().ID() != arrow.LARGE_STRING || ls.(*array.LargeString).Value(1) != "1" {
		t.Errorf("int to large string: %v", ls)
	}
	ls.Release()
}

func TestCastNested(t *testing.T) {
	runCastCases(t, []castCase{
		{"array<string>", `[["1", "2"], null, [], [" 3 ", null]]`, "array<int>", `[[1, 2], null, [], [3, null]]`, ""},
		{"array<string>", `[["1"], ["2", "x"]]`, "array<int>", `[[1], [2, null]]`, "at row 1: CAST('x' AS INT)"},
		{"struct<a: string, b: double>", `[{"a": "1", "b": 1.5}, null, {"a": null, "b": 2}]`, "struct<x: int, y: bigint>",
			`[{"x": 1, "y": 1}, null, {"x": null, "y": 2}]`, ""},
		{"struct<a: string>", `[{"a": "1"}, {"a": "z"}]`, "struct<x: int>", `[{"x": 1}, {"x": null}]`, "at row 1: CAST('z' AS INT)"},
		{"map<string, string>", `[[{"key": "a", "value": "1"}], null, [{"key": "b", "value": null}, {"key": "c", "value": "3"}]]`, "map<string, int>",
			`[[{"key": "a", "value": 1}], null, [{"key": "b", "value": null}, {"key": "c", "value": 3}]]`, ""},
		{"map<string, string>", `[[{"key": "a", "value": "1"}], [{"key": "b", "value": "q"}]]`, "map<string, int>",
			`[[{"key": "a", "value": 1}], [{"key": "b", "value": null}]]`, "at row 1: CAST('q' AS INT)"},
		{"map<int, string>", `[[{"key": 1, "value": "a"}]]`, "map<string, string>", `[[{"key": "1", "value": "a"}]]`, ""},
	})
}

func TestCastNestedNullStructHidesValues(t *testing.T) {
	// A struct that is null keeps field values the cast must not read.
	mem := checked(t)
	st := arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true})
	child := fromJSON(t, mem, arrow.BinaryTypes.String, `["1", "garbage"]`)
	defer child.Release()
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(1)
	valid.Bytes()[0] = 0b01
	data := array.NewData(st, 2, []*memory.Buffer{valid}, []arrow.ArrayData{child.Data()}, 1, 0)
	valid.Release()
	in := array.MakeFromData(data)
	data.Release()
	defer in.Release()
	got, err := evalOn(t, mem, Col("x").Cast(mustType(t, "struct<a: int>")), in)
	if err != nil {
		t.Fatalf("cast reads a value hidden by a null struct: %v", err)
	}
	defer got.Release()
	if got.IsValid(1) || got.(*array.Struct).Field(0).(*array.Int32).Value(0) != 1 {
		t.Errorf("got %s", got)
	}
}

func TestCastBindErrors(t *testing.T) {
	schema := MustParseSchema("d DATE, i INT, s STRING, b BOOLEAN, bin BINARY, st STRUCT<a: INT, b: INT>, l ARRAY<INT>, m MAP<STRING, INT>, ts TIMESTAMP")
	cases := []struct {
		e    Expr
		want string
	}{
		{Col("d").Cast(arrow.PrimitiveTypes.Int32), "Spark does not cast date to int; use unix_date"},
		{Col("i").Cast(arrow.FixedWidthTypes.Date32), "Spark does not cast int to date"},
		{Col("s").Cast(arrow.ListOf(arrow.PrimitiveTypes.Int32)), "Spark does not cast string to array<int>"},
		{Col("b").Cast(timestampUTC), "Spark does not cast boolean to timestamp"},
		{Col("bin").Cast(arrow.PrimitiveTypes.Int32), "binary casts only to string"},
		{Col("st").Cast(mustType(t, "struct<a: int>")), "the structs have 2 and 1 fields"},
		{Col("l").Cast(mustType(t, "array<date>")), "array elements: Spark does not cast int to date"},
		{Col("m").Cast(mustType(t, "map<array<int>, int>")), "map keys: Spark does not cast string to array<int>"},
		{Col("ts").Cast(arrow.FixedWidthTypes.Boolean), "Spark does not cast timestamp to boolean"},
		{Col("i").Cast(arrow.FixedWidthTypes.Time32s), "casts to this Arrow type are not supported"},
		{Col("i").Cast(nil), "target type is nil"},
		{Col("i").Cast(arrow.Null), "only NULL casts to void"},
		{Call("cast", Col("i"), Lit("NOPE")), `unknown type "NOPE"`},
		{Call("cast", Col("i"), Col("s")), "the second argument must be a type name"},
		{Lit("abc").Cast(arrow.PrimitiveTypes.Int32), "CAST('abc' AS INT): the value is malformed"},
		{Lit(int64(1) << 40).Cast(arrow.PrimitiveTypes.Int32).Add(Col("i")), "CAST(1099511627776L AS INT): the value is out of range"},
	}
	for _, c := range cases {
		_, err := c.e.Bind(schema)
		if err == nil {
			t.Errorf("Bind(%s) succeeded", c.e)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "expr: ") {
			t.Errorf("Bind(%s) error %q does not contain %q", c.e, err, c.want)
		}
	}
	// Constant errors name the expression without a row.
	_, err := Lit(int64(1) << 40).Cast(arrow.PrimitiveTypes.Int32).Add(Col("i")).Bind(schema)
	if !errors.Is(err, ErrOverflow) || strings.Contains(err.Error(), "row") || !strings.Contains(err.Error(), "in (CAST(1099511627776 AS INT) + i)") {
		t.Errorf("constant overflow error: %v", err)
	}
}

func TestCastConstantsAndNames(t *testing.T) {
	mem := checked(t)
	schema := MustParseSchema("x STRING")
	cases := []struct {
		e           Expr
		name, bound string
	}{
		{Col("x").Cast(arrow.PrimitiveTypes.Int64), "CAST(x AS BIGINT)", "CAST(x AS BIGINT)"},
		{Col("x").TryCast(mustType(t, "decimal(10,2)")), "TRY_CAST(x AS DECIMAL(10,2))", "TRY_CAST(x AS DECIMAL(10,2))"},
		{Col("x").Cast(mustType(t, "array<struct<a: int>>")), "CAST(x AS ARRAY<STRUCT<a: INT>>)", ""},
		{Lit("12").Cast(arrow.PrimitiveTypes.Int32), "CAST(12 AS INT)", "12"},
		{Lit("abc").TryCast(arrow.PrimitiveTypes.Int32), "TRY_CAST(abc AS INT)", "NULL"},
		{Call("cast", Col("x"), Lit("bigint")), "cast(x, bigint)", "CAST(x AS BIGINT)"},
		{Call("try_cast", Lit("2024-02-29"), Lit("date")), "try_cast(2024-02-29, date)", "2024-02-29"},
		{Lit(nil).Cast(arrow.PrimitiveTypes.Int32), "CAST(NULL AS INT)", "NULL"},
	}
	for _, c := range cases {
		if got := c.e.String(); got != c.name {
			t.Errorf("String() = %q, want %q", got, c.name)
		}
		if c.bound == "" {
			continue
		}
		b, err := c.e.Bind(schema)
		if err != nil {
			t.Errorf("Bind(%s): %v", c.e, err)
			continue
		}
		if got := b.String(); got != c.bound {
			t.Errorf("Bound(%s).String() = %q, want %q", c.e, got, c.bound)
		}
	}
	// A folded constant is repeated to the batch length.
	in := fromJSON(t, mem, arrow.BinaryTypes.String, `["a", "b"]`)
	defer in.Release()
	got, err := evalOn(t, mem, Lit("2024-02-29 10:00:00").Cast(timestampUTC), in)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	want := arrow.Timestamp(time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC).UnixMicro())
	if v := values(t, got); v[0] != want || v[1] != want {
		t.Errorf("constant cast: %v", v)
	}
	// Nullability: CAST keeps the input's, TRY_CAST may add nulls.
	nn := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.BinaryTypes.String}}, nil)
	b1, _ := Col("x").Cast(arrow.PrimitiveTypes.Int32).Bind(nn)
	b2, _ := Col("x").TryCast(arrow.PrimitiveTypes.Int32).Bind(nn)
	if b1.Field().Nullable || !b2.Field().Nullable {
		t.Errorf("nullable: cast %v, try_cast %v", b1.Field().Nullable, b2.Field().Nullable)
	}
}

func TestCastDictionaryAndNull(t *testing.T) {
	mem := checked(t)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"1", "2", "1"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	in := b.NewArray()
	b.Release()
	defer in.Release()
	got, err := evalOn(t, mem, Col("x").Cast(arrow.PrimitiveTypes.Int64), in)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, got); !sameValues(v, []any{int64(1), int64(2), int64(1), nil}) {
		t.Errorf("dictionary cast: %v", v)
	}
	got.Release()
	// An all-null column casts without reading its values.
	nulls := array.MakeArrayOfNull(mem, arrow.BinaryTypes.String, 3)
	defer nulls.Release()
	got, err = evalOn(t, mem, Col("x").Cast(mustType(t, "decimal(10,2)")), nulls)
	if err != nil || got.NullN() != 3 {
		t.Errorf("all-null cast: %v, %v", got, err)
	}
	got.Release()
	empty := fromJSON(t, mem, arrow.BinaryTypes.String, `[]`)
	defer empty.Release()
	got, err = evalOn(t, mem, Col("x").Cast(timestampUTC), empty)
	if err != nil || got.Len() != 0 {
		t.Errorf("empty cast: %v, %v", got, err)
	}
	got.Release()
}

func TestAppendJavaFloat(t *testing.T) {
	cases := []struct {
		f    float64
		bits int
		want string
	}{
		{1, 64, "1.0"}, {0.5, 64, "0.5"}, {1234567, 64, "1234567.0"}, {12345678, 64, "1.2345678E7"},
		{0.00123, 64, "0.00123"}, {0.000123, 64, "1.23E-4"}, {math.MaxFloat64, 64, "1.7976931348623157E308"},
		{5e-324, 64, "4.9E-324"}, {-1e100, 64, "-1.0E100"}, {float64(float32(0.3)), 32, "0.3"},
		{float64(float32(16777216)), 32, "1.6777216E7"},
	}
	for _, c := range cases {
		if got := string(appendJavaFloat(nil, c.f, c.bits)); got != c.want {
			t.Errorf("appendJavaFloat(%v, %d) = %q, want %q", c.f, c.bits, got, c.want)
		}
	}
}

func TestCivilDays(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-400, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC),
	} {
		days := d.Unix() / 86400
		if d.Unix() < 0 && d.Unix()%86400 != 0 {
			days--
		}
		if got := daysFromDate(int64(d.Year()), int(d.Month()), d.Day()); got != days {
			t.Errorf("daysFromDate(%s) = %d, want %d", d, got, days)
		}
		y, m, dd := dateFromDays(days)
		if y != int64(d.Year()) || m != int(d.Month()) || dd != d.Day() {
			t.Errorf("dateFromDays(%d) = %d-%d-%d, want %s", days, y, m, dd, d)
		}
	}
}
