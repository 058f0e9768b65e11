package expr

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Math functions, as Spark 4 with ANSI mode on:
//
//   - abs, negative (and unary minus, Negate), positive keep the operand's
//     type; abs and negative of the smallest integer overflow (an error).
//   - round(x[, d]) rounds half up, bround(x[, d]) half to even, to d
//     decimal places (d a constant, default 0, negative rounds to tens,
//     hundreds, ...); integers and floats keep their type, a decimal(p,s)
//     becomes decimal(p-s+1+min(s,d), min(s,d)) as in Spark. A double is
//     rounded as its shortest decimal representation, as Spark's
//     BigDecimal(d) does, so round(1.005, 2) = 1.01.
//   - floor and ceil (ceiling) return bigint for integers and floats and
//     decimal(p-s+1, 0) for decimals. A double outside the bigint range
//     (or NaN) is an overflow error, where Spark would saturate silently.
//   - sqrt, cbrt, exp, expm1, pow/power, the trigonometric functions and
//     sign/mdSignum compute in double; sqrt of a negative is NaN. ln, log,
//     log10, log2 (and log1p) are null at and below their asymptote (x <=
//     0; x <= -1 for log1p), as in Spark; log(base, x) is null when either
//     is <= 0.
//   - x % y (Mod), mod, pmod and try_mod: the remainder has the dividend's
//     sign (pmod: made non-negative for a positive divisor); a zero divisor
//     is an error (ErrDivideByZero), null with try_mod.
//   - try_add, try_subtract, try_multiply, try_divide are +, -, *, / with
//     null where those would fail.

func init() {
	for _, d := range []*funcDef{
		{name: "abs", minArgs: 1, maxArgs: 1, bind: mdBindSignOp(mdAbs)},
		{name: "negative", minArgs: 1, maxArgs: 1, bind: mdBindSignOp(mdNegate)},
		{name: "positive", minArgs: 1, maxArgs: 1, bind: mdBindPositive},
		{name: "round", minArgs: 1, maxArgs: 2, bind: mdBindRound(mdHalfUp)},
		{name: "bround", minArgs: 1, maxArgs: 2, bind: mdBindRound(mdHalfEven)},
		{name: "floor", minArgs: 1, maxArgs: 1, bind: mdBindFloorCeil(mdFloor)},
		{name: "ceil", minArgs: 1, maxArgs: 1, bind: mdBindFloorCeil(mdCeil)},
		{name: "ceiling", minArgs: 1, maxArgs: 1, bind: mdBindFloorCeil(mdCeil)},
		{name: "pow", minArgs: 2, maxArgs: 2, bind: mdBindBinary("pow", mdPow)},
		{name: "power", minArgs: 2, maxArgs: 2, bind: mdBindBinary("power", mdPow)},
		{name: "atan2", minArgs: 2, maxArgs: 2, bind: mdBindBinary("atan2", math.Atan2)},
		{name: "log", minArgs: 1, maxArgs: 2, bind: mdBindLog},
		{name: "mod", minArgs: 2, maxArgs: 2, bind: mdBindMod(mdModPlain, false)},
		{name: "pmod", minArgs: 2, maxArgs: 2, bind: mdBindMod(mdModPositive, false)},
		{name: "try_mod", minArgs: 2, maxArgs: 2, bind: mdBindMod(mdModPlain, true)},
		{name: "try_add", minArgs: 2, maxArgs: 2, bind: mdBindTryArith(opAdd, "try_add")},
		{name: "try_subtract", minArgs: 2, maxArgs: 2, bind: mdBindTryArith(opSub, "try_subtract")},
		{name: "try_multiply", minArgs: 2, maxArgs: 2, bind: mdBindTryArith(opMul, "try_multiply")},
		{name: "try_divide", minArgs: 2, maxArgs: 2, bind: mdBindTryArith(opDiv, "try_divide")},
		{name: "e", minArgs: 0, maxArgs: 0, bind: mdBindConst(math.E)},
		{name: "pi", minArgs: 0, maxArgs: 0, bind: mdBindConst(math.Pi)},
	} {
		register(d)
	}
	for _, u := range mdUnaries {
		register(&funcDef{name: u.name, minArgs: 1, maxArgs: 1, bind: mdBindUnary(u)})
	}
}

// mdUnary is a function of one double. Values at or below asymptote
// (when hasAsym) give null, as Spark's logarithms do.
type mdUnary struct {
	name    string
	f       func(float64) float64
	hasAsym bool
	asym    float64
}

var mdUnaries = []mdUnary{
	{name: "sqrt", f: math.Sqrt},
	{name: "cbrt", f: math.Cbrt},
	{name: "exp", f: math.Exp},
	{name: "expm1", f: math.Expm1},
	{name: "ln", f: math.Log, hasAsym: true},
	{name: "log10", f: math.Log10, hasAsym: true},
	{name: "log2", f: math.Log2, hasAsym: true},
	{name: "log1p", f: math.Log1p, hasAsym: true, asym: -1},
	{name: "sign", f: mdSignum},
	{name: "signum", f: mdSignum},
	{name: "sin", f: math.Sin},
	{name: "cos", f: math.Cos},
	{name: "tan", f: math.Tan},
	{name: "asin", f: math.Asin},
	{name: "acos", f: math.Acos},
	{name: "atan", f: math.Atan},
	{name: "sinh", f: math.Sinh},
	{name: "cosh", f: math.Cosh},
	{name: "tanh", f: math.Tanh},
	{name: "degrees", f: func(x float64) float64 { return x * (180 / math.Pi) }},
	{name: "radians", f: func(x float64) float64 { return x / 180 * math.Pi }},
}

// mdSignum is Java's Math.mdSignum: -1, 0 or 1, keeping -0.0 and NaN.
func mdSignum(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x
}

// mdPow is math.Pow with Java's special cases where they differ:
// pow(x, NaN) is NaN for every x, and pow(±1, ±Inf) is NaN.
func mdPow(x, y float64) float64 {
	if math.IsNaN(y) || (math.IsInf(y, 0) && math.Abs(x) == 1) {
		return math.NaN()
	}
	return math.Pow(x, y)
}

// Mod is e % other: the remainder of e divided by other, with the sign of
// e (as Java's and Spark's %). Operands widen to a common numeric type as
// for Add; a zero divisor is an error naming the row (ErrDivideByZero).
func (e Expr) Mod(other Expr) Expr { return Expr{&mdModNode{l: e.n, r: other.n}} }

// Negate is -e (Spark's unary minus, displayed "(- e)"). Negating the
// smallest value of an integer type overflows, an error.
func (e Expr) Negate() Expr { return Expr{&mdNegNode{x: e.n}} }

type mdModNode struct{ l, r node }

func (m *mdModNode) String() string {
	return "(" + nodeString(m.l) + " % " + nodeString(m.r) + ")"
}

func (m *mdModNode) bind(b *binder) (bnode, error) {
	l, err := bindNode(b, m.l)
	if err != nil {
		return nil, err
	}
	r, err := bindNode(b, m.r)
	if err != nil {
		return nil, err
	}
	src := m.String()
	n, err := mdBindMod(mdModPlain, false)(b, src, []bnode{l, r})
	if err != nil {
		return nil, err
	}
	return b.fold(n, src)
}

type mdNegNode struct{ x node }

func (n *mdNegNode) String() string { return "(- " + nodeString(n.x) + ")" }

func (n *mdNegNode) bind(b *binder) (bnode, error) {
	x, err := bindNode(b, n.x)
	if err != nil {
		return nil, err
	}
	src := n.String()
	bn, err := mdBindSignOp(mdNegate)(b, src, []bnode{x})
	if err != nil {
		return nil, err
	}
	return b.fold(bn, src)
}

// ---- shared helpers for this file and datetime.go ----

// mdView reads a fixed-width argument: the values of an array, or one
// constant repeated. Validity is handled by mdOut.
type mdView[T arrow.FixedWidthType] struct {
	vals   []T
	scalar bool
}

func (v mdView[T]) at(i int) T {
	if v.scalar {
		return v.vals[0]
	}
	return v.vals[i]
}

// mdViewOf views v (borrowed). A null constant reads as zero.
func mdViewOf[T arrow.FixedWidthType](v val) mdView[T] {
	if v.arr != nil {
		vals := arrow.GetValues[T](v.arr.Data(), 1)
		if len(vals) < v.arr.Len() {
			vals = make([]T, v.arr.Len()) // an all-null array without a values buffer
		}
		return mdView[T]{vals: vals}
	}
	var z [1]T
	if ps, ok := v.sc.(scalar.PrimitiveScalar); ok && v.sc.IsValid() {
		if d := arrow.GetData[T](ps.Data()); len(d) > 0 {
			z[0] = d[0]
		}
	}
	return mdView[T]{vals: z[:], scalar: true}
}

// mdOut is the result of a kernel producing fixed-width values: null
// wherever an input array is null, plus the rows the kernel sets null.
type mdOut[T arrow.FixedWidthType] struct {
	mem   memory.Allocator
	n     int
	data  *memory.Buffer
	vals  []T
	valid *memory.Buffer // nil while no row is null
	bits  []byte
}

func newMdOut[T arrow.FixedWidthType](ev *evalCtx, n int, args ...val) *mdOut[T] {
	var z T
	o := &mdOut[T]{mem: ev.mem, n: n, data: memory.NewResizableBuffer(ev.mem)}
	o.data.Resize(n * int(unsafe.Sizeof(z)))
	o.vals = arrow.GetData[T](o.data.Bytes())[:n]
	o.valid = mdValidity(ev.mem, n, args)
	if o.valid != nil {
		o.bits = o.valid.Bytes()
	}
	return o
}

// mdValidity is the validity bitmap (n rows) of a result that is null where
// any array in args is; nil when none has nulls.
func mdValidity(mem memory.Allocator, n int, args []val) *memory.Buffer {
	var out *memory.Buffer
	for _, a := range args {
		if a.arr == nil || a.arr.NullN() == 0 {
			continue
		}
		bm, off := a.arr.NullBitmapBytes(), a.arr.Data().Offset()
		if out == nil {
			out = memory.NewResizableBuffer(mem)
			out.Resize(int(bitutil.BytesForBits(int64(n))))
			bitutil.CopyBitmap(bm, off, n, out.Bytes(), 0)
			continue
		}
		next := bitutil.BitmapAndAlloc(mem, out.Bytes(), bm, 0, int64(off), int64(n), 0)
		out.Release()
		out = next
	}
	return out
}

func (o *mdOut[T]) isNull(i int) bool { return o.bits != nil && !bitutil.BitIsSet(o.bits, i) }

func (o *mdOut[T]) setNull(i int) {
	if o.valid == nil {
		o.valid = memory.NewResizableBuffer(o.mem)
		o.valid.Resize(int(bitutil.BytesForBits(int64(o.n))))
		o.bits = o.valid.Bytes()
		bitutil.SetBitsTo(o.bits, 0, int64(o.n), true)
	}
	bitutil.ClearBit(o.bits, i)
}

func (o *mdOut[T]) release() {
	o.data.Release()
	if o.valid != nil {
		o.valid.Release()
	}
}

// finish returns the result (owned) as an array of typ, or as a constant
// when constant is set (every argument was a constant).
func (o *mdOut[T]) finish(typ arrow.DataType, constant bool) (val, error) {
	nulls := 0
	if o.valid != nil {
		nulls = o.n - bitutil.CountSetBits(o.bits, 0, o.n)
	}
	data := array.NewData(typ, o.n, []*memory.Buffer{o.valid, o.data}, nil, nulls, 0)
	o.release()
	arr := array.MakeFromData(data)
	data.Release()
	if !constant {
		return val{arr: arr}, nil
	}
	return mdConst(arr)
}

// mdConst turns the one-row result arr (consumed) into a constant held in
// Go memory (never released).
func mdConst(arr arrow.Array) (val, error) {
	defer arr.Release()
	if arr.IsNull(0) {
		return val{sc: scalar.MakeNullScalar(arr.DataType())}, nil
	}
	switch a := arr.(type) {
	case *array.String:
		return val{sc: scalar.NewStringScalar(a.Value(0))}, nil
	case *array.LargeString:
		return val{sc: scalar.NewLargeStringScalar(a.Value(0))}, nil
	}
	sc, err := scalar.GetScalar(arr, 0)
	if err != nil {
		return val{}, fmt.Errorf("expr: making a constant of %s: %w", arr.DataType(), err)
	}
	return val{sc: sc}, nil
}

// mdAllConst reports whether every argument is a constant, and
// mdHasNull whether any is a null constant.
func mdAllConst(args []val) bool {
	for _, a := range args {
		if a.arr != nil {
			return false
		}
	}
	return true
}

func mdHasNull(args []val) bool {
	for _, a := range args {
		if a.arr == nil && !a.sc.IsValid() {
			return true
		}
	}
	return false
}

// mdNull is an all-null result of type typ: a constant when every
// argument is one, else an array of ev.rows nulls (owned).
func mdNull(ev *evalCtx, typ arrow.DataType, args []val) val {
	if mdAllConst(args) {
		return val{sc: scalar.MakeNullScalar(typ)}
	}
	return val{arr: array.MakeArrayOfNull(ev.mem, typ, ev.rows)}
}

// mdRows is the number of rows to compute: 1 when every argument is a
// constant.
func mdRows(ev *evalCtx, args []val) int {
	if mdAllConst(args) {
		return 1
	}
	return ev.rows
}

// mdAtRow is " at row i", or "" for a constant computation.
func mdAtRow(i int, constant bool) string {
	if constant {
		return ""
	}
	return fmt.Sprintf(" at row %d", i)
}

// mdNumericArg accepts a numeric or decimal argument; a null becomes a null
// double.
func mdNumericArg(b *binder, src, fname string, n bnode, allowDecimal bool) (bnode, error) {
	n = b.decodeDict(n)
	t := n.dataType()
	switch {
	case isNull(t):
		return b.castConst(n, arrow.PrimitiveTypes.Float64), nil
	case isNumeric(t):
		return n, nil
	case allowDecimal && t.ID() == arrow.DECIMAL128:
		return n, nil
	}
	return nil, fmt.Errorf("expr: %w in %s: %s needs a numeric argument, but %s is %s",
		ErrType, b.in(src), fname, n, typeName(t))
}

// mdDoubleArg casts a numeric or decimal argument to double.
func mdDoubleArg(b *binder, src, fname string, n bnode) (bnode, error) {
	n, err := mdNumericArg(b, src, fname, n, true)
	if err != nil {
		return nil, err
	}
	return b.castTo(n, arrow.PrimitiveTypes.Float64, src)
}

// ---- abs, negative, positive ----

type mdSignOp int

const (
	mdAbs mdSignOp = iota
	mdNegate
)

func mdBindSignOp(op mdSignOp) func(b *binder, src string, args []bnode) (bnode, error) {
	name := [...]string{"abs", "negative"}[op]
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := mdNumericArg(b, src, name, args[0], true)
		if err != nil {
			return nil, err
		}
		t := x.dataType()
		if isUnsigned(t) && op == mdAbs {
			return x, nil
		}
		if isUnsigned(t) {
			return nil, fmt.Errorf("expr: %w in %s: cannot negate the unsigned %s; cast it to a signed type first", ErrType, b.in(src), x)
		}
		return &bFunc{name: name, src: src, args: []bnode{x}, typ: t, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) { return mdEvalSignOp(ev, op, src, t, vals) }}, nil
	}
}

func mdBindPositive(b *binder, src string, args []bnode) (bnode, error) {
	return mdNumericArg(b, src, "positive", args[0], true)
}

// mdEvalSignOp computes abs or negative of args[0] (borrowed). The result
// is owned by the caller; it is a constant when the argument is one.
func mdEvalSignOp(ev *evalCtx, op mdSignOp, src string, t arrow.DataType, args []val) (val, error) {
	if mdHasNull(args) {
		return mdNull(ev, t, args), nil
	}
	switch t.ID() {
	case arrow.INT8:
		return mdSignInts[int8](ev, op, src, t, args)
	case arrow.INT16:
		return mdSignInts[int16](ev, op, src, t, args)
	case arrow.INT32:
		return mdSignInts[int32](ev, op, src, t, args)
	case arrow.INT64:
		return mdSignInts[int64](ev, op, src, t, args)
	case arrow.FLOAT32:
		return mdSignFloats[float32](ev, op, t, args)
	case arrow.FLOAT64:
		return mdSignFloats[float64](ev, op, t, args)
	case arrow.DECIMAL128:
		n := mdRows(ev, args)
		x := mdViewOf[decimal128.Num](args[0])
		o := newMdOut[decimal128.Num](ev, n, args...)
		for i := range o.vals {
			v := x.at(i)
			if op == mdNegate || v.Sign() < 0 {
				v = v.Negate()
			}
			o.vals[i] = v
		}
		return o.finish(t, mdAllConst(args))
	}
	return val{}, fmt.Errorf("expr: evaluating %s: unsupported type %s", src, t)
}

// mdSignInts is mdEvalSignOp for signed integers; the result is owned by
// the caller.
func mdSignInts[T signedInt](ev *evalCtx, op mdSignOp, src string, t arrow.DataType, args []val) (val, error) {
	n := mdRows(ev, args)
	x := mdViewOf[T](args[0])
	o := newMdOut[T](ev, n, args...)
	lowest := minSigned[T]()
	var hit bool
	out := o.vals
	if op == mdAbs {
		for i := range out {
			v := x.at(i)
			hit = hit || v == lowest
			m := v >> (unsafe.Sizeof(v)*8 - 1) // all ones when negative
			out[i] = (v ^ m) - m
		}
	} else {
		for i := range out {
			v := x.at(i)
			hit = hit || v == lowest
			out[i] = -v
		}
	}
	if hit {
		for i := range out {
			if x.at(i) == lowest && !o.isNull(i) {
				o.release()
				fname := [...]string{"abs", "-"}[op]
				return val{}, fmt.Errorf("expr: %w in %s%s: %s(%d) = %s does not fit in %s; cast to a wider type first",
					ErrOverflow, src, mdAtRow(i, mdAllConst(args)), fname, lowest, strconv.FormatUint(uint64(-int64(lowest)), 10), typeName(t))
			}
		}
	}
	return o.finish(t, mdAllConst(args))
}

// mdSignFloats is mdEvalSignOp for floats; the result is owned by the
// caller.
func mdSignFloats[T float32 | float64](ev *evalCtx, op mdSignOp, t arrow.DataType, args []val) (val, error) {
	n := mdRows(ev, args)
	x := mdViewOf[T](args[0])
	o := newMdOut[T](ev, n, args...)
	for i := range o.vals {
		v := x.at(i)
		if op == mdAbs {
			o.vals[i] = T(math.Abs(float64(v)))
		} else {
			o.vals[i] = -v
		}
	}
	return o.finish(t, mdAllConst(args))
}

// ---- functions of doubles ----

func mdBindUnary(u mdUnary) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := mdDoubleArg(b, src, u.name, args[0])
		if err != nil {
			return nil, err
		}
		return &bFunc{name: u.name, src: src, args: []bnode{x}, typ: arrow.PrimitiveTypes.Float64, null: x.nullable() || u.hasAsym,
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, arrow.PrimitiveTypes.Float64, vals), nil
				}
				n := mdRows(ev, vals)
				x := mdViewOf[float64](vals[0])
				o := newMdOut[float64](ev, n, vals...)
				for i := range o.vals {
					v := x.at(i)
					if u.hasAsym && v <= u.asym {
						o.setNull(i)
						continue
					}
					o.vals[i] = u.f(v)
				}
				return o.finish(arrow.PrimitiveTypes.Float64, mdAllConst(vals))
			}}, nil
	}
}

func mdBindBinary(name string, f func(x, y float64) float64) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		for i := range args {
			a, err := mdDoubleArg(b, src, name, args[i])
			if err != nil {
				return nil, err
			}
			args[i] = a
		}
		return &bFunc{name: name, src: src, args: args, typ: arrow.PrimitiveTypes.Float64, null: anyNullable(args),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, arrow.PrimitiveTypes.Float64, vals), nil
				}
				x, y := mdViewOf[float64](vals[0]), mdViewOf[float64](vals[1])
				o := newMdOut[float64](ev, mdRows(ev, vals), vals...)
				for i := range o.vals {
					o.vals[i] = f(x.at(i), y.at(i))
				}
				return o.finish(arrow.PrimitiveTypes.Float64, mdAllConst(vals))
			}}, nil
	}
}

// mdBindLog is log(x) (natural) or log(base, x); null where x <= 0 or
// base <= 0.
func mdBindLog(b *binder, src string, args []bnode) (bnode, error) {
	if len(args) == 1 {
		return mdBindUnary(mdUnary{name: "log", f: math.Log, hasAsym: true})(b, src, args)
	}
	for i := range args {
		a, err := mdDoubleArg(b, src, "log", args[i])
		if err != nil {
			return nil, err
		}
		args[i] = a
	}
	f64 := arrow.PrimitiveTypes.Float64
	return &bFunc{name: "log", src: src, args: args, typ: f64, null: true,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, f64, vals), nil
			}
			base, x := mdViewOf[float64](vals[0]), mdViewOf[float64](vals[1])
			o := newMdOut[float64](ev, mdRows(ev, vals), vals...)
			for i := range o.vals {
				bv, xv := base.at(i), x.at(i)
				if bv <= 0 || xv <= 0 {
					o.setNull(i)
					continue
				}
				o.vals[i] = math.Log(xv) / math.Log(bv)
			}
			return o.finish(f64, mdAllConst(vals))
		}}, nil
}

func mdBindConst(v float64) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(*binder, string, []bnode) (bnode, error) {
		return &bLit{sc: scalar.NewFloat64Scalar(v)}, nil
	}
}

// ---- round, bround, floor, ceil ----

type mdRoundMode int

const (
	mdHalfUp mdRoundMode = iota
	mdHalfEven
	mdFloor
	mdCeil
)

func (m mdRoundMode) name() string {
	return [...]string{"round", "bround", "floor", "ceil"}[m]
}

// mdBindRound binds round(x[, d]) and bround(x[, d]); d must be a constant
// integer.
func mdBindRound(mode mdRoundMode) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := mdNumericArg(b, src, mode.name(), args[0], true)
		if err != nil {
			return nil, err
		}
		d := 0
		if len(args) == 2 {
			c, ok := args[1].(*bLit)
			if !ok || !isInteger(c.sc.DataType()) {
				return nil, fmt.Errorf("expr: %w in %s: the scale of %s must be a constant integer, not %s", ErrType, b.in(src), mode.name(), args[1])
			}
			if !c.sc.IsValid() {
				return &bLit{sc: scalar.MakeNullScalar(x.dataType())}, nil
			}
			v, err := castScalar(c.sc, arrow.PrimitiveTypes.Int32)
			if err != nil {
				return nil, fmt.Errorf("expr: the scale %s of %s is out of range", args[1], b.in(src))
			}
			d = int(v.(*scalar.Int32).Value)
		}
		t := x.dataType()
		if isUnsigned(t) {
			return nil, fmt.Errorf("expr: %w in %s: %s of the unsigned %s is not supported; cast it to bigint first", ErrType, b.in(src), mode.name(), x)
		}
		if isInteger(t) && d >= 0 {
			return x, nil // nothing to round
		}
		out := t
		if dt, ok := t.(*arrow.Decimal128Type); ok {
			out = mdRoundDecimalType(dt, d)
		}
		return &bFunc{name: mode.name(), src: src, args: []bnode{x}, typ: out, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) { return mdEvalRound(ev, mode, d, src, out, vals) }}, nil
	}
}

// mdRoundDecimalType is Spark's result type of rounding decimal(p,s) to d
// places: one more integral digit, and min(s, d) fractional digits.
func mdRoundDecimalType(t *arrow.Decimal128Type, d int) *arrow.Decimal128Type {
	p, s := int(t.Precision), int(t.Scale)
	integral := p - s + 1
	if d < 0 {
		return &arrow.Decimal128Type{Precision: int32(min(max(integral, -d+1), 38)), Scale: 0}
	}
	ns := min(s, d)
	return &arrow.Decimal128Type{Precision: int32(min(integral+ns, 38)), Scale: int32(ns)}
}

func mdBindFloorCeil(mode mdRoundMode) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := mdNumericArg(b, src, mode.name(), args[0], true)
		if err != nil {
			return nil, err
		}
		t := x.dataType()
		i64 := arrow.PrimitiveTypes.Int64
		switch {
		case isInteger(t):
			return b.castTo(x, i64, src)
		case isFloat(t):
			if x, err = b.castTo(x, arrow.PrimitiveTypes.Float64, src); err != nil {
				return nil, err
			}
			return &bFunc{name: mode.name(), src: src, args: []bnode{x}, typ: i64, null: x.nullable(),
				fn: func(ev *evalCtx, vals []val) (val, error) { return mdFloorCeilDoubles(ev, mode, src, vals) }}, nil
		}
		dt := t.(*arrow.Decimal128Type)
		out := &arrow.Decimal128Type{Precision: min(max(dt.Precision-dt.Scale+1, 1), 38), Scale: 0}
		return &bFunc{name: mode.name(), src: src, args: []bnode{x}, typ: out, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) { return mdEvalRound(ev, mode, 0, src, out, vals) }}, nil
	}
}

// mdFloorCeilDoubles is floor or ceil of doubles, as bigint; the result
// is owned by the caller.
func mdFloorCeilDoubles(ev *evalCtx, mode mdRoundMode, src string, args []val) (val, error) {
	i64 := arrow.PrimitiveTypes.Int64
	if mdHasNull(args) {
		return mdNull(ev, i64, args), nil
	}
	x := mdViewOf[float64](args[0])
	o := newMdOut[int64](ev, mdRows(ev, args), args...)
	var bad bool
	for i := range o.vals {
		v := x.at(i)
		if mode == mdFloor {
			v = math.Floor(v)
		} else {
			v = math.Ceil(v)
		}
		ok := v >= -(1<<63) && v < 1<<63 // false for NaN
		bad = bad || !ok
		o.vals[i] = int64(v)
	}
	if bad {
		for i := range o.vals {
			v := x.at(i)
			if o.isNull(i) || (v >= -(1<<63) && v < 1<<63) {
				continue
			}
			if r := math.Floor(v); mode == mdFloor && r >= -(1<<63) && r < 1<<63 {
				continue
			}
			if r := math.Ceil(v); mode == mdCeil && r >= -(1<<63) && r < 1<<63 {
				continue
			}
			o.release()
			return val{}, fmt.Errorf("expr: %w in %s%s: %s(%s) does not fit in bigint; filter out NaN and values beyond ±9.2e18 first",
				ErrOverflow, src, mdAtRow(i, mdAllConst(args)), mode.name(), formatFloat(v, 64))
		}
	}
	return o.finish(i64, mdAllConst(args))
}

// mdEvalRound rounds args[0] (borrowed) by mode to d places into type
// out. The result is owned by the caller.
func mdEvalRound(ev *evalCtx, mode mdRoundMode, d int, src string, out arrow.DataType, args []val) (val, error) {
	if mdHasNull(args) {
		return mdNull(ev, out, args), nil
	}
	switch out.ID() {
	case arrow.INT8:
		return mdRoundInts[int8](ev, mode, d, src, out, args)
	case arrow.INT16:
		return mdRoundInts[int16](ev, mode, d, src, out, args)
	case arrow.INT32:
		return mdRoundInts[int32](ev, mode, d, src, out, args)
	case arrow.INT64:
		return mdRoundInts[int64](ev, mode, d, src, out, args)
	case arrow.FLOAT32:
		x := mdViewOf[float32](args[0])
		o := newMdOut[float32](ev, mdRows(ev, args), args...)
		var buf [40]byte
		for i := range o.vals {
			o.vals[i] = float32(mdRoundDouble(float64(x.at(i)), d, mode, buf[:0]))
		}
		return o.finish(out, mdAllConst(args))
	case arrow.FLOAT64:
		x := mdViewOf[float64](args[0])
		o := newMdOut[float64](ev, mdRows(ev, args), args...)
		var buf [40]byte
		for i := range o.vals {
			o.vals[i] = mdRoundDouble(x.at(i), d, mode, buf[:0])
		}
		return o.finish(out, mdAllConst(args))
	case arrow.DECIMAL128:
		return mdRoundDecimals(ev, mode, d, src, args[0].dataType().(*arrow.Decimal128Type), out.(*arrow.Decimal128Type), args)
	}
	return val{}, fmt.Errorf("expr: evaluating %s: unsupported type %s", src, out)
}

// mdPow10[k] is 10^k for k <= 19.
var mdPow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// mdRoundUp decides whether a quotient q (magnitude) with remainder rem of
// divisor div is rounded away from zero.
func mdRoundUp(mode mdRoundMode, neg, qOdd bool, rem, div uint64) bool {
	switch mode {
	case mdHalfUp:
		return rem >= div-rem
	case mdHalfEven:
		return rem > div-rem || (rem == div-rem && qOdd)
	case mdFloor:
		return neg && rem != 0
	}
	return !neg && rem != 0
}

// mdRoundInts rounds integers to d < 0 places (to a multiple of 10^-d).
// The result is owned by the caller.
func mdRoundInts[T signedInt](ev *evalCtx, mode mdRoundMode, d int, src string, out arrow.DataType, args []val) (val, error) {
	x := mdViewOf[T](args[0])
	o := newMdOut[T](ev, mdRows(ev, args), args...)
	k := -d
	lo, hi := int64(minSigned[T]()), int64(maxSigned[T]())
	for i := range o.vals {
		v := int64(x.at(i))
		neg := v < 0
		mag := uint64(v)
		if neg {
			mag = -mag
		}
		var r uint64
		if k <= 19 {
			div := mdPow10[k]
			q, rem := mag/div, mag%div
			if mdRoundUp(mode, neg, q&1 == 1, rem, div) {
				q++
			}
			h, l := bits.Mul64(q, div)
			if h != 0 {
				r = math.MaxUint64 // overflow, caught below
			} else {
				r = l
			}
		} else if mode == mdFloor && neg && mag != 0 || mode == mdCeil && !neg && mag != 0 {
			r = math.MaxUint64
		}
		res, ok := int64(0), true
		switch {
		case neg && r <= uint64(-lo):
			res = -int64(r)
		case !neg && r <= uint64(hi):
			res = int64(r)
		default:
			ok = false
		}
		if !ok && !o.isNull(i) {
			o.release()
			return val{}, fmt.Errorf("expr: %w in %s%s: %s(%d, %d) does not fit in %s; cast to a wider type first",
				ErrOverflow, src, mdAtRow(i, mdAllConst(args)), mode.name(), v, d, typeName(out))
		}
		o.vals[i] = T(res)
	}
	return o.finish(out, mdAllConst(args))
}

// mdRoundDouble rounds x to d decimal places as Spark does: on the shortest
// decimal representation of x (Java's Double.toString), so 0.125 rounds
// half up to 0.13 and 1.005 to 1.01. buf is scratch space. NaN and
// infinities are returned as they are; a zero result is +0.
func mdRoundDouble(x float64, d int, mode mdRoundMode, buf []byte) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	if x == math.Trunc(x) && d >= 0 {
		if x == 0 {
			return 0
		}
		return x
	}
	// "-d.ddddde±xx": sign, digits, exponent of the first digit.
	s := strconv.AppendFloat(buf, x, 'e', -1, 64)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	ePos := 0
	for ePos < len(s) && s[ePos] != 'e' {
		ePos++
	}
	exp, _ := strconv.Atoi(mdString(s[ePos+1:]))
	var digits [24]byte
	nd := 0
	for _, c := range s[:ePos] {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	// digits[i] has place value 10^(exp-i); keep those with place >= 10^-d.
	keep := exp + d + 1
	if keep >= nd {
		return x
	}
	up := false
	if keep >= 0 {
		first := digits[keep]
		rest := false
		for _, c := range digits[keep+1 : nd] {
			rest = rest || c != '0'
		}
		lastOdd := keep > 0 && (digits[keep-1]-'0')&1 == 1
		switch mode {
		case mdHalfUp:
			up = first >= '5'
		case mdHalfEven:
			up = first > '5' || (first == '5' && (rest || lastOdd))
		case mdFloor:
			up = neg
		case mdCeil:
			up = !neg
		}
	} else {
		up = (mode == mdFloor && neg) || (mode == mdCeil && !neg)
		keep = 0
	}
	// The kept digits as a number, plus one unit in the last place if up.
	out := buf[:0]
	if neg {
		out = append(out, '-')
	}
	kept := digits[:keep]
	if up {
		i := keep - 1
		for i >= 0 && kept[i] == '9' {
			kept[i] = '0'
			i--
		}
		if i >= 0 {
			kept[i]++
		} else {
			out = append(out, '1')
		}
	}
	out = append(out, kept...)
	if len(out) == 0 || (len(out) == 1 && neg) {
		return 0
	}
	out = append(out, 'e')
	out = strconv.AppendInt(out, int64(-d), 10)
	r, _ := strconv.ParseFloat(mdString(out), 64)
	if r == 0 {
		return 0
	}
	return r
}

func mdString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// mdU128 is an unsigned 128-bit magnitude.
type mdU128 struct{ hi, lo uint64 }

func (u mdU128) divmod(d uint64) (mdU128, uint64) {
	qhi, r := u.hi/d, u.hi%d
	qlo, rem := bits.Div64(r, u.lo, d)
	return mdU128{qhi, qlo}, rem
}

func mdDecMagnitude(v decimal128.Num) (mdU128, bool) {
	neg := v.Sign() < 0
	if neg {
		v = v.Negate()
	}
	return mdU128{uint64(v.HighBits()), v.LowBits()}, neg
}

func mdDecFrom(u mdU128, neg bool) decimal128.Num {
	v := decimal128.New(int64(u.hi), u.lo)
	if neg {
		return v.Negate()
	}
	return v
}

// mdReduceDecimal divides v by 10^k (k >= 0), rounding by mode.
func mdReduceDecimal(v decimal128.Num, k int, mode mdRoundMode) decimal128.Num {
	if k == 0 {
		return v
	}
	mag, neg := mdDecMagnitude(v)
	var q mdU128
	var up bool
	switch {
	case k <= 19:
		var rem uint64
		q, rem = mag.divmod(mdPow10[k])
		up = mdRoundUp(mode, neg, q.lo&1 == 1, rem, mdPow10[k])
	case k <= 38:
		q1, r1 := mag.divmod(mdPow10[19])
		var r2 uint64
		q, r2 = q1.divmod(mdPow10[k-19])
		half := 5 * mdPow10[k-20]
		nonzero := r1 != 0 || r2 != 0
		switch mode {
		case mdHalfUp:
			up = r2 >= half
		case mdHalfEven:
			up = r2 > half || (r2 == half && r1 != 0) || (r2 == half && r1 == 0 && q.lo&1 == 1)
		case mdFloor:
			up = neg && nonzero
		case mdCeil:
			up = !neg && nonzero
		}
	default: // |v| < 10^38 < half of 10^k
		up = (mode == mdFloor && neg || mode == mdCeil && !neg) && (mag.hi != 0 || mag.lo != 0)
	}
	if up {
		var c uint64
		q.lo, c = bits.Add64(q.lo, 1, 0)
		q.hi += c
	}
	return mdDecFrom(q, neg)
}

// mdRoundDecimals rounds decimals of type in to type out. The result is
// owned by the caller.
func mdRoundDecimals(ev *evalCtx, mode mdRoundMode, d int, src string, in, out *arrow.Decimal128Type, args []val) (val, error) {
	x := mdViewOf[decimal128.Num](args[0])
	o := newMdOut[decimal128.Num](ev, mdRows(ev, args), args...)
	s := int(in.Scale)
	target := int(out.Scale) // min(s, d), or 0 for d < 0 and floor/ceil
	mult := 0                // for d < 0: scale back up by 10^-d
	if d < 0 {
		mult = -d
	}
	for i := range o.vals {
		if o.isNull(i) {
			continue
		}
		v := mdReduceDecimal(x.at(i), s-target+mult, mode)
		ok := true
		if mult > 0 && v.Sign() != 0 {
			// v * 10^mult must stay below 10^38
			if ok = mult < 38 && v.FitsInPrecision(int32(38-mult)); ok {
				v = v.Mul(decimal128.GetScaleMultiplier(mult))
			}
		}
		if !ok || !v.FitsInPrecision(out.Precision) {
			o.release()
			return val{}, fmt.Errorf("expr: %w in %s%s: %s(%s, %d) does not fit in %s; cast to a wider decimal first",
				ErrOverflow, src, mdAtRow(i, mdAllConst(args)), mode.name(), x.at(i).ToString(in.Scale), d, out)
		}
		o.vals[i] = v
	}
	return o.finish(out, mdAllConst(args))
}

// ---- %, mod, pmod, try_mod ----

type mdModKind int

const (
	mdModPlain mdModKind = iota
	mdModPositive
)

func mdBindMod(kind mdModKind, try bool) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		l, r, ok := b.coerce(args[0], args[1])
		if ok && isNull(l.dataType()) {
			return &bLit{sc: scalar.MakeNullScalar(arrow.PrimitiveTypes.Float64)}, nil
		}
		if !ok || !isNumeric(l.dataType()) {
			return nil, fmt.Errorf("expr: %w in %s: %% needs numeric operands, but %s is %s and %s is %s",
				ErrType, b.in(src), args[0], typeName(args[0].dataType()), args[1], typeName(args[1].dataType()))
		}
		t := l.dataType()
		if isNullConst(l) || isNullConst(r) {
			return &bLit{sc: scalar.MakeNullScalar(t)}, nil
		}
		return &bFunc{name: "mod", src: src, args: []bnode{l, r}, typ: t, null: l.nullable() || r.nullable() || try,
			fn: func(ev *evalCtx, vals []val) (val, error) { return mdEvalMod(ev, kind, try, src, t, vals) }}, nil
	}
}

// mdEvalMod is %, pmod or try_mod of args (borrowed). The result is owned
// by the caller.
func mdEvalMod(ev *evalCtx, kind mdModKind, try bool, src string, t arrow.DataType, args []val) (val, error) {
	if mdHasNull(args) {
		return mdNull(ev, t, args), nil
	}
	switch t.ID() {
	case arrow.INT8:
		return mdModInts[int8](ev, kind, try, src, t, args)
	case arrow.INT16:
		return mdModInts[int16](ev, kind, try, src, t, args)
	case arrow.INT32:
		return mdModInts[int32](ev, kind, try, src, t, args)
	case arrow.INT64:
		return mdModInts[int64](ev, kind, try, src, t, args)
	case arrow.UINT8:
		return mdModInts[uint8](ev, kind, try, src, t, args)
	case arrow.UINT16:
		return mdModInts[uint16](ev, kind, try, src, t, args)
	case arrow.UINT32:
		return mdModInts[uint32](ev, kind, try, src, t, args)
	case arrow.UINT64:
		return mdModInts[uint64](ev, kind, try, src, t, args)
	case arrow.FLOAT32:
		return mdModFloats[float32](ev, kind, try, src, t, args)
	case arrow.FLOAT64:
		return mdModFloats[float64](ev, kind, try, src, t, args)
	}
	return val{}, fmt.Errorf("expr: evaluating %s: unsupported type %s", src, t)
}

func mdModByZero(src string, row int, constant bool, x string) error {
	return fmt.Errorf("expr: %w in %s%s: %s %% 0; filter out zero divisors first, or use try_mod",
		ErrDivideByZero, src, mdAtRow(row, constant), x)
}

// mdModInts is mdEvalMod for integers; the result is owned by the caller.
func mdModInts[T signedInt | unsignedInt](ev *evalCtx, kind mdModKind, try bool, src string, t arrow.DataType, args []val) (val, error) {
	x, y := mdViewOf[T](args[0]), mdViewOf[T](args[1])
	o := newMdOut[T](ev, mdRows(ev, args), args...)
	for i := range o.vals {
		a, b := x.at(i), y.at(i)
		if b == 0 {
			o.vals[i] = 0
			if o.isNull(i) {
				continue
			}
			if try {
				o.setNull(i)
				continue
			}
			o.release()
			return val{}, mdModByZero(src, i, mdAllConst(args), fmt.Sprint(a))
		}
		r := a % b
		if kind == mdModPositive && r < 0 {
			r = (r + b) % b
		}
		o.vals[i] = r
	}
	return o.finish(t, mdAllConst(args))
}

// mdModFloats is mdEvalMod for floats; the result is owned by the caller.
func mdModFloats[T float32 | float64](ev *evalCtx, kind mdModKind, try bool, src string, t arrow.DataType, args []val) (val, error) {
	x, y := mdViewOf[T](args[0]), mdViewOf[T](args[1])
	o := newMdOut[T](ev, mdRows(ev, args), args...)
	for i := range o.vals {
		a, b := float64(x.at(i)), float64(y.at(i))
		if b == 0 {
			o.vals[i] = 0
			if o.isNull(i) {
				continue
			}
			if try {
				o.setNull(i)
				continue
			}
			o.release()
			return val{}, mdModByZero(src, i, mdAllConst(args), formatFloat(a, 64))
		}
		r := math.Mod(a, b)
		if kind == mdModPositive && r < 0 {
			r = math.Mod(r+b, b)
		}
		o.vals[i] = T(r)
	}
	return o.finish(t, mdAllConst(args))
}

// ---- try_add, try_subtract, try_multiply, try_divide ----

// bTryArith is checked arithmetic whose failing rows are null; it shows
// as the function call it was written as.
type bTryArith struct {
	*bArith
	name string
}

func (t *bTryArith) String() string {
	return t.name + "(" + t.l.String() + ", " + t.r.String() + ")"
}

func (t *bTryArith) nullable() bool { return true }

func mdBindTryArith(op binOp, name string) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		n, err := b.arithNode(op, src, args[0], args[1], args[0].String(), args[1].String())
		if err != nil {
			return nil, err
		}
		a, ok := n.(*bArith)
		if !ok {
			return n, nil // a null constant
		}
		a.try = true
		return &bTryArith{bArith: a, name: name}, nil
	}
}
