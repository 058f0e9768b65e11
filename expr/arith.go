package expr

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Arithmetic is evaluated here rather than with arrow-go's "add" family:
// those kernels miss some signed overflows (MinInt32 + -1 wraps silently)
// and report no row or value. The loops below detect every overflow
// without branching on the common path, then find the first offending
// valid row only when one occurred.

// bArith is +, -, * or /; l, r and the result share typ (float64 for /).
type bArith struct {
	op   binOp
	l, r bnode
	typ  arrow.DataType
	src  string // the expression as written, for errors
	// try makes a failing row (overflow, division by zero) null instead
	// of an error, as Spark's try_add, try_divide, ...
	try bool
}

func (a *bArith) dataType() arrow.DataType { return a.typ }
func (a *bArith) nullable() bool           { return a.l.nullable() || a.r.nullable() }
func (a *bArith) children() []bnode        { return []bnode{a.l, a.r} }
func (a *bArith) String() string           { return formatBinary(a.op, a.l.String(), a.r.String()) }

type signedInt interface {
	~int8 | ~int16 | ~int32 | ~int64
}

type unsignedInt interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

type number interface {
	signedInt | unsignedInt | ~float32 | ~float64
}

func (a *bArith) eval(ev *evalCtx) (val, error) {
	l, err := a.l.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer l.release()
	r, err := a.r.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer r.release()
	switch a.typ.ID() {
	case arrow.INT8:
		return arith[int8](ev, a, l, r, signedOps[int8])
	case arrow.INT16:
		return arith[int16](ev, a, l, r, signedOps[int16])
	case arrow.INT32:
		return arith[int32](ev, a, l, r, signedOps[int32])
	case arrow.INT64:
		return arith[int64](ev, a, l, r, signedOps[int64])
	case arrow.UINT8:
		return arith[uint8](ev, a, l, r, unsignedOps[uint8])
	case arrow.UINT16:
		return arith[uint16](ev, a, l, r, unsignedOps[uint16])
	case arrow.UINT32:
		return arith[uint32](ev, a, l, r, unsignedOps[uint32])
	case arrow.UINT64:
		return arith[uint64](ev, a, l, r, unsignedOps[uint64])
	case arrow.FLOAT32:
		return arith[float32](ev, a, l, r, floatOps[float32])
	case arrow.FLOAT64:
		return arith[float64](ev, a, l, r, floatOps[float64])
	}
	return val{}, fmt.Errorf("expr: evaluating %s: arithmetic on %s is not supported", a.src, a.typ)
}

// operand is one side of an arithmetic operation: the values of an array
// (with its validity bitmap) or a single constant.
type operand[T number] struct {
	vals   []T
	bitmap []byte
	off    int
	scalar bool
}

func (o operand[T]) valid(i int) bool {
	return o.scalar || o.bitmap == nil || bitutil.BitIsSet(o.bitmap, o.off+i)
}

func (o operand[T]) at(i int) T {
	if o.scalar {
		return o.vals[0]
	}
	return o.vals[i]
}

func operandOf[T number](v val) operand[T] {
	if v.arr != nil {
		d := v.arr.Data()
		o := operand[T]{vals: arrow.GetValues[T](d, 1), off: d.Offset()}
		if v.arr.NullN() > 0 {
			o.bitmap = v.arr.NullBitmapBytes()
		}
		return o
	}
	b := v.sc.(scalar.PrimitiveScalar).Data()
	return operand[T]{vals: arrow.GetData[T](b)[:1], scalar: true}
}

// kernelFn computes out from x and y (each an array of len(out) values or,
// when its scalar flag is set, one value) and reports whether any slot,
// valid or not, may have failed (overflowed or divided by zero).
type kernelFn[T number] func(op binOp, x, y []T, xs, ys bool, out []T) bool

// opsFn returns the kernel and the exact per-row check used to find the
// failing row.
type opsFn[T number] func() (kernelFn[T], checkFn[T])

// checkFn reports whether x op y fails for T, and describes the exact
// result.
type checkFn[T number] func(op binOp, x, y T) (bad bool, exact string)

func signedOps[T signedInt]() (kernelFn[T], checkFn[T]) { return signedKernel[T], signedCheck[T] }
func unsignedOps[T unsignedInt]() (kernelFn[T], checkFn[T]) {
	return unsignedKernel[T], unsignedCheck[T]
}
func floatOps[T ~float32 | ~float64]() (kernelFn[T], checkFn[T]) {
	return floatKernel[T], floatCheck[T]
}

func arith[T number](ev *evalCtx, a *bArith, l, r val, ops opsFn[T]) (val, error) {
	if (l.sc != nil && !l.sc.IsValid()) || (r.sc != nil && !r.sc.IsValid()) {
		return nullResult(ev, a.typ, l, r)
	}
	kernel, check := ops()
	x, y := operandOf[T](l), operandOf[T](r)
	n := ev.rows
	if x.scalar && y.scalar {
		n = 1
	}
	buf := memory.NewResizableBuffer(ev.mem)
	defer buf.Release()
	buf.Resize(n * int(unsafe.Sizeof(T(0))))
	out := arrow.GetData[T](buf.Bytes())[:n]
	var failed []int // rows made null in try mode
	if kernel(a.op, x.vals, y.vals, x.scalar, y.scalar, out) {
		for i := 0; i < n; i++ {
			if !x.valid(i) || !y.valid(i) {
				continue
			}
			if bad, exact := check(a.op, x.at(i), y.at(i)); bad {
				if a.try {
					failed = append(failed, i)
					continue
				}
				return val{}, a.failure(i, x.scalar && y.scalar, fmt.Sprint(x.at(i)), fmt.Sprint(y.at(i)), exact)
			}
		}
		// Only null slots failed: their values do not matter.
	}
	validity, nulls := andValidity(ev.mem, n, l, r)
	if len(failed) > 0 {
		if validity == nil {
			validity = memory.NewResizableBuffer(ev.mem)
			validity.Resize(int(bitutil.BytesForBits(int64(n))))
			bitutil.SetBitsTo(validity.Bytes(), 0, int64(n), true)
		}
		for _, i := range failed {
			bitutil.ClearBit(validity.Bytes(), i)
		}
		nulls = n - bitutil.CountSetBits(validity.Bytes(), 0, n)
	}
	if validity != nil {
		defer validity.Release()
	}
	data := array.NewData(a.typ, n, []*memory.Buffer{validity, buf}, nil, nulls, 0)
	defer data.Release()
	arr := array.MakeFromData(data)
	if x.scalar && y.scalar {
		defer arr.Release()
		sc, err := scalar.GetScalar(arr, 0)
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: %w", a.src, err)
		}
		return val{sc: sc}, nil
	}
	return val{arr: arr}, nil
}

func (a *bArith) failure(row int, constant bool, x, y, exact string) error {
	where := fmt.Sprintf(" at row %d", row)
	if constant {
		where = ""
	}
	if a.op == opDiv {
		return fmt.Errorf("expr: %w in %s%s: %s / %s; filter out zero divisors first", ErrDivideByZero, a.src, where, x, y)
	}
	return fmt.Errorf("expr: %w in %s%s: %s %s %s = %s does not fit in %s; cast an operand to a wider type (or to double) first",
		ErrOverflow, a.src, where, x, binOps[a.op].symbol, y, exact, a.typ)
}

// nullResult is the all-null result of an operation with a null constant.
func nullResult(ev *evalCtx, typ arrow.DataType, l, r val) (val, error) {
	if l.arr == nil && r.arr == nil {
		return val{sc: scalar.MakeNullScalar(typ)}, nil
	}
	return val{arr: array.MakeArrayOfNull(ev.mem, typ, ev.rows)}, nil
}

// andValidity is the validity bitmap of a result that is null where
// either operand is; nil when neither has nulls.
func andValidity(mem memory.Allocator, n int, l, r val) (*memory.Buffer, int) {
	var lb, rb []byte
	var loff, roff int
	if l.arr != nil && l.arr.NullN() > 0 {
		lb, loff = l.arr.NullBitmapBytes(), l.arr.Data().Offset()
	}
	if r.arr != nil && r.arr.NullN() > 0 {
		rb, roff = r.arr.NullBitmapBytes(), r.arr.Data().Offset()
	}
	if lb == nil && rb == nil {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	switch {
	case lb == nil:
		bitutil.CopyBitmap(rb, roff, n, buf.Bytes(), 0)
	case rb == nil:
		bitutil.CopyBitmap(lb, loff, n, buf.Bytes(), 0)
	default:
		bitutil.BitmapAnd(lb, rb, int64(loff), int64(roff), buf.Bytes(), 0, int64(n))
	}
	return buf, n - bitutil.CountSetBits(buf.Bytes(), 0, n)
}

// broadcast turns a constant left operand into an array so that kernels
// only need array-array and array-constant loops.
func broadcast[T number](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func signedKernel[T signedInt](op binOp, x, y []T, xs, ys bool, out []T) bool {
	if xs && !ys {
		x = broadcast(x[0], len(out))
	}
	var acc T // sign bit set on overflow
	var bad bool
	switch {
	case op == opAdd && ys:
		c := y[0]
		x = x[:len(out)]
		for i, a := range x {
			s := a + c
			acc |= (a ^ s) & (c ^ s)
			out[i] = s
		}
	case op == opAdd:
		x, y = x[:len(out)], y[:len(out)]
		for i := range out {
			s := x[i] + y[i]
			acc |= (x[i] ^ s) & (y[i] ^ s)
			out[i] = s
		}
	case op == opSub && ys:
		c := y[0]
		x = x[:len(out)]
		for i, a := range x {
			s := a - c
			acc |= (a ^ c) & (a ^ s)
			out[i] = s
		}
	case op == opSub:
		x, y = x[:len(out)], y[:len(out)]
		for i := range out {
			s := x[i] - y[i]
			acc |= (x[i] ^ y[i]) & (x[i] ^ s)
			out[i] = s
		}
	case op == opMul && unsafe.Sizeof(T(0)) < 8:
		lo, hi := int64(minSigned[T]()), int64(maxSigned[T]())
		if ys {
			c := int64(y[0])
			x = x[:len(out)]
			for i, a := range x {
				p := int64(a) * c
				bad = bad || p < lo || p > hi
				out[i] = T(p)
			}
		} else {
			x, y = x[:len(out)], y[:len(out)]
			for i := range out {
				p := int64(x[i]) * int64(y[i])
				bad = bad || p < lo || p > hi
				out[i] = T(p)
			}
		}
	case op == opMul:
		for i := range out {
			a, b := int64(x[i]), int64(y[0])
			if !ys {
				b = int64(y[i])
			}
			bad = bad || mul64Overflows(a, b)
			out[i] = T(a * b)
		}
	}
	return bad || acc < 0
}

func mul64Overflows(a, b int64) bool {
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = -ua
	}
	if b < 0 {
		ub = -ub
	}
	hi, lo := bits.Mul64(ua, ub)
	limit := uint64(math.MaxInt64)
	if (a < 0) != (b < 0) {
		limit++
	}
	return hi != 0 || lo > limit
}

func unsignedKernel[T unsignedInt](op binOp, x, y []T, xs, ys bool, out []T) bool {
	if xs && !ys {
		x = broadcast(x[0], len(out))
	}
	var bad bool
	x = x[:len(out)]
	at := func(i int) T { return y[0] }
	if !ys {
		y = y[:len(out)]
		at = func(i int) T { return y[i] }
	}
	switch op {
	case opAdd:
		if ys {
			c := y[0]
			for i, a := range x {
				s := a + c
				bad = bad || s < a
				out[i] = s
			}
			break
		}
		for i, a := range x {
			s := a + y[i]
			bad = bad || s < a
			out[i] = s
		}
	case opSub:
		if ys {
			c := y[0]
			for i, a := range x {
				bad = bad || a < c
				out[i] = a - c
			}
			break
		}
		for i, a := range x {
			bad = bad || a < y[i]
			out[i] = a - y[i]
		}
	case opMul:
		for i, a := range x {
			hi, lo := bits.Mul64(uint64(a), uint64(at(i)))
			bad = bad || hi != 0 || lo > uint64(^T(0))
			out[i] = T(lo)
		}
	}
	return bad
}

func floatKernel[T ~float32 | ~float64](op binOp, x, y []T, xs, ys bool, out []T) bool {
	if xs && !ys {
		x = broadcast(x[0], len(out))
	}
	x = x[:len(out)]
	var bad bool
	if ys {
		c := y[0]
		switch op {
		case opAdd:
			for i, a := range x {
				out[i] = a + c
			}
		case opSub:
			for i, a := range x {
				out[i] = a - c
			}
		case opMul:
			for i, a := range x {
				out[i] = a * c
			}
		case opDiv:
			bad = c == 0
			for i, a := range x {
				out[i] = a / c
			}
		}
		return bad
	}
	y = y[:len(out)]
	switch op {
	case opAdd:
		for i, a := range x {
			out[i] = a + y[i]
		}
	case opSub:
		for i, a := range x {
			out[i] = a - y[i]
		}
	case opMul:
		for i, a := range x {
			out[i] = a * y[i]
		}
	case opDiv:
		for i, a := range x {
			bad = bad || y[i] == 0
			out[i] = a / y[i]
		}
	}
	return bad
}

func minSigned[T signedInt]() T { return T(-1) << (unsafe.Sizeof(T(0))*8 - 1) }
func maxSigned[T signedInt]() T { return ^minSigned[T]() }

// exact computes x op y without overflow.
func exact(op binOp, x, y *big.Int) *big.Int {
	switch op {
	case opAdd:
		return new(big.Int).Add(x, y)
	case opSub:
		return new(big.Int).Sub(x, y)
	}
	return new(big.Int).Mul(x, y)
}

func signedCheck[T signedInt](op binOp, x, y T) (bool, string) {
	e := exact(op, big.NewInt(int64(x)), big.NewInt(int64(y)))
	bad := e.Cmp(big.NewInt(int64(minSigned[T]()))) < 0 || e.Cmp(big.NewInt(int64(maxSigned[T]()))) > 0
	return bad, e.String()
}

func unsignedCheck[T unsignedInt](op binOp, x, y T) (bool, string) {
	e := exact(op, new(big.Int).SetUint64(uint64(x)), new(big.Int).SetUint64(uint64(y)))
	bad := e.Sign() < 0 || e.Cmp(new(big.Int).SetUint64(uint64(^T(0)))) > 0
	return bad, e.String()
}

func floatCheck[T ~float32 | ~float64](op binOp, x, y T) (bool, string) {
	if op == opDiv && y == 0 {
		return true, ""
	}
	// exact is read only when bad: formatting here would cost every row
	// of a batch whose null slots hold zero divisors.
	return false, ""
}
