package expr

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// evalBoth evaluates e over the columns and over the same rows at an
// offset (a record padded with a null row at each end, then sliced), and
// checks both give want.
func evalBoth(t *testing.T, e Expr, want []any, cols ...column) {
	t.Helper()
	mem := checked(t)
	for _, slice := range []bool{false, true} {
		cs := cols
		if slice {
			cs = make([]column, len(cols))
			for i, c := range cols {
				vals := append(append([]any{nil}, c.vals...), nil)
				cs[i] = column{c.name, c.typ, vals}
			}
		}
		rec := record(t, mem, cs...)
		if slice {
			sliced := rec.NewSlice(1, rec.NumRows()-1)
			rec.Release()
			rec = sliced
		}
		got, err := tryEval(t, mem, e, rec)
		rec.Release()
		if err != nil {
			t.Errorf("%s (sliced %v): %v", e, slice, err)
			continue
		}
		if !sameValues(got, want) {
			t.Errorf("%s (sliced %v) = %v, want %v", e, slice, got, want)
		}
	}
}

// tryEval is eval returning the error instead of failing.
func tryEval(t testing.TB, mem memory.Allocator, e Expr, rec arrow.RecordBatch) ([]any, error) {
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
		t.Fatalf("%s: %d rows, want %d", e, arr.Len(), rec.NumRows())
	}
	if !arrow.TypeEqual(arr.DataType(), b.Field().Type) {
		t.Fatalf("%s: result is %s, Field says %s", e, arr.DataType(), b.Field().Type)
	}
	if !b.Field().Nullable && arr.NullN() > 0 {
		t.Fatalf("%s: %d nulls, but Field says not nullable", e, arr.NullN())
	}
	return values(t, arr), nil
}

var (
	xtI64  = arrow.PrimitiveTypes.Int64
	xtI32  = arrow.PrimitiveTypes.Int32
	xtF64  = arrow.PrimitiveTypes.Float64
	xtStr  = arrow.BinaryTypes.String
	xtBool = arrow.FixedWidthTypes.Boolean
)

func TestCaseWhen(t *testing.T) {
	x := column{"x", xtI64, []any{int64(5), int64(-3), int64(0), nil}}
	evalBoth(t, When(Col("x").Gt(Lit(0)), Lit("pos")).When(Col("x").Lt(Lit(0)), Lit("neg")).Otherwise(Lit("zero")),
		[]any{"pos", "neg", "zero", "zero"}, x)
	evalBoth(t, When(Col("x").Gt(Lit(0)), Lit("pos")).End(), []any{"pos", nil, nil, nil}, x)
	evalBoth(t, CaseWhen(Col("x").Gt(Lit(0)), Col("x"), Col("x").Mul(Lit(-1))), []any{int64(5), int64(3), int64(0), nil}, x)
	// A constant branch takes the column's type.
	y := column{"y", xtI32, []any{int32(1), int32(-1), nil}}
	evalBoth(t, When(Col("y").Gt(Lit(0)), Col("y")).Otherwise(Lit(0)), []any{int32(1), int32(0), int32(0)}, y)
	// Branches of different widths widen.
	evalBoth(t, When(Col("x").Gt(Lit(0)), Col("x")).Otherwise(Col("y")), []any{int64(5), int64(-1), nil},
		column{"x", xtI64, []any{int64(5), int64(-3), nil}}, y)
	// Every row takes the same branch.
	evalBoth(t, When(Col("x").IsNotNull(), Col("x")).Otherwise(Lit(7)), []any{int64(1), int64(2)}, column{"x", xtI64, []any{int64(1), int64(2)}})
}

func TestCaseShortCircuit(t *testing.T) {
	x := column{"x", xtI64, []any{int64(0), int64(2), int64(5), nil, int64(0)}}
	// Without the guard, 10 / x divides by zero.
	mem := checked(t)
	rec := record(t, mem, x)
	_, err := tryEval(t, mem, Lit(10).Div(Col("x")), rec)
	rec.Release()
	if !errors.Is(err, ErrDivideByZero) {
		t.Fatalf("10 / x: %v, want division by zero", err)
	}
	evalBoth(t, When(Col("x").Eq(Lit(0)), Lit(0)).Otherwise(Lit(10).Div(Col("x"))),
		[]any{0.0, 5.0, 2.0, nil, 0.0}, x)
	evalBoth(t, If(Col("x").NotEq(Lit(0)), Lit(10).Div(Col("x")), Lit(-1.0)),
		[]any{-1.0, 5.0, 2.0, -1.0, -1.0}, x)
	// Integer overflow in the branch not taken.
	big := column{"x", xtI64, []any{int64(1), int64(1) << 62, int64(3)}}
	evalBoth(t, When(Col("x").Lt(Lit(1000)), Col("x").Mul(Lit(int64(1)<<40))).Otherwise(Lit(-1)),
		[]any{int64(1) << 40, int64(-1), int64(3) << 40}, big)
	// Conditions after the first are evaluated only on the rows left.
	evalBoth(t, When(Col("x").Eq(Lit(0)), Lit("zero")).When(Lit(10).Div(Col("x")).Gt(Lit(3)), Lit("small")).Otherwise(Lit("big")),
		[]any{"zero", "small", "big", "big", "zero"}, x)
	// Nested CASE inside a branch evaluated on a subset.
	xy := []column{
		{"x", xtI64, []any{int64(4), int64(-1), int64(6), int64(0)}},
		{"y", xtI64, []any{int64(0), int64(0), int64(3), int64(0)}},
	}
	evalBoth(t, When(Col("x").Gt(Lit(0)), When(Col("y").Eq(Lit(0)), Lit(0.0)).Otherwise(Col("x").Div(Col("y")))).Otherwise(Lit(-1.0)),
		[]any{0.0, -1.0, 2.0, -1.0}, xy...)
	// A failing branch still fails on the rows that take it.
	rec = record(t, mem, x)
	defer rec.Release()
	_, err = tryEval(t, mem, When(Col("x").IsNotNull(), Lit(10).Div(Col("x"))).Otherwise(Lit(0.0)), rec)
	if !errors.Is(err, ErrDivideByZero) || !strings.Contains(err.Error(), "at row 0") {
		t.Errorf("taken branch dividing by zero: %v", err)
	}
}

func TestLogicShortCircuit(t *testing.T) {
	x := column{"x", xtI64, []any{int64(0), int64(2), int64(20), nil}}
	evalBoth(t, Col("x").NotEq(Lit(0)).And(Lit(10).Div(Col("x")).Gt(Lit(1))), []any{false, true, false, nil}, x)
	evalBoth(t, Col("x").Eq(Lit(0)).Or(Lit(10).Div(Col("x")).Gt(Lit(1))), []any{true, true, false, nil}, x)
	evalBoth(t, Col("x").IsNotNull().And(Col("x").NotEq(Lit(0))).And(Lit(10).Div(Col("x")).Gt(Lit(1))), []any{false, true, false, false}, x)
	// The left side decides every row: the right is never evaluated.
	evalBoth(t, Col("x").Gt(Lit(100)).And(Lit(10).Div(Col("x")).Gt(Lit(1))), []any{false, false, false, nil},
		column{"x", xtI64, []any{int64(0), int64(0), int64(0), nil}})
	// Where the left does not decide, errors still surface.
	mem := checked(t)
	rec := record(t, mem, x)
	defer rec.Release()
	if _, err := tryEval(t, mem, Col("x").Gt(Lit(-1)).And(Lit(10).Div(Col("x")).Gt(Lit(1))), rec); !errors.Is(err, ErrDivideByZero) {
		t.Errorf("x > -1 AND 10 / x > 1: %v, want division by zero", err)
	}
}

func TestCoalesce(t *testing.T) {
	cols := []column{
		{"a", xtI32, []any{nil, int32(1), nil, nil}},
		{"b", xtI64, []any{int64(2), int64(5), nil, nil}},
		{"y", xtI64, []any{int64(0), int64(0), int64(2), int64(0)}},
	}
	evalBoth(t, Coalesce(Col("a"), Col("b"), Lit(9)), []any{int64(2), int64(1), int64(9), int64(9)}, cols...)
	evalBoth(t, Coalesce(Col("a"), Lit(0)), []any{int32(0), int32(1), int32(0), int32(0)}, cols...)
	evalBoth(t, Call("nvl", Col("a"), Col("b")), []any{int64(2), int64(1), nil, nil}, cols...)
	evalBoth(t, Call("ifnull", Col("a"), Lit(nil)), []any{nil, int32(1), nil, nil}, cols...)
	evalBoth(t, Call("nvl2", Col("a"), Lit("set"), Lit("unset")), []any{"unset", "set", "unset", "unset"}, cols...)
	// Later arguments run only where the earlier ones are null: 10 / y
	// divides by zero only in rows where b is set.
	evalBoth(t, Coalesce(Col("b").Cast(xtF64), Lit(10).Div(Col("y")), Lit(-1.0)), []any{2.0, 5.0, 5.0, -1.0}, cols[1],
		column{"y", xtI64, []any{int64(0), int64(0), int64(2), nil}})
	evalBoth(t, Coalesce(Lit(nil), Col("a"), Lit(nil)), []any{nil, int32(1), nil, nil}, cols...)
	evalBoth(t, Coalesce(Col("s"), Lit("-")), []any{"x", "-"}, column{"s", xtStr, []any{"x", nil}})
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: xtI64}, {Name: "m", Type: xtI64, Nullable: true}}, nil)
	b, err := Coalesce(Col("m"), Col("n"), Col("m")).Bind(schema)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != "coalesce(m, n, m)" || b.Field().Nullable {
		t.Errorf("coalesce with a non-null argument: %s nullable=%v", b, b.Field().Nullable)
	}
	if b, _ := Coalesce(Col("n"), Col("m")).Bind(schema); b.String() != "n" {
		t.Errorf("coalesce(n, m) with n never null binds to %s", b)
	}
	if b, _ := Coalesce(Lit(nil), Lit(nil)).Bind(schema); b.String() != "NULL" {
		t.Errorf("coalesce(NULL, NULL) = %s", b)
	}
}

func TestNullIf(t *testing.T) {
	x := column{"x", xtI64, []any{int64(0), int64(1), nil, int64(0)}}
	evalBoth(t, NullIf(Col("x"), Lit(0)), []any{nil, int64(1), nil, nil}, x)
	evalBoth(t, NullIf(Col("s"), Lit("")), []any{"a", nil, nil}, column{"s", xtStr, []any{"a", "", nil}})
	evalBoth(t, NullIf(Col("a"), Col("b")), []any{nil, int32(2), int32(3)},
		column{"a", xtI32, []any{int32(1), int32(2), int32(3)}}, column{"b", xtI64, []any{int64(1), int64(3), nil}})
	evalBoth(t, NullIf(Lit(1), Lit(1)).IsNull(), []any{true}, x.firstRow())
}

func (c column) firstRow() column { return column{c.name, c.typ, c.vals[:1]} }

func TestGreatestLeast(t *testing.T) {
	cols := []column{
		{"a", xtI64, []any{int64(1), nil, nil, int64(7)}},
		{"b", xtI32, []any{int32(3), int32(2), nil, int32(-1)}},
	}
	evalBoth(t, Greatest(Col("a"), Col("b")), []any{int64(3), int64(2), nil, int64(7)}, cols...)
	evalBoth(t, Least(Col("a"), Col("b"), Lit(5)), []any{int64(1), int64(2), int64(5), int64(-1)}, cols...)
	nan := math.NaN()
	fl := []column{{"a", xtF64, []any{1.5, nan, -0.0, nil}}, {"b", xtF64, []any{nan, 2.0, 0.0, 3.0}}}
	mem := checked(t)
	rec := record(t, mem, fl...)
	defer rec.Release()
	g, err := tryEval(t, mem, Greatest(Col("a"), Col("b")), rec)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(g[0].(float64)) || !math.IsNaN(g[1].(float64)) || g[2].(float64) != 0 || g[3] != 3.0 {
		t.Errorf("greatest with NaN: %v", g)
	}
	l, _ := tryEval(t, mem, Least(Col("a"), Col("b")), rec)
	if l[0] != 1.5 || l[1] != 2.0 || l[3] != 3.0 {
		t.Errorf("least with NaN: %v", l)
	}
	evalBoth(t, Greatest(Col("s"), Col("t")), []any{"b", "a", nil, "ab"},
		column{"s", xtStr, []any{"a", "a", nil, "ab"}}, column{"t", xtStr, []any{"b", nil, nil, "a"}})
	evalBoth(t, Least(Col("p"), Col("q")), []any{false, true, false},
		column{"p", xtBool, []any{true, true, false}}, column{"q", xtBool, []any{false, nil, true}})
	evalBoth(t, Greatest(Lit(nil), Col("a")), []any{int64(1), nil, nil, int64(7)}, cols[0])
}

func TestGreatestDecimalsAndDates(t *testing.T) {
	mem := checked(t)
	a := fromJSON(t, mem, mustType(t, "decimal(10,2)"), `["1.50", "-3.00", null]`)
	defer a.Release()
	got, err := evalOn(t, mem, Greatest(Col("x"), Lit(0)), a)
	if err != nil {
		t.Fatal(err)
	}
	want := fromJSON(t, mem, mustType(t, "decimal(10,2)"), `["1.50", "0.00", "0.00"]`)
	if !array.Equal(got, want) {
		t.Errorf("greatest(decimal, 0) = %s (%s), want %s", got, got.DataType(), want)
	}
	got.Release()
	want.Release()
	d := fromJSON(t, mem, arrow.FixedWidthTypes.Date32, `[0, 19782, null]`)
	defer d.Release()
	got, err = evalOn(t, mem, Least(Col("x"), Lit("2000-01-01")), d)
	if err != nil {
		t.Fatal(err)
	}
	dv := got.(*array.Date32)
	if dv.Value(0) != 0 || dv.Value(1) != 10957 || dv.Value(2) != 10957 {
		t.Errorf("least(date, '2000-01-01') = %v", dv)
	}
	got.Release()
}

func TestIn(t *testing.T) {
	x := column{"x", xtI64, []any{int64(1), int64(2), int64(3), nil}}
	evalBoth(t, Col("x").In(Lit(1), Lit(3)), []any{true, false, true, nil}, x)
	evalBoth(t, Col("x").In(Lit(1), Lit(nil)), []any{true, nil, nil, nil}, x)
	evalBoth(t, Col("x").In(), []any{false, false, false, false}, x)
	many := make([]Expr, 20)
	for i := range many {
		many[i] = Lit(i * 2)
	}
	evalBoth(t, Col("x").In(many...), []any{false, true, false, nil}, x)
	evalBoth(t, Col("x").In(Col("y"), Lit(3)), []any{true, nil, true, nil}, x,
		column{"y", xtI32, []any{int32(1), nil, int32(0), int32(0)}})
	evalBoth(t, Col("s").In(Lit("a"), Lit("c")), []any{true, false, nil, false}, column{"s", xtStr, []any{"a", "b", nil, ""}})
	nan := math.NaN()
	evalBoth(t, Col("f").In(Lit(nan), Lit(0.0)), []any{true, true, false}, column{"f", xtF64, []any{nan, math.Copysign(0, -1), 1.0}})
	evalBoth(t, Col("p").In(Lit(true)), []any{true, false, nil}, column{"p", xtBool, []any{true, false, nil}})
	evalBoth(t, Col("i").In(Lit(int64(1)<<40), Lit(2)), []any{false, true}, column{"i", xtI32, []any{int32(1), int32(2)}})
	mem := checked(t)
	d := fromJSON(t, mem, arrow.FixedWidthTypes.Date32, `[19782, 0, null]`)
	defer d.Release()
	got, err := evalOn(t, mem, Col("x").In(Lit("2024-02-29"), Lit("2000-01-01")), d)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, got); !sameValues(v, []any{true, false, nil}) {
		t.Errorf("date IN strings: %v", v)
	}
	got.Release()
	dec := fromJSON(t, mem, mustType(t, "decimal(5,2)"), `["1.50", "2.00"]`)
	defer dec.Release()
	got, err = evalOn(t, mem, Col("x").In(Lit(2), Lit(1.25)), dec)
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, got); !sameValues(v, []any{false, true}) {
		t.Errorf("decimal IN: %v", v)
	}
	got.Release()
	if s := Col("x").In(Lit(1), Lit(2)).String(); s != "(x IN (1, 2))" {
		t.Errorf("String = %q", s)
	}
}

func TestBetween(t *testing.T) {
	x := column{"x", xtI64, []any{int64(0), int64(1), int64(3), int64(4), nil}}
	evalBoth(t, Col("x").Between(Lit(1), Lit(3)), []any{false, true, true, false, nil}, x)
	evalBoth(t, Col("x").Between(Lit(nil), Lit(3)), []any{nil, nil, nil, false, nil}, x)
	evalBoth(t, Col("s").Between(Lit("b"), Lit("d")), []any{false, true, true, false}, column{"s", xtStr, []any{"a", "b", "cz", "e"}})
	evalBoth(t, Col("x").Between(Col("lo"), Lit(3)), []any{true, false, true, false, nil}, x,
		column{"lo", xtI32, []any{int32(0), int32(2), int32(3), int32(0), int32(0)}})
	evalBoth(t, Col("p").Between(Lit(false), Col("q")), []any{true, false, nil, true},
		column{"p", xtBool, []any{true, true, nil, false}}, column{"q", xtBool, []any{true, false, true, false}})
	if s := Col("x").Between(Lit(1), Lit(3)).String(); s != "(x BETWEEN 1 AND 3)" {
		t.Errorf("String = %q", s)
	}
}

func TestLike(t *testing.T) {
	s := column{"s", xtStr, []any{"abc", "ab", "xabcx", "", nil, "a_c", "a%c", "A\nBC", "\xff\xfe"}}
	cases := []struct {
		e    Expr
		want []any
	}{
		{Col("s").Like("a%"), []any{true, true, false, false, nil, true, true, false, false}},
		{Col("s").Like("%c"), []any{true, false, false, false, nil, true, true, false, false}},
		{Col("s").Like("%bc%"), []any{true, false, true, false, nil, false, false, false, false}},
		{Col("s").Like("a%c"), []any{true, false, false, false, nil, true, true, false, false}},
		{Col("s").Like("a_c"), []any{true, false, false, false, nil, true, true, false, false}},
		{Col("s").Like("abc"), []any{true, false, false, false, nil, false, false, false, false}},
		{Col("s").Like(""), []any{false, false, false, true, nil, false, false, false, false}},
		{Col("s").Like("%"), []any{true, true, true, true, nil, true, true, true, true}},
		{Col("s").Like("%%"), []any{true, true, true, true, nil, true, true, true, true}},
		{Col("s").Like(`a\_c`), []any{false, false, false, false, nil, true, false, false, false}},
		{Col("s").Like(`a\%c`), []any{false, false, false, false, nil, false, true, false, false}},
		{Col("s").Like("__"), []any{false, true, false, false, nil, false, false, false, true}},
		{Col("s").Like("A_B%"), []any{false, false, false, false, nil, false, false, true, false}},
		{Call("like", Col("s"), Lit("a!%c"), Lit("!")), []any{false, false, false, false, nil, false, true, false, false}},
		{Col("s").ILike("A%C"), []any{true, false, false, false, nil, true, true, true, false}},
		{Col("s").RLike("b"), []any{true, true, true, false, nil, false, false, false, false}},
		{Col("s").RLike("^a.c$"), []any{true, false, false, false, nil, true, true, false, false}},
		{Call("regexp_like", Col("s"), Lit("(?i)bc")), []any{true, false, true, false, nil, false, false, true, false}},
		{Col("s").Like("x%").Not(), []any{true, true, false, true, nil, true, true, true, true}},
	}
	for _, c := range cases {
		evalBoth(t, c.e, c.want, s)
	}
	// Patterns from a column: compiled per distinct pattern.
	pats := column{"p", xtStr, []any{"a%", "%b", nil, "_", "a%"}}
	vals := column{"s", xtStr, []any{"abc", "ab", "x", "", "bcd"}}
	evalBoth(t, Call("like", Col("s"), Col("p")), []any{true, true, nil, false, false}, vals, pats)
	evalBoth(t, Call("rlike", Col("s"), Col("p")), []any{true, true, nil, false, false}, vals,
		column{"p", xtStr, []any{"^a", "b$", nil, ".", "^a"}})
	if got := Col("s").Like("a%").String(); got != "like(s, a%)" {
		t.Errorf("String = %q", got)
	}
	b, _ := Col("s").Like("a%").Bind(arrow.NewSchema([]arrow.Field{{Name: "s", Type: xtStr, Nullable: true}}, nil))
	if b.String() != "s LIKE a%" {
		t.Errorf("bound String = %q", b)
	}
}

func TestLikeErrors(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: xtStr, Nullable: true}, {Name: "n", Type: xtI64}}, nil)
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{Col("s").Like(`a\x`), `the LIKE pattern "a\\x" is invalid: the escape character '\\' may only precede %, _ or itself, not 'x'`},
		{Col("s").Like(`ab\`), `ends with the escape character`},
		{Col("s").RLike("a("), `the regular expression "a(" is invalid`},
		{Col("n").Like("1%"), "like needs strings, but n is bigint"},
		{Call("like", Col("s"), Lit("a"), Lit("ab")), "escape argument must be a constant of one character"},
	} {
		_, err := c.e.Bind(schema)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Bind(%s): %v, want %q", c.e, err, c.want)
		}
	}
	mem := checked(t)
	rec := record(t, mem, column{"s", xtStr, []any{"a", "b"}}, column{"p", xtStr, []any{"a", "b("}})
	defer rec.Release()
	_, err := tryEval(t, mem, Call("rlike", Col("s"), Col("p")), rec)
	if err == nil || !strings.Contains(err.Error(), "at row 1") || !strings.Contains(err.Error(), `"b("`) {
		t.Errorf("bad pattern in a column: %v", err)
	}
}

func TestConditionalBindErrors(t *testing.T) {
	schema := MustParseSchema("x BIGINT, s STRING, st STRUCT<a: INT>, b BOOLEAN")
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{When(Col("x"), Lit(1)).End(), "a WHEN condition must be a boolean, but x is bigint"},
		{When(Col("b"), Lit(1)).Otherwise(Lit("a")), "CASE branches need one type"},
		{When(Col("b"), Col("x")).Otherwise(Col("s")), "cast them to one type"},
		{If(Col("x"), Lit(1), Lit(2)), "the condition of if must be a boolean"},
		{Coalesce(Col("x"), Col("s")), "the arguments of coalesce need one type"},
		{Greatest(Col("st"), Col("st")), "greatest compares values, and struct<a:int> values have no order"},
		{Col("x").In(Lit("a")), "the value and the list of IN need one type"},
		{Col("s").Between(Lit(1), Lit(2)), "the operands of BETWEEN need one type"},
		{CaseWhen(), "has no WHEN branch"},
		{Call("if", Col("b"), Lit(1)), "if takes 3 arguments, got 2"},
	} {
		_, err := c.e.Bind(schema)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "expr: ") {
			t.Errorf("Bind(%s): %v, want %q", c.e, err, c.want)
		}
	}
}

func TestConditionalFoldingAndNames(t *testing.T) {
	schema := MustParseSchema("x BIGINT, y BIGINT")
	for _, c := range []struct {
		e           Expr
		name, bound string
	}{
		{When(Col("x").Gt(Lit(0)), Lit(1)).Otherwise(Lit(0)), "CASE WHEN (x > 0) THEN 1 ELSE 0 END", "CASE WHEN (x > 0) THEN 1 ELSE 0 END"},
		{When(Lit(true), Col("x")).Otherwise(Col("y")), "CASE WHEN true THEN x ELSE y END", "x"},
		{When(Lit(false), Col("x")).Otherwise(Col("y")), "CASE WHEN false THEN x ELSE y END", "y"},
		{When(Lit(nil), Col("x")).When(Col("y").Gt(Lit(1)), Col("y")).End(), "CASE WHEN NULL THEN x WHEN (y > 1) THEN y END", "CASE WHEN (y > 1) THEN y END"},
		{When(Lit(1).Lt(Lit(2)), Lit("a")).Otherwise(Lit("b")), "CASE WHEN (1 < 2) THEN a ELSE b END", "a"},
		{If(Col("x").Gt(Lit(0)), Lit(1), Lit(0)), "if((x > 0), 1, 0)", "CASE WHEN (x > 0) THEN 1 ELSE 0 END"},
		{Greatest(Lit(1), Lit(5), Lit(nil)), "greatest(1, 5, NULL)", "5"},
		{Lit(2).In(Lit(1), Lit(2)), "(2 IN (1, 2))", "true"},
		{Lit(3).Between(Lit(1), Lit(2)), "(3 BETWEEN 1 AND 2)", "false"},
		{Lit("abc").Like("a%"), "like(abc, a%)", "true"},
		{NullIf(Lit(1), Lit(1)), "nullif(1, 1)", "NULL"},
	} {
		if got := c.e.String(); got != c.name {
			t.Errorf("String() = %q, want %q", got, c.name)
		}
		b, err := c.e.Bind(schema)
		if err != nil {
			t.Errorf("Bind(%s): %v", c.e, err)
			continue
		}
		if got := b.String(); got != c.bound {
			t.Errorf("Bind(%s).String() = %q, want %q", c.e, got, c.bound)
		}
	}
}

func TestConditionalNestedTypes(t *testing.T) {
	mem := checked(t)
	typ := mustType(t, "struct<a: int, b: array<string>>")
	in := fromJSON(t, mem, typ, `[{"a": 1, "b": ["x"]}, null, {"a": 2, "b": []}]`)
	defer in.Release()
	got, err := evalOn(t, mem, Coalesce(Col("x"), When(Col("y").Eq(Lit(1)), Col("x")).End()), in)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if !array.Equal(got, in) {
		t.Errorf("coalesce of structs = %s, want %s", got, in)
	}
	// Nested fields in a branch evaluated on a subset.
	got2, err := evalOn(t, mem, When(Col("x.a").Gt(Lit(1)), Col("x.a").Mul(Lit(1000))).Otherwise(Lit(0)), in)
	if err != nil {
		t.Fatal(err)
	}
	defer got2.Release()
	if v := values(t, got2); !sameValues(v, []any{int32(0), int32(0), int32(2000)}) {
		t.Errorf("CASE over struct fields: %v", v)
	}
}

func TestOrderComparisons(t *testing.T) {
	p := column{"p", xtBool, []any{true, false, nil, true}}
	evalBoth(t, Col("p").Gt(Lit(false)), []any{true, false, nil, true}, p)
	evalBoth(t, Col("p").Le(Lit(false)), []any{false, true, nil, false}, p)
	evalBoth(t, Col("p").Ge(Col("q")), []any{true, false, nil, true}, p, column{"q", xtBool, []any{true, true, false, false}})

	mem := checked(t)
	cases := []struct {
		typ, a, b string
		e         Expr
		want      []any
	}{
		{"array<int>", `[[1, 2], [1], [null], [1, null], [], null]`, `[[1, 3], [1, 0], [0], [1, null], [], [1]]`,
			Col("a").Lt(Col("b")), []any{true, true, true, false, false, nil}},
		{"array<int>", `[[1, 2], [1], [null], [1, null], [], null]`, `[[1, 3], [1, 0], [0], [1, null], [], [1]]`,
			Col("a").Eq(Col("b")), []any{false, false, false, true, true, nil}},
		{"struct<x: int, y: string>", `[{"x": 1, "y": "a"}, {"x": 1, "y": null}, {"x": 2, "y": "a"}, null]`,
			`[{"x": 1, "y": "b"}, {"x": 1, "y": null}, {"x": 1, "y": "z"}, {"x": 0, "y": "a"}]`,
			Col("a").Lt(Col("b")), []any{true, false, false, nil}},
		{"struct<x: int, y: string>", `[{"x": 1, "y": "a"}, {"x": 1, "y": null}, {"x": 2, "y": "a"}, null]`,
			`[{"x": 1, "y": "b"}, {"x": 1, "y": null}, {"x": 1, "y": "z"}, {"x": 0, "y": "a"}]`,
			Col("a").Eq(Col("b")), []any{false, true, false, nil}},
		{"array<double>", `[[1.5], [0], [2]]`, `[[1.5], [-0.0], [3]]`, Col("a").Ge(Col("b")), []any{true, true, false}},
		{"array<struct<k: string>>", `[[{"k": "a"}], [{"k": "b"}]]`, `[[{"k": "a"}], [{"k": "a"}, {"k": "c"}]]`,
			Col("a").NotEq(Col("b")), []any{false, true}},
	}
	for _, c := range cases {
		typ := mustType(t, c.typ)
		a := fromJSON(t, mem, typ, c.a)
		b := fromJSON(t, mem, typ, c.b)
		schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: typ, Nullable: true}, {Name: "b", Type: typ, Nullable: true}}, nil)
		rec := array.NewRecordBatch(schema, []arrow.Array{a, b}, int64(a.Len()))
		a.Release()
		b.Release()
		for _, slice := range []bool{false, true} {
			r := rec
			want := c.want
			if slice {
				r = rec.NewSlice(1, rec.NumRows())
				want = want[1:]
			}
			got, err := tryEval(t, mem, c.e, r)
			if err != nil {
				t.Errorf("%s over %s: %v", c.e, c.typ, err)
			} else if !sameValues(got, want) {
				t.Errorf("%s over %s (sliced %v) = %v, want %v", c.e, c.typ, slice, got, want)
			}
			if slice {
				r.Release()
			}
		}
		rec.Release()
	}
	// Arrays of different element types compare in the wider one.
	schema := MustParseSchema("a ARRAY<INT>, b ARRAY<BIGINT>, m MAP<STRING, INT>")
	ai := fromJSON(t, mem, schema.Field(0).Type, `[[1, 2], [3]]`)
	bi := fromJSON(t, mem, schema.Field(1).Type, `[[1, 2], [4]]`)
	mi := array.MakeArrayOfNull(mem, schema.Field(2).Type, 2)
	mixed := array.NewRecordBatch(schema, []arrow.Array{ai, bi, mi}, 2)
	ai.Release()
	bi.Release()
	mi.Release()
	defer mixed.Release()
	if got, err := tryEval(t, mem, Col("a").Eq(Col("b")), mixed); err != nil || !sameValues(got, []any{true, false}) {
		t.Errorf("array<int> = array<bigint>: %v, %v", got, err)
	}
	_, err := Col("m").Eq(Col("m")).Bind(schema)
	if err == nil || !strings.Contains(err.Error(), "maps cannot be compared") {
		t.Errorf("map = map: %v", err)
	}
}

func TestShortCircuitPaths(t *testing.T) {
	// coalesce turns the rows a branch does not take (x null) into 0: the
	// branch must not run on them, or 10 / 0 fails.
	x := column{"x", xtI64, []any{nil, int64(5), nil, int64(2)}}
	evalBoth(t, When(Col("x").IsNull(), Lit(0.0)).Otherwise(Lit(10).Div(Coalesce(Col("x"), Lit(0)))),
		[]any{0.0, 2.0, 0.0, 5.0}, x)
	evalBoth(t, Col("x").IsNotNull().And(Lit(10).Div(Coalesce(Col("x"), Lit(0))).Gt(Lit(3))),
		[]any{false, false, false, true}, x)
	// A dictionary column in a branch that runs on some rows.
	mem := checked(t)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"1", "x", "2", "x"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	col := b.NewArray()
	b.Release()
	defer col.Release()
	for _, slice := range []bool{false, true} {
		in := col
		want := []any{int32(1), int32(-1), int32(2), int32(-1), int32(-1)}
		if slice {
			in = array.NewSlice(col, 1, 5)
			want = want[1:]
		}
		got, err := evalOn(t, mem, When(Col("x").NotEq(Lit("x")), Col("x").Cast(arrow.PrimitiveTypes.Int32)).Otherwise(Lit(-1)), in)
		if err != nil {
			t.Errorf("CASE over a dictionary column (sliced %v): %v", slice, err)
		} else {
			if v := values(t, got); !sameValues(v, want) {
				t.Errorf("CASE over a dictionary column (sliced %v) = %v, want %v", slice, v, want)
			}
			got.Release()
		}
		if slice {
			in.Release()
		}
	}
	// Strings through the gather path, constants and nulls mixed.
	evalBoth(t, When(Col("x").Gt(Lit(3)), Col("x").Cast(xtStr)).When(Col("x").IsNull(), Lit(nil)).Otherwise(Lit("small")),
		[]any{nil, "5", nil, "small"}, x)
}
