package expr

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// FuzzParseSchema: no input panics, and a schema read back from the type
// names TypeString writes has the same types.
func FuzzParseSchema(f *testing.F) {
	for _, s := range []string{
		"id BIGINT, name STRING NOT NULL, ts TIMESTAMP, price DECIMAL(10,2), tags ARRAY<STRING>, attrs MAP<STRING, INT>, loc STRUCT<lat: DOUBLE, lon: DOUBLE>",
		"`a``b` INT COMMENT 'x'", "s STRUCT<>", "x DECIMAL(38,38)", "m MAP<INT, ARRAY<STRUCT<a: DATE>>>", "a VARCHAR(3), b CHAR(1)",
		"a INT,", "<", "a ARRAY<", "'", "`",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ddl string) {
		s, err := ParseSchema(ddl)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "expr: ") {
				t.Errorf("error without prefix: %v", err)
			}
			return
		}
		for _, fld := range s.Fields() {
			name := TypeString(fld.Type)
			back, err := ParseType(name)
			if err != nil {
				t.Fatalf("ParseType(TypeString(%s) = %q): %v", fld.Type, name, err)
			}
			if TypeString(back) != name {
				t.Fatalf("round trip of %q gave %q", name, TypeString(back))
			}
		}
	})
}

// FuzzParseTimestamp: no input panics, and a timestamp read from a
// string formats to a string that reads back to the same instant.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-02-29 12:34:56.789", "1969-12-31T23:59:59.999999Z", "0001-01-01", "+10000-01-01 00:00:00",
		"2024-01-02 03:04:05 America/New_York", "2024-01-02T03:04:05-01:30", "2024-1-2 3:4", "-0044-03-15"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, ok := parseTimestamp([]byte(s))
		if d, ok := parseDate([]byte(s)); ok {
			if back, ok := parseDate(appendDate(nil, d)); !ok || back != d {
				t.Fatalf("date %q = %d formats as %q, which reads as %d, %v", s, d, appendDate(nil, d), back, ok)
			}
		}
		if !ok {
			return
		}
		text := appendTimestamp(nil, us)
		back, ok := parseTimestamp(text)
		if !ok || back != us {
			t.Fatalf("%q = %d formats as %q, which reads as %d, %v", s, us, text, back, ok)
		}
	})
}

// FuzzParseDecimal: no input panics, and a decimal read from a string
// formats to a string that reads back to the same value.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"123.456", "-1.005", "1e2", ".5", "0", "-0.000", "99999999999999999999999999999999999999", "1e-40", "5e37"} {
		f.Add(s, uint8(10), uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, p, sc uint8) {
		prec := int32(p%38) + 1
		scale := int32(sc) % (prec + 1)
		n, malformed, fits := parseDecimal([]byte(s), prec, scale)
		if malformed || !fits {
			return
		}
		text := appendDecimal(nil, n, scale)
		back, malformed, fits := parseDecimal(text, prec, scale)
		if malformed || !fits || back != n {
			t.Fatalf("%q at (%d,%d) formats as %q, which reads as %v (malformed %v, fits %v)", s, prec, scale, text, back, malformed, fits)
		}
		if _, err := strconv.ParseFloat(string(text), 64); err != nil {
			t.Fatalf("%q formats as %q, not a number", s, text)
		}
	})
}

// FuzzJavaFloat: the text of a double reads back to the same double.
func FuzzJavaFloat(f *testing.F) {
	for _, v := range []float64{0, 1, 0.1, 1e7, 1e-3, 9999999.999, 5e-324, math.MaxFloat64, -2.5e-10, 123456789012345680} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		for _, bits := range []int{32, 64} {
			x := v
			if bits == 32 {
				x = float64(float32(v))
			}
			text := string(appendJavaFloat(nil, x, bits))
			back, err := strconv.ParseFloat(text, bits)
			if math.IsNaN(x) {
				if text != "NaN" {
					t.Fatalf("NaN formats as %q", text)
				}
				continue
			}
			if err != nil && !math.IsInf(x, 0) {
				t.Fatalf("%v (%d bits) formats as %q: %v", x, bits, text, err)
			}
			if !math.IsInf(x, 0) && back != x {
				t.Fatalf("%v (%d bits) formats as %q, which reads as %v", x, bits, text, back)
			}
			if !strings.ContainsAny(text, ".IN") {
				t.Fatalf("%v formats as %q, without a point", x, text)
			}
		}
	})
}

func TestCastInvalidUTF8(t *testing.T) {
	mem := checked(t)
	b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.String)
	b.AppendString("\xff1")
	b.AppendString("7")
	b.AppendString("\xc3\x28")
	in := b.NewArray()
	b.Release()
	defer in.Release()
	_, err := evalOn(t, mem, Col("x").Cast(arrow.PrimitiveTypes.Int32), in)
	if err == nil || !strings.Contains(err.Error(), "at row 0") || !strings.Contains(err.Error(), "'\xff1'") {
		t.Errorf("CAST of invalid UTF-8: %v", err)
	}
	got, err := evalOn(t, mem, Col("x").TryCast(arrow.PrimitiveTypes.Int32), in)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, got); !sameValues(v, []any{nil, int32(7), nil}) {
		t.Errorf("TRY_CAST of invalid UTF-8: %v", v)
	}
	got.Release()
	// To binary and back keeps the bytes.
	bin, err := evalOn(t, mem, Col("x").Cast(arrow.BinaryTypes.Binary).Cast(arrow.BinaryTypes.String), in)
	if err != nil {
		t.Fatal(err)
	}
	if s := bin.(*array.String); s.Value(0) != "\xff1" || s.Value(2) != "\xc3\x28" {
		t.Errorf("binary round trip: %q %q", s.Value(0), s.Value(2))
	}
	bin.Release()
	for _, typ := range []string{"date", "timestamp", "decimal(5,2)", "boolean", "double"} {
		got, err := evalOn(t, mem, Col("x").TryCast(mustType(t, typ)), in)
		if err != nil {
			t.Errorf("TRY_CAST(invalid UTF-8 AS %s): %v", typ, err)
			continue
		}
		if got.IsValid(0) || got.IsValid(2) {
			t.Errorf("TRY_CAST(invalid UTF-8 AS %s) = %v", typ, got)
		}
		got.Release()
	}
}
