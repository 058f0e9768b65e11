package expr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// This file holds CAST and TRY_CAST with Spark 4's ANSI semantics. A cast
// is planned once at Bind into a caster for its pair of types, a function
// over whole arrays; nested types compose the casters of their children.
// The string conversions are in cast_string.go, decimal arithmetic in
// cast_decimal.go.

// ErrCast is matched (errors.Is) by the error of a CAST whose input is
// malformed for the target type, such as CAST('abc' AS INT). A value out
// of the target's range is ErrOverflow instead.
var ErrCast = errors.New("invalid cast")

// Cast converts e to type to with Spark's ANSI rules: a value that does
// not fit (an overflow) or cannot be read (CAST('abc' AS INT)) is an error
// naming the expression, the row and the value. to is any Arrow type
// Spark has (see ParseType; ParseType("DECIMAL(10,2)") gives one) and
// also unsigned integers and large strings or binaries. Pairs of types
// Spark does not cast (a date to an int, a string to an array) fail at
// Bind.
func (e Expr) Cast(to arrow.DataType) Expr { return Expr{&castNode{x: e.n, to: to}} }

// TryCast is Cast, except that a value that cannot be converted becomes
// null instead of an error, as Spark's try_cast.
func (e Expr) TryCast(to arrow.DataType) Expr {
	return Expr{&castNode{x: e.n, to: to, try: true}}
}

func init() {
	for _, try := range []bool{false, true} {
		name := "cast"
		if try {
			name = "try_cast"
		}
		register(&funcDef{name: name, minArgs: 2, maxArgs: 2,
			bind: func(b *binder, src string, args []bnode) (bnode, error) {
				c, ok := args[1].(*bLit)
				if !ok || !c.sc.IsValid() || !isStringType(c.sc.DataType()) {
					return nil, fmt.Errorf("expr: %s in %s: the second argument must be a type name such as 'BIGINT' or 'DECIMAL(10,2)', got %s", name, b.in(src), args[1])
				}
				to, err := ParseType(formatScalar(c.sc))
				if err != nil {
					return nil, fmt.Errorf("expr: %s in %s: %w", name, b.in(src), err)
				}
				return b.bindCast(args[0], to, try, castSrc(args[0].String(), to, try))
			}})
	}
}

// castNode is CAST(x AS to) or, with try, TRY_CAST(x AS to).
type castNode struct {
	x   node
	to  arrow.DataType
	try bool
}

func castSrc(x string, to arrow.DataType, try bool) string {
	kw := "CAST("
	if try {
		kw = "TRY_CAST("
	}
	return kw + x + " AS " + typeSQL(to) + ")"
}

func (c *castNode) String() string { return castSrc(nodeString(c.x), c.to, c.try) }

func (c *castNode) bind(b *binder) (bnode, error) {
	x, err := bindNode(b, c.x)
	if err != nil {
		return nil, err
	}
	return b.bindCast(x, c.to, c.try, c.String())
}

// typeSQL is a type as Spark writes it in SQL: upper-case names,
// "DECIMAL(10,2)", "ARRAY<INT>", "STRUCT<a: INT>".
func typeSQL(t arrow.DataType) string {
	if t == nil {
		return "<nil type>"
	}
	switch t := t.(type) {
	case *arrow.StructType:
		parts := make([]string, t.NumFields())
		for i, f := range t.Fields() {
			parts[i] = quoteName(f.Name) + ": " + typeSQL(f.Type)
		}
		return "STRUCT<" + strings.Join(parts, ", ") + ">"
	case *arrow.MapType:
		return "MAP<" + typeSQL(t.KeyType()) + ", " + typeSQL(t.ItemType()) + ">"
	case arrow.ListLikeType:
		return "ARRAY<" + typeSQL(t.Elem()) + ">"
	}
	return strings.ToUpper(TypeString(t))
}

// bindCast plans the cast of x to to, or fails naming the expression when
// Spark has no such cast.
func (b *binder) bindCast(x bnode, to arrow.DataType, try bool, src string) (bnode, error) {
	if to == nil {
		return nil, fmt.Errorf("expr: %s: the target type is nil; pass an Arrow type (ParseType reads Spark type names)", b.in(src))
	}
	x = b.decodeDict(x)
	conv, err := planCast(x.dataType(), to)
	if err != nil {
		return nil, fmt.Errorf("expr: %w in %s: %v", ErrType, b.in(src), err)
	}
	n := &bCastTo{x: x, to: to, try: try, where: b.in(src), conv: conv}
	return b.fold(n, src)
}

// bCastTo is an explicit CAST or TRY_CAST.
type bCastTo struct {
	x     bnode
	to    arrow.DataType
	try   bool
	where string // the cast in its whole expression, for errors
	conv  caster
}

func (c *bCastTo) dataType() arrow.DataType { return c.to }
func (c *bCastTo) nullable() bool           { return c.x.nullable() || c.try }
func (c *bCastTo) children() []bnode        { return []bnode{c.x} }
func (c *bCastTo) String() string           { return castSrc(c.x.String(), c.to, c.try) }

func (c *bCastTo) eval(ev *evalCtx) (val, error) {
	x, err := c.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer x.release()
	cc := &castCtx{mem: ev.mem, kctx: ev.kctx, try: c.try}
	in := x.arr
	if in == nil {
		// A constant: while folding (no record) the result stays a
		// constant; otherwise it is repeated to the batch length, so the
		// result's memory belongs to the caller.
		n := ev.rows
		if ev.rec == nil {
			n = 1
		}
		in, err = scalar.MakeArrayFromScalar(x.sc, n, ev.mem)
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: %w", c.where, err)
		}
		defer in.Release()
	}
	out, err := c.conv(cc, in)
	if err != nil {
		return val{}, c.failure(err, x.arr == nil)
	}
	if x.arr == nil && ev.rec == nil {
		defer out.Release()
		sc, err := scalar.GetScalar(out, 0)
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: %w", c.where, err)
		}
		return val{sc: sc}, nil
	}
	return val{arr: out}, nil
}

func (c *bCastTo) failure(err error, constant bool) error {
	var f *castFail
	if !errors.As(err, &f) {
		return fmt.Errorf("expr: evaluating %s: %w", c.where, err)
	}
	at := fmt.Sprintf(" at row %d", f.row)
	if constant {
		at = ""
	}
	kind, why, hint := ErrCast, "the value is malformed", "correct the value, or use try_cast to get null instead"
	if f.overflow {
		kind, why, hint = ErrOverflow, "the value is out of range", "cast to a wider type, or use try_cast to get null instead"
	}
	if f.why != "" {
		why = f.why
	}
	return fmt.Errorf("expr: %w in %s%s: CAST(%s AS %s): %s; %s", kind, c.where, at, f.value, typeSQL(f.to), why, hint)
}

// castFail is a value a cast cannot convert: row is its index in the
// array given to the caster (a caster of nested values maps it to its
// own rows).
type castFail struct {
	row      int
	value    string // as Spark shows it: 'abc', 3000000000L, 1.5D
	to       arrow.DataType
	overflow bool
	why      string // replaces the default reason when set
}

func (f *castFail) Error() string {
	return fmt.Sprintf("row %d: cannot cast %s to %s", f.row, f.value, typeSQL(f.to))
}

// castCtx is what casters need: the allocator, a context for arrow-go
// kernels, and whether failures become nulls (TRY_CAST).
type castCtx struct {
	mem  memory.Allocator
	kctx context.Context
	try  bool
}

// caster converts a whole array (borrowed) and returns an owned array of
// the same length. Failing values are nulls under try, else a *castFail
// for the first failing valid row.
type caster func(cc *castCtx, in arrow.Array) (arrow.Array, error)

// nullMask is the validity of a cast result: the input's, copied on the
// first row TRY_CAST turns into null.
type nullMask struct {
	mem memory.Allocator
	in  []byte
	off int
	n   int
	buf *memory.Buffer
	out []byte
}

func newNullMask(mem memory.Allocator, in arrow.Array) *nullMask {
	m := &nullMask{mem: mem, n: in.Len(), off: in.Data().Offset()}
	if in.NullN() > 0 {
		m.in = in.NullBitmapBytes()
	}
	return m
}

// valid reports whether input row i is not null.
func (m *nullMask) valid(i int) bool {
	return m.in == nil || bitutil.BitIsSet(m.in, m.off+i)
}

// setNull makes row i of the result null.
func (m *nullMask) setNull(i int) {
	if m.buf == nil {
		m.alloc()
	}
	bitutil.ClearBit(m.out, i)
}

func (m *nullMask) alloc() {
	m.buf = memory.NewResizableBuffer(m.mem)
	m.buf.Resize(int(bitutil.BytesForBits(int64(m.n))))
	m.out = m.buf.Bytes()
	if m.in != nil {
		bitutil.CopyBitmap(m.in, m.off, m.n, m.out, 0)
	} else {
		bitutil.SetBitsTo(m.out, 0, int64(m.n), true)
	}
}

// result returns the result's validity bitmap (owned by the caller; nil
// when there are no nulls) and its null count.
func (m *nullMask) result() (*memory.Buffer, int) {
	if m.buf == nil {
		if m.in == nil {
			return nil, 0
		}
		m.alloc()
	}
	nulls := m.n - bitutil.CountSetBits(m.out, 0, m.n)
	buf := m.buf
	m.buf = nil
	return buf, nulls
}

// fail handles a value that cannot be converted at row i: null under try,
// else the error to return.
func (cc *castCtx) fail(m *nullMask, f *castFail) error {
	if cc.try {
		m.setNull(f.row)
		return nil
	}
	return f
}

// newFixed returns a buffer for n values of T and its values.
func newFixed[T any](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	var zero T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(zero)))
	return buf, unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n)[:n:n]
}

// finishFixed builds an array of type typ from the values buffer and m's
// validity, releasing the buffers it was given; the caller owns the
// result.
func finishFixed(typ arrow.DataType, n int, values *memory.Buffer, m *nullMask) arrow.Array {
	validity, nulls := m.result()
	data := array.NewData(typ, n, []*memory.Buffer{validity, values}, nil, nulls, 0)
	if validity != nil {
		validity.Release()
	}
	values.Release()
	defer data.Release()
	return array.MakeFromData(data)
}

// values returns the n values of a fixed-width array (from its offset).
func fixedValues[T any](in arrow.Array) []T {
	d := in.Data()
	if d.Len() == 0 || d.Buffers()[1] == nil {
		return nil
	}
	b := d.Buffers()[1].Bytes()
	var zero T
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
	return all[d.Offset() : d.Offset()+d.Len()]
}

// castKind groups types by how they cast.
type castKind int

const (
	kNone castKind = iota
	kNull
	kBool
	kInt // signed and unsigned integers
	kFloat
	kDecimal
	kString
	kBinary
	kDate
	kTimestamp
	kStruct
	kList
	kMap
)

func kindOf(t arrow.DataType) castKind {
	switch t.ID() {
	case arrow.NULL:
		return kNull
	case arrow.BOOL:
		return kBool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return kInt
	case arrow.FLOAT32, arrow.FLOAT64:
		return kFloat
	case arrow.DECIMAL128:
		return kDecimal
	case arrow.STRING, arrow.LARGE_STRING:
		return kString
	case arrow.BINARY, arrow.LARGE_BINARY:
		return kBinary
	case arrow.DATE32:
		return kDate
	case arrow.TIMESTAMP:
		return kTimestamp
	case arrow.STRUCT:
		return kStruct
	case arrow.LIST:
		return kList
	case arrow.MAP:
		return kMap
	}
	return kNone
}

func isNumberKind(k castKind) bool { return k == kInt || k == kFloat || k == kDecimal }

// planCast returns the caster from one type to another, or an error
// saying why Spark does not cast between them.
func planCast(from, to arrow.DataType) (caster, error) {
	fk, tk := kindOf(from), kindOf(to)
	if fk == kNone {
		return nil, fmt.Errorf("cannot cast from %s: casts from this Arrow type are not supported", from)
	}
	if tk == kNone {
		return nil, fmt.Errorf("cannot cast to %s: casts to this Arrow type are not supported; use one of Spark's types (see ParseType)", to)
	}
	if arrow.TypeEqual(from, to) {
		return castIdentity, nil
	}
	if fk == kNull {
		return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
			return array.MakeArrayOfNull(cc.mem, to, in.Len()), nil
		}, nil
	}
	// Large strings and binaries are converted through the 32-bit-offset
	// forms.
	if from.ID() == arrow.LARGE_STRING || from.ID() == arrow.LARGE_BINARY {
		small := arrow.DataType(arrow.BinaryTypes.String)
		if fk == kBinary {
			small = arrow.BinaryTypes.Binary
		}
		next, err := planCast(small, to)
		if err != nil {
			return nil, err
		}
		return chain(arrowCast(small), next), nil
	}
	if to.ID() == arrow.LARGE_STRING || to.ID() == arrow.LARGE_BINARY {
		small := arrow.DataType(arrow.BinaryTypes.String)
		if tk == kBinary {
			small = arrow.BinaryTypes.Binary
		}
		first, err := planCast(from, small)
		if err != nil {
			return nil, err
		}
		return chain(first, arrowCast(to)), nil
	}
	bad := func(hint string) (caster, error) {
		msg := fmt.Sprintf("Spark does not cast %s to %s", TypeString(from), TypeString(to))
		if hint != "" {
			msg += "; " + hint
		}
		return nil, errors.New(msg)
	}
	switch tk {
	case kString:
		return planToString(from)
	case kNull:
		return bad("only NULL casts to void")
	}
	switch fk {
	case kString:
		switch tk {
		case kBool:
			return castStringToBool, nil
		case kInt:
			return castStringToInt(to), nil
		case kFloat:
			return castStringToFloat(to), nil
		case kDecimal:
			return castStringToDecimal(to.(*arrow.Decimal128Type)), nil
		case kDate:
			return castStringToDate, nil
		case kTimestamp:
			return castStringToTimestamp(to.(*arrow.TimestampType)), nil
		case kBinary:
			return castReinterpret(to), nil
		}
		return bad("parse strings with from_json or from_csv")
	case kBinary:
		return bad("binary casts only to string")
	case kBool:
		switch tk {
		case kInt, kFloat:
			return castBoolToNumber(to), nil
		case kDecimal:
			return castBoolToDecimal(to.(*arrow.Decimal128Type)), nil
		}
		return bad("")
	case kInt, kFloat:
		switch tk {
		case kBool:
			return castNumberToBool, nil
		case kInt, kFloat:
			return castNumberToNumber(from, to), nil
		case kDecimal:
			if fk == kInt {
				return castIntToDecimal(to.(*arrow.Decimal128Type)), nil
			}
			return castFloatToDecimal(to.(*arrow.Decimal128Type)), nil
		case kTimestamp:
			return castNumberToTimestamp(from, to.(*arrow.TimestampType)), nil
		case kDate:
			return bad("use date_from_unix_date or cast the number to a timestamp first")
		}
		return bad("")
	case kDecimal:
		dt := from.(*arrow.Decimal128Type)
		switch tk {
		case kBool:
			return castNumberToBool, nil
		case kInt:
			return castDecimalToInt(dt, to), nil
		case kFloat:
			return castDecimalToFloat(dt, to), nil
		case kDecimal:
			return castDecimalToDecimal(dt, to.(*arrow.Decimal128Type)), nil
		case kTimestamp:
			return castDecimalToTimestamp(dt, to.(*arrow.TimestampType)), nil
		}
		return bad("")
	case kDate:
		switch tk {
		case kTimestamp:
			return castDateToTimestamp(to.(*arrow.TimestampType)), nil
		case kInt, kFloat, kDecimal:
			return bad("use unix_date for the days since 1970-01-01")
		}
		return bad("")
	case kTimestamp:
		ft := from.(*arrow.TimestampType)
		switch tk {
		case kTimestamp:
			return castTimestampToTimestamp(ft, to.(*arrow.TimestampType)), nil
		case kDate:
			return castTimestampToDate(ft), nil
		case kInt, kFloat, kDecimal:
			return castTimestampToNumber(ft, to), nil
		}
		return bad("")
	case kStruct:
		if tk == kStruct {
			return planStructCast(from.(*arrow.StructType), to.(*arrow.StructType))
		}
		return bad("")
	case kList:
		if tk == kList {
			return planListCast(from.(*arrow.ListType), to.(*arrow.ListType))
		}
		return bad("")
	case kMap:
		if tk == kMap {
			return planMapCast(from.(*arrow.MapType), to.(*arrow.MapType))
		}
		return bad("")
	}
	return bad("")
}

func castIdentity(_ *castCtx, in arrow.Array) (arrow.Array, error) {
	in.Retain()
	return in, nil
}

// chain runs first and then next.
func chain(first, next caster) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		mid, err := first(cc, in)
		if err != nil {
			return nil, err
		}
		defer mid.Release()
		return next(cc, mid)
	}
}

// arrowCast converts with arrow-go's cast kernel, for conversions that
// cannot fail (between string and large string, say).
func arrowCast(to arrow.DataType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		return compute.CastArray(cc.kctx, in, compute.SafeCastOptions(to))
	}
}

// castReinterpret gives the same bytes another type (string <-> binary).
func castReinterpret(to arrow.DataType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		d := in.Data()
		data := array.NewData(to, d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
		defer data.Release()
		return array.MakeFromData(data), nil
	}
}

// isSignedInt reports whether integer type T is signed.
func isSignedInt[T signedInt | unsignedInt]() bool { return T(0)-1 < 0 }

// intRange is the range of integer type T as float64 bounds: a float f
// truncates into T exactly when lo <= trunc(f) < hiExcl.
func intRange[T signedInt | unsignedInt]() (lo, hiExcl float64) {
	var zero T
	bits := int(unsafe.Sizeof(zero)) * 8
	if isSignedInt[T]() {
		return -math.Ldexp(1, bits-1), math.Ldexp(1, bits-1)
	}
	return 0, math.Ldexp(1, bits)
}

// castNumberToNumber converts between integers and floats: integers
// narrow with an overflow check, floats truncate toward zero into integers
// (NaN, infinities and values out of range fail), integers widen to floats
// (rounding large values), floats convert to floats.
func castNumberToNumber(from, to arrow.DataType) caster {
	switch from.ID() {
	case arrow.INT8:
		return numTo[int8](to)
	case arrow.INT16:
		return numTo[int16](to)
	case arrow.INT32:
		return numTo[int32](to)
	case arrow.INT64:
		return numTo[int64](to)
	case arrow.UINT8:
		return numTo[uint8](to)
	case arrow.UINT16:
		return numTo[uint16](to)
	case arrow.UINT32:
		return numTo[uint32](to)
	case arrow.UINT64:
		return numTo[uint64](to)
	case arrow.FLOAT32:
		return floatTo[float32](to)
	}
	return floatTo[float64](to)
}

func numTo[F signedInt | unsignedInt](to arrow.DataType) caster {
	switch to.ID() {
	case arrow.INT8:
		return intToInt[F, int8]
	case arrow.INT16:
		return intToInt[F, int16]
	case arrow.INT32:
		return intToInt[F, int32]
	case arrow.INT64:
		return intToInt[F, int64]
	case arrow.UINT8:
		return intToInt[F, uint8]
	case arrow.UINT16:
		return intToInt[F, uint16]
	case arrow.UINT32:
		return intToInt[F, uint32]
	case arrow.UINT64:
		return intToInt[F, uint64]
	case arrow.FLOAT32:
		return numToFloat[F, float32]
	}
	return numToFloat[F, float64]
}

func floatTo[F float32 | float64](to arrow.DataType) caster {
	switch to.ID() {
	case arrow.INT8:
		return floatToInt[F, int8]
	case arrow.INT16:
		return floatToInt[F, int16]
	case arrow.INT32:
		return floatToInt[F, int32]
	case arrow.INT64:
		return floatToInt[F, int64]
	case arrow.UINT8:
		return floatToInt[F, uint8]
	case arrow.UINT16:
		return floatToInt[F, uint16]
	case arrow.UINT32:
		return floatToInt[F, uint32]
	case arrow.UINT64:
		return floatToInt[F, uint64]
	case arrow.FLOAT32:
		return numToFloat[F, float32]
	}
	return numToFloat[F, float64]
}

func arrowTypeOf[T number]() arrow.DataType {
	var zero T
	switch any(zero).(type) {
	case int8:
		return arrow.PrimitiveTypes.Int8
	case int16:
		return arrow.PrimitiveTypes.Int16
	case int32:
		return arrow.PrimitiveTypes.Int32
	case int64:
		return arrow.PrimitiveTypes.Int64
	case uint8:
		return arrow.PrimitiveTypes.Uint8
	case uint16:
		return arrow.PrimitiveTypes.Uint16
	case uint32:
		return arrow.PrimitiveTypes.Uint32
	case uint64:
		return arrow.PrimitiveTypes.Uint64
	case float32:
		return arrow.PrimitiveTypes.Float32
	}
	return arrow.PrimitiveTypes.Float64
}

func intToInt[F, T signedInt | unsignedInt](cc *castCtx, in arrow.Array) (arrow.Array, error) {
	src := fixedValues[F](in)
	n := len(src)
	buf, out := newFixed[T](cc.mem, n)
	m := newNullMask(cc.mem, in)
	bad := false
	for i, v := range src {
		t := T(v)
		out[i] = t
		bad = bad || F(t) != v || (v < 0) != (t < 0)
	}
	if bad {
		for i, v := range src {
			t := T(v)
			if m.valid(i) && (F(t) != v || (v < 0) != (t < 0)) {
				f := &castFail{row: i, value: sparkLiteral(arrowTypeOf[F](), formatIntValue(v)), to: arrowTypeOf[T](), overflow: true}
				if err := cc.fail(m, f); err != nil {
					buf.Release()
					m.release()
					return nil, err
				}
			}
		}
	}
	return finishFixed(arrowTypeOf[T](), n, buf, m), nil
}

func (m *nullMask) release() {
	if m.buf != nil {
		m.buf.Release()
		m.buf = nil
	}
}

func formatIntValue[F signedInt | unsignedInt](v F) string {
	if isSignedInt[F]() {
		return fmt.Sprint(int64(v))
	}
	return fmt.Sprint(uint64(v))
}

func numToFloat[F number, T float32 | float64](cc *castCtx, in arrow.Array) (arrow.Array, error) {
	src := fixedValues[F](in)
	buf, out := newFixed[T](cc.mem, len(src))
	for i, v := range src {
		out[i] = T(v)
	}
	return finishFixed(arrowTypeOf[T](), len(src), buf, newNullMask(cc.mem, in)), nil
}

func floatToInt[F float32 | float64, T signedInt | unsignedInt](cc *castCtx, in arrow.Array) (arrow.Array, error) {
	src := fixedValues[F](in)
	n := len(src)
	lo, hi := intRange[T]()
	buf, out := newFixed[T](cc.mem, n)
	m := newNullMask(cc.mem, in)
	bad := false
	for i, v := range src {
		t := math.Trunc(float64(v))
		ok := t >= lo && t < hi
		if ok {
			out[i] = T(t)
		} else {
			out[i] = 0
		}
		bad = bad || !ok
	}
	if bad {
		for i, v := range src {
			t := math.Trunc(float64(v))
			if m.valid(i) && !(t >= lo && t < hi) {
				f := &castFail{row: i, value: sparkLiteral(arrowTypeOf[F](), javaFloatString(float64(v), bitsOf[F]())), to: arrowTypeOf[T](), overflow: true}
				if err := cc.fail(m, f); err != nil {
					buf.Release()
					m.release()
					return nil, err
				}
			}
		}
	}
	return finishFixed(arrowTypeOf[T](), n, buf, m), nil
}

func javaFloatString(f float64, bits int) string { return string(appendJavaFloat(nil, f, bits)) }

func bitsOf[F float32 | float64]() int {
	var zero F
	return int(unsafe.Sizeof(zero)) * 8
}

// sparkLiteral writes a value as Spark does in cast errors: strings
// quoted, longs with L, doubles with D, and so on.
func sparkLiteral(t arrow.DataType, s string) string {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		const limit = 200
		if len(s) > limit {
			s = s[:limit] + "..."
		}
		return "'" + strings.ReplaceAll(s, "'", "\\'") + "'"
	case arrow.INT8:
		return s + "Y"
	case arrow.INT16:
		return s + "S"
	case arrow.INT64:
		return s + "L"
	case arrow.FLOAT32:
		return s + "F"
	case arrow.FLOAT64:
		return s + "D"
	case arrow.DECIMAL128:
		return s + "BD"
	case arrow.TIMESTAMP:
		return "TIMESTAMP '" + s + "'"
	case arrow.DATE32:
		return "DATE '" + s + "'"
	}
	return s
}

// castBoolToNumber is 1 for true and 0 for false.
func castBoolToNumber(to arrow.DataType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		b := in.(*array.Boolean)
		n := b.Len()
		switch to.ID() {
		case arrow.INT8:
			return boolTo[int8](cc, b, n), nil
		case arrow.INT16:
			return boolTo[int16](cc, b, n), nil
		case arrow.INT32:
			return boolTo[int32](cc, b, n), nil
		case arrow.INT64:
			return boolTo[int64](cc, b, n), nil
		case arrow.UINT8:
			return boolTo[uint8](cc, b, n), nil
		case arrow.UINT16:
			return boolTo[uint16](cc, b, n), nil
		case arrow.UINT32:
			return boolTo[uint32](cc, b, n), nil
		case arrow.UINT64:
			return boolTo[uint64](cc, b, n), nil
		case arrow.FLOAT32:
			return boolTo[float32](cc, b, n), nil
		}
		return boolTo[float64](cc, b, n), nil
	}
}

func boolTo[T number](cc *castCtx, b *array.Boolean, n int) arrow.Array {
	buf, out := newFixed[T](cc.mem, n)
	bits, off := b.Data().Buffers()[1].Bytes(), b.Data().Offset()
	for i := range out {
		if bitutil.BitIsSet(bits, off+i) {
			out[i] = 1
		} else {
			out[i] = 0
		}
	}
	return finishFixed(arrowTypeOf[T](), n, buf, newNullMask(cc.mem, b))
}

// castNumberToBool is true for every value but zero (NaN is true, as in
// Spark).
func castNumberToBool(cc *castCtx, in arrow.Array) (arrow.Array, error) {
	return boolCast(cc, in, func(m *nullMask, out []byte) error {
		switch in.DataType().ID() {
		case arrow.INT8:
			nonZeroBits(fixedValues[int8](in), out)
		case arrow.INT16:
			nonZeroBits(fixedValues[int16](in), out)
		case arrow.INT32:
			nonZeroBits(fixedValues[int32](in), out)
		case arrow.INT64:
			nonZeroBits(fixedValues[int64](in), out)
		case arrow.UINT8:
			nonZeroBits(fixedValues[uint8](in), out)
		case arrow.UINT16:
			nonZeroBits(fixedValues[uint16](in), out)
		case arrow.UINT32:
			nonZeroBits(fixedValues[uint32](in), out)
		case arrow.UINT64:
			nonZeroBits(fixedValues[uint64](in), out)
		case arrow.FLOAT32:
			nonZeroBits(fixedValues[float32](in), out)
		case arrow.FLOAT64:
			nonZeroBits(fixedValues[float64](in), out)
		case arrow.DECIMAL128:
			for i, v := range fixedValues[decimal128.Num](in) {
				if v != (decimal128.Num{}) {
					bitutil.SetBit(out, i)
				}
			}
		}
		return nil
	})
}

// boolCast runs body over a zeroed bitmap of in.Len() booleans (in is
// borrowed) and builds the boolean result, owned by the caller, releasing
// everything if body fails.
func boolCast(cc *castCtx, in arrow.Array, body func(m *nullMask, out []byte) error) (arrow.Array, error) {
	n := in.Len()
	m := newNullMask(cc.mem, in)
	buf := memory.NewResizableBuffer(cc.mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	clear(buf.Bytes())
	if err := body(m, buf.Bytes()); err != nil {
		buf.Release()
		m.release()
		return nil, err
	}
	return finishFixed(arrow.FixedWidthTypes.Boolean, n, buf, m), nil
}

func nonZeroBits[T number](vals []T, out []byte) {
	for i, v := range vals {
		if v != 0 {
			bitutil.SetBit(out, i)
		}
	}
}

const (
	secondMicros = int64(1_000_000)
	dayMicros    = 86_400 * secondMicros
)

// unitScale returns how a timestamp unit relates to microseconds: a
// value in the unit is micros*mul/div.
func unitScale(u arrow.TimeUnit) (mul, div int64) {
	switch u {
	case arrow.Second:
		return 1, secondMicros
	case arrow.Millisecond:
		return 1, 1000
	case arrow.Nanosecond:
		return 1000, 1
	}
	return 1, 1
}

// failFunc handles a value that cannot be converted at row i: it returns
// nil when the row became null (TRY_CAST), else the error to return.
type failFunc func(i int) error

// toMicros converts the values of a timestamp array in unit to
// microseconds into out; fail is called for each valid row that does not
// fit.
func toMicros(in arrow.Array, unit arrow.TimeUnit, m *nullMask, out []int64, fail failFunc) error {
	src := fixedValues[int64](in)
	switch unit {
	case arrow.Microsecond:
		copy(out, src)
	case arrow.Nanosecond:
		for i, v := range src {
			out[i] = divFloor(v, 1000)
		}
	case arrow.Millisecond, arrow.Second:
		f := int64(1000)
		if unit == arrow.Second {
			f = secondMicros
		}
		lim := math.MaxInt64 / f
		for i, v := range src {
			if v > lim || v < -lim {
				if m.valid(i) {
					if err := fail(i); err != nil {
						return err
					}
				}
				v = 0
			}
			out[i] = v * f
		}
	}
	return nil
}

func divFloor(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// fromMicros converts microseconds to a timestamp unit in place; fail is
// called for each valid row that does not fit.
func fromMicros(vals []int64, unit arrow.TimeUnit, m *nullMask, fail failFunc) error {
	switch unit {
	case arrow.Millisecond:
		for i, v := range vals {
			vals[i] = divFloor(v, 1000)
		}
	case arrow.Second:
		for i, v := range vals {
			vals[i] = divFloor(v, secondMicros)
		}
	case arrow.Nanosecond:
		const lim = math.MaxInt64 / 1000
		for i, v := range vals {
			if v > lim || v < -lim {
				if m.valid(i) {
					if err := fail(i); err != nil {
						return err
					}
				}
				v = 0
			}
			vals[i] = v * 1000
		}
	}
	return nil
}

// fixedCast runs body over a new buffer of n values of T and builds the
// result of type typ (owned by the caller), releasing everything if body
// fails.
func fixedCast[T any](cc *castCtx, in arrow.Array, typ arrow.DataType, body func(m *nullMask, out []T) error) (arrow.Array, error) {
	n := in.Len()
	m := newNullMask(cc.mem, in)
	buf, out := newFixed[T](cc.mem, n)
	if err := body(m, out); err != nil {
		buf.Release()
		m.release()
		return nil, err
	}
	return finishFixed(typ, n, buf, m), nil
}

func castTimestampToTimestamp(from, to *arrow.TimestampType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		return fixedCast(cc, in, to, func(m *nullMask, out []int64) error {
			src := fixedValues[int64](in)
			err := toMicros(in, from.Unit, m, out, func(i int) error {
				return cc.fail(m, &castFail{row: i, value: fmt.Sprintf("%d (%s)", src[i], from), to: to, overflow: true})
			})
			if err != nil {
				return err
			}
			return fromMicros(out, to.Unit, m, func(i int) error {
				return cc.fail(m, &castFail{row: i, value: sparkLiteral(timestampUTC, timestampString(out[i])), to: to, overflow: true})
			})
		})
	}
}

// timestampString formats microseconds for error messages.
func timestampString(us int64) string { return string(appendTimestamp(nil, us)) }

// castTimestampToDate is the UTC day of each instant.
func castTimestampToDate(from *arrow.TimestampType) caster {
	mul, div := unitScale(from.Unit)
	perDay := dayMicros * mul / div
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		return fixedCast(cc, in, arrow.FixedWidthTypes.Date32, func(m *nullMask, out []int32) error {
			for i, v := range fixedValues[int64](in) {
				out[i] = int32(divFloor(v, perDay))
			}
			return nil
		})
	}
}

// castDateToTimestamp is midnight UTC of each day.
func castDateToTimestamp(to *arrow.TimestampType) caster {
	mul, div := unitScale(to.Unit)
	perDay := dayMicros * mul / div
	lim := math.MaxInt64 / perDay
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		return fixedCast(cc, in, to, func(m *nullMask, out []int64) error {
			for i, d := range fixedValues[int32](in) {
				v := int64(d)
				if v > lim || v < -lim {
					if m.valid(i) {
						f := &castFail{row: i, value: sparkLiteral(arrow.FixedWidthTypes.Date32, string(appendDate(nil, int64(d)))), to: to, overflow: true}
						if err := cc.fail(m, f); err != nil {
							return err
						}
					}
					v = 0
				}
				out[i] = v * perDay
			}
			return nil
		})
	}
}

// castTimestampToNumber gives seconds since the epoch: whole seconds
// (rounded down, as Spark) for integers, with the fraction for floats and
// decimals.
func castTimestampToNumber(from *arrow.TimestampType, to arrow.DataType) caster {
	micros := &arrow.Decimal128Type{Precision: 38, Scale: 6}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		us, err := fixedCast(cc, in, arrow.PrimitiveTypes.Int64, func(m *nullMask, out []int64) error {
			src := fixedValues[int64](in)
			return toMicros(in, from.Unit, m, out, func(i int) error {
				return cc.fail(m, &castFail{row: i, value: fmt.Sprintf("%d (%s)", src[i], from), to: to, overflow: true})
			})
		})
		if err != nil {
			return nil, err
		}
		defer us.Release()
		vals := fixedValues[int64](us)
		switch kindOf(to) {
		case kFloat:
			f64, _ := fixedCast(cc, us, arrow.PrimitiveTypes.Float64, func(m *nullMask, out []float64) error {
				for i, v := range vals {
					out[i] = float64(v) / float64(secondMicros)
				}
				return nil
			})
			if to.ID() == arrow.FLOAT64 {
				return f64, nil
			}
			defer f64.Release()
			return numToFloat[float64, float32](cc, f64)
		case kDecimal:
			dec, _ := fixedCast(cc, us, micros, func(m *nullMask, out []decimal128.Num) error {
				for i, v := range vals {
					out[i] = decimal128.FromI64(v)
				}
				return nil
			})
			defer dec.Release()
			return castDecimalToDecimal(micros, to.(*arrow.Decimal128Type))(cc, dec)
		}
		secs, _ := fixedCast(cc, us, arrow.PrimitiveTypes.Int64, func(m *nullMask, out []int64) error {
			for i, v := range vals {
				out[i] = divFloor(v, secondMicros)
			}
			return nil
		})
		if to.ID() == arrow.INT64 {
			return secs, nil
		}
		defer secs.Release()
		return numTo[int64](to)(cc, secs)
	}
}

// castNumberToTimestamp reads integers and floats as seconds since the
// epoch.
func castNumberToTimestamp(from arrow.DataType, to *arrow.TimestampType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		// Integers go through int64 (a uint64 beyond it is out of range
		// anyway and becomes null here), floats through float64.
		wide := arrow.DataType(arrow.PrimitiveTypes.Int64)
		if isFloat(from) {
			wide = arrow.PrimitiveTypes.Float64
		}
		conv, err := castNumberToNumber(from, wide)(&castCtx{mem: cc.mem, kctx: cc.kctx, try: true}, in)
		if err != nil {
			return nil, err
		}
		defer conv.Release()
		return fixedCast(cc, in, to, func(m *nullMask, out []int64) error {
			failAt := func(i int, value string) error {
				return cc.fail(m, &castFail{row: i, value: sparkLiteral(from, value), to: to, overflow: true})
			}
			if isFloat(from) {
				const lim = 9.223372036854775e12 // seconds that fit in int64 microseconds
				for i, v := range fixedValues[float64](conv) {
					us := int64(0)
					if v > -lim && v < lim {
						us = int64(v * float64(secondMicros))
					} else if m.valid(i) {
						if err := failAt(i, javaFloatString(v, bitWidth(from))); err != nil {
							return err
						}
					}
					out[i] = us
				}
			} else {
				const lim = math.MaxInt64 / secondMicros
				cm := newNullMask(cc.mem, conv)
				for i, v := range fixedValues[int64](conv) {
					ok := v <= lim && v >= -lim && cm.valid(i)
					if !ok && m.valid(i) {
						value := fmt.Sprint(v)
						if !cm.valid(i) {
							value = fmt.Sprint(fixedValues[uint64](in)[i])
						}
						if err := failAt(i, value); err != nil {
							return err
						}
					}
					if !ok {
						v = 0
					}
					out[i] = v * secondMicros
				}
			}
			return fromMicros(out, to.Unit, m, func(i int) error {
				return cc.fail(m, &castFail{row: i, value: sparkLiteral(timestampUTC, timestampString(out[i])), to: to, overflow: true})
			})
		})
	}
}
