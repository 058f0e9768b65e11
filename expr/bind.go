package expr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Sentinel errors, matched with errors.Is. The errors returned carry them
// together with the expression and, at evaluation, the row and values.
var (
	ErrUnknownColumn = errors.New("unknown column")
	ErrType          = errors.New("type mismatch")
	ErrOverflow      = errors.New("integer overflow")
	ErrDivideByZero  = errors.New("division by zero")
)

// binder carries what binding needs: the schema and the whole expression
// (for error messages).
type binder struct {
	schema *arrow.Schema
	root   string
}

// where is " in <whole expression>" unless part is the whole expression.
func (b *binder) where(part string) string {
	if part == b.root {
		return ""
	}
	return " in " + b.root
}

// in names the whole expression when the failing part is smaller, so an
// error says where the mistake is.
func (b *binder) in(part string) string {
	if part == b.root {
		return part
	}
	return part + " in " + b.root
}

func bindNode(b *binder, n node) (bnode, error) {
	if n == nil {
		if b.root == emptyString {
			return nil, errors.New("expr: cannot bind the zero Expr; build expressions with Col and Lit")
		}
		return nil, fmt.Errorf("expr: %s has an empty operand (the zero Expr); build expressions with Col and Lit", b.root)
	}
	return n.bind(b)
}

func (a *aliasNode) bind(b *binder) (bnode, error) {
	if a.name == "" {
		return nil, fmt.Errorf("expr: empty alias in %s: As needs a column name", b.root)
	}
	return bindNode(b, a.x)
}

func (l *litNode) bind(*binder) (bnode, error) {
	if l.err != nil {
		return nil, l.err
	}
	return &bLit{sc: l.sc}, nil
}

func (c *colNode) bind(b *binder) (bnode, error) {
	if c.name == "" {
		return nil, fmt.Errorf("expr: Col(\"\") in %s: a column needs a name", b.root)
	}
	fields := b.schema.Fields()
	if idx := b.schema.FieldIndices(c.name); len(idx) > 0 {
		if len(idx) > 1 {
			return nil, fmt.Errorf("expr: column %q%s is ambiguous: the schema has %d columns of that name; rename them first", c.name, b.where(c.name), len(idx))
		}
		f := fields[idx[0]]
		return &bCol{name: c.name, field: f.Name, idx: idx[0], top: f.Type, typ: f.Type, null: f.Nullable, meta: f.Metadata}, nil
	}
	// A nested reference: the longest prefix naming a top-level column,
	// then struct fields.
	parts := strings.Split(c.name, ".")
	for k := len(parts) - 1; k >= 1; k-- {
		idx := b.schema.FieldIndices(strings.Join(parts[:k], "."))
		if len(idx) != 1 {
			continue
		}
		return b.bindNested(c.name, idx[0], parts[:k], parts[k:])
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return nil, fmt.Errorf("expr: %w %q%s;%s available columns: %s",
		ErrUnknownColumn, c.name, b.where(c.name), suggest(c.name, names), listNames(names))
}

func (b *binder) bindNested(name string, top int, head, rest []string) (bnode, error) {
	f := b.schema.Field(top)
	col := &bCol{name: name, idx: top, top: f.Type, null: f.Nullable}
	typ := f.Type
	walked := strings.Join(head, ".")
	for _, part := range rest {
		st, ok := typ.(*arrow.StructType)
		if !ok {
			return nil, fmt.Errorf("expr: %w %q%s: %s is %s, not a struct, so it has no field %q",
				ErrUnknownColumn, name, b.where(name), walked, typ, part)
		}
		i, ok := st.FieldIdx(part)
		if !ok {
			names := make([]string, st.NumFields())
			for j, sf := range st.Fields() {
				names[j] = sf.Name
			}
			return nil, fmt.Errorf("expr: %w %q%s: struct %s has no field %q;%s its fields: %s",
				ErrUnknownColumn, name, b.where(name), walked, part, suggest(part, names), listNames(names))
		}
		sf := st.Field(i)
		switch sf.Type.ID() {
		case arrow.SPARSE_UNION, arrow.DENSE_UNION, arrow.RUN_END_ENCODED:
			return nil, fmt.Errorf("expr: field %q%s is of type %s, which cannot be read out of a struct yet; flatten the struct before the query", name, b.where(name), sf.Type)
		}
		col.path = append(col.path, i)
		col.null = col.null || sf.Nullable
		col.field = sf.Name
		col.meta = sf.Metadata
		typ = sf.Type
		walked += "." + part
	}
	col.typ = typ
	return col, nil
}

// suggest names the closest of names to name, or returns "" when none is
// close: a case-insensitive match, else the nearest by edit distance if
// that distance is small against the name's length.
func suggest(name string, names []string) string {
	best, bestD := "", math.MaxInt
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return fmt.Sprintf(" did you mean %q?", n)
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" || bestD > max(2, len([]rune(name))/2) {
		return ""
	}
	return fmt.Sprintf(" did you mean %q?", best)
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func (n *binaryNode) bind(b *binder) (bnode, error) {
	l, err := bindNode(b, n.l)
	if err != nil {
		return nil, err
	}
	r, err := bindNode(b, n.r)
	if err != nil {
		return nil, err
	}
	src := n.String()
	switch binOps[n.op].class {
	case classCompare:
		return b.bindCompare(n.op, src, l, r, nodeString(n.l), nodeString(n.r))
	case classLogic:
		return b.bindLogic(n.op, src, l, r, nodeString(n.l), nodeString(n.r))
	default:
		return b.bindArith(n.op, src, l, r, nodeString(n.l), nodeString(n.r))
	}
}

func (u *unaryNode) bind(b *binder) (bnode, error) {
	x, err := bindNode(b, u.x)
	if err != nil {
		return nil, err
	}
	src := u.String()
	switch u.op {
	case opNot:
		if isNull(x.dataType()) {
			x = b.castConst(x, arrow.FixedWidthTypes.Boolean)
		}
		if !isBoolean(x.dataType()) {
			return nil, fmt.Errorf("expr: %w in %s: NOT needs a boolean operand, but %s is %s",
				ErrType, b.in(src), nodeString(u.x), x.dataType())
		}
		return b.fold(&bNot{x: x}, src)
	default:
		return b.fold(&bIsNull{x: x, not: u.op == opIsNotNull}, src)
	}
}

func (b *binder) bindCompare(op binOp, src string, l, r bnode, ls, rs string) (bnode, error) {
	l, r, ok := b.coerce(l, r)
	if !ok {
		return nil, fmt.Errorf("expr: %w in %s: cannot compare %s (%s) with %s (%s); cast one side so both have the same type",
			ErrType, b.in(src), ls, l.dataType(), rs, r.dataType())
	}
	if isNull(l.dataType()) || isNullConst(l) || isNullConst(r) {
		// Comparing with null is null for every row.
		return &bLit{sc: scalar.MakeNullScalar(arrow.FixedWidthTypes.Boolean)}, nil
	}
	// Structs, arrays and boolean ordering (conditional_compare.go).
	if n, ok, err := b.bindOrderCompare(op, src, l, r); ok {
		return n, err
	}
	fn, ok := compute.GetFunctionRegistry().GetFunction(binOps[op].kernel)
	if !ok {
		return nil, fmt.Errorf("expr: compute function %q is not registered; the arrow-go version in use lacks it", binOps[op].kernel)
	}
	if _, err := fn.DispatchExact(l.dataType(), l.dataType()); err != nil {
		return nil, fmt.Errorf("expr: %w in %s: values of type %s cannot be compared with %s",
			ErrType, b.in(src), l.dataType(), binOps[op].symbol)
	}
	return b.fold(&bCompare{op: op, l: l, r: r}, src)
}

func (b *binder) bindLogic(op binOp, src string, l, r bnode, ls, rs string) (bnode, error) {
	bool_ := arrow.FixedWidthTypes.Boolean
	if isNull(l.dataType()) {
		l = b.castConst(l, bool_)
	}
	if isNull(r.dataType()) {
		r = b.castConst(r, bool_)
	}
	for _, side := range []struct {
		n bnode
		s string
	}{{l, ls}, {r, rs}} {
		if !isBoolean(side.n.dataType()) {
			return nil, fmt.Errorf("expr: %w in %s: %s needs boolean operands, but %s is %s",
				ErrType, b.in(src), binOps[op].symbol, side.s, side.n.dataType())
		}
	}
	// x AND true = x, x AND false = false, x OR false = x, x OR true =
	// true, whatever x is (null included).
	identity := op == opAnd
	for _, pair := range [][2]bnode{{l, r}, {r, l}} {
		c, ok := pair[0].(*bLit)
		if !ok || !c.sc.IsValid() {
			continue
		}
		if _, other := pair[1].(*bLit); other {
			break // both constant: fold below
		}
		if c.sc.(*scalar.Boolean).Value == identity {
			return pair[1], nil
		}
		return c, nil
	}
	return b.fold(&bLogic{op: op, l: l, r: r}, src)
}

func (b *binder) bindArith(op binOp, src string, l, r bnode, ls, rs string) (bnode, error) {
	n, err := b.arithNode(op, src, l, r, ls, rs)
	if err != nil {
		return nil, err
	}
	return b.fold(n, src)
}

// arithNode type-checks an arithmetic operation and returns its node
// unfolded (a *bArith, or a null constant when an operand is null).
func (b *binder) arithNode(op binOp, src string, l, r bnode, ls, rs string) (bnode, error) {
	typeErr := func() error {
		return fmt.Errorf("expr: %w in %s: %s needs numeric operands, but %s is %s and %s is %s",
			ErrType, b.in(src), binOps[op].symbol, ls, l.dataType(), rs, r.dataType())
	}
	if n, ok := timeShiftNode(op, src, l, r); ok {
		return n, nil
	}
	if op == opDiv {
		// Spark's '/' divides as doubles.
		f64 := arrow.PrimitiveTypes.Float64
		for _, n := range []bnode{l, r} {
			if !isNumeric(n.dataType()) && !isNull(n.dataType()) {
				return nil, typeErr()
			}
		}
		var err error
		if l, err = b.castTo(l, f64, src); err != nil {
			return nil, err
		}
		if r, err = b.castTo(r, f64, src); err != nil {
			return nil, err
		}
	} else {
		l2, r2, ok := b.coerce(l, r)
		if !ok || !isNumeric(l2.dataType()) {
			if ok && isNull(l2.dataType()) {
				// NULL + NULL: a null of unknown numeric type; Spark
				// types it as double.
				return &bLit{sc: scalar.MakeNullScalar(arrow.PrimitiveTypes.Float64)}, nil
			}
			return nil, typeErr()
		}
		l, r = l2, r2
	}
	if isNullConst(l) || isNullConst(r) {
		return &bLit{sc: scalar.MakeNullScalar(l.dataType())}, nil
	}
	return &bArith{op: op, l: l, r: r, src: src, typ: l.dataType()}, nil
}

func isNullConst(n bnode) bool {
	c, ok := n.(*bLit)
	return ok && !c.sc.IsValid()
}

// coerce gives l and r one type for a comparison or arithmetic, or
// reports false. Dictionary-encoded values are decoded; a null takes the
// other side's type; a constant takes the other side's type when it
// converts exactly (Lit(5) against an int32 column stays int32, a
// time.Time against a timestamp[ms] column becomes milliseconds);
// otherwise both sides are cast to their common type.
func (b *binder) coerce(l, r bnode) (bnode, bnode, bool) {
	l, r = b.decodeDict(l), b.decodeDict(r)
	lt, rt := l.dataType(), r.dataType()
	if arrow.TypeEqual(lt, rt) {
		return l, r, true
	}
	if isNull(lt) {
		return b.castConst(l, rt), r, true
	}
	if isNull(rt) {
		return l, b.castConst(r, lt), true
	}
	lc, lConst := l.(*bLit)
	rc, rConst := r.(*bLit)
	if rConst && !lConst {
		if c, ok := b.convertConst(rc, lt); ok {
			return l, c, true
		}
		if c, ok := exactDecimalConst(rc, lt); ok { // conditional.go
			return l, c, true
		}
	}
	if lConst && !rConst {
		if c, ok := b.convertConst(lc, rt); ok {
			return c, r, true
		}
		if c, ok := exactDecimalConst(lc, rt); ok {
			return c, r, true
		}
	}
	t, ok := commonType(lt, rt)
	if !ok {
		return l, r, false
	}
	l, errL := b.castTo(l, t, "")
	r, errR := b.castTo(r, t, "")
	if errL != nil || errR != nil {
		return l, r, false
	}
	return l, r, true
}

func (b *binder) decodeDict(n bnode) bnode {
	if d, ok := n.dataType().(*arrow.DictionaryType); ok {
		return &bCast{x: n, to: d.ValueType}
	}
	return n
}

// convertConst converts constant c to type to when that is exact and
// sensible for an implicit conversion, else reports false.
func (b *binder) convertConst(c *bLit, to arrow.DataType) (*bLit, bool) {
	from := c.sc.DataType()
	switch {
	case isInteger(from) && isNumeric(to),
		from.ID() == arrow.FLOAT64 && to.ID() == arrow.FLOAT32,
		from.ID() == arrow.TIMESTAMP && to.ID() == arrow.TIMESTAMP,
		isStringType(from) && isStringType(to),
		isBinaryType(from) && isBinaryType(to):
	case isStringType(from) && (to.ID() == arrow.TIMESTAMP || to.ID() == arrow.DATE32):
		return parseTimeConst(c, to)
	default:
		return nil, false
	}
	out, err := castScalar(c.sc, to)
	if err != nil {
		return nil, false
	}
	if to.ID() == arrow.FLOAT32 {
		// A float32 constant must round-trip to the value written.
		back, err := castScalar(out, from)
		if err != nil || !scalar.Equals(back, c.sc) {
			return nil, false
		}
	}
	return &bLit{sc: out}, true
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// parseTimeConst reads a string constant compared with a timestamp or date
// column, as Spark casts it; a string without a zone is UTC.
func parseTimeConst(c *bLit, to arrow.DataType) (*bLit, bool) {
	s := strings.TrimSpace(formatScalar(c.sc))
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if to.ID() == arrow.DATE32 {
			if layout != "2006-01-02" {
				return nil, false
			}
			return &bLit{sc: scalar.NewDate32Scalar(arrow.Date32FromTime(t))}, true
		}
		out, err := castScalar(scalar.NewTimestampScalar(arrow.Timestamp(t.UnixNano()), &arrow.TimestampType{Unit: arrow.Nanosecond}), to)
		if err != nil {
			return nil, false
		}
		return &bLit{sc: out}, true
	}
	return nil, false
}

// castScalar casts a constant with Arrow's safe cast: lossy conversions
// (out of range, truncated) fail.
func castScalar(sc scalar.Scalar, to arrow.DataType) (scalar.Scalar, error) {
	d, err := compute.CastDatum(context.Background(), compute.NewDatumWithoutOwning(sc), compute.SafeCastOptions(to))
	if err != nil {
		return nil, err
	}
	sd, ok := d.(*compute.ScalarDatum)
	if !ok {
		d.Release()
		return nil, fmt.Errorf("expr: casting a constant to %s did not give a constant", to)
	}
	return sd.Value, nil
}

// castConst casts a null constant (or null-typed expression) to to.
func (b *binder) castConst(n bnode, to arrow.DataType) bnode {
	if c, ok := n.(*bLit); ok && !c.sc.IsValid() {
		return &bLit{sc: scalar.MakeNullScalar(to)}
	}
	return &bCast{x: n, to: to}
}

// castTo casts n to type to: a constant is converted now, anything else
// gets a cast node. Widening integers to floats may round large values, as
// in Spark.
func (b *binder) castTo(n bnode, to arrow.DataType, src string) (bnode, error) {
	if arrow.TypeEqual(n.dataType(), to) {
		return n, nil
	}
	if c, ok := n.(*bLit); ok {
		if !c.sc.IsValid() {
			return &bLit{sc: scalar.MakeNullScalar(to)}, nil
		}
		out, err := castScalar(c.sc, to)
		if err != nil {
			if !isFloat(to) {
				return nil, fmt.Errorf("expr: cannot convert %s to %s in %s: %v", formatScalar(c.sc), to, b.root, err)
			}
			// int to float: allow rounding, as for columns.
			d, err2 := compute.CastDatum(context.Background(), compute.NewDatumWithoutOwning(c.sc), castOptions(to))
			if err2 != nil {
				return nil, fmt.Errorf("expr: cannot convert %s to %s in %s: %v", formatScalar(c.sc), to, b.root, err2)
			}
			out = d.(*compute.ScalarDatum).Value
		}
		return &bLit{sc: out}, nil
	}
	if sparkCastFor(n.dataType(), to) {
		// Nested, decimal and date casts (cast.go).
		return b.bindCast(n, to, false, castSrc(n.String(), to, false))
	}
	if !compute.CanCast(n.dataType(), to) {
		return nil, fmt.Errorf("expr: %w in %s: cannot cast %s to %s", ErrType, b.in(src), n.dataType(), to)
	}
	return &bCast{x: n, to: to}, nil
}

// fold evaluates n now when all its operands are constants, so constant
// subtrees cost nothing per batch. An error (1 / 0, an overflow) is a bind
// error.
func (b *binder) fold(n bnode, src string) (bnode, error) {
	switch n.(type) {
	case *bLit, *bCol:
		return n, nil // a constant already, or a column (no children, not constant)
	}
	for _, c := range n.children() {
		if _, ok := c.(*bLit); !ok {
			return n, nil
		}
	}
	ev := &evalCtx{mem: memory.DefaultAllocator, kctx: context.Background(), rows: 1}
	v, err := n.eval(ev)
	if err != nil {
		return nil, err
	}
	if v.sc != nil {
		return &bLit{sc: v.sc}, nil
	}
	defer v.release()
	sc, err := scalar.GetScalar(v.arr, 0)
	if err != nil {
		return nil, fmt.Errorf("expr: folding the constant %s: %w", src, err)
	}
	return &bLit{sc: sc}, nil
}

// collectColumns adds the top-level column indices n reads to set.
func collectColumns(n bnode, set map[int]bool) {
	if c, ok := n.(*bCol); ok {
		set[c.idx] = true
	}
	for _, ch := range n.children() {
		collectColumns(ch, set)
	}
}

func sortedKeys(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
