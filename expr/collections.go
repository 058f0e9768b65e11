package expr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// This file holds the nested types: struct field access and
// construction, arrays and maps (size, element_at, array_contains, array,
// map_keys, map_values), and the explode family of generatorKinds, which are
// bound separately (BindGenerator) because they change the row count.

// ErrIndexOutOfBounds is returned (wrapped, with the expression, the row,
// the index and the array's length) when element_at reads past either end
// of an array, and when an array index is 0.
var ErrIndexOutOfBounds = errors.New("array index out of bounds")

// GetField is field name of the struct-valued expression e, null where e
// is null. Unlike Col("a.b"), which resolves a dotted name against the
// schema, GetField applies to any struct expression (a column, a
// struct(...) call, an element_at of an array of structs). Bind fails,
// listing the struct's fields, when there is no such field.
func GetField(e Expr, name string) Expr { return Expr{&fieldNode{x: e.n, name: name}} }

// Field is GetField(e, name).
func (e Expr) Field(name string) Expr { return GetField(e, name) }

// Struct builds a struct from exprs, as Spark's struct(...): a field per
// expression, named by its alias (As), by the column's own name for a
// column reference, and col1, col2, ... by position otherwise. The struct
// itself is never null. It is Call("struct", exprs...); named_struct(name1,
// value1, ...) names the fields with constant strings instead.
func Struct(exprs ...Expr) Expr { return Call("struct", exprs...) }

// Array builds an array (an Arrow list) from exprs, one element per
// expression, as Spark's array(...): the elements take the common type of
// the arguments; the array is never null, its elements may be. It is
// Call("array", exprs...).
func Array(exprs ...Expr) Expr { return Call("array", exprs...) }

// Explode is the generator explode(e): one output row per element of the
// array e (or per entry of the map e, as key and value columns). Rows
// whose array is null or empty produce nothing. A generator changes the
// number of rows, so it cannot be part of a larger expression: use it as
// a whole column of a projection (see BindGenerator).
func Explode(e Expr) Expr { return Call("explode", e) }

// ExplodeOuter is explode_outer(e): like Explode, but a null or empty
// array produces one row whose generated columns are null.
func ExplodeOuter(e Expr) Expr { return Call("explode_outer", e) }

// PosExplode is posexplode(e): like Explode, with a leading int column pos
// numbering the elements from 0.
func PosExplode(e Expr) Expr { return Call("posexplode", e) }

// PosExplodeOuter is posexplode_outer(e): PosExplode, keeping null and
// empty arrays as one row of nulls (pos included).
func PosExplodeOuter(e Expr) Expr { return Call("posexplode_outer", e) }

// AsNames names the several columns of a generator (posexplode, or
// explode of a map), as Spark's AS (a, b). With one name it is As.
func (e Expr) AsNames(names ...string) Expr {
	if len(names) == 1 {
		return e.As(names[0])
	}
	return Expr{&multiAliasNode{x: e.n, names: append([]string(nil), names...)}}
}

// fieldNode is GetField: a field of a struct-valued expression.
type fieldNode struct {
	x    node
	name string
}

func (f *fieldNode) String() string { return nodeString(f.x) + "." + f.name }

func (f *fieldNode) bind(b *binder) (bnode, error) {
	x, err := bindNode(b, f.x)
	if err != nil {
		return nil, err
	}
	src := f.String()
	st, ok := x.dataType().(*arrow.StructType)
	if !ok {
		return nil, fmt.Errorf("expr: %w in %s: %s is %s, not a struct, so it has no field %q",
			ErrType, b.in(src), nodeString(f.x), typeName(x.dataType()), f.name)
	}
	i, ok := st.FieldIdx(f.name)
	if !ok {
		names := make([]string, st.NumFields())
		for j, sf := range st.Fields() {
			names[j] = sf.Name
		}
		return nil, fmt.Errorf("expr: %w %q in %s: the struct %s has no field %q;%s its fields: %s",
			ErrUnknownColumn, f.name, b.in(src), nodeString(f.x), f.name, suggest(f.name, names), listNames(names))
	}
	sf := st.Field(i)
	return b.fold(&bGetField{x: x, idx: i, name: f.name, field: sf, null: x.nullable() || sf.Nullable}, src)
}

// bGetField reads field idx of a struct.
type bGetField struct {
	x     bnode
	idx   int
	name  string
	field arrow.Field
	null  bool
}

func (g *bGetField) dataType() arrow.DataType { return g.field.Type }
func (g *bGetField) nullable() bool           { return g.null }
func (g *bGetField) children() []bnode        { return []bnode{g.x} }
func (g *bGetField) String() string           { return g.x.String() + "." + g.name }

func (g *bGetField) eval(ev *evalCtx) (val, error) {
	x, err := g.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer x.release()
	if x.sc != nil {
		st, ok := x.sc.(*scalar.Struct)
		if !ok || !st.IsValid() || g.idx >= len(st.Value) {
			return val{sc: scalar.MakeNullScalar(g.field.Type)}, nil
		}
		return val{sc: st.Value[g.idx]}, nil
	}
	out, err := structField(ev.mem, x.arr, g.idx)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", g, err)
	}
	return val{arr: out}, nil
}

// multiAliasNode is AsNames with several names; only generatorKinds take it.
type multiAliasNode struct {
	x     node
	names []string
}

func (m *multiAliasNode) String() string {
	return nodeString(m.x) + " AS (" + strings.Join(m.names, ", ") + ")"
}

func (m *multiAliasNode) bind(b *binder) (bnode, error) {
	return nil, fmt.Errorf("expr: %s gives %d names, but only a generator with several output columns (posexplode, explode of a map) takes several; use As to name one column",
		b.root, len(m.names))
}

func init() {
	register(&funcDef{name: "struct", minArgs: 0, maxArgs: -1, bindNodes: func(b *binder, src string, args []node) (bnode, error) {
		return foldTyped(b, src)(bindStruct(b, src, args))
	}})
	register(&funcDef{name: "named_struct", minArgs: 2, maxArgs: -1, bind: typedBind(bindNamedStruct)})
	register(&funcDef{name: "array", minArgs: 0, maxArgs: -1, bind: typedBind(bindArray)})
	register(&funcDef{name: "size", minArgs: 1, maxArgs: 1, bind: bindSize})
	register(&funcDef{name: "element_at", minArgs: 2, maxArgs: 2, bind: typedBind(func(b *binder, src string, args []bnode) (bnode, error) {
		return bindElementAt(b, src, args, false)
	})})
	register(&funcDef{name: "try_element_at", minArgs: 2, maxArgs: 2, bind: typedBind(func(b *binder, src string, args []bnode) (bnode, error) {
		return bindElementAt(b, src, args, true)
	})})
	register(&funcDef{name: "array_contains", minArgs: 2, maxArgs: 2, bind: bindArrayContains})
	register(&funcDef{name: "map_keys", minArgs: 1, maxArgs: 1, bind: typedBind(func(b *binder, src string, args []bnode) (bnode, error) {
		return bindMapPart(b, src, args[0], 0)
	})})
	register(&funcDef{name: "map_values", minArgs: 1, maxArgs: 1, bind: typedBind(func(b *binder, src string, args []bnode) (bnode, error) {
		return bindMapPart(b, src, args[0], 1)
	})})
	for name := range generatorKinds {
		register(&funcDef{name: name, minArgs: 1, maxArgs: 1, bind: func(b *binder, src string, _ []bnode) (bnode, error) {
			if src == b.root {
				return nil, fmt.Errorf("expr: %s is a generator: it turns each row into several, so it is not a column expression; use it as a whole column of a projection (DataFrame.Select, Explode) or bind it with BindGenerator", src)
			}
			return nil, fmt.Errorf("expr: %s is a generator and cannot be nested in %s: it turns each row into several; use it as a whole column of a projection, and the other expressions on its output", src, b.root)
		}})
	}
}

// typedBind folds the node bind returns with foldTyped.
func typedBind(bind func(b *binder, src string, args []bnode) (bnode, error)) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		return foldTyped(b, src)(bind(b, src, args))
	}
}

// foldTyped folds a node of a nested type whose arguments are constant,
// keeping its declared type: a list or map constant read back from an
// array has Arrow's default element field (nullable, named item), which
// may differ from the type the node declared.
func foldTyped(b *binder, src string) func(n bnode, err error) (bnode, error) {
	return func(n bnode, err error) (bnode, error) {
		if err != nil {
			return nil, err
		}
		f, err := b.fold(n, src)
		if err != nil {
			return nil, err
		}
		c, ok := f.(*bLit)
		if !ok || arrow.TypeEqual(c.sc.DataType(), n.dataType()) {
			return f, nil
		}
		switch sc := c.sc.(type) {
		case *scalar.List:
			sc.Type = n.dataType()
		case *scalar.LargeList:
			sc.Type = n.dataType()
		case *scalar.Map:
			sc.Type = n.dataType()
		case *scalar.Struct:
			sc.Type = n.dataType()
		}
		return c, nil
	}
}

// --- struct -----------------------------------------------------------

func bindStruct(b *binder, src string, args []node) (bnode, error) {
	bound := make([]bnode, len(args))
	fields := make([]arrow.Field, len(args))
	seen := make(map[string]int, len(args))
	for i, a := range args {
		bn, err := bindNode(b, a)
		if err != nil {
			return nil, err
		}
		name := "col" + strconv.Itoa(i+1)
		switch a := a.(type) {
		case *aliasNode:
			name = a.name
		case *colNode:
			if c, ok := bn.(*bCol); ok {
				name = c.field
			}
		}
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("expr: %s: arguments %d and %d would both be the field %q; give one of them another name with As", b.in(src), j+1, i+1, name)
		}
		seen[name] = i
		bound[i] = bn
		fields[i] = arrow.Field{Name: name, Type: bn.dataType(), Nullable: bn.nullable()}
	}
	return newStruct(src, bound, fields), nil
}

func bindNamedStruct(b *binder, src string, args []bnode) (bnode, error) {
	if len(args)%2 != 0 {
		return nil, fmt.Errorf("expr: %s: named_struct takes pairs of a name and a value, got %d arguments", b.in(src), len(args))
	}
	values := make([]bnode, 0, len(args)/2)
	fields := make([]arrow.Field, 0, len(args)/2)
	seen := make(map[string]int, len(args)/2)
	for i := 0; i < len(args); i += 2 {
		c, ok := args[i].(*bLit)
		if !ok || !isStringType(c.dataType()) || !c.sc.IsValid() {
			return nil, fmt.Errorf("expr: %w in %s: argument %d (%s) must be a constant string naming a field", ErrType, b.in(src), i+1, args[i])
		}
		name := formatScalar(c.sc)
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("expr: %s: the field name %q is given twice (arguments %d and %d); struct fields need distinct names", b.in(src), name, j+1, i+1)
		}
		seen[name] = i
		v := args[i+1]
		values = append(values, v)
		fields = append(fields, arrow.Field{Name: name, Type: v.dataType(), Nullable: v.nullable()})
	}
	return newStruct(src, values, fields), nil
}

func newStruct(src string, args []bnode, fields []arrow.Field) bnode {
	typ := arrow.StructOf(fields...)
	return &bFunc{name: "struct", src: src, args: args, typ: typ, null: false,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			children := make([]arrow.ArrayData, len(vals))
			for i, v := range vals {
				arr, release, err := asArray(ev, v)
				if err != nil {
					return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
				}
				defer release()
				children[i] = arr.Data()
			}
			data := array.NewData(typ, ev.rows, []*memory.Buffer{nil}, children, 0, 0)
			defer data.Release()
			return val{arr: array.MakeFromData(data)}, nil
		}}
}

// --- array(...) -------------------------------------------------------

func bindArray(b *binder, src string, args []bnode) (bnode, error) {
	for i := range args {
		args[i] = b.decodeDict(args[i])
	}
	// The element type: the common type of the non-constant arguments,
	// then of the constants that do not convert exactly to it.
	var elem arrow.DataType
	widen := func(n bnode) error {
		t := n.dataType()
		if isNull(t) {
			return nil
		}
		if elem == nil {
			elem = t
			return nil
		}
		if c, ok := n.(*bLit); ok {
			if _, ok := b.convertConst(c, elem); ok {
				return nil
			}
		}
		common, ok := commonType(elem, t)
		if !ok {
			return fmt.Errorf("expr: %w in %s: the elements must have one type, but %s is %s and an earlier element is %s; cast them to one type",
				ErrType, b.in(src), n, typeName(t), typeName(elem))
		}
		elem = common
		return nil
	}
	for _, constants := range []bool{false, true} {
		for _, a := range args {
			if _, isConst := a.(*bLit); isConst == constants {
				if err := widen(a); err != nil {
					return nil, err
				}
			}
		}
	}
	if elem == nil {
		elem = arrow.Null
	}
	for i, a := range args {
		c, err := b.castTo(a, elem, src)
		if err != nil {
			return nil, err
		}
		args[i] = c
	}
	null := anyNullable(args)
	typ := arrow.ListOfField(arrow.Field{Name: "item", Type: elem, Nullable: null || isNull(elem)})
	return &bFunc{name: "array", src: src, args: args, typ: typ, null: false,
		fn: func(ev *evalCtx, vals []val) (val, error) { return evalArray(ev, src, typ, vals) }}, nil
}

// evalArray builds the rows' arrays: row i holds vals[0][i], vals[1][i],
// ... A constant is read from a one-row array rather than repeated.
func evalArray(ev *evalCtx, src string, typ *arrow.ListType, vals []val) (val, error) {
	n, k := ev.rows, len(vals)
	if int64(n)*int64(k) > math.MaxInt32 {
		return val{}, fmt.Errorf("expr: evaluating %s: %d rows of %d elements exceed the %d elements a list array holds; read smaller batches", src, n, k, math.MaxInt32)
	}
	offsets := memory.NewResizableBuffer(ev.mem)
	defer offsets.Release()
	offsets.Resize((n + 1) * arrow.Int32SizeBytes)
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	for i := range offs {
		offs[i] = int32(i * k)
	}
	var child arrow.Array
	switch k {
	case 0:
		child = array.MakeArrayOfNull(ev.mem, typ.Elem(), 0)
	case 1:
		arr, release, err := asArray(ev, vals[0])
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
		}
		arr.Retain()
		release()
		child = arr
	default:
		parts := make([]arrow.Array, k)
		bases := make([]int32, k)
		base := 0
		for j, v := range vals {
			if v.arr != nil {
				parts[j] = v.arr
			} else {
				one, err := scalar.MakeArrayFromScalar(v.sc, 1, ev.mem)
				if err != nil {
					return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
				}
				defer one.Release()
				parts[j] = one
			}
			bases[j] = int32(base)
			base += parts[j].Len()
		}
		all, err := array.Concatenate(parts, ev.mem)
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
		}
		defer all.Release()
		idxBuf := memory.NewResizableBuffer(ev.mem)
		defer idxBuf.Release()
		idxBuf.Resize(n * k * arrow.Int32SizeBytes)
		idx := arrow.Int32Traits.CastFromBytes(idxBuf.Bytes())
		for j, v := range vals {
			if v.arr == nil {
				for i := 0; i < n; i++ {
					idx[i*k+j] = bases[j]
				}
				continue
			}
			for i := 0; i < n; i++ {
				idx[i*k+j] = bases[j] + int32(i)
			}
		}
		idxData := array.NewData(arrow.PrimitiveTypes.Int32, n*k, []*memory.Buffer{nil, idxBuf}, nil, 0, 0)
		defer idxData.Release()
		idxArr := array.MakeFromData(idxData)
		defer idxArr.Release()
		child, err = compute.TakeArray(ev.kctx, all, idxArr)
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
		}
	}
	defer child.Release()
	data := array.NewData(typ, n, []*memory.Buffer{nil, offsets}, []arrow.ArrayData{child.Data()}, 0, 0)
	defer data.Release()
	return val{arr: array.MakeFromData(data)}, nil
}

// --- shared helpers for lists and maps ----------------------------------

// isListLike reports whether t is an array type the collection functions
// take: an Arrow list or large list.
func isListLike(t arrow.DataType) bool {
	return t.ID() == arrow.LIST || t.ID() == arrow.LARGE_LIST
}

// elemField is the element field of a list or large list type.
func elemField(t arrow.DataType) arrow.Field {
	return t.(arrow.ListLikeType).ElemField()
}

// validBits reads a validity bitmap; a nil bitmap means every slot is valid.
type validBits struct {
	b   []byte
	off int
}

func validBitsOf(a arrow.Array) validBits {
	if a.NullN() == 0 {
		return validBits{}
	}
	return validBits{b: a.NullBitmapBytes(), off: a.Data().Offset()}
}

func (x validBits) valid(i int) bool { return x.b == nil || bitutil.BitIsSet(x.b, x.off+i) }

// listArg is a list-valued argument: an array, or a constant read as a
// one-row array whose row 0 every row uses.
type listArg struct {
	arr      arrow.Array
	constant bool
	release  func()
}

func listArgOf(ev *evalCtx, v val) (listArg, error) {
	if v.arr != nil {
		return listArg{arr: v.arr, release: func() {}}, nil
	}
	one, err := scalar.MakeArrayFromScalar(v.sc, 1, ev.mem)
	if err != nil {
		return listArg{}, err
	}
	return listArg{arr: one, constant: true, release: one.Release}, nil
}

// row is the row of the list array that row i reads.
func (l listArg) row(i int) int {
	if l.constant {
		return 0
	}
	return i
}

// values returns the list's child array (for a map, its entries), shared
// with the list: the caller does not release it.
func (l listArg) values() arrow.Array {
	return l.arr.(array.ListLike).ListValues()
}

// mapKeysItems returns the keys and items of map array m, shared with m:
// the caller does not release them.
func mapKeysItems(m arrow.Array) (keys, items arrow.Array) {
	entries := m.(*array.Map).ListValues().(*array.Struct)
	return entries.Field(0), entries.Field(1)
}

// newInt32Array wraps buf (n int32 values) and an optional validity bitmap
// as an array owned by the caller.
func newInt32Array(n int, values, validity *memory.Buffer, nulls int) arrow.Array {
	data := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{validity, values}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// newIndexArray wraps the take indices idx (of type O) with validity as an
// array owned by the caller.
func newIndexArray[O int32 | int64](buf, validity *memory.Buffer, n, nulls int) arrow.Array {
	var typ arrow.DataType = arrow.PrimitiveTypes.Int32
	var zero O
	if any(zero) == any(int64(0)) {
		typ = arrow.PrimitiveTypes.Int64
	}
	data := array.NewData(typ, n, []*memory.Buffer{validity, buf}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

func zeroBitmap(mem memory.Allocator, n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	clear(buf.Bytes())
	return buf
}

// repeatRow0 returns row 0 of arr (borrowed) repeated ev.rows times, as
// an array the caller owns.
func repeatRow0(ev *evalCtx, src string, arr arrow.Array) (val, error) {
	buf := memory.NewResizableBuffer(ev.mem)
	defer buf.Release()
	buf.Resize(ev.rows * arrow.Int32SizeBytes)
	clear(buf.Bytes())
	zeros := newInt32Array(ev.rows, buf, nil, 0)
	defer zeros.Release()
	out, err := compute.TakeArray(ev.kctx, arr, zeros)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	return val{arr: out}, nil
}

// emptyArrayOf returns an array of type t and no rows, owned by the
// caller.
func emptyArrayOf(mem memory.Allocator, t arrow.DataType) arrow.Array {
	bld := array.NewBuilder(mem, t)
	defer bld.Release()
	return bld.NewArray()
}

// --- size ---------------------------------------------------------------

func bindSize(b *binder, src string, args []bnode) (bnode, error) {
	x := args[0]
	t := x.dataType()
	if isNull(t) {
		return &bLit{sc: scalar.MakeNullScalar(arrow.PrimitiveTypes.Int32)}, nil
	}
	if !isListLike(t) && t.ID() != arrow.MAP {
		return nil, fmt.Errorf("expr: %w in %s: size needs an array or a map, but %s is %s", ErrType, b.in(src), x, typeName(t))
	}
	return &bFunc{name: "size", src: src, args: args, typ: arrow.PrimitiveTypes.Int32, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if t.ID() == arrow.LARGE_LIST {
				return evalSize[int64](ev, src, vals[0])
			}
			return evalSize[int32](ev, src, vals[0])
		}}, nil
}

func evalSize[O int32 | int64](ev *evalCtx, src string, v val) (val, error) {
	if v.sc != nil {
		if !v.sc.IsValid() {
			return val{sc: scalar.MakeNullScalar(arrow.PrimitiveTypes.Int32)}, nil
		}
		return val{sc: scalar.NewInt32Scalar(int32(v.sc.(scalar.ListScalar).GetList().Len()))}, nil
	}
	n := v.arr.Len()
	if n == 0 {
		return val{arr: emptyArrayOf(ev.mem, arrow.PrimitiveTypes.Int32)}, nil
	}
	offs := arrow.GetOffsets[O](v.arr.Data(), 1)
	buf := memory.NewResizableBuffer(ev.mem)
	defer buf.Release()
	buf.Resize(n * arrow.Int32SizeBytes)
	out := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	for i := range out {
		d := offs[i+1] - offs[i]
		if int64(d) > math.MaxInt32 {
			return val{}, fmt.Errorf("expr: %w in %s at row %d: the array has %d elements, more than an int holds", ErrOverflow, src, i, d)
		}
		out[i] = int32(d)
	}
	var validity *memory.Buffer
	nulls := v.arr.NullN()
	if nulls > 0 {
		validity = zeroBitmap(ev.mem, n)
		defer validity.Release()
		bitutil.CopyBitmap(v.arr.NullBitmapBytes(), v.arr.Data().Offset(), n, validity.Bytes(), 0)
	}
	return val{arr: newInt32Array(n, buf, validity, nulls)}, nil
}

// --- element_at -----------------------------------------------------------

func bindElementAt(b *binder, src string, args []bnode, try bool) (bnode, error) {
	name := "element_at"
	if try {
		name = "try_element_at"
	}
	coll, key := args[0], b.decodeDict(args[1])
	t := coll.dataType()
	switch {
	case isListLike(t):
		ef := elemField(t)
		if isNull(key.dataType()) {
			return &bLit{sc: scalar.MakeNullScalar(ef.Type)}, nil
		}
		if !isInteger(key.dataType()) {
			return nil, fmt.Errorf("expr: %w in %s: the index of %s must be an integer, but %s is %s",
				ErrType, b.in(src), name, key, typeName(key.dataType()))
		}
		idx, err := b.castTo(key, arrow.PrimitiveTypes.Int64, src)
		if err != nil {
			return nil, err
		}
		null := coll.nullable() || idx.nullable() || ef.Nullable || try
		return &bFunc{name: name, src: src, args: []bnode{coll, idx}, typ: ef.Type, null: null,
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if t.ID() == arrow.LARGE_LIST {
					return elementAtArray[int64](ev, src, try, ef.Type, vals[0], vals[1])
				}
				return elementAtArray[int32](ev, src, try, ef.Type, vals[0], vals[1])
			}}, nil
	case t.ID() == arrow.MAP:
		mt := t.(*arrow.MapType)
		k, err := b.coerceElem(key, mt.KeyType(), src, "the key of "+name)
		if err != nil {
			return nil, err
		}
		if isNullConst(k) {
			return &bLit{sc: scalar.MakeNullScalar(mt.ItemType())}, nil
		}
		if err := checkFindable(b, src, mt.KeyType(), "map keys"); err != nil {
			return nil, err
		}
		return &bFunc{name: name, src: src, args: []bnode{coll, k}, typ: mt.ItemType(), null: true,
			fn: func(ev *evalCtx, vals []val) (val, error) {
				return elementAtMap(ev, src, mt.ItemType(), vals[0], vals[1])
			}}, nil
	}
	return nil, fmt.Errorf("expr: %w in %s: %s needs an array or a map, but %s is %s", ErrType, b.in(src), name, coll, typeName(t))
}

// coerceElem converts n to type to for comparison with values of that
// type: a null takes the type, a constant converts when exact, anything
// whose common type with to is to is cast; otherwise it is a type error
// naming what (the role of n).
func (b *binder) coerceElem(n bnode, to arrow.DataType, src, what string) (bnode, error) {
	t := n.dataType()
	if arrow.TypeEqual(t, to) {
		return n, nil
	}
	if isNull(t) {
		return b.castConst(n, to), nil
	}
	if c, ok := n.(*bLit); ok {
		if out, ok := b.convertConst(c, to); ok {
			return out, nil
		}
	}
	if common, ok := commonType(t, to); ok && arrow.TypeEqual(common, to) {
		return b.castTo(n, to, src)
	}
	return nil, fmt.Errorf("expr: %w in %s: %s is %s, but %s needs %s; cast it", ErrType, b.in(src), n, typeName(t), what, typeName(to))
}

func elementAtArray[O int32 | int64](ev *evalCtx, src string, try bool, elem arrow.DataType, lv, iv val) (val, error) {
	n := ev.rows
	if iv.sc != nil && !iv.sc.IsValid() || lv.sc != nil && !lv.sc.IsValid() {
		return val{sc: scalar.MakeNullScalar(elem)}, nil
	}
	if n == 0 {
		return val{arr: emptyArrayOf(ev.mem, elem)}, nil
	}
	list, err := listArgOf(ev, lv)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	defer list.release()
	offs := arrow.GetOffsets[O](list.arr.Data(), 1)
	lb := validBitsOf(list.arr)
	var (
		idx      []int64
		ib       validBits
		idxConst = iv.sc != nil
	)
	if idxConst {
		idx = []int64{iv.sc.(*scalar.Int64).Value}
	} else {
		idx = arrow.GetValues[int64](iv.arr.Data(), 1)
		ib = validBitsOf(iv.arr)
	}
	buf := memory.NewResizableBuffer(ev.mem)
	defer buf.Release()
	buf.Resize(n * int(offsetSize[O]()))
	take := offsetsFromBytes[O](buf.Bytes())[:n]
	validity := zeroBitmap(ev.mem, n)
	defer validity.Release()
	vb := validity.Bytes()
	nulls := 0
	for i := 0; i < n; i++ {
		li := list.row(i)
		if !lb.valid(li) || !ib.valid(i) {
			take[i] = 0
			nulls++
			continue
		}
		k := idx[0]
		if !idxConst {
			k = idx[i]
		}
		start, end := int64(offs[li]), int64(offs[li+1])
		length := end - start
		var pos int64
		switch {
		case k > 0 && k <= length:
			pos = start + k - 1
		case k < 0 && k >= -length:
			pos = end + k
		case k == 0:
			return val{}, fmt.Errorf("expr: %w in %s%s: the index is 0, but SQL array indices start at 1; use 1 for the first element and -1 for the last",
				ErrIndexOutOfBounds, src, indexRowSuffix(i, idxConst && list.constant))
		case try:
			take[i] = 0
			nulls++
			continue
		default:
			return val{}, fmt.Errorf("expr: %w in %s%s: the index %d is out of bounds: the array has %d elements; use try_element_at to get null instead",
				ErrIndexOutOfBounds, src, indexRowSuffix(i, idxConst && list.constant), k, length)
		}
		take[i] = O(pos)
		bitutil.SetBit(vb, i)
	}
	if nulls == 0 {
		validity = nil
	}
	indices := newIndexArray[O](buf, validity, n, nulls)
	defer indices.Release()
	out, err := compute.TakeArray(ev.kctx, list.values(), indices)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	return val{arr: out}, nil
}

func indexRowSuffix(row int, constant bool) string {
	if constant {
		return ""
	}
	return " at row " + strconv.Itoa(row)
}

func offsetSize[O int32 | int64]() int64 {
	var zero O
	if any(zero) == any(int64(0)) {
		return 8
	}
	return 4
}

func offsetsFromBytes[O int32 | int64](b []byte) []O {
	var zero O
	if any(zero) == any(int64(0)) {
		return any(arrow.Int64Traits.CastFromBytes(b)).([]O)
	}
	return any(arrow.Int32Traits.CastFromBytes(b)).([]O)
}

// elementAtMap looks up key in each row's map: the item of the first
// entry whose key equals it, null when there is none (as Spark 4, also in
// ANSI mode), when the map is null or when the key is null.
func elementAtMap(ev *evalCtx, src string, item arrow.DataType, mv, kv val) (val, error) {
	n := ev.rows
	if kv.sc != nil && !kv.sc.IsValid() || mv.sc != nil && !mv.sc.IsValid() {
		return val{sc: scalar.MakeNullScalar(item)}, nil
	}
	if n == 0 {
		return val{arr: emptyArrayOf(ev.mem, item)}, nil
	}
	m, err := listArgOf(ev, mv)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	defer m.release()
	keys, items := mapKeysItems(m.arr)
	res, err := findMatches[int32](ev, src, m, keys, kv)
	if err != nil {
		return val{}, err
	}
	buf := memory.NewResizableBuffer(ev.mem)
	defer buf.Release()
	buf.Resize(n * arrow.Int32SizeBytes)
	take := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	validity := zeroBitmap(ev.mem, n)
	defer validity.Release()
	nulls := 0
	for i, r := range res {
		if r < 0 {
			take[i] = 0
			nulls++
			continue
		}
		take[i] = int32(r)
		bitutil.SetBit(validity.Bytes(), i)
	}
	if nulls == 0 {
		validity = nil
	}
	indices := newInt32Array(n, buf, validity, nulls)
	defer indices.Release()
	out, err := compute.TakeArray(ev.kctx, items, indices)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	return val{arr: out}, nil
}

// --- array_contains ---------------------------------------------------------

func bindArrayContains(b *binder, src string, args []bnode) (bnode, error) {
	arr, v := args[0], b.decodeDict(args[1])
	t := arr.dataType()
	if isNull(t) {
		return &bLit{sc: scalar.MakeNullScalar(arrow.FixedWidthTypes.Boolean)}, nil
	}
	if !isListLike(t) {
		return nil, fmt.Errorf("expr: %w in %s: array_contains needs an array, but %s is %s", ErrType, b.in(src), arr, typeName(t))
	}
	if isNull(v.dataType()) {
		return nil, fmt.Errorf("expr: %w in %s: the value to look for is a null of unknown type; array_contains(%s, NULL) is always null, so compare with a typed value",
			ErrType, b.in(src), arr)
	}
	ef := elemField(t)
	if err := checkFindable(b, src, ef.Type, "array elements"); err != nil {
		return nil, err
	}
	v, err := b.coerceElem(v, ef.Type, src, "an element of "+arr.String())
	if err != nil {
		return nil, err
	}
	return &bFunc{name: "array_contains", src: src, args: []bnode{arr, v}, typ: arrow.FixedWidthTypes.Boolean,
		null: arr.nullable() || v.nullable() || ef.Nullable,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if t.ID() == arrow.LARGE_LIST {
				return evalArrayContains[int64](ev, src, vals[0], vals[1])
			}
			return evalArrayContains[int32](ev, src, vals[0], vals[1])
		}}, nil
}

// evalArrayContains is true where the array holds the value, null where
// it does not but holds a null (which might have been it), or where the
// array or the value is null, and false otherwise, as in Spark.
func evalArrayContains[O int32 | int64](ev *evalCtx, src string, av, vv val) (val, error) {
	n := ev.rows
	if av.sc != nil && !av.sc.IsValid() || vv.sc != nil && !vv.sc.IsValid() {
		return val{sc: scalar.MakeNullScalar(arrow.FixedWidthTypes.Boolean)}, nil
	}
	if n == 0 {
		return val{arr: emptyArrayOf(ev.mem, arrow.FixedWidthTypes.Boolean)}, nil
	}
	list, err := listArgOf(ev, av)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	defer list.release()
	res, err := findMatches[O](ev, src, list, list.values(), vv)
	if err != nil {
		return val{}, err
	}
	values := zeroBitmap(ev.mem, n)
	defer values.Release()
	validity := zeroBitmap(ev.mem, n)
	defer validity.Release()
	nulls := 0
	for i, r := range res {
		switch {
		case r >= 0:
			bitutil.SetBit(values.Bytes(), i)
			bitutil.SetBit(validity.Bytes(), i)
		case r == findNoMatch:
			bitutil.SetBit(validity.Bytes(), i)
		default:
			nulls++
		}
	}
	if nulls == 0 {
		validity = nil
	}
	data := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{validity, values}, nil, nulls, 0)
	defer data.Release()
	return val{arr: array.MakeFromData(data)}, nil
}

// --- finding values in lists ------------------------------------------------

// Results of findMatches per row, besides the index of the match.
const (
	findRowNull     = -1 // the list or the value is null
	findNoMatch     = -2 // no element equals the value
	findNoMatchNull = -3 // no element equals the value, but one is null
)

// checkFindable fails when values of type t cannot be compared by
// findMatches.
func checkFindable(b *binder, src string, t arrow.DataType, what string) error {
	switch t.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.DATE32, arrow.DATE64,
		arrow.TIMESTAMP, arrow.TIME32, arrow.TIME64, arrow.DURATION, arrow.DECIMAL128,
		arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return nil
	}
	return fmt.Errorf("expr: %w in %s: %s of type %s cannot be compared for equality here; use booleans, numbers, decimals, strings, binary, dates or timestamps",
		ErrType, b.in(src), what, typeName(t))
}

// findMatches returns, for each row i, the index in elems of the first
// element of list row i equal to the value of row i (v, an array or a
// constant of elems' type), or findRowNull, findNoMatch or findNoMatchNull. O is the
// list's offset type.
func findMatches[O int32 | int64](ev *evalCtx, src string, list listArg, elems arrow.Array, v val) ([]int64, error) {
	var (
		vals      arrow.Array
		valsConst bool
	)
	if v.arr != nil {
		vals = v.arr
	} else {
		one, err := scalar.MakeArrayFromScalar(v.sc, 1, ev.mem)
		if err != nil {
			return nil, fmt.Errorf("expr: evaluating %s: %w", src, err)
		}
		defer one.Release()
		vals, valsConst = one, true
	}
	s := findScan[O]{
		res:   make([]int64, ev.rows),
		offs:  arrow.GetOffsets[O](list.arr.Data(), 1),
		lb:    validBitsOf(list.arr),
		lc:    list.constant,
		eb:    validBitsOf(elems),
		vb:    validBitsOf(vals),
		vc:    valsConst,
		elems: elems,
	}
	ed, vd := elems.Data(), vals.Data()
	switch elems.DataType().ID() {
	case arrow.INT8:
		findFixed(&s, arrow.GetValues[int8](ed, 1), arrow.GetValues[int8](vd, 1))
	case arrow.INT16:
		findFixed(&s, arrow.GetValues[int16](ed, 1), arrow.GetValues[int16](vd, 1))
	case arrow.INT32, arrow.DATE32, arrow.TIME32:
		findFixed(&s, arrow.GetValues[int32](ed, 1), arrow.GetValues[int32](vd, 1))
	case arrow.INT64, arrow.DATE64, arrow.TIMESTAMP, arrow.TIME64, arrow.DURATION:
		findFixed(&s, arrow.GetValues[int64](ed, 1), arrow.GetValues[int64](vd, 1))
	case arrow.UINT8:
		findFixed(&s, arrow.GetValues[uint8](ed, 1), arrow.GetValues[uint8](vd, 1))
	case arrow.UINT16:
		findFixed(&s, arrow.GetValues[uint16](ed, 1), arrow.GetValues[uint16](vd, 1))
	case arrow.UINT32:
		findFixed(&s, arrow.GetValues[uint32](ed, 1), arrow.GetValues[uint32](vd, 1))
	case arrow.UINT64:
		findFixed(&s, arrow.GetValues[uint64](ed, 1), arrow.GetValues[uint64](vd, 1))
	case arrow.FLOAT32:
		findFixed(&s, arrow.GetValues[float32](ed, 1), arrow.GetValues[float32](vd, 1))
	case arrow.FLOAT64:
		findFixed(&s, arrow.GetValues[float64](ed, 1), arrow.GetValues[float64](vd, 1))
	case arrow.DECIMAL128:
		findFixed(&s, arrow.GetValues[decimal128.Num](ed, 1), arrow.GetValues[decimal128.Num](vd, 1))
	case arrow.BOOL:
		findFixed(&s, boolSlice(elems), boolSlice(vals))
	case arrow.STRING, arrow.BINARY:
		findBytes(&s, arrow.GetOffsets[int32](ed, 1), varData(ed), arrow.GetOffsets[int32](vd, 1), varData(vd))
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		findBytes(&s, arrow.GetOffsets[int64](ed, 1), varData(ed), arrow.GetOffsets[int64](vd, 1), varData(vd))
	default:
		return nil, fmt.Errorf("expr: evaluating %s: values of type %s cannot be compared", src, elems.DataType())
	}
	return s.res, nil
}

// findScan is the state of one findMatches call.
type findScan[O int32 | int64] struct {
	res    []int64
	offs   []O
	lb     validBits
	lc     bool
	eb, vb validBits
	vc     bool
	elems  arrow.Array
}

func findFixed[T comparable, O int32 | int64](s *findScan[O], elems, vals []T) {
	for i := range s.res {
		li, vi := i, i
		if s.lc {
			li = 0
		}
		if s.vc {
			vi = 0
		}
		if !s.lb.valid(li) || !s.vb.valid(vi) {
			s.res[i] = findRowNull
			continue
		}
		v := vals[vi]
		r, sawNull := int64(findNoMatch), false
		for j, end := int(s.offs[li]), int(s.offs[li+1]); j < end; j++ {
			if !s.eb.valid(j) {
				sawNull = true
				continue
			}
			// x != x is NaN: Spark's equality treats NaN as equal to NaN.
			if x := elems[j]; x == v || (x != x && v != v) {
				r = int64(j)
				break
			}
		}
		if r == findNoMatch && sawNull {
			r = findNoMatchNull
		}
		s.res[i] = r
	}
}

func findBytes[P int32 | int64, O int32 | int64](s *findScan[O], eOffs []P, eData []byte, vOffs []P, vData []byte) {
	for i := range s.res {
		li, vi := i, i
		if s.lc {
			li = 0
		}
		if s.vc {
			vi = 0
		}
		if !s.lb.valid(li) || !s.vb.valid(vi) {
			s.res[i] = findRowNull
			continue
		}
		v := vData[vOffs[vi]:vOffs[vi+1]]
		r, sawNull := int64(findNoMatch), false
		for j, end := int(s.offs[li]), int(s.offs[li+1]); j < end; j++ {
			if !s.eb.valid(j) {
				sawNull = true
				continue
			}
			if string(eData[eOffs[j]:eOffs[j+1]]) == string(v) {
				r = int64(j)
				break
			}
		}
		if r == findNoMatch && sawNull {
			r = findNoMatchNull
		}
		s.res[i] = r
	}
}

func varData(d arrow.ArrayData) []byte {
	if b := d.Buffers()[2]; b != nil {
		return b.Bytes()
	}
	return nil
}

// boolSlice reads a boolean array into a []bool (one allocation per batch,
// so the comparison loop is the generic one).
func boolSlice(a arrow.Array) []bool {
	out := make([]bool, a.Len())
	b := a.(*array.Boolean)
	for i := range out {
		out[i] = b.Value(i)
	}
	return out
}

// --- map_keys, map_values -----------------------------------------------------

func bindMapPart(b *binder, src string, x bnode, part int) (bnode, error) {
	name := [...]string{"map_keys", "map_values"}[part]
	mt, ok := x.dataType().(*arrow.MapType)
	if !ok {
		return nil, fmt.Errorf("expr: %w in %s: %s needs a map, but %s is %s", ErrType, b.in(src), name, x, typeName(x.dataType()))
	}
	f := mt.KeyField()
	if part == 1 {
		f = mt.ItemField()
	}
	typ := arrow.ListOfField(arrow.Field{Name: "item", Type: f.Type, Nullable: f.Nullable})
	return &bFunc{name: name, src: src, args: []bnode{x}, typ: typ, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			m, err := listArgOf(ev, vals[0])
			if err != nil {
				return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
			}
			defer m.release()
			keys, items := mapKeysItems(m.arr)
			child := keys
			if part == 1 {
				child = items
			}
			// The map's own validity and offsets over the keys or items:
			// no copy.
			md := m.arr.Data()
			data := array.NewData(typ, md.Len(), md.Buffers()[:2], []arrow.ArrayData{child.Data()}, md.NullN(), md.Offset())
			defer data.Release()
			arr := array.MakeFromData(data)
			if !m.constant {
				return val{arr: arr}, nil
			}
			// A constant map: repeat its one row.
			defer arr.Release()
			return repeatRow0(ev, src, arr)
		}}, nil
}

// --- generators -----------------------------------------------------------------

// generatorKinds are the explode family: name -> (with position, outer).
var generatorKinds = map[string]struct{ pos, outer bool }{
	"explode":          {false, false},
	"explode_outer":    {false, true},
	"posexplode":       {true, false},
	"posexplode_outer": {true, true},
}

// IsGenerator reports whether e, ignoring an alias, is a generator
// (explode, explode_outer, posexplode, posexplode_outer).
func IsGenerator(e Expr) bool {
	c, _ := generatorCall(e.n)
	return c != nil
}

// generatorCall returns the generator call under an alias and the names
// the alias gives (nil when there is none).
func generatorCall(n node) (*callNode, []string) {
	var names []string
	switch a := n.(type) {
	case *aliasNode:
		n, names = a.x, []string{a.name}
	case *multiAliasNode:
		n, names = a.x, a.names
	}
	c, ok := n.(*callNode)
	if !ok {
		return nil, nil
	}
	if _, ok := generatorKinds[c.name]; !ok {
		return nil, nil
	}
	return c, names
}

// Generator is a generator expression (explode and its variants) bound to
// a schema. Generate turns each input row into zero or more output rows.
// A Generator is immutable and safe for concurrent use.
type Generator struct {
	expr   Expr
	name   string
	src    string
	arg    bnode
	pos    bool
	outer  bool
	isMap  bool
	fields []arrow.Field
	cols   []int
}

// BindGenerator binds the generator e (Explode, PosExplode, their _outer
// forms, or Call of their names, optionally named with As or AsNames) to
// schema. Its argument must be an array or a map. The generated columns
// are, in Spark's default names: col for an array's elements, key and
// value for a map's entries, preceded by pos for the posexplode forms;
// names given with As/AsNames replace them and must match their number.
func BindGenerator(e Expr, schema *arrow.Schema) (*Generator, error) {
	if schema == nil {
		return nil, fmt.Errorf("expr: binding %s: schema is nil", e)
	}
	c, names := generatorCall(e.n)
	if c == nil {
		return nil, fmt.Errorf("expr: %s is not a generator; use explode, explode_outer, posexplode or posexplode_outer", e)
	}
	src := c.String()
	if len(c.args) != 1 {
		return nil, fmt.Errorf("expr: %s takes 1 argument, got %d, in %s", c.name, len(c.args), e)
	}
	b := &binder{schema: schema, root: e.String()}
	arg, err := bindNode(b, c.args[0])
	if err != nil {
		return nil, err
	}
	kind := generatorKinds[c.name]
	g := &Generator{expr: e, name: c.name, src: src, arg: arg, pos: kind.pos, outer: kind.outer}
	t := arg.dataType()
	var defaults []string
	if kind.pos {
		defaults = append(defaults, "pos")
		g.fields = append(g.fields, arrow.Field{Name: "pos", Type: arrow.PrimitiveTypes.Int32, Nullable: kind.outer})
	}
	switch {
	case isListLike(t):
		ef := elemField(t)
		defaults = append(defaults, "col")
		g.fields = append(g.fields, arrow.Field{Name: "col", Type: ef.Type, Nullable: ef.Nullable || kind.outer})
	case t.ID() == arrow.MAP:
		mt := t.(*arrow.MapType)
		g.isMap = true
		defaults = append(defaults, "key", "value")
		g.fields = append(g.fields,
			arrow.Field{Name: "key", Type: mt.KeyType(), Nullable: kind.outer},
			arrow.Field{Name: "value", Type: mt.ItemType(), Nullable: mt.ItemField().Nullable || kind.outer})
	default:
		return nil, fmt.Errorf("expr: %w in %s: %s needs an array or a map, but %s is %s",
			ErrType, b.in(src), c.name, nodeString(c.args[0]), typeName(t))
	}
	if names != nil {
		if len(names) != len(defaults) {
			return nil, fmt.Errorf("expr: %s produces %d columns (%s), but %d names were given (%s); give one name per column",
				e, len(defaults), strings.Join(defaults, ", "), len(names), strings.Join(names, ", "))
		}
		seen := map[string]bool{}
		for i, n := range names {
			if n == "" {
				return nil, fmt.Errorf("expr: empty column name in %s: every generated column needs a name", e)
			}
			if seen[n] {
				return nil, fmt.Errorf("expr: %s names two columns %q; give them distinct names", e, n)
			}
			seen[n] = true
			g.fields[i].Name = n
		}
	}
	set := map[int]bool{}
	collectColumns(arg, set)
	g.cols = sortedKeys(set)
	return g, nil
}

// Fields are the generated columns, in order.
func (g *Generator) Fields() []arrow.Field { return append([]arrow.Field(nil), g.fields...) }

// Columns returns the indices of the schema's top-level columns the
// generator reads, ascending.
func (g *Generator) Columns() []int { return append([]int(nil), g.cols...) }

// Outer reports whether null and empty arrays produce a row of nulls.
func (g *Generator) Outer() bool { return g.outer }

// Expr returns the expression the generator was bound from.
func (g *Generator) Expr() Expr { return g.expr }

// String shows the bound generator: "explode(xs)", with implicit casts and
// folded constants in its argument visible.
func (g *Generator) String() string { return g.name + "(" + g.arg.String() + ")" }

// Generate runs the generator over rec, which is borrowed and must have
// the schema the generator was bound to. It returns, for each output row,
// the input row it came from (parents, an int32 array, ascending) and the
// generated columns (as Fields says); the caller owns and releases all of
// them. Memory comes from mem (memory.DefaultAllocator if nil). Output rows
// keep the input order and, within a row, the array's order.
func (g *Generator) Generate(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (parents arrow.Array, cols []arrow.Array, err error) {
	if rec == nil {
		return nil, nil, fmt.Errorf("expr: evaluating %s: record is nil", g.expr)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	ev := &evalCtx{rec: rec, mem: mem, kctx: compute.WithAllocator(ctx, mem), rows: int(rec.NumRows()), now: batchTime(ctx)}
	if ev.rows > math.MaxInt32 {
		return nil, nil, fmt.Errorf("expr: evaluating %s: the record has %d rows, more than %d; read smaller batches", g.src, ev.rows, math.MaxInt32)
	}
	v, err := g.arg.eval(ev)
	if err != nil {
		return nil, nil, err
	}
	defer v.release()
	if v.sc != nil && !v.sc.IsValid() {
		return g.allNull(ev)
	}
	list, err := listArgOf(ev, v)
	if err != nil {
		return nil, nil, fmt.Errorf("expr: evaluating %s: %w", g.src, err)
	}
	defer list.release()
	if list.arr.DataType().ID() == arrow.LARGE_LIST {
		return generateRows[int64](ev, g, list)
	}
	return generateRows[int32](ev, g, list)
}

// allNull is the output for a null constant argument: nothing, or for
// the outer forms one row of nulls per input row.
func (g *Generator) allNull(ev *evalCtx) (arrow.Array, []arrow.Array, error) {
	n := 0
	if g.outer {
		n = ev.rows
	}
	buf := memory.NewResizableBuffer(ev.mem)
	defer buf.Release()
	buf.Resize(n * arrow.Int32SizeBytes)
	p := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	for i := range p {
		p[i] = int32(i)
	}
	cols := make([]arrow.Array, len(g.fields))
	for i, f := range g.fields {
		cols[i] = array.MakeArrayOfNull(ev.mem, f.Type, n)
	}
	return newInt32Array(n, buf, nil, 0), cols, nil
}

func generateRows[O int32 | int64](ev *evalCtx, g *Generator, list listArg) (parents arrow.Array, cols []arrow.Array, err error) {
	n := ev.rows
	var offs []O
	if list.arr.Len() > 0 {
		offs = arrow.GetOffsets[O](list.arr.Data(), 1)
	}
	lb := validBitsOf(list.arr)
	// Count the output rows; note whether the values can be sliced out
	// of the list's child as they are (contiguous: no null list row
	// covers elements) and whether outer rows of nulls are needed.
	total, contiguous, fillers := int64(0), !list.constant || n == 1, false
	for i := 0; i < n; i++ {
		li := list.row(i)
		length := int64(offs[li+1] - offs[li])
		if !lb.valid(li) {
			if length != 0 {
				contiguous = false
			}
			length = 0
		}
		if length == 0 && g.outer {
			length, fillers = 1, true
		}
		total += length
	}
	if total > math.MaxInt32 {
		return nil, nil, fmt.Errorf("expr: evaluating %s: the batch would explode into %d rows, more than %d; read smaller batches", g.src, total, math.MaxInt32)
	}
	m := int(total)
	parentBuf := memory.NewResizableBuffer(ev.mem)
	defer parentBuf.Release()
	parentBuf.Resize(m * arrow.Int32SizeBytes)
	par := arrow.Int32Traits.CastFromBytes(parentBuf.Bytes())
	var (
		posBuf, takeBuf, fillValid *memory.Buffer
		pos                        []int32
		take                       []O
	)
	if g.pos {
		posBuf = memory.NewResizableBuffer(ev.mem)
		defer posBuf.Release()
		posBuf.Resize(m * arrow.Int32SizeBytes)
		pos = arrow.Int32Traits.CastFromBytes(posBuf.Bytes())
	}
	sliced := contiguous && !fillers
	if !sliced {
		takeBuf = memory.NewResizableBuffer(ev.mem)
		defer takeBuf.Release()
		takeBuf.Resize(m * int(offsetSize[O]()))
		take = offsetsFromBytes[O](takeBuf.Bytes())[:m]
	}
	nulls := 0
	if fillers {
		fillValid = zeroBitmap(ev.mem, m)
		defer fillValid.Release()
		bitutil.SetBitsTo(fillValid.Bytes(), 0, int64(m), true)
	}
	k := 0
	for i := 0; i < n; i++ {
		li := list.row(i)
		start, end := offs[li], offs[li+1]
		if !lb.valid(li) {
			end = start
		}
		if start == end {
			if g.outer {
				par[k] = int32(i)
				if pos != nil {
					pos[k] = 0
				}
				take[k] = 0
				bitutil.ClearBit(fillValid.Bytes(), k)
				nulls++
				k++
			}
			continue
		}
		for j := start; j < end; j++ {
			par[k] = int32(i)
			if pos != nil {
				pos[k] = int32(j - start)
			}
			if take != nil {
				take[k] = j
			}
			k++
		}
	}
	var fillBits *memory.Buffer
	if nulls > 0 {
		fillBits = fillValid
	}
	cols = make([]arrow.Array, 0, len(g.fields))
	defer func() {
		if err != nil {
			for _, c := range cols {
				c.Release()
			}
		}
	}()
	if g.pos {
		cols = append(cols, newInt32Array(m, posBuf, fillBits, nulls))
	}
	children := []arrow.Array{list.values()}
	if g.isMap {
		keys, items := mapKeysItems(list.arr)
		children = []arrow.Array{keys, items}
	}
	var indices arrow.Array
	if !sliced {
		indices = newIndexArray[O](takeBuf, fillBits, m, nulls)
		defer indices.Release()
	}
	for _, child := range children {
		if sliced {
			var lo, hi int64
			if n > 0 {
				lo, hi = int64(offs[0]), int64(offs[n])
			}
			cols = append(cols, array.NewSlice(child, lo, hi))
			continue
		}
		out, err := compute.TakeArray(ev.kctx, child, indices)
		if err != nil {
			return nil, nil, fmt.Errorf("expr: evaluating %s: %w", g.src, err)
		}
		cols = append(cols, out)
	}
	return newInt32Array(m, parentBuf, nil, 0), cols, nil
}
