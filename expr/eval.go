package expr

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Bound is an expression resolved against a schema: every column found,
// every operand of a type the operation accepts, implicit casts inserted
// and constant subtrees folded. A Bound is immutable and safe for
// concurrent Eval calls.
type Bound struct {
	expr  Expr
	root  bnode
	field arrow.Field
	cols  []int
}

// Bind resolves e against schema. It fails, naming the expression, when a
// column is unknown (listing the available columns and the closest name),
// when operand types do not fit the operation (comparing a string with an
// int, adding booleans, AND on a non-boolean), and when a constant
// subexpression cannot be evaluated (1 / 0, an overflow).
//
// Numeric operands are widened to a common type (int32 with int64 is
// int64, an integer with a float is float64); a constant takes the type of
// the other operand when it converts exactly, so Lit(5) compared with or
// added to an int32 column is an int32, and Lit(time.Time) compared with a
// timestamp[ms] column is in milliseconds.
func (e Expr) Bind(schema *arrow.Schema) (*Bound, error) {
	if schema == nil {
		return nil, fmt.Errorf("expr: binding %s: schema is nil", e)
	}
	b := &binder{schema: schema, root: e.String()}
	root, err := bindNode(b, e.n)
	if err != nil {
		return nil, err
	}
	f := arrow.Field{Name: e.Name(), Type: root.dataType(), Nullable: root.nullable()}
	inner := e.n
	if a, ok := inner.(*aliasNode); ok {
		inner = a.x
	}
	if _, ok := inner.(*colNode); ok {
		if c, ok := root.(*bCol); ok {
			// A column keeps its metadata; a nested field is named by
			// its last part, as in Spark.
			f.Metadata = c.meta
			if _, aliased := e.n.(*aliasNode); !aliased {
				f.Name = c.field
			}
		}
	}
	set := map[int]bool{}
	collectColumns(root, set)
	return &Bound{expr: e, root: root, field: f, cols: sortedKeys(set)}, nil
}

// Field is the output column: its name (see Expr.Name), type, and whether
// it can be null.
func (b *Bound) Field() arrow.Field { return b.field }

// Expr returns the expression b was bound from.
func (b *Bound) Expr() Expr { return b.expr }

// IsBoolean reports whether the expression yields booleans (and so can be
// a filter condition).
func (b *Bound) IsBoolean() bool { return isBoolean(b.field.Type) }

// Columns returns the indices of the schema's top-level columns the
// expression reads, ascending.
func (b *Bound) Columns() []int { return append([]int(nil), b.cols...) }

// String shows the bound form: implicit casts as cast(x as bigint),
// folded constants as their values, and the alias if any.
func (b *Bound) String() string {
	s := b.root.String()
	if _, ok := b.expr.n.(*aliasNode); ok {
		s += " AS " + b.field.Name
	}
	return s
}

// Eval evaluates the expression over every row of rec, which is borrowed
// and must have the schema the expression was bound to (checked per
// column read). The result has rec.NumRows() rows and is owned by the
// caller, who must Release it. A column reference returns the record's own
// column, retained, without copying. Memory for new arrays comes from mem
// (memory.DefaultAllocator if nil).
//
// Errors: integer overflow (ErrOverflow) and division by zero
// (ErrDivideByZero) name the expression, the row and the operands; a
// record whose columns do not match the bound schema is refused.
func (b *Bound) Eval(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.Array, error) {
	if rec == nil {
		return nil, fmt.Errorf("expr: evaluating %s: record is nil", b.expr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	ev := &evalCtx{rec: rec, mem: mem, kctx: compute.WithAllocator(ctx, mem), rows: int(rec.NumRows()), now: batchTime(ctx)}
	v, err := b.root.eval(ev)
	if err != nil {
		return nil, err
	}
	if v.arr != nil {
		return v.arr, nil
	}
	arr, err := scalar.MakeArrayFromScalar(v.sc, ev.rows, mem)
	if err != nil {
		return nil, fmt.Errorf("expr: evaluating %s: repeating the constant %s: %w", b.expr, formatScalar(v.sc), err)
	}
	return arr, nil
}

// evalCtx is one evaluation: the record, the allocator, the context given
// to compute kernels (carrying the allocator) and the number of rows.
type evalCtx struct {
	rec  arrow.RecordBatch
	mem  memory.Allocator
	kctx context.Context
	rows int
	// now is the batch time in microseconds (WithBatchTime).
	now int64
}

// val is an intermediate result: an array (owned, released by whoever
// holds the val) or a constant scalar (shared, never released).
type val struct {
	arr arrow.Array
	sc  scalar.Scalar
}

func (v val) release() {
	if v.arr != nil {
		v.arr.Release()
	}
}

func (v val) datum() compute.Datum {
	if v.arr != nil {
		return compute.NewDatumWithoutOwning(v.arr)
	}
	return compute.NewDatumWithoutOwning(v.sc)
}

func (v val) dataType() arrow.DataType {
	if v.arr != nil {
		return v.arr.DataType()
	}
	return v.sc.DataType()
}

// bnode is a bound expression node.
type bnode interface {
	dataType() arrow.DataType
	nullable() bool
	children() []bnode
	// eval returns an owned array, or a constant when every operand is
	// constant.
	eval(ev *evalCtx) (val, error)
	String() string
}

// callKernel runs an arrow compute function over args (borrowed) and
// returns its result (owned). src names the expression in errors.
func callKernel(ev *evalCtx, name string, opts compute.FunctionOptions, src string, args ...val) (val, error) {
	datums := make([]compute.Datum, len(args))
	for i, a := range args {
		datums[i] = a.datum()
	}
	d, err := compute.CallFunction(ev.kctx, name, opts, datums...)
	if err != nil {
		if ctxErr := ev.kctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return val{}, ctxErr
		}
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	return fromDatum(ev, d, src)
}

func fromDatum(ev *evalCtx, d compute.Datum, src string) (val, error) {
	switch d := d.(type) {
	case *compute.ArrayDatum:
		arr := d.MakeArray()
		d.Release()
		return val{arr: arr}, nil
	case *compute.ScalarDatum:
		return val{sc: d.Value}, nil
	case *compute.ChunkedDatum:
		defer d.Release()
		arr, err := array.Concatenate(d.Chunks(), ev.mem)
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: joining result chunks: %w", src, err)
		}
		return val{arr: arr}, nil
	}
	d.Release()
	return val{}, fmt.Errorf("expr: evaluating %s: unexpected %s result", src, d.Kind())
}

// bLit is a constant.
type bLit struct{ sc scalar.Scalar }

func (c *bLit) dataType() arrow.DataType   { return c.sc.DataType() }
func (c *bLit) nullable() bool             { return !c.sc.IsValid() }
func (c *bLit) children() []bnode          { return nil }
func (c *bLit) eval(*evalCtx) (val, error) { return val{sc: c.sc}, nil }
func (c *bLit) String() string             { return formatScalar(c.sc) }

// bCol reads column idx of the record and, when path is set, the nested
// struct fields along it.
type bCol struct {
	name  string // as written in Col
	field string // the resolved field's own name
	idx   int
	path  []int
	top   arrow.DataType // the top-level column's type
	typ   arrow.DataType
	null  bool
	meta  arrow.Metadata
}

func (c *bCol) dataType() arrow.DataType { return c.typ }
func (c *bCol) nullable() bool           { return c.null }
func (c *bCol) children() []bnode        { return nil }
func (c *bCol) String() string           { return c.name }

func (c *bCol) eval(ev *evalCtx) (val, error) {
	if ev.rec == nil {
		return val{}, fmt.Errorf("expr: column %s read while folding constants", c.name)
	}
	if c.idx >= int(ev.rec.NumCols()) {
		return val{}, fmt.Errorf("expr: column %s is column %d of the bound schema, but the record has only %d columns; evaluate with records of the schema the expression was bound to",
			c.name, c.idx, ev.rec.NumCols())
	}
	col := ev.rec.Column(c.idx)
	if !arrow.TypeEqual(col.DataType(), c.top) {
		return val{}, fmt.Errorf("expr: column %s was bound as %s, but the record's column %d is %s; evaluate with records of the schema the expression was bound to",
			c.name, c.top, c.idx, col.DataType())
	}
	col.Retain()
	for _, i := range c.path {
		next, err := structField(ev.mem, col, i)
		col.Release()
		if err != nil {
			return val{}, fmt.Errorf("expr: reading %s: %w", c.name, err)
		}
		col = next
	}
	return val{arr: col}, nil
}

// structField returns field i of struct array arr (borrowed), null where
// the struct itself is null. The result is owned by the caller.
func structField(mem memory.Allocator, arr arrow.Array, i int) (arrow.Array, error) {
	st, ok := arr.(*array.Struct)
	if !ok {
		return nil, fmt.Errorf("%s is not a struct array", arr.DataType())
	}
	child := st.Field(i)
	if st.NullN() == 0 || child.DataType().ID() == arrow.NULL {
		child.Retain()
		return child, nil
	}
	cd := child.Data()
	n, coff := int64(cd.Len()), int64(cd.Offset())
	bm := memory.NewResizableBuffer(mem)
	bm.Resize(int(bitutil.BytesForBits(coff + n)))
	parentBits, poff := st.NullBitmapBytes(), int64(st.Data().Offset())
	if childBits := child.NullBitmapBytes(); childBits == nil {
		bitutil.CopyBitmap(parentBits, int(poff), int(n), bm.Bytes(), int(coff))
	} else {
		bitutil.BitmapAnd(parentBits, childBits, poff, coff, bm.Bytes(), coff, n)
	}
	bufs := append([]*memory.Buffer{bm}, cd.Buffers()[1:]...)
	data := array.NewData(cd.DataType(), int(n), bufs, cd.Children(), array.UnknownNullCount, int(coff))
	bm.Release()
	defer data.Release()
	return array.MakeFromData(data), nil
}

// bCast converts its operand to another type (implicit casts from Bind).
type bCast struct {
	x  bnode
	to arrow.DataType
}

func (c *bCast) dataType() arrow.DataType { return c.to }
func (c *bCast) nullable() bool           { return c.x.nullable() }
func (c *bCast) children() []bnode        { return []bnode{c.x} }
func (c *bCast) String() string {
	return "cast(" + c.x.String() + " as " + typeName(c.to) + ")"
}

func castOptions(to arrow.DataType) *compute.CastOptions {
	o := compute.SafeCastOptions(to)
	// Integers widen to floats even where large values round, as in
	// Spark; integer casts stay checked.
	o.AllowFloatTruncate = isFloat(to)
	return o
}

func (c *bCast) eval(ev *evalCtx) (val, error) {
	x, err := c.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer x.release()
	d, err := compute.CastDatum(ev.kctx, x.datum(), castOptions(c.to))
	if err != nil {
		return val{}, fmt.Errorf("expr: cannot cast %s from %s to %s: %w; cast explicitly to a type that holds every value",
			c.x, c.x.dataType(), c.to, err)
	}
	return fromDatum(ev, d, c.String())
}

// bCompare is a comparison; l and r have the same type.
type bCompare struct {
	op   binOp
	l, r bnode
}

func (c *bCompare) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bCompare) nullable() bool           { return c.l.nullable() || c.r.nullable() }
func (c *bCompare) children() []bnode        { return []bnode{c.l, c.r} }
func (c *bCompare) String() string           { return formatBinary(c.op, c.l.String(), c.r.String()) }
func (c *bCompare) eval(ev *evalCtx) (val, error) {
	if v, ok, err := fastCompare(ev, c); ok || err != nil {
		return v, err
	}
	return evalBinaryKernel(ev, binOps[c.op].kernel, c.String(), c.l, c.r)
}

// bLogic is a Kleene AND or OR.
type bLogic struct {
	op   binOp
	l, r bnode
}

func (c *bLogic) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bLogic) nullable() bool           { return c.l.nullable() || c.r.nullable() }
func (c *bLogic) children() []bnode        { return []bnode{c.l, c.r} }
func (c *bLogic) String() string           { return formatBinary(c.op, c.l.String(), c.r.String()) }
func (c *bLogic) eval(ev *evalCtx) (val, error) {
	// Short-circuits where the right side could fail (conditional.go).
	return evalLogic(ev, c)
}

func evalBinaryKernel(ev *evalCtx, kernel, src string, ln, rn bnode) (val, error) {
	l, err := ln.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer l.release()
	r, err := rn.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer r.release()
	return callKernel(ev, kernel, nil, src, l, r)
}

// bNot is boolean negation.
type bNot struct{ x bnode }

func (c *bNot) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bNot) nullable() bool           { return c.x.nullable() }
func (c *bNot) children() []bnode        { return []bnode{c.x} }
func (c *bNot) String() string           { return formatUnary(opNot, c.x.String()) }
func (c *bNot) eval(ev *evalCtx) (val, error) {
	x, err := c.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer x.release()
	if x.sc != nil {
		return callKernel(ev, "not", nil, c.String(), x)
	}
	// Invert here: arrow-go's "not" kernel reuses the input's validity
	// bitmap without its offset, which is wrong for sliced inputs.
	n, off := x.arr.Len(), x.arr.Data().Offset()
	vals := memory.NewResizableBuffer(ev.mem)
	defer vals.Release()
	vals.Resize(int(bitutil.BytesForBits(int64(n))))
	bitutil.InvertBitmap(x.arr.Data().Buffers()[1].Bytes(), off, n, vals.Bytes(), 0)
	var validity *memory.Buffer
	nulls := x.arr.NullN()
	if nulls > 0 {
		validity = memory.NewResizableBuffer(ev.mem)
		defer validity.Release()
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(x.arr.NullBitmapBytes(), off, n, validity.Bytes(), 0)
	}
	data := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{validity, vals}, nil, nulls, 0)
	defer data.Release()
	return val{arr: array.MakeFromData(data)}, nil
}

// bIsNull is IS NULL or, with not, IS NOT NULL.
type bIsNull struct {
	x   bnode
	not bool
}

func (c *bIsNull) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bIsNull) nullable() bool           { return false }
func (c *bIsNull) children() []bnode        { return []bnode{c.x} }
func (c *bIsNull) String() string {
	if c.not {
		return formatUnary(opIsNotNull, c.x.String())
	}
	return formatUnary(opIsNull, c.x.String())
}
func (c *bIsNull) eval(ev *evalCtx) (val, error) {
	x, err := c.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer x.release()
	if x.sc != nil {
		return val{sc: scalar.NewBooleanScalar(x.sc.IsValid() == c.not)}, nil
	}
	if x.arr.DataType().ID() == arrow.NULL || x.arr.NullN() == 0 {
		return val{sc: scalar.NewBooleanScalar(x.arr.DataType().ID() == arrow.NULL != c.not)}, nil
	}
	// Read the validity bitmap directly: arrow-go's is_not_null kernel
	// ignores the offset of a sliced input.
	n := x.arr.Len()
	buf := memory.NewResizableBuffer(ev.mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	if c.not {
		bitutil.CopyBitmap(x.arr.NullBitmapBytes(), x.arr.Data().Offset(), n, buf.Bytes(), 0)
	} else {
		bitutil.InvertBitmap(x.arr.NullBitmapBytes(), x.arr.Data().Offset(), n, buf.Bytes(), 0)
	}
	data := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	defer data.Release()
	return val{arr: array.MakeFromData(data)}, nil
}
