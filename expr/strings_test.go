package expr

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Helpers for the string and hash function tests.

var (
	tStr    = arrow.BinaryTypes.String
	tBin    = arrow.BinaryTypes.Binary
	tI64    = arrow.PrimitiveTypes.Int64
	tStrArr = arrow.ListOf(arrow.BinaryTypes.String)
	tI64Arr = arrow.ListOf(arrow.PrimitiveTypes.Int64)
)

func sCol(name string, vals ...any) column { return column{name, tStr, vals} }
func iCol(name string, vals ...any) column {
	for i, v := range vals {
		if n, ok := v.(int); ok {
			vals[i] = int64(n)
		}
	}
	return column{name, tI64, vals}
}

// sxRecord builds a record like record, also for binary ([]byte values)
// and list (values []any) columns; the caller releases it.
func sxRecord(t testing.TB, mem memory.Allocator, cols ...column) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	rows := -1
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
		b := array.NewBuilder(mem, c.typ)
		for _, v := range c.vals {
			if err := sxAppend(b, v); err != nil {
				t.Fatalf("column %s: %v", c.name, err)
			}
		}
		arrs[i] = b.NewArray()
		b.Release()
		if rows >= 0 && rows != len(c.vals) {
			t.Fatalf("column %s has %d values, others %d", c.name, len(c.vals), rows)
		}
		rows = len(c.vals)
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(max(rows, 0)))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func sxAppend(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.BinaryBuilder:
		if s, ok := v.(string); ok {
			b.AppendString(s)
			return nil
		}
		b.Append(v.([]byte))
	case *array.ListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			if err := sxAppend(b.ValueBuilder(), e); err != nil {
				return err
			}
		}
	case *array.Int64Builder:
		if n, ok := v.(int); ok {
			b.Append(int64(n))
			return nil
		}
		b.Append(v.(int64))
	default:
		return appendValue(b, v)
	}
	return nil
}

// sxValues reads an array into Go values: nil for null, []any for a list,
// []byte for binary, and the Go value otherwise.
func sxValues(t testing.TB, a arrow.Array) []any {
	t.Helper()
	out := make([]any, a.Len())
	for i := range out {
		if a.IsNull(i) {
			continue
		}
		switch a := a.(type) {
		case *array.String:
			out[i] = a.Value(i)
		case *array.Binary:
			out[i] = append([]byte{}, a.Value(i)...)
		case *array.Int32:
			out[i] = a.Value(i)
		case *array.Int64:
			out[i] = a.Value(i)
		case *array.Boolean:
			out[i] = a.Value(i)
		case *array.List:
			lo, hi := a.ValueOffsets(i)
			elems := array.NewSlice(a.ListValues(), lo, hi)
			out[i] = sxValues(t, elems)
			elems.Release()
		default:
			t.Fatalf("no test support for %T", a)
		}
	}
	return out
}

// sxEval binds e to rec's schema, evaluates it and returns the values, or
// the error of Bind or Eval.
func sxEval(t testing.TB, mem memory.Allocator, e Expr, rec arrow.RecordBatch) ([]any, error) {
	t.Helper()
	b, err := e.Bind(rec.Schema())
	if err != nil {
		return nil, err
	}
	arr, err := b.Eval(context.Background(), rec, mem)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	if arr.Len() != int(rec.NumRows()) {
		t.Fatalf("Eval(%s) has %d rows, want %d", e, arr.Len(), rec.NumRows())
	}
	if !arrow.TypeEqual(arr.DataType(), b.Field().Type) {
		t.Fatalf("Eval(%s) is %s, but Field says %s", e, arr.DataType(), b.Field().Type)
	}
	if !b.Field().Nullable && arr.NullN() > 0 {
		t.Fatalf("Eval(%s) has %d nulls, but Field says it is not nullable", e, arr.NullN())
	}
	// Validate checks offsets and buffer sizes (ValidateFull would also
	// refuse the invalid UTF-8 the tests keep on purpose).
	if v, ok := arr.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			t.Fatalf("Eval(%s) gave an invalid array: %v", e, err)
		}
	}
	return sxValues(t, arr), nil
}

// sxCase is one expression and its values over a test record.
type sxCase struct {
	e    Expr
	want []any
}

// sxRun evaluates every case over a record of cols, and again over the
// record sliced from row 1 (so offsets into shared buffers are exercised),
// with a checked allocator per case.
func sxRun(t *testing.T, cols []column, cases []sxCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.e.String(), func(t *testing.T) {
			mem := checked(t)
			rec := sxRecord(t, mem, cols...)
			defer rec.Release()
			got, err := sxEval(t, mem, c.e, rec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
			if rec.NumRows() < 2 {
				return
			}
			sl := rec.NewSlice(1, rec.NumRows())
			defer sl.Release()
			got, err = sxEval(t, mem, c.e, sl)
			if err != nil {
				t.Fatalf("sliced: %v", err)
			}
			if !reflect.DeepEqual(got, c.want[1:]) {
				t.Fatalf("sliced: got  %q\nwant %q", got, c.want[1:])
			}
		})
	}
}

// sxConst checks that e, made of constants only, folds at Bind to a
// constant equal to want.
func sxConst(t *testing.T, e Expr, want any) {
	t.Helper()
	mem := checked(t)
	rec := sxRecord(t, mem, iCol("unused", 1, 2))
	defer rec.Release()
	b, err := e.Bind(rec.Schema())
	if err != nil {
		t.Fatalf("%s: %v", e, err)
	}
	if _, ok := b.root.(*bLit); !ok {
		t.Errorf("%s was not folded at Bind: %s", e, b)
	}
	got, err := sxEval(t, mem, e, rec)
	if err != nil {
		t.Fatalf("%s: %v", e, err)
	}
	if !reflect.DeepEqual(got, []any{want, want}) {
		t.Errorf("%s = %q, want %q", e, got[0], want)
	}
}

// sxFails checks that e fails (at Bind or Eval) with an error containing
// every one of parts.
func sxFails(t *testing.T, cols []column, e Expr, parts ...string) error {
	t.Helper()
	mem := checked(t)
	rec := sxRecord(t, mem, cols...)
	defer rec.Release()
	_, err := sxEval(t, mem, e, rec)
	if err == nil {
		t.Fatalf("%s: no error, want one containing %q", e, parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not contain %q", e, err, p)
		}
	}
	return err
}

func strs(vals ...any) []any { return vals }

// ---- tests ----

var mixedStrings = sCol("s", nil, "", "Hello World", "ÀÉÎ ǅx", "a\xffB", "日本語", "İı")

func TestCaseMapping(t *testing.T) {
	sxRun(t, []column{mixedStrings}, []sxCase{
		{Call("lower", Col("s")), strs(nil, "", "hello world", "àéî ǆx", "a\xffb", "日本語", "iı")},
		{Call("lcase", Col("s")), strs(nil, "", "hello world", "àéî ǆx", "a\xffb", "日本語", "iı")},
		{Call("upper", Col("s")), strs(nil, "", "HELLO WORLD", "ÀÉÎ ǄX", "A\xffB", "日本語", "İI")},
		{Call("ucase", Col("s")), strs(nil, "", "HELLO WORLD", "ÀÉÎ ǄX", "A\xffB", "日本語", "İI")},
		{Call("initcap", Col("s")), strs(nil, "", "Hello World", "Àéî ǅx", "A\xffb", "日本語", "İı")},
	})
	// All ASCII: the whole data buffer is mapped at once.
	sxRun(t, []column{sCol("a", "ABC", nil, "dEf", "x y Z", "")}, []sxCase{
		{Call("lower", Col("a")), strs("abc", nil, "def", "x y z", "")},
		{Call("upper", Col("a")), strs("ABC", nil, "DEF", "X Y Z", "")},
		{Call("initcap", Col("a")), strs("Abc", nil, "Def", "X Y Z", "")},
	})
	sxRun(t, []column{sCol("a", "sPark sql", "hello-world  foo", " x")}, []sxCase{
		{Call("initcap", Col("a")), strs("Spark Sql", "Hello-world  Foo", " X")},
	})
	sxConst(t, Call("upper", Lit("straße")), "STRAßE")
	sxConst(t, Call("lower", Lit(nil)), nil)
	// Integers are converted to their text, as Spark does implicitly.
	sxConst(t, Call("lower", Lit(12)), "12")
}

func TestLength(t *testing.T) {
	sxRun(t, []column{mixedStrings}, []sxCase{
		{Call("length", Col("s")), strs(nil, int32(0), int32(11), int32(6), int32(3), int32(3), int32(2))},
		{Call("char_length", Col("s")), strs(nil, int32(0), int32(11), int32(6), int32(3), int32(3), int32(2))},
		{Call("character_length", Col("s")), strs(nil, int32(0), int32(11), int32(6), int32(3), int32(3), int32(2))},
		{Call("octet_length", Col("s")), strs(nil, int32(0), int32(11), int32(10), int32(3), int32(9), int32(4))},
		{Call("bit_length", Col("s")), strs(nil, int32(0), int32(88), int32(80), int32(24), int32(72), int32(32))},
	})
	sxRun(t, []column{sCol("a", "abc", nil, "", "xy")}, []sxCase{
		{Call("length", Col("a")), strs(int32(3), nil, int32(0), int32(2))},
	})
	// Binary lengths are in bytes.
	sxRun(t, []column{{"b", tBin, strs([]byte("日本"), nil, []byte{})}}, []sxCase{
		{Call("length", Col("b")), strs(int32(6), nil, int32(0))},
	})
	sxConst(t, Call("length", Lit("日本")), int32(2))
	sxConst(t, Call("length", Lit(nil)), nil)
}

func TestSubstring(t *testing.T) {
	const sp = "Spark SQL"
	cols := []column{
		sCol("s", sp, sp, sp, sp, sp, sp, sp, "日本語テキスト", "a\xffb", nil, sp, ""),
		iCol("p", 5, -3, 5, 0, -20, -10, 100, 2, 2, 1, nil, 1),
		iCol("l", 1, 2, 100, 3, 5, 5, 1, 3, 1, 1, 1, 1),
	}
	sxRun(t, cols, []sxCase{
		{Call("substring", Col("s"), Col("p")),
			strs("k SQL", "SQL", "k SQL", sp, sp, sp, "", "本語テキスト", "\xffb", nil, nil, "")},
		{Call("substr", Col("s"), Col("p"), Col("l")),
			strs("k", "SQ", "k SQL", "Spa", "", "Spar", "", "本語テ", "\xff", nil, nil, "")},
		{Col("s").Substr(Lit(2), Lit(3)),
			strs("par", "par", "par", "par", "par", "par", "par", "本語テ", "\xffb", nil, "par", "")},
		{Call("substring", Lit(sp), Col("p"), Lit(2)),
			strs("k ", "SQ", "k ", "Sp", "", "S", "", "pa", "pa", "Sp", nil, "Sp")},
		{Call("left", Col("s"), Lit(3)),
			strs("Spa", "Spa", "Spa", "Spa", "Spa", "Spa", "Spa", "日本語", "a\xffb", nil, "Spa", "")},
		{Call("right", Col("s"), Lit(3)),
			strs("SQL", "SQL", "SQL", "SQL", "SQL", "SQL", "SQL", "キスト", "a\xffb", nil, "SQL", "")},
	})
	sxRun(t, []column{iCol("n", 3, 0, -1, 100, nil, math.MinInt64, math.MaxInt64)}, []sxCase{
		{Call("left", Lit(sp), Col("n")), strs("Spa", "", "", sp, nil, "", sp)},
		{Call("right", Lit(sp), Col("n")), strs("SQL", "", "", sp, nil, "", sp)},
		{Call("substring", Lit(sp), Col("n"), Col("n")), strs("ark", "", "", "", nil, "", "")},
		{Call("substring", Lit(sp), Lit(1), Col("n")), strs("Spa", "", "", sp, nil, "", sp)},
		{Call("substring", Lit(sp), Col("n")), strs("ark SQL", sp, "L", "", nil, "Spark SQ", "")},
	})
	sxRun(t, []column{{"b", tBin, strs([]byte{1, 2, 3}, nil, []byte{0xff, 0xfe})}}, []sxCase{
		{Call("substring", Col("b"), Lit(2)), strs([]byte{2, 3}, nil, []byte{0xfe})},
		{Call("substring", Col("b"), Lit(-1), Lit(5)), strs([]byte{3}, nil, []byte{0xfe})},
	})
	// Narrower integer positions are widened.
	sxRun(t, []column{{"p32", arrow.PrimitiveTypes.Int32, []any{int32(1), nil, int32(-3)}}, {"l8", arrow.PrimitiveTypes.Int8, []any{int8(2), int8(1), nil}}}, []sxCase{
		{Call("substring", Lit(sp), Col("p32"), Col("l8")), strs("Sp", nil, nil)},
		{Call("substring", Lit(sp), Col("p32")), strs(sp, nil, "SQL")},
	})
	sxConst(t, Call("substr", Lit(sp), Lit(5), Lit(1)), "k")
	sxConst(t, Call("substr", Lit(sp), Lit(2), Lit(-1)), "")
	sxConst(t, Call("substr", Lit(sp), Lit(int32(-3))), "SQL")
	sxConst(t, Call("substr", Lit(sp), Lit(nil)), nil)
	err := sxFails(t, []column{mixedStrings}, Call("substring", Col("s"), Lit("x")), "substring(s, x)", "argument 2", "string", "integer")
	if !errors.Is(err, ErrType) {
		t.Errorf("error %v is not ErrType", err)
	}
}

func TestConcat(t *testing.T) {
	cols := []column{
		sCol("a", "x", nil, "", "日"),
		sCol("b", "y", "z", "", nil),
		iCol("i", 1, 2, 3, 4),
		{"ba", tBin, strs([]byte{1}, nil, []byte{}, []byte{2, 3})},
		{"bb", tBin, strs([]byte{9}, []byte{8}, []byte{}, []byte{4})},
		{"l1", tStrArr, strs([]any{"a", "b"}, nil, []any{}, []any{"c"})},
		{"l2", tStrArr, strs([]any{"c"}, []any{"d"}, []any{"e", nil}, nil)},
	}
	sxRun(t, cols, []sxCase{
		{Call("concat", Col("a"), Lit("-"), Col("b")), strs("x-y", nil, "-", nil)},
		{Call("concat", Col("a")), strs("x", nil, "", "日")},
		{Call("concat"), strs("", "", "", "")},
		{Call("concat", Col("i"), Col("a")), strs("1x", nil, "3", "4日")},
		{Call("concat", Col("a"), Lit(nil)), strs(nil, nil, nil, nil)},
		{Call("concat", Col("ba"), Col("bb")), strs([]byte{1, 9}, nil, []byte{}, []byte{2, 3, 4})},
		{Call("concat", Col("l1"), Col("l2")), strs([]any{"a", "b", "c"}, nil, []any{"e", nil}, nil)},
		{Call("concat", Col("l2"), Col("l1"), Col("l2")), strs([]any{"c", "a", "b", "c"}, nil, []any{"e", nil, "e", nil}, nil)},
		{Call("concat_ws", Lit(","), Col("a"), Col("b")), strs("x,y", "z", ",", "日")},
		{Call("concat_ws", Lit("/"), Lit(nil), Col("a"), Lit("z")), strs("x/z", "z", "/z", "日/z")},
		{Call("concat_ws", Col("b"), Col("a"), Col("a")), strs("xyx", "", "", nil)},
		{Call("concat_ws", Lit(nil), Col("a")), strs(nil, nil, nil, nil)},
		{Call("concat_ws", Lit(",")), strs("", "", "", "")},
		{Call("concat_ws", Lit(", "), Col("l1"), Col("a"), Col("l2")), strs("a, b, x, c", "d", ", e", "c, 日")},
		{Call("concat_ws", Lit("-"), Col("i"), Col("i")), strs("1-1", "2-2", "3-3", "4-4")},
	})
	sxConst(t, Call("concat", Lit("Spark"), Lit("SQL")), "SparkSQL")
	sxConst(t, Call("concat_ws", Lit(" "), Lit("Spark"), Lit("SQL")), "Spark SQL")
	sxFails(t, cols, Call("concat", Col("a"), Col("ba")), "concat(a, ba)", "argument 2", "binary")
	sxFails(t, cols, Call("concat", Col("a"), Col("l1")), "concat(a, l1)", "arrays")
	sxFails(t, cols, Call("concat_ws", Lit(","), Col("l1"), Col("ba")), "concat_ws(,, l1, ba)", "argument 3")
}

func TestConcatWsIntArray(t *testing.T) {
	sxFails(t, []column{{"l", tI64Arr, strs([]any{int64(1)})}}, Call("concat_ws", Lit(","), Col("l")), "array<string>")
}

func TestTrim(t *testing.T) {
	cols := []column{
		sCol("s", "  SparkSQL   ", "\tx ", "", nil, "\xff a \xff", "SSparkSQLS", "ééaé"),
		sCol("c", " ", "x\t", "", "a", "\xff", "S", "é"),
	}
	sxRun(t, cols, []sxCase{
		{Call("trim", Col("s")), strs("SparkSQL", "\tx", "", nil, "\xff a \xff", "SSparkSQLS", "ééaé")},
		{Call("ltrim", Col("s")), strs("SparkSQL   ", "\tx ", "", nil, "\xff a \xff", "SSparkSQLS", "ééaé")},
		{Call("rtrim", Col("s")), strs("  SparkSQL", "\tx", "", nil, "\xff a \xff", "SSparkSQLS", "ééaé")},
		{Call("trim", Col("s"), Lit("SLé")), strs("  SparkSQL   ", "\tx ", "", nil, "\xff a \xff", "parkSQ", "a")},
		{Call("btrim", Col("s"), Lit("SLé")), strs("  SparkSQL   ", "\tx ", "", nil, "\xff a \xff", "parkSQ", "a")},
		{Call("ltrim", Col("s"), Lit("SLé")), strs("  SparkSQL   ", "\tx ", "", nil, "\xff a \xff", "parkSQLS", "aé")},
		{Call("rtrim", Col("s"), Lit("SLé")), strs("  SparkSQL   ", "\tx ", "", nil, "\xff a \xff", "SSparkSQ", "ééa")},
		{Call("trim", Col("s"), Col("c")), strs("SparkSQL", " ", "", nil, "\xff a \xff", "parkSQL", "a")},
		{Call("trim", Col("s"), Lit("")), strs("  SparkSQL   ", "\tx ", "", nil, "\xff a \xff", "SSparkSQLS", "ééaé")},
		{Call("trim", Col("s"), Lit(nil)), strs(nil, nil, nil, nil, nil, nil, nil)},
	})
	sxConst(t, Call("trim", Lit("    SparkSQL   ")), "SparkSQL")
	sxConst(t, Call("btrim", Lit("abcaabaSparkSQLabcaaba"), Lit("abc")), "SparkSQL")
}

func TestSplit(t *testing.T) {
	cols := []column{
		sCol("s", "oneAtwoBthreeC", "a,b,c", "", "abc", ",a", "a,", nil),
		sCol("p", "[ABC]", ",", ",", "", ",", "(,)", ","),
	}
	sxRun(t, cols, []sxCase{
		{Call("split", Col("s"), Lit("[ABC,]")), strs(
			[]any{"one", "two", "three", ""}, []any{"a", "b", "c"}, []any{""}, []any{"abc"}, []any{"", "a"}, []any{"a", ""}, nil)},
		{Call("split", Col("s"), Lit("[ABC,]"), Lit(-1)), strs(
			[]any{"one", "two", "three", ""}, []any{"a", "b", "c"}, []any{""}, []any{"abc"}, []any{"", "a"}, []any{"a", ""}, nil)},
		{Call("split", Col("s"), Lit("[ABC,]"), Lit(0)), strs(
			[]any{"one", "two", "three", ""}, []any{"a", "b", "c"}, []any{""}, []any{"abc"}, []any{"", "a"}, []any{"a", ""}, nil)},
		{Call("split", Col("s"), Lit("[ABC,]"), Lit(2)), strs(
			[]any{"one", "twoBthreeC"}, []any{"a", "b,c"}, []any{""}, []any{"abc"}, []any{"", "a"}, []any{"a", ""}, nil)},
		{Call("split", Col("s"), Lit(","), Lit(1)), strs(
			[]any{"oneAtwoBthreeC"}, []any{"a,b,c"}, []any{""}, []any{"abc"}, []any{",a"}, []any{"a,"}, nil)},
		{Call("split", Col("s"), Lit(",")), strs(
			[]any{"oneAtwoBthreeC"}, []any{"a", "b", "c"}, []any{""}, []any{"abc"}, []any{"", "a"}, []any{"a", ""}, nil)},
		{Call("split", Col("s"), Col("p")), strs(
			[]any{"one", "two", "three", ""}, []any{"a", "b", "c"}, []any{""}, []any{"a", "b", "c"}, []any{"", "a"}, []any{"a", ""}, nil)},
		{Call("split", Col("s"), Lit("")), strs(
			[]any{"o", "n", "e", "A", "t", "w", "o", "B", "t", "h", "r", "e", "e", "C"}, []any{"a", ",", "b", ",", "c"}, []any{""}, []any{"a", "b", "c"}, []any{",", "a"}, []any{"a", ","}, nil)},
		{Call("split", Col("s"), Lit(""), Lit(2)), strs(
			[]any{"o", "neAtwoBthreeC"}, []any{"a", ",b,c"}, []any{""}, []any{"a", "bc"}, []any{",", "a"}, []any{"a", ","}, nil)},
		// A pattern matching the empty string, not empty itself: no
		// leading empty piece, a trailing one (Java's split with -1).
		{Call("split", Col("s"), Lit("(?:)")), strs(
			[]any{"o", "n", "e", "A", "t", "w", "o", "B", "t", "h", "r", "e", "e", "C", ""}, []any{"a", ",", "b", ",", "c", ""}, []any{""}, []any{"a", "b", "c", ""}, []any{",", "a", ""}, []any{"a", ",", ""}, nil)},
		{Call("split", Col("s"), Lit(nil)), strs(nil, nil, nil, nil, nil, nil, nil)},
	})
	sxConst(t, Call("split", Lit("日本"), Lit("")), []any{"日", "本"})
	sxConst(t, Call("split", Lit("a1b22c"), Lit(`\d+`)), []any{"a", "b", "c"})
	err := sxFails(t, cols, Call("split", Col("s"), Lit("(")), "invalid regular expression", "split(s, ()", "RE2")
	if strings.Contains(err.Error(), "row") {
		t.Errorf("a constant pattern should fail at Bind, not per row: %v", err)
	}
	sxFails(t, cols, Call("split", Col("s"), Lit("a(?=b)")), "invalid regular expression", "lookaround")
	sxFails(t, []column{sCol("s", "a", "b"), sCol("p", ",", "[")}, Call("split", Col("s"), Col("p")), "invalid regular expression", `"["`, "row 1")
}

func TestReplace(t *testing.T) {
	cols := []column{sCol("s", "ABCabc", "aaa", "abc", nil, "")}
	sxRun(t, cols, []sxCase{
		{Call("replace", Col("s"), Lit("abc"), Lit("DEF")), strs("ABCDEF", "aaa", "DEF", nil, "")},
		{Call("replace", Col("s"), Lit("abc")), strs("ABC", "aaa", "", nil, "")},
		{Call("replace", Col("s"), Lit("a"), Lit("bb")), strs("ABCbbbc", "bbbbbb", "bbbc", nil, "")},
		{Call("replace", Col("s"), Lit(""), Lit("x")), strs("ABCabc", "aaa", "abc", nil, "")},
		{Call("replace", Col("s"), Lit("aa"), Lit("日")), strs("ABCabc", "日a", "abc", nil, "")},
		{Call("replace", Col("s"), Col("s"), Lit("=")), strs("=", "=", "=", nil, "")},
		{Call("replace", Col("s"), Lit(nil)), strs(nil, nil, nil, nil, nil)},
	})
}

func TestRegexpExtract(t *testing.T) {
	cols := []column{
		sCol("s", "100-200", "foo", "a", nil, "7-8"),
		iCol("g", 1, 5, 1, 1, 3),
	}
	const p = `(\d+)-(\d+)`
	sxRun(t, cols, []sxCase{
		{Call("regexp_extract", Col("s"), Lit(p), Lit(1)), strs("100", "", "", nil, "7")},
		{Call("regexp_extract", Col("s"), Lit(p)), strs("100", "", "", nil, "7")},
		{Call("regexp_extract", Col("s"), Lit(p), Lit(2)), strs("200", "", "", nil, "8")},
		{Call("regexp_extract", Col("s"), Lit(p), Lit(0)), strs("100-200", "", "", nil, "7-8")},
		// A group that took no part in the match is empty.
		{Call("regexp_extract", Col("s"), Lit("(a)|(b)"), Lit(2)), strs("", "", "", nil, "")},
		{Call("regexp_extract", Col("s"), Lit("(o+)"), Lit(1)), strs("", "oo", "", nil, "")},
		{Call("regexp_extract", Col("s"), Lit(p), Lit(nil)), strs(nil, nil, nil, nil, nil)},
	})
	sxConst(t, Call("regexp_extract", Lit("100-200"), Lit(p), Lit(2)), "200")
	err := sxFails(t, cols, Call("regexp_extract", Col("s"), Lit(p), Lit(3)), "group index 3", "2 groups", "between 0 and 2")
	if strings.Contains(err.Error(), "row") {
		t.Errorf("a constant group index should fail at Bind: %v", err)
	}
	sxFails(t, cols, Call("regexp_extract", Col("s"), Lit(p), Lit(-1)), "group index -1")
	// Per-row indices fail only where the pattern matches, as in Spark.
	sxFails(t, cols, Call("regexp_extract", Col("s"), Lit(p), Col("g")), "group index 3", "row 4", `"7-8"`)
}

func TestRegexpReplace(t *testing.T) {
	cols := []column{
		sCol("s", "100-200", "foo", "a", nil, "7-8"),
		sCol("r", "<$0>", "x", "$0$0", "", "\\$"),
	}
	const p = `(\d+)-(\d+)`
	sxRun(t, cols, []sxCase{
		{Call("regexp_replace", Col("s"), Lit(`(\d+)`), Lit("num")), strs("num-num", "foo", "a", nil, "num-num")},
		{Call("regexp_replace", Col("s"), Lit(p), Lit("$2-$1")), strs("200-100", "foo", "a", nil, "8-7")},
		// $12 with two groups is group 1 then '2', as Java reads it.
		{Call("regexp_replace", Col("s"), Lit(p), Lit("$12")), strs("1002", "foo", "a", nil, "72")},
		{Call("regexp_replace", Col("s"), Lit(p), Lit(`\$1 \\ x`)), strs(`$1 \ x`, "foo", "a", nil, `$1 \ x`)},
		{Call("regexp_replace", Col("s"), Lit(`(?P<n>\d+)`), Lit("[${n}]")), strs("[100]-[200]", "foo", "a", nil, "[7]-[8]")},
		{Call("regexp_replace", Col("s"), Lit(`\d`), Col("r")), strs("<1><0><0>-<2><0><0>", "foo", "a", nil, "$-$")},
		{Call("regexp_replace", Col("s"), Lit("o"), Lit("0"), Lit(3)), strs("100-200", "fo0", "a", nil, "7-8")},
		{Call("regexp_replace", Col("s"), Lit("-"), Lit(nil)), strs(nil, nil, nil, nil, nil)},
	})
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{Call("regexp_replace", Lit("abc"), Lit("x*"), Lit("-")), "-a-b-c-"},
		{Call("regexp_replace", Lit("a.b.c"), Lit(`\.`), Lit("/")), "a/b/c"},
		{Call("regexp_replace", Lit("aaa"), Lit("a"), Lit("b"), Lit(2)), "abb"},
		{Call("regexp_replace", Lit("aaa"), Lit("a"), Lit("b"), Lit(3)), "aab"},
		{Call("regexp_replace", Lit("aaa"), Lit("a"), Lit("b"), Lit(4)), "aaa"},
		{Call("regexp_replace", Lit("aaa"), Lit("^a"), Lit("b"), Lit(2)), "aba"},
		{Call("regexp_replace", Lit(""), Lit("^$"), Lit("x")), "x"},
		{Call("regexp_replace", Lit("日本日本"), Lit("日"), Lit("x"), Lit(2)), "日本x本"},
		{Call("regexp_replace", Lit("AbAb"), Lit("(?i)a"), Lit("_")), "_b_b"},
	} {
		sxConst(t, c.e, c.want)
	}
	sxFails(t, cols, Call("regexp_replace", Col("s"), Lit(p), Lit("$3")), "refers to group 3", "2 groups")
	sxFails(t, cols, Call("regexp_replace", Col("s"), Lit(p), Lit("a$")), "ends in '$'")
	sxFails(t, cols, Call("regexp_replace", Col("s"), Lit(p), Lit(`a\`)), "backslash")
	sxFails(t, cols, Call("regexp_replace", Col("s"), Lit(p), Lit("$x")), "not followed by a group number")
	sxFails(t, cols, Call("regexp_replace", Col("s"), Lit(p), Lit("${n}")), "no group of that name")
	sxFails(t, cols, Call("regexp_replace", Col("s"), Lit(p), Lit("x"), Lit(0)), "position 0", "at least 1")
	sxFails(t, []column{sCol("s", "a", "b"), sCol("r", "x", "$9")}, Call("regexp_replace", Col("s"), Lit("(.)"), Col("r")), "refers to group 9", "row 1")
}

func TestPad(t *testing.T) {
	cols := []column{sCol("s", "hi", "", nil, "é", "hello")}
	sxRun(t, cols, []sxCase{
		{Call("lpad", Col("s"), Lit(5), Lit("??")), strs("???hi", "?????", nil, "????é", "hello")},
		{Call("lpad", Col("s"), Lit(3)), strs(" hi", "   ", nil, "  é", "hel")},
		{Call("rpad", Col("s"), Lit(5), Lit("??")), strs("hi???", "?????", nil, "é????", "hello")},
		{Call("rpad", Col("s"), Lit(1)), strs("h", " ", nil, "é", "h")},
		{Call("lpad", Col("s"), Lit(-1), Lit("x")), strs("", "", nil, "", "")},
		{Call("lpad", Col("s"), Lit(4), Lit("")), strs("hi", "", nil, "é", "hell")},
		{Call("rpad", Col("s"), Lit(4), Lit("é日")), strs("hié日", "é日é日", nil, "éé日é", "hell")},
		{Call("lpad", Col("s"), Lit(4), Lit(nil)), strs(nil, nil, nil, nil, nil)},
	})
	sxConst(t, Call("lpad", Lit("x"), Lit(4), Lit("é日")), "é日éx")
	sxRun(t, []column{{"b", tBin, strs([]byte{0xaa, 0xbb}, nil)}}, []sxCase{
		{Call("lpad", Col("b"), Lit(5)), strs([]byte{0, 0, 0, 0xaa, 0xbb}, nil)},
		{Call("rpad", Col("b"), Lit(5), Lit([]byte{0x11, 0x22})), strs([]byte{0xaa, 0xbb, 0x11, 0x22, 0x11}, nil)},
	})
	sxFails(t, cols, Call("lpad", Col("s"), Lit(3_000_000_000), Lit("b")), "lpad(s, 3000000000, b)", "2 GiB", "row 0")
}

func TestStartsEndsContains(t *testing.T) {
	cols := []column{
		sCol("a", "Spark SQL", "", nil, "SQL", "Spark"),
		sCol("b", "Spark", "", "x", nil, "Spark SQL"),
		{"x", tBin, strs([]byte{1, 2, 3}, []byte{}, nil, []byte{2}, []byte{3})},
	}
	sxRun(t, cols, []sxCase{
		{Call("startswith", Col("a"), Col("b")), strs(true, true, nil, nil, false)},
		{Call("starts_with", Col("a"), Lit("Spark")), strs(true, false, nil, false, true)},
		{Col("a").StartsWith(Lit("")), strs(true, true, nil, true, true)},
		{Call("endswith", Col("a"), Lit("SQL")), strs(true, false, nil, true, false)},
		{Col("a").EndsWith(Col("b")), strs(false, true, nil, nil, false)},
		{Call("ends_with", Col("a"), Lit(nil)), strs(nil, nil, nil, nil, nil)},
		{Call("contains", Col("a"), Lit("ar")), strs(true, false, nil, false, true)},
		{Col("b").Contains(Col("a")), strs(false, true, nil, nil, true)},
		{Call("contains", Col("x"), Lit([]byte{2})), strs(true, false, nil, true, false)},
	})
	sxConst(t, Call("startswith", Lit("Spark SQL"), Lit("Spark")), true)
}

func TestInstrLocate(t *testing.T) {
	cols := []column{
		sCol("s", "SparkSQL", "abc", "日本語", "xyz", nil),
		iCol("p", 1, 5, 0, nil, 10),
	}
	sxRun(t, cols, []sxCase{
		{Call("instr", Col("s"), Lit("SQL")), strs(int32(6), int32(0), int32(0), int32(0), nil)},
		{Call("instr", Col("s"), Lit("")), strs(int32(1), int32(1), int32(1), int32(1), nil)},
		{Call("instr", Col("s"), Lit("語")), strs(int32(0), int32(0), int32(3), int32(0), nil)},
		{Call("locate", Lit("bar"), Lit("foobarbar"), Col("p")), strs(int32(4), int32(7), int32(0), int32(0), int32(0))},
		{Call("position", Lit("bar"), Lit("foobarbar"), Col("p")), strs(int32(4), int32(7), int32(0), int32(0), int32(0))},
		{Call("locate", Lit("a"), Col("s")), strs(int32(3), int32(1), int32(0), int32(0), nil)},
		{Call("locate", Lit(""), Col("s"), Lit(3)), strs(int32(1), int32(1), int32(1), int32(1), nil)},
		{Call("locate", Lit("x"), Col("s"), Lit(nil)), strs(int32(0), int32(0), int32(0), int32(0), int32(0))},
	})
	sxConst(t, Call("locate", Lit("語"), Lit("日本語語"), Lit(4)), int32(4))
	sxConst(t, Call("locate", Lit(nil), Lit("abc")), nil)
	sxConst(t, Call("instr", Lit("a\xffb"), Lit("b")), int32(3))
}

func TestReverseRepeat(t *testing.T) {
	sxRun(t, []column{sCol("s", "Spark SQL", "日本語", "a\xffb", "", nil)}, []sxCase{
		{Call("reverse", Col("s")), strs("LQS krapS", "語本日", "b\xffa", "", nil)},
		{Call("repeat", Col("s"), Lit(2)), strs("Spark SQLSpark SQL", "日本語日本語", "a\xffba\xffb", "", nil)},
	})
	sxRun(t, []column{{"l", tI64Arr, strs([]any{int64(1), int64(2), int64(3)}, nil, []any{}, []any{int64(4), nil})}}, []sxCase{
		{Call("reverse", Col("l")), strs([]any{int64(3), int64(2), int64(1)}, nil, []any{}, []any{nil, int64(4)})},
	})
	sxRun(t, []column{iCol("n", 2, 0, -1, nil, 1)}, []sxCase{
		{Call("repeat", Lit("123"), Col("n")), strs("123123", "", "", nil, "123")},
	})
	sxFails(t, []column{iCol("n", 1)}, Call("repeat", Lit("ab"), Lit(2_000_000_000)), "repeat(ab, 2000000000)", "2 GiB")
	sxFails(t, []column{iCol("n", 1)}, Call("reverse", Lit(1.5)), "reverse(1.5)", "double", "arrays")
}

func TestASCIIChr(t *testing.T) {
	sxRun(t, []column{sCol("s", "222", "", "é", "\xff", nil, "A")}, []sxCase{
		{Call("ascii", Col("s")), strs(int32(50), int32(0), int32(233), int32(65533), nil, int32(65))},
	})
	sxRun(t, []column{iCol("n", 65, 321, -1, 0, 200, nil)}, []sxCase{
		{Call("chr", Col("n")), strs("A", "A", "", "\x00", "È", nil)},
		{Call("char", Col("n")), strs("A", "A", "", "\x00", "È", nil)},
	})
	sxConst(t, Call("ascii", Lit(2)), int32(50))
}

func TestStringTypeErrors(t *testing.T) {
	cols := []column{{"f", arrow.PrimitiveTypes.Float64, strs(1.5)}, mixedStrings.withRows(1)}
	for _, c := range []struct {
		e     Expr
		parts []string
	}{
		{Call("lower", Col("f")), []string{"lower(f)", "argument 1", "double", "cast it to string"}},
		{Call("length", Col("f")), []string{"length(f)", "string or binary"}},
		{Call("lpad", Col("s"), Lit(5), Lit([]byte{1})), []string{"lpad(s, 5, X'01')", "binary"}},
		{Call("split", Col("s"), Lit(","), Lit("x")), []string{"argument 3", "integer"}},
		{Call("upper", Col("s")).Eq(Call("trim", Col("f"))), []string{"trim(f) in (upper(s) = trim(f))"}},
	} {
		err := sxFails(t, cols, c.e, c.parts...)
		if !errors.Is(err, ErrType) {
			t.Errorf("%s: %v is not ErrType", c.e, err)
		}
	}
}

func (c column) withRows(n int) column {
	c.vals = c.vals[:n]
	return c
}

// A large string column: the results match a row-at-a-time reference and
// the output buffers grow as needed.
func TestStringsLargeBatch(t *testing.T) {
	vals := make([]any, 5000)
	for i := range vals {
		switch i % 4 {
		case 0:
			vals[i] = strings.Repeat("Ab,", i%37)
		case 1:
			vals[i] = nil
		case 2:
			vals[i] = strings.Repeat("é日x ", i%23)
		default:
			vals[i] = ""
		}
	}
	mem := checked(t)
	rec := sxRecord(t, mem, column{"s", tStr, vals})
	defer rec.Release()
	check := func(e Expr, ref func(string) any) {
		t.Helper()
		got, err := sxEval(t, mem, e, rec)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			var want any
			if v != nil {
				want = ref(v.(string))
			}
			if !reflect.DeepEqual(got[i], want) {
				t.Fatalf("%s row %d: got %q, want %q", e, i, got[i], want)
			}
		}
	}
	check(Call("upper", Col("s")), func(s string) any { return strings.ToUpper(s) })
	check(Call("repeat", Col("s"), Lit(3)), func(s string) any { return strings.Repeat(s, 3) })
	check(Call("concat", Col("s"), Col("s")), func(s string) any { return s + s })
	check(Call("replace", Col("s"), Lit(","), Lit(";;")), func(s string) any { return strings.ReplaceAll(s, ",", ";;") })
	check(Call("regexp_replace", Col("s"), Lit("[b日]"), Lit("<$0>")), func(s string) any {
		return strings.NewReplacer("b", "<b>", "日", "<日>").Replace(s)
	})
	check(Call("lpad", Col("s"), Lit(200), Lit("-")), func(s string) any {
		n := len([]rune(s))
		return strings.Repeat("-", 200-n) + s
	})
	check(Call("length", Col("s")), func(s string) any { return int32(len([]rune(s))) })
	check(Call("split", Col("s"), Lit(",")), func(s string) any {
		out := []any{}
		for _, p := range strings.Split(s, ",") {
			out = append(out, p)
		}
		return out
	})
}

func TestStringFunctionsRegistered(t *testing.T) {
	fns := map[string]bool{}
	for _, f := range Functions() {
		fns[f] = true
	}
	for _, want := range []string{"lower", "upper", "length", "substring", "substr", "concat", "concat_ws",
		"trim", "ltrim", "rtrim", "btrim", "split", "replace", "regexp_extract", "regexp_replace",
		"lpad", "rpad", "startswith", "endswith", "contains", "instr", "locate", "reverse", "repeat",
		"initcap", "ascii", "chr", "hash", "xxhash64", "md5", "sha1", "sha2", "crc32"} {
		if !fns[want] {
			t.Errorf("function %s is not registered", want)
		}
	}
}

func TestBinOutGrowth(t *testing.T) {
	mem := checked(t)
	w := newBinOut(mem, 3, 0)
	for i := range 3 {
		s := []byte(strings.Repeat("x", 100*(i+1)))
		if err := w.room(len(s)); err != nil {
			t.Fatal(err)
		}
		w.add(s)
	}
	v, err := w.finish(tStr, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.release()
	if got := v.arr.(*array.String).Value(2); len(got) != 300 {
		t.Errorf("row 2 has %d bytes, want 300", len(got))
	}
	w = newBinOut(mem, 0, 0)
	defer w.release()
	if err := w.room(math.MaxInt32 + 1); !errors.Is(err, errStrTooLong) {
		t.Errorf("room past 2 GiB: %v", err)
	}
}

func TestStringFunctionsOnDictionary(t *testing.T) {
	mem := checked(t)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"Click", "VIEW", "Click"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	col := b.NewArray()
	b.Release()
	defer col.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "k", Type: dt, Nullable: true}}, nil), []arrow.Array{col}, 4)
	defer rec.Release()
	got, err := sxEval(t, mem, Call("lower", Col("k")), rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := strs("click", "view", "click", nil); !reflect.DeepEqual(got, want) {
		t.Errorf("lower(k) = %q, want %q", got, want)
	}
}

// ---- benchmarks ----

// benchStrings is a record of n rows: an e-mail-like string column "s" and
// an int64 column "n", with a null every 16th row.
func benchStrings(b *testing.B, n int) arrow.RecordBatch {
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	nb := array.NewInt64Builder(memory.DefaultAllocator)
	defer sb.Release()
	defer nb.Release()
	for i := range n {
		if i%16 == 15 {
			sb.AppendNull()
		} else {
			sb.Append("user-" + strconv.Itoa(i) + "@Example.COM,tag" + strconv.Itoa(i%7))
		}
		nb.Append(int64(i))
	}
	s, num := sb.NewArray(), nb.NewArray()
	defer s.Release()
	defer num.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: tStr, Nullable: true}, {Name: "n", Type: tI64}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{s, num}, int64(n))
}

func benchExpr(b *testing.B, e Expr) {
	const rows = 100_000
	rec := benchStrings(b, rows)
	defer rec.Release()
	bound, err := e.Bind(rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		out, err := bound.Eval(ctx, rec, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkLower(b *testing.B)     { benchExpr(b, Call("lower", Col("s"))) }
func BenchmarkLength(b *testing.B)    { benchExpr(b, Call("length", Col("s"))) }
func BenchmarkSubstring(b *testing.B) { benchExpr(b, Call("substring", Col("s"), Lit(6), Lit(4))) }
func BenchmarkConcatWs(b *testing.B) {
	benchExpr(b, Call("concat_ws", Lit("|"), Col("s"), Col("n"), Lit("x")))
}
func BenchmarkSplit(b *testing.B)   { benchExpr(b, Call("split", Col("s"), Lit(","))) }
func BenchmarkReplace(b *testing.B) { benchExpr(b, Call("replace", Col("s"), Lit("user"), Lit("u"))) }
func BenchmarkRegexpExtract(b *testing.B) {
	benchExpr(b, Call("regexp_extract", Col("s"), Lit(`user-(\d+)@`), Lit(1)))
}
func BenchmarkRegexpReplace(b *testing.B) {
	benchExpr(b, Call("regexp_replace", Col("s"), Lit(`\d+`), Lit("#")))
}
func BenchmarkLpad(b *testing.B) { benchExpr(b, Call("lpad", Col("s"), Lit(32), Lit("*"))) }

// sxChars splits s into characters as the string functions count them:
// runes, an invalid byte being one character.
func sxChars(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		out = append(out, s[i:i+size])
		i += size
	}
	return out
}

// Random strings (with invalid UTF-8) through the string functions agree
// with row-at-a-time reference implementations of Spark's definitions.
func TestStringsAgainstReference(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	pieces := []string{"a", "b", ",", " ", "é", "日", "ǅ", "\xff", "\xe6\x97", "ab", "SQL", "A"}
	word := func() any {
		if rng.IntN(8) == 0 {
			return nil
		}
		var sb strings.Builder
		for range rng.IntN(7) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return sb.String()
	}
	num := func() any {
		if rng.IntN(10) == 0 {
			return nil
		}
		return int64(rng.IntN(25) - 12)
	}
	const rows = 500
	s, sub, p, l := make([]any, rows), make([]any, rows), make([]any, rows), make([]any, rows)
	for i := range rows {
		s[i], sub[i], p[i], l[i] = word(), word(), num(), num()
	}
	mem := checked(t)
	rec := sxRecord(t, mem, column{"s", tStr, s}, column{"sub", tStr, sub}, column{"p", tI64, p}, column{"l", tI64, l})
	defer rec.Release()

	substr := func(cs []string, pos, n int64) string {
		start := int64(0)
		if pos > 0 {
			start = pos - 1
		} else if pos < 0 {
			start = int64(len(cs)) + pos
		}
		end := start + n
		start = max(start, 0)
		if start >= end || start >= int64(len(cs)) {
			return ""
		}
		return strings.Join(cs[start:min(end, int64(len(cs)))], "")
	}
	mapChars := func(x string, f func(rune) rune) string {
		var sb strings.Builder
		for _, c := range sxChars(x) {
			r, size := utf8.DecodeRuneInString(c)
			if r == utf8.RuneError && size == 1 {
				sb.WriteString(c)
				continue
			}
			sb.WriteRune(f(r))
		}
		return sb.String()
	}
	pad := func(x string, n int64, with string, left bool) string {
		cs, ps := sxChars(x), sxChars(with)
		if n <= int64(len(cs)) || len(ps) == 0 {
			return substr(cs, 1, n)
		}
		var fill []string
		for int64(len(fill)) < n-int64(len(cs)) {
			fill = append(fill, ps[len(fill)%len(ps)])
		}
		if left {
			return strings.Join(fill, "") + x
		}
		return x + strings.Join(fill, "")
	}
	locate := func(needle, x string, pos int64) int32 {
		if pos < 1 {
			return 0
		}
		if needle == "" {
			return 1
		}
		cs := sxChars(x)
		if pos-1 >= int64(len(cs)) {
			return 0
		}
		from := len(strings.Join(cs[:pos-1], ""))
		k := strings.Index(x[from:], needle)
		if k < 0 {
			return 0
		}
		return int32(pos) + int32(utf8.RuneCountInString(x[from:from+k]))
	}
	trim := func(x, set string) string {
		cs, in := sxChars(x), func(c string) bool {
			r, size := utf8.DecodeRuneInString(c)
			return !(r == utf8.RuneError && size == 1) && strings.ContainsRune(set, r)
		}
		i, j := 0, len(cs)
		for i < j && in(cs[i]) {
			i++
		}
		for j > i && in(cs[j-1]) {
			j--
		}
		return strings.Join(cs[i:j], "")
	}
	type ref func(i int) any
	str := func(v any) string { return v.(string) }
	null := func(vs ...any) bool {
		for _, v := range vs {
			if v == nil {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		e   Expr
		ref ref
	}{
		{Call("length", Col("s")), func(i int) any {
			if null(s[i]) {
				return nil
			}
			return int32(len(sxChars(str(s[i]))))
		}},
		{Call("substring", Col("s"), Col("p"), Col("l")), func(i int) any {
			if null(s[i], p[i], l[i]) {
				return nil
			}
			return substr(sxChars(str(s[i])), p[i].(int64), l[i].(int64))
		}},
		{Call("reverse", Col("s")), func(i int) any {
			if null(s[i]) {
				return nil
			}
			cs := sxChars(str(s[i]))
			slices.Reverse(cs)
			return strings.Join(cs, "")
		}},
		{Call("upper", Col("s")), func(i int) any {
			if null(s[i]) {
				return nil
			}
			return mapChars(str(s[i]), unicode.ToUpper)
		}},
		{Call("lower", Col("s")), func(i int) any {
			if null(s[i]) {
				return nil
			}
			return mapChars(str(s[i]), unicode.ToLower)
		}},
		{Call("lpad", Col("s"), Col("l"), Col("sub")), func(i int) any {
			if null(s[i], l[i], sub[i]) {
				return nil
			}
			return pad(str(s[i]), l[i].(int64), str(sub[i]), true)
		}},
		{Call("rpad", Col("s"), Col("l"), Col("sub")), func(i int) any {
			if null(s[i], l[i], sub[i]) {
				return nil
			}
			return pad(str(s[i]), l[i].(int64), str(sub[i]), false)
		}},
		{Call("locate", Col("sub"), Col("s"), Col("p")), func(i int) any {
			if p[i] == nil {
				return int32(0)
			}
			if null(s[i], sub[i]) {
				return nil
			}
			return locate(str(sub[i]), str(s[i]), p[i].(int64))
		}},
		{Call("instr", Col("s"), Col("sub")), func(i int) any {
			if null(s[i], sub[i]) {
				return nil
			}
			return locate(str(sub[i]), str(s[i]), 1)
		}},
		{Call("trim", Col("s"), Col("sub")), func(i int) any {
			if null(s[i], sub[i]) {
				return nil
			}
			return trim(str(s[i]), str(sub[i]))
		}},
		{Call("replace", Col("s"), Col("sub"), Lit("<>")), func(i int) any {
			if null(s[i], sub[i]) {
				return nil
			}
			if sub[i] == "" {
				return s[i]
			}
			return strings.ReplaceAll(str(s[i]), str(sub[i]), "<>")
		}},
		{Call("split", Col("s"), Lit(",")), func(i int) any {
			if null(s[i]) {
				return nil
			}
			var out []any
			for _, x := range strings.Split(str(s[i]), ",") {
				out = append(out, x)
			}
			return out
		}},
		{Call("regexp_replace", Col("s"), Lit("a+|é"), Lit("<$0>")), func(i int) any {
			if null(s[i]) {
				return nil
			}
			return regexp.MustCompile("a+|é").ReplaceAllString(str(s[i]), "<$0>")
		}},
		{Call("concat_ws", Lit(","), Col("s"), Col("sub")), func(i int) any {
			var parts []string
			for _, v := range []any{s[i], sub[i]} {
				if v != nil {
					parts = append(parts, str(v))
				}
			}
			return strings.Join(parts, ",")
		}},
		{Call("startswith", Col("s"), Col("sub")), func(i int) any {
			if null(s[i], sub[i]) {
				return nil
			}
			return strings.HasPrefix(str(s[i]), str(sub[i]))
		}},
	} {
		got, err := sxEval(t, mem, c.e, rec)
		if err != nil {
			t.Fatalf("%s: %v", c.e, err)
		}
		for i := range rows {
			if want := c.ref(i); !reflect.DeepEqual(got[i], want) {
				t.Fatalf("%s row %d (s=%q sub=%q p=%v l=%v): got %q, want %q", c.e, i, s[i], sub[i], p[i], l[i], got[i], want)
			}
		}
	}
}

// Every function handles a batch of no rows.
func TestStringFunctionsEmptyBatch(t *testing.T) {
	mem := checked(t)
	rec := sxRecord(t, mem, sCol("s"), iCol("n"), column{"l", tStrArr, nil}, column{"b", tBin, nil})
	defer rec.Release()
	for _, e := range []Expr{
		Call("lower", Col("s")), Call("upper", Col("s")), Call("initcap", Col("s")), Call("length", Col("s")),
		Call("substring", Col("s"), Col("n"), Col("n")), Call("left", Col("s"), Col("n")), Call("concat", Col("s"), Col("s")),
		Call("concat", Col("l"), Col("l")), Call("concat_ws", Col("s"), Col("l"), Col("s")), Call("trim", Col("s"), Col("s")),
		Call("split", Col("s"), Col("s"), Col("n")), Call("replace", Col("s"), Col("s"), Col("s")),
		Call("regexp_extract", Col("s"), Col("s"), Col("n")), Call("regexp_replace", Col("s"), Col("s"), Col("s")),
		Call("lpad", Col("s"), Col("n"), Col("s")), Call("rpad", Col("b"), Col("n")), Call("startswith", Col("s"), Col("s")),
		Call("locate", Col("s"), Col("s"), Col("n")), Call("reverse", Col("s")), Call("reverse", Col("l")),
		Call("repeat", Col("s"), Col("n")), Call("ascii", Col("s")), Call("chr", Col("n")), Call("concat", Col("n")),
		Call("hash", Col("s"), Col("n"), Col("l"), Col("b")), Call("xxhash64", Col("s"), Col("l")), Call("md5", Col("b")),
		Call("sha2", Col("s"), Col("n")), Call("crc32", Col("s")),
	} {
		got, err := sxEval(t, mem, e, rec)
		if err != nil || len(got) != 0 {
			t.Errorf("%s over no rows: %v, %v", e, got, err)
		}
	}
}
