package expr

import (
	"flag"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// This file checks evaluation against a row-at-a-time reference
// interpreter over random data and random well-typed expressions.

var seedFlag = flag.Uint64("seed", 0, "seed of the randomized tests (0: a fresh one)")

// ref evaluates an expression for one row: nil (null), int64, float64,
// string or bool.
type ref func(row int) any

type randGen struct {
	r    *rand.Rand
	cols map[string][]any
}

func (g *randGen) col(name string) ref {
	vals := g.cols[name]
	return func(row int) any { return vals[row] }
}

func (g *randGen) smallInt() int64 { return g.r.Int64N(61) - 30 }

func (g *randGen) nonZeroInt() int64 {
	for {
		if v := g.smallInt(); v != 0 {
			return v
		}
	}
}

// num returns a numeric expression, whether it is a float, and its
// reference. Depth is kept small so that products of int32 values fit.
func (g *randGen) num(depth int) (Expr, bool, ref) {
	if depth == 0 || g.r.IntN(3) == 0 {
		switch g.r.IntN(7) {
		case 0:
			return Col("a"), false, g.col("a")
		case 1:
			return Col("b"), false, g.col("b")
		case 2:
			return Col("f"), true, g.col("f")
		case 3:
			v := g.smallInt()
			return Lit(v), false, func(int) any { return v }
		case 4:
			v := float64(g.smallInt()) / 4
			return Lit(v), true, func(int) any { return v }
		case 5:
			return Lit(nil), false, func(int) any { return nil }
		default:
			return Col("a"), false, g.col("a")
		}
	}
	l, lf, lr := g.num(depth - 1)
	op := g.r.IntN(4)
	var r Expr
	var rf bool
	var rr ref
	if op == 3 {
		r, rf, rr = g.divisor()
	} else {
		r, rf, rr = g.num(depth - 1)
	}
	isFloat := lf || rf || op == 3
	calc := func(row int) any {
		x, y := lr(row), rr(row)
		if x == nil || y == nil {
			return nil
		}
		if !isFloat {
			a, b := x.(int64), y.(int64)
			switch op {
			case 0:
				return a + b
			case 1:
				return a - b
			default:
				return a * b
			}
		}
		a, b := toFloat(x), toFloat(y)
		switch op {
		case 0:
			return a + b
		case 1:
			return a - b
		case 2:
			return a * b
		default:
			return a / b
		}
	}
	switch op {
	case 0:
		return l.Add(r), isFloat, calc
	case 1:
		return l.Sub(r), isFloat, calc
	case 2:
		return l.Mul(r), isFloat, calc
	default:
		return l.Div(r), isFloat, calc
	}
}

// divisor returns an expression that is never zero (b and f hold no
// zeros).
func (g *randGen) divisor() (Expr, bool, ref) {
	switch g.r.IntN(4) {
	case 0:
		return Col("b"), false, g.col("b")
	case 1:
		return Col("f"), true, g.col("f")
	case 2:
		v := g.nonZeroInt()
		return Lit(v), false, func(int) any { return v }
	default:
		v := float64(g.nonZeroInt()) / 2
		return Lit(v), true, func(int) any { return v }
	}
}

func toFloat(v any) float64 {
	if i, ok := v.(int64); ok {
		return float64(i)
	}
	return v.(float64)
}

func compare(op int, c int) bool {
	switch op {
	case 0:
		return c == 0
	case 1:
		return c != 0
	case 2:
		return c < 0
	case 3:
		return c <= 0
	case 4:
		return c > 0
	default:
		return c >= 0
	}
}

func cmpExpr(op int, l, r Expr) Expr {
	switch op {
	case 0:
		return l.Eq(r)
	case 1:
		return l.NotEq(r)
	case 2:
		return l.Lt(r)
	case 3:
		return l.Le(r)
	case 4:
		return l.Gt(r)
	default:
		return l.Ge(r)
	}
}

var words = []string{"apple", "banana", "cherry", ""}

// boolean returns a boolean expression and its reference.
func (g *randGen) boolean(depth int) (Expr, ref) {
	if depth == 0 || g.r.IntN(4) == 0 {
		switch g.r.IntN(4) {
		case 0, 1:
			return Col("p"), g.col("p")
		case 2:
			v := g.r.IntN(2) == 0
			return Lit(v), func(int) any { return v }
		default:
			return Lit(nil), func(int) any { return nil }
		}
	}
	switch g.r.IntN(7) {
	case 0, 1: // numeric comparison
		op := g.r.IntN(6)
		l, lf, lr := g.num(2)
		r, rf, rr := g.num(2)
		float := lf || rf
		return cmpExpr(op, l, r), func(row int) any {
			x, y := lr(row), rr(row)
			if x == nil || y == nil {
				return nil
			}
			if float {
				a, b := toFloat(x), toFloat(y)
				c := 0
				if a < b {
					c = -1
				} else if a > b {
					c = 1
				}
				return compare(op, c)
			}
			a, b := x.(int64), y.(int64)
			c := 0
			if a < b {
				c = -1
			} else if a > b {
				c = 1
			}
			return compare(op, c)
		}
	case 2: // string comparison
		op := g.r.IntN(6)
		var r Expr
		var rr ref
		if g.r.IntN(2) == 0 {
			w := words[g.r.IntN(len(words))]
			r, rr = Lit(w), func(int) any { return w }
		} else {
			r, rr = Col("s"), g.col("s")
		}
		sr := g.col("s")
		return cmpExpr(op, Col("s"), r), func(row int) any {
			x, y := sr(row), rr(row)
			if x == nil || y == nil {
				return nil
			}
			a, b := x.(string), y.(string)
			c := 0
			if a < b {
				c = -1
			} else if a > b {
				c = 1
			}
			return compare(op, c)
		}
	case 3:
		l, lr := g.boolean(depth - 1)
		r, rr := g.boolean(depth - 1)
		return l.And(r), func(row int) any {
			x, y := lr(row), rr(row)
			if x == false || y == false {
				return false
			}
			if x == nil || y == nil {
				return nil
			}
			return true
		}
	case 4:
		l, lr := g.boolean(depth - 1)
		r, rr := g.boolean(depth - 1)
		return l.Or(r), func(row int) any {
			x, y := lr(row), rr(row)
			if x == true || y == true {
				return true
			}
			if x == nil || y == nil {
				return nil
			}
			return false
		}
	case 5:
		x, xr := g.boolean(depth - 1)
		return x.Not(), func(row int) any {
			v := xr(row)
			if v == nil {
				return nil
			}
			return !v.(bool)
		}
	default:
		x, _, xr := g.num(1)
		if g.r.IntN(2) == 0 {
			return x.IsNull(), func(row int) any { return xr(row) == nil }
		}
		return x.IsNotNull(), func(row int) any { return xr(row) != nil }
	}
}

// normalize maps engine values to the reference's Go types.
func normalize(v any) any {
	switch v := v.(type) {
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case int8:
		return int64(v)
	}
	return v
}

func TestRandomExpressionsMatchReference(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 7))
	mem := checked(t)
	const rows = 200
	cols := map[string][]any{}
	gen := func(name string, f func() any) {
		vals := make([]any, rows)
		for i := range vals {
			if r.IntN(5) != 0 {
				vals[i] = f()
			}
		}
		cols[name] = vals
	}
	g := &randGen{r: r, cols: cols}
	gen("a", func() any { return g.smallInt() })
	gen("b", func() any { return g.nonZeroInt() })
	gen("f", func() any { return float64(g.nonZeroInt()) / 8 })
	gen("s", func() any { return words[r.IntN(len(words))] })
	gen("p", func() any { return r.IntN(2) == 0 })
	b32 := make([]any, rows)
	for i, v := range cols["b"] {
		if v != nil {
			b32[i] = int32(v.(int64))
		}
	}
	rec := record(t, mem,
		column{"a", arrow.PrimitiveTypes.Int64, cols["a"]},
		column{"b", arrow.PrimitiveTypes.Int32, b32},
		column{"f", arrow.PrimitiveTypes.Float64, cols["f"]},
		column{"s", arrow.BinaryTypes.String, cols["s"]},
		column{"p", arrow.FixedWidthTypes.Boolean, cols["p"]},
	)
	defer rec.Release()
	off := 1 + r.IntN(9)
	slice := rec.NewSlice(int64(off), rows-5)
	defer slice.Release()

	check := func(e Expr, want ref) {
		t.Helper()
		for _, c := range []struct {
			rec   arrow.RecordBatch
			first int
		}{{rec, 0}, {slice, off}} {
			got := eval(t, mem, e, c.rec)
			for i, v := range got {
				if w := want(c.first + i); normalize(v) != w {
					t.Fatalf("%s at row %d (record offset %d) = %v (%T), want %v (%T)", e, c.first+i, c.first, v, v, w, w)
				}
			}
		}
	}
	for i := 0; i < 400; i++ {
		e, want := g.boolean(3)
		check(e, want)
		n, _, nwant := g.num(2)
		check(n, nwant)
	}
}
