package expr

import (
	"bytes"
	"context"
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

// Conditional expressions: CASE WHEN, IF, COALESCE, NULLIF, GREATEST and
// LEAST, with the short-circuit evaluation Spark has: a branch (or a later
// COALESCE argument, or the right side of AND and OR) is evaluated only on
// the rows that need it, so
//
//	CASE WHEN x = 0 THEN 0 ELSE 10 / x END
//
// never divides by zero. Operands that cannot fail (columns, constants,
// comparisons) are evaluated on the whole batch, which costs less than
// gathering the rows; the others are evaluated on a record of just the
// rows that select them.

// CaseBuilder builds CASE WHEN ... THEN ... [ELSE ...] END: start it with
// When, add branches with When, finish with Otherwise or End.
type CaseBuilder struct{ whens []whenClause }

type whenClause struct{ cond, value node }

// When starts CASE WHEN cond THEN value.
func When(cond, value Expr) CaseBuilder {
	return CaseBuilder{whens: []whenClause{{cond.n, value.n}}}
}

// When adds a branch: WHEN cond THEN value. Branches are tried in order;
// the first whose condition is true (not false or null) gives the value.
func (c CaseBuilder) When(cond, value Expr) CaseBuilder {
	whens := append(append([]whenClause(nil), c.whens...), whenClause{cond.n, value.n})
	return CaseBuilder{whens: whens}
}

// Otherwise finishes the expression with ELSE value: the value of rows no
// branch takes.
func (c CaseBuilder) Otherwise(value Expr) Expr {
	return Expr{&caseNode{whens: c.whens, els: value.n, hasElse: true}}
}

// End finishes the expression without ELSE: rows no branch takes are
// null.
func (c CaseBuilder) End() Expr { return Expr{&caseNode{whens: c.whens}} }

// CaseWhen is CASE WHEN args[0] THEN args[1] WHEN args[2] THEN args[3] ...
// END, with ELSE args[n-1] when the number of arguments is odd.
func CaseWhen(args ...Expr) Expr {
	c := &caseNode{}
	for i := 0; i+1 < len(args); i += 2 {
		c.whens = append(c.whens, whenClause{args[i].n, args[i+1].n})
	}
	if len(args)%2 == 1 {
		c.els, c.hasElse = args[len(args)-1].n, true
	}
	return Expr{c}
}

// If is cond ? a : b, Spark's if(cond, a, b): a where cond is true, b
// where it is false or null. Each of a and b is evaluated only on its
// rows.
func If(cond, a, b Expr) Expr { return Call("if", cond, a, b) }

// Coalesce is the first of exprs that is not null (null if all are).
// Arguments after the first are evaluated only on the rows still null.
func Coalesce(exprs ...Expr) Expr { return Call("coalesce", exprs...) }

// NullIf is null where a equals b, else a.
func NullIf(a, b Expr) Expr { return Call("nullif", a, b) }

// Greatest is the largest of exprs, skipping nulls (null only when all
// are null), as Spark's greatest; NaN is larger than any other double.
func Greatest(exprs ...Expr) Expr { return Call("greatest", exprs...) }

// Least is the smallest of exprs, skipping nulls, as Spark's least.
func Least(exprs ...Expr) Expr { return Call("least", exprs...) }

// caseNode is CASE WHEN ... END.
type caseNode struct {
	whens   []whenClause
	els     node
	hasElse bool
}

func (c *caseNode) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for _, w := range c.whens {
		sb.WriteString(" WHEN ")
		sb.WriteString(nodeString(w.cond))
		sb.WriteString(" THEN ")
		sb.WriteString(nodeString(w.value))
	}
	if c.hasElse {
		sb.WriteString(" ELSE ")
		sb.WriteString(nodeString(c.els))
	}
	sb.WriteString(" END")
	return sb.String()
}

func (c *caseNode) bind(b *binder) (bnode, error) {
	src := c.String()
	if len(c.whens) == 0 {
		return nil, fmt.Errorf("expr: %s has no WHEN branch; build it with When(cond, value)", b.in(src))
	}
	conds := make([]bnode, len(c.whens))
	vals := make([]bnode, 0, len(c.whens)+1)
	for i, w := range c.whens {
		cn, err := bindNode(b, w.cond)
		if err != nil {
			return nil, err
		}
		if conds[i], err = b.boolOperand(cn, src, "a WHEN condition", nodeString(w.cond)); err != nil {
			return nil, err
		}
		v, err := bindNode(b, w.value)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	if c.hasElse {
		v, err := bindNode(b, c.els)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	vals, typ, err := b.unify(src, "CASE branches", vals)
	if err != nil {
		return nil, err
	}
	var els bnode
	if c.hasElse {
		els = vals[len(vals)-1]
		vals = vals[:len(vals)-1]
	}
	return b.newCase(src, conds, vals, els, typ)
}

// boolOperand checks that n is a boolean (a null constant becomes a
// boolean null).
func (b *binder) boolOperand(n bnode, src, role, written string) (bnode, error) {
	if isNull(n.dataType()) {
		return b.castConst(n, arrow.FixedWidthTypes.Boolean), nil
	}
	if !isBoolean(n.dataType()) {
		return nil, fmt.Errorf("expr: %w in %s: %s must be a boolean, but %s is %s",
			ErrType, b.in(src), role, written, TypeString(n.dataType()))
	}
	return n, nil
}

// newCase builds a bound CASE, dropping branches whose condition is a
// constant false or null and ending at a constant true.
func (b *binder) newCase(src string, conds, vals []bnode, els bnode, typ arrow.DataType) (bnode, error) {
	c := &bCase{src: src, typ: typ}
	for i, cond := range conds {
		if lit, ok := cond.(*bLit); ok {
			if !lit.sc.IsValid() || !lit.sc.(*scalar.Boolean).Value {
				continue
			}
			els = vals[i]
			break
		}
		c.conds = append(c.conds, cond)
		c.vals = append(c.vals, vals[i])
	}
	if els == nil {
		els = &bLit{sc: scalar.MakeNullScalar(typ)}
	}
	c.els = els
	if len(c.conds) == 0 {
		return els, nil
	}
	return b.fold(c, src)
}

// bCase is CASE WHEN conds[i] THEN vals[i] ... ELSE els END; IF, NVL2 and
// friends bind to it too.
type bCase struct {
	src   string
	conds []bnode
	vals  []bnode
	els   bnode
	typ   arrow.DataType
}

func (c *bCase) dataType() arrow.DataType { return c.typ }

func (c *bCase) nullable() bool {
	for _, v := range c.vals {
		if v.nullable() {
			return true
		}
	}
	return c.els.nullable()
}

func (c *bCase) children() []bnode {
	out := append(append([]bnode(nil), c.conds...), c.vals...)
	return append(out, c.els)
}

func (c *bCase) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for i, cond := range c.conds {
		sb.WriteString(" WHEN ")
		sb.WriteString(cond.String())
		sb.WriteString(" THEN ")
		sb.WriteString(c.vals[i].String())
	}
	if l, ok := c.els.(*bLit); !ok || l.sc.IsValid() {
		sb.WriteString(" ELSE ")
		sb.WriteString(c.els.String())
	}
	sb.WriteString(" END")
	return sb.String()
}

func (c *bCase) eval(ev *evalCtx) (val, error) {
	remaining := allRows(ev.rows)
	var parts partList
	defer func() { parts.release() }()
	for k, cond := range c.conds {
		if remaining.size() == 0 {
			break
		}
		cv, compact, err := evalAt(ev, cond, remaining)
		if err != nil {
			return val{}, err
		}
		taken, rest := splitTrue(remaining, readBools(cv), compact)
		cv.release()
		if taken.size() > 0 {
			if err := parts.add(ev, c.vals[k], taken); err != nil {
				return val{}, err
			}
		}
		remaining = rest
	}
	if remaining.size() > 0 {
		if err := parts.add(ev, c.els, remaining); err != nil {
			return val{}, err
		}
	}
	return assemble(ev, c.typ, parts, c.src)
}

// rowSet is a set of rows of an evaluation in ascending order: every row
// (all) or the rows listed.
type rowSet struct {
	all bool
	n   int
	idx []int32
}

func allRows(n int) rowSet { return rowSet{all: true, n: n} }

// rowsOf is the rows idx among n rows.
func rowsOf(idx []int32, n int) rowSet {
	if len(idx) == n {
		return allRows(n)
	}
	return rowSet{idx: idx, n: n}
}

func (s rowSet) size() int {
	if s.all {
		return s.n
	}
	return len(s.idx)
}

func (s rowSet) at(k int) int {
	if s.all {
		return k
	}
	return int(s.idx[k])
}

// mayFail reports whether evaluating n can fail on some data (overflow,
// division by zero, a bad cast, any function): such operands are
// evaluated only on the rows that need them.
func mayFail(n bnode) bool {
	switch n := n.(type) {
	case *bCol, *bLit:
		return false
	case *bArith:
		if !isFloat(n.typ) || n.op == opDiv {
			return true
		}
	case *bCompare, *bLogic, *bNot, *bIsNull, *bCase, *bCoalesce, *bNullIf, *bExtremum, *bIn, *bBetween, *bOrderCompare:
	case *bCastTo:
		// TRY_CAST never fails; nor does widening.
		if !n.try && !isWidening(n.x.dataType(), n.to) {
			return true
		}
	case *bLike:
		if n.m == nil {
			return true // a pattern read per row may be invalid
		}
	default:
		return true
	}
	for _, ch := range n.children() {
		if mayFail(ch) {
			return true
		}
	}
	return false
}

// strict reports whether n is null wherever a column it reads is null,
// and whether so are all its operands: then it never fails on those rows
// and can run over columns with the unwanted rows made null.
func strict(n bnode) bool {
	switch n := n.(type) {
	case *bCol, *bLit:
		return true
	case *bArith, *bCast, *bCompare, *bNot, *bOrderCompare, *bBetween:
	case *bCastTo:
		if n.try {
			return false
		}
	default:
		return false
	}
	for _, ch := range n.children() {
		if !strict(ch) {
			return false
		}
	}
	return true
}

// evalAt evaluates n for the rows of s. The result is owned by the caller
// and is a constant, an array of every row of ev (compact false), or an
// array of just the rows of s in order (compact true).
func evalAt(ev *evalCtx, n bnode, s rowSet) (val, bool, error) {
	if s.all || ev.rec == nil || !mayFail(n) {
		v, err := n.eval(ev)
		return v, false, err
	}
	set := map[int]bool{}
	collectColumns(n, set)
	if strict(n) {
		// The other rows become null in the columns n reads, so n
		// computes nulls there, without failing.
		if masked, ok := maskedRecord(ev, s, set); ok {
			defer masked.Release()
			sev := *ev
			sev.rec = masked
			v, err := n.eval(&sev)
			return v, false, err
		}
	}
	sub, err := subRecord(ev, s.idx, set)
	if err != nil {
		return val{}, false, err
	}
	defer sub.Release()
	sev := *ev
	sev.rec = sub
	sev.rows = len(s.idx)
	v, err := n.eval(&sev)
	return v, true, err
}

// int32Array wraps idx (not copied) as an Arrow array; the caller releases
// it and keeps idx unchanged while it is in use.
func int32Array(idx []int32) arrow.Array {
	buf := memory.NewBufferBytes(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(idx))), 4*len(idx)))
	data := array.NewData(arrow.PrimitiveTypes.Int32, len(idx), []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// subRecord is ev's record restricted to rows idx: the columns in need are
// gathered, the others sliced (their values are never read). The caller
// releases it.
func subRecord(ev *evalCtx, idx []int32, need map[int]bool) (arrow.RecordBatch, error) {
	indices := int32Array(idx)
	defer indices.Release()
	rec := ev.rec
	cols := make([]arrow.Array, rec.NumCols())
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for i := range cols {
		col := rec.Column(i)
		if !need[i] {
			cols[i] = array.NewSlice(col, 0, int64(len(idx)))
			continue
		}
		taken, err := compute.TakeArray(ev.kctx, col, indices)
		if err != nil {
			release()
			return nil, fmt.Errorf("expr: gathering rows of column %s: %w", rec.ColumnName(i), err)
		}
		cols[i] = taken
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(len(idx)))
	release()
	return out, nil
}

// maskedRecord is ev's record with the columns in need null outside the
// rows of s: the same values, a new validity bitmap. The caller releases
// it. It reports false for column types without a validity bitmap of
// their own.
func maskedRecord(ev *evalCtx, s rowSet, need map[int]bool) (arrow.RecordBatch, bool) {
	rec := ev.rec
	n := int(rec.NumRows())
	sel := make([]byte, bitutil.BytesForBits(int64(n)))
	for _, r := range s.idx {
		bitutil.SetBit(sel, int(r))
	}
	cols := make([]arrow.Array, rec.NumCols())
	release := func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	for i := range cols {
		col := rec.Column(i)
		if !need[i] {
			col.Retain()
			cols[i] = col
			continue
		}
		switch col.DataType().ID() {
		case arrow.NULL, arrow.SPARSE_UNION, arrow.DENSE_UNION, arrow.RUN_END_ENCODED:
			release()
			return nil, false
		}
		d := col.Data()
		off := d.Offset()
		bm := memory.NewResizableBuffer(ev.mem)
		bm.Resize(int(bitutil.BytesForBits(int64(off + n))))
		if col.NullN() > 0 {
			bitutil.BitmapAnd(col.NullBitmapBytes(), sel, int64(off), 0, bm.Bytes(), int64(off), int64(n))
		} else {
			bitutil.CopyBitmap(sel, 0, n, bm.Bytes(), off)
		}
		nulls := n - bitutil.CountSetBits(bm.Bytes(), off, n)
		bufs := append([]*memory.Buffer{bm}, d.Buffers()[1:]...)
		var data *array.Data
		if d.DataType().ID() == arrow.DICTIONARY {
			data = array.NewDataWithDictionary(d.DataType(), n, bufs, nulls, off, d.Dictionary().(*array.Data))
		} else {
			data = array.NewData(d.DataType(), n, bufs, d.Children(), nulls, off)
		}
		bm.Release()
		cols[i] = array.MakeFromData(data)
		data.Release()
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(n))
	release()
	return out, true
}

// boolReader reads a boolean val (array or constant).
type boolReader struct {
	constant       bool
	cval, cvalid   bool
	vals, validity []byte
	off            int
}

func readBools(v val) boolReader {
	if v.arr == nil {
		r := boolReader{constant: true, cvalid: v.sc.IsValid()}
		if r.cvalid {
			r.cval = v.sc.(*scalar.Boolean).Value
		}
		return r
	}
	d := v.arr.Data()
	r := boolReader{vals: d.Buffers()[1].Bytes(), off: d.Offset()}
	if v.arr.NullN() > 0 {
		r.validity = d.Buffers()[0].Bytes()
	}
	return r
}

// get returns the value at p and whether it is valid.
func (r boolReader) get(p int) (value, valid bool) {
	if r.constant {
		return r.cval, r.cvalid
	}
	valid = r.validity == nil || bitIsSet(r.validity, r.off+p)
	return bitIsSet(r.vals, r.off+p), valid
}

// splitTrue splits s into the rows where the condition is true and the
// rest (false or null); the condition covers s (compact) or every row.
func splitTrue(s rowSet, cond boolReader, compact bool) (taken, rest rowSet) {
	n := s.size()
	if cond.constant {
		if cond.cval && cond.cvalid {
			return s, rowSet{n: s.n}
		}
		return rowSet{n: s.n}, s
	}
	t := make([]int32, 0, n)
	r := make([]int32, 0, n)
	for k := 0; k < n; k++ {
		row := s.at(k)
		p := row
		if compact {
			p = k
		}
		if v, ok := cond.get(p); v && ok {
			t = append(t, int32(row))
		} else {
			r = append(r, int32(row))
		}
	}
	return rowsOf(t, s.n), rowsOf(r, s.n)
}

// part is the value of one branch for the rows that take it.
type part struct {
	v       val
	compact bool
	rows    rowSet
}

type partList []part

func (ps *partList) add(ev *evalCtx, n bnode, rows rowSet) error {
	v, compact, err := evalAt(ev, n, rows)
	if err != nil {
		return err
	}
	*ps = append(*ps, part{v: v, compact: compact, rows: rows})
	return nil
}

func (ps partList) release() {
	for _, p := range ps {
		p.v.release()
	}
}

// assemble puts the parts together: row i takes its value from the part
// whose rows hold i, null if none. parts stay owned by the caller; the
// result is owned by the caller.
func assemble(ev *evalCtx, typ arrow.DataType, parts partList, src string) (val, error) {
	n := ev.rows
	if isNull(typ) {
		return val{sc: scalar.MakeNullScalar(typ)}, nil
	}
	if len(parts) == 0 {
		return val{sc: scalar.MakeNullScalar(typ)}, nil
	}
	if len(parts) == 1 && parts[0].rows.all {
		p := parts[0]
		if p.v.arr != nil {
			p.v.arr.Retain()
		}
		return p.v, nil
	}
	if out, ok := assembleFixed(ev, typ, parts); ok {
		return val{arr: out}, nil
	}
	// Gather the parts' values into one array and take row i from its
	// part: a constant from its single value, a whole-batch value from
	// row i, a compact one from the row's rank in the part.
	arrs := make([]arrow.Array, 0, len(parts)+1)
	var owned []arrow.Array
	defer func() {
		for _, a := range owned {
			a.Release()
		}
	}()
	starts := make([]int, len(parts))
	total, covered := 0, 0
	for k, p := range parts {
		starts[k] = total
		covered += p.rows.size()
		if p.v.arr == nil {
			a, err := scalar.MakeArrayFromScalar(p.v.sc, 1, ev.mem)
			if err != nil {
				return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
			}
			owned = append(owned, a)
			arrs = append(arrs, a)
			total++
			continue
		}
		if !arrow.TypeEqual(p.v.arr.DataType(), typ) {
			return val{}, fmt.Errorf("expr: evaluating %s: a branch is %s, want %s", src, p.v.arr.DataType(), typ)
		}
		arrs = append(arrs, p.v.arr)
		total += p.v.arr.Len()
	}
	nullAt := -1
	if covered < n {
		a := array.MakeArrayOfNull(ev.mem, typ, 1)
		owned = append(owned, a)
		arrs = append(arrs, a)
		nullAt = total
		total++
	}
	if total > math.MaxInt32 {
		return val{}, fmt.Errorf("expr: evaluating %s: %d values are too many to gather; use smaller batches", src, total)
	}
	idx := make([]int32, n)
	if nullAt >= 0 {
		for i := range idx {
			idx[i] = int32(nullAt)
		}
	}
	for k, p := range parts {
		start := int32(starts[k])
		for j := 0; j < p.rows.size(); j++ {
			row := p.rows.at(j)
			switch {
			case p.v.arr == nil:
				idx[row] = start
			case p.compact:
				idx[row] = start + int32(j)
			default:
				idx[row] = start + int32(row)
			}
		}
	}
	all, err := array.Concatenate(arrs, ev.mem)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	defer all.Release()
	indices := int32Array(idx)
	defer indices.Release()
	out, err := compute.TakeArray(ev.kctx, all, indices)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	return val{arr: out}, nil
}

// evalLogic evaluates AND and OR, evaluating the right side only where
// the left does not decide the result (false for AND, true for OR) when
// the right side could fail, so `x <> 0 AND 10 / x > 1` is safe.
func evalLogic(ev *evalCtx, c *bLogic) (val, error) {
	kernel, src := binOps[c.op].kernel, c.String()
	if ev.rec == nil || !mayFail(c.r) {
		return evalBinaryKernel(ev, kernel, src, c.l, c.r)
	}
	l, err := c.l.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer l.release()
	decisive := c.op == opOr
	lr := readBools(l)
	need := make([]int32, 0, ev.rows)
	for i := 0; i < ev.rows; i++ {
		if v, ok := lr.get(i); !ok || v != decisive {
			need = append(need, int32(i))
		}
	}
	if len(need) == 0 {
		// The left side decides every row.
		if l.arr != nil {
			l.arr.Retain()
		}
		return l, nil
	}
	rows := rowsOf(need, ev.rows)
	r, compact, err := evalAt(ev, c.r, rows)
	if err != nil {
		return val{}, err
	}
	defer r.release()
	if !compact {
		return callKernel(ev, kernel, nil, src, l, r)
	}
	// Spread the right side back over every row; the rows it was not
	// evaluated on are decided by the left side, whatever it holds.
	full := scatterBools(ev.mem, readBools(r), rows)
	defer full.Release()
	return callKernel(ev, kernel, nil, src, l, val{arr: full})
}

// scatterBools makes a boolean array of rows.n rows holding r's k-th
// value at row rows.at(k) and false elsewhere; the caller releases it.
func scatterBools(mem memory.Allocator, r boolReader, rows rowSet) arrow.Array {
	n := rows.n
	nb := int(bitutil.BytesForBits(int64(n)))
	vals := memory.NewResizableBuffer(mem)
	vals.Resize(nb)
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(nb)
	vb, ob := vals.Bytes(), valid.Bytes()
	clear(vb)
	for i := range ob {
		ob[i] = 0xff
	}
	for k := 0; k < rows.size(); k++ {
		row := rows.at(k)
		v, ok := r.get(k)
		if v {
			bitutil.SetBit(vb, row)
		}
		if !ok {
			bitutil.ClearBit(ob, row)
		}
	}
	nulls := n - bitutil.CountSetBits(ob, 0, n)
	data := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{valid, vals}, nil, nulls, 0)
	vals.Release()
	valid.Release()
	defer data.Release()
	return array.MakeFromData(data)
}

// widerType is the type two operands of a conditional expression (and of
// a comparison) are cast to, as Spark's wider type: numbers widen (an
// integer with a decimal is a decimal wide enough for both, a float with a
// decimal a double), a date with a timestamp is a timestamp, arrays,
// maps and structs widen element by element. Strings do not mix with
// other types: cast them explicitly.
func widerType(a, b arrow.DataType) (arrow.DataType, bool) {
	switch {
	case arrow.TypeEqual(a, b):
		return a, true
	case isNull(a):
		return b, true
	case isNull(b):
		return a, true
	}
	ka, kb := kindOf(a), kindOf(b)
	switch {
	case (ka == kInt || ka == kFloat) && (kb == kInt || kb == kFloat):
		return widerNumeric(a, b), true
	case isNumberKind(ka) && isNumberKind(kb):
		if ka == kFloat || kb == kFloat {
			return arrow.PrimitiveTypes.Float64, true
		}
		pa, sa := decimalShape(a)
		pb, sb := decimalShape(b)
		s := max(sa, sb)
		p := min(38, max(pa-sa, pb-sb)+s)
		return &arrow.Decimal128Type{Precision: p, Scale: s}, true
	case (ka == kString && kb == kString) || (ka == kBinary && kb == kBinary) || (ka == kTimestamp && kb == kTimestamp):
		return commonType(a, b)
	case ka == kDate && kb == kTimestamp:
		return b, true
	case ka == kTimestamp && kb == kDate:
		return a, true
	case ka == kList && kb == kList:
		la, lb := a.(*arrow.ListType), b.(*arrow.ListType)
		e, ok := widerType(la.Elem(), lb.Elem())
		if !ok {
			return nil, false
		}
		return arrow.ListOfField(arrow.Field{Name: "item", Type: e, Nullable: la.ElemField().Nullable || lb.ElemField().Nullable}), true
	case ka == kMap && kb == kMap:
		ma, mb := a.(*arrow.MapType), b.(*arrow.MapType)
		k, ok := widerType(ma.KeyType(), mb.KeyType())
		if !ok {
			return nil, false
		}
		v, ok := widerType(ma.ItemType(), mb.ItemType())
		if !ok {
			return nil, false
		}
		return arrow.MapOf(k, v), true
	case ka == kStruct && kb == kStruct:
		sa, sb := a.(*arrow.StructType), b.(*arrow.StructType)
		if sa.NumFields() != sb.NumFields() {
			return nil, false
		}
		fields := make([]arrow.Field, sa.NumFields())
		for i := range fields {
			fa, fb := sa.Field(i), sb.Field(i)
			if !strings.EqualFold(fa.Name, fb.Name) {
				return nil, false
			}
			t, ok := widerType(fa.Type, fb.Type)
			if !ok {
				return nil, false
			}
			fields[i] = arrow.Field{Name: fa.Name, Type: t, Nullable: fa.Nullable || fb.Nullable}
		}
		return arrow.StructOf(fields...), true
	}
	return nil, false
}

// decimalShape is the precision and scale of a decimal, or of the decimal
// that holds every value of an integer type.
func decimalShape(t arrow.DataType) (int32, int32) {
	if d, ok := t.(*arrow.Decimal128Type); ok {
		return d.Precision, d.Scale
	}
	switch t.ID() {
	case arrow.INT8, arrow.UINT8:
		return 3, 0
	case arrow.INT16, arrow.UINT16:
		return 5, 0
	case arrow.INT32, arrow.UINT32:
		return 10, 0
	}
	return 20, 0
}

// compareType is the common type of a comparison's operands for the types
// the arithmetic coercion does not cover: decimals (with each other and
// with integers and floats) and a date with a timestamp.
func compareType(a, b arrow.DataType) (arrow.DataType, bool) {
	ka, kb := kindOf(a), kindOf(b)
	if (ka == kDecimal || kb == kDecimal) && isNumberKind(ka) && isNumberKind(kb) {
		return widerType(a, b)
	}
	if (ka == kDate && kb == kTimestamp) || (ka == kTimestamp && kb == kDate) ||
		(ka == kStruct && kb == kStruct) || (ka == kList && kb == kList) {
		return widerType(a, b)
	}
	return nil, false
}

// sparkCastFor reports whether an implicit cast from one type to another
// uses this package's cast rather than arrow-go's: for nested types,
// decimals and dates.
func sparkCastFor(from, to arrow.DataType) bool {
	for _, k := range []castKind{kindOf(from), kindOf(to)} {
		switch k {
		case kStruct, kList, kMap, kDecimal, kDate:
			return true
		}
	}
	return false
}

// isWidening reports whether every value of type from converts to type to
// without failing: to a wider integer of the same signedness, any integer
// or float to float64, float32 to float64, a date to a microsecond
// timestamp, anything to a string.
func isWidening(from, to arrow.DataType) bool {
	fk, tk := kindOf(from), kindOf(to)
	switch {
	case fk == kNull || tk == kString:
		return true
	case fk == kInt && tk == kInt:
		return isSigned(from) == isSigned(to) && bitWidth(from) <= bitWidth(to)
	case (fk == kInt || fk == kFloat) && to.ID() == arrow.FLOAT64:
		return true
	case fk == kDate && tk == kTimestamp:
		return to.(*arrow.TimestampType).Unit != arrow.Nanosecond
	}
	return false
}

// unify gives args one type, their wider type (see widerType), casting
// the others to it. A constant keeps the type of the other arguments when
// it converts to it exactly, so Lit(0) in a CASE over int32 values is an
// int32. what names the arguments in errors.
func (b *binder) unify(src, what string, args []bnode) ([]bnode, arrow.DataType, error) {
	args = append([]bnode(nil), args...)
	for i, a := range args {
		args[i] = b.decodeDict(a)
	}
	widen := func(t arrow.DataType, a bnode) (arrow.DataType, error) {
		w, ok := widerType(t, a.dataType())
		if !ok {
			return nil, fmt.Errorf("expr: %w in %s: %s need one type, but %s is %s and another is %s; cast them to one type",
				ErrType, b.in(src), what, a, TypeString(a.dataType()), TypeString(t))
		}
		return w, nil
	}
	var t arrow.DataType = arrow.Null
	var err error
	for _, a := range args {
		if _, ok := a.(*bLit); ok {
			continue
		}
		if t, err = widen(t, a); err != nil {
			return nil, nil, err
		}
	}
	for i, a := range args {
		c, ok := a.(*bLit)
		if !ok || arrow.TypeEqual(c.sc.DataType(), t) {
			continue
		}
		if !c.sc.IsValid() && !isNull(t) {
			args[i] = &bLit{sc: scalar.MakeNullScalar(t)}
			continue
		}
		if !isNull(t) {
			if conv, ok := b.convertConst(c, t); ok {
				args[i] = conv
				continue
			}
			if conv, ok := exactDecimalConst(c, t); ok {
				args[i] = conv
				continue
			}
		}
		if t, err = widen(t, a); err != nil {
			return nil, nil, err
		}
	}
	for i, a := range args {
		if arrow.TypeEqual(a.dataType(), t) {
			continue
		}
		if c, ok := a.(*bLit); ok && !c.sc.IsValid() {
			args[i] = &bLit{sc: scalar.MakeNullScalar(t)}
			continue
		}
		if args[i], err = b.bindCast(a, t, false, castSrc(a.String(), t, false)); err != nil {
			return nil, nil, err
		}
	}
	return args, t, nil
}

func init() {
	register(&funcDef{name: "if", minArgs: 3, maxArgs: 3, bind: func(b *binder, src string, args []bnode) (bnode, error) {
		cond, err := b.boolOperand(args[0], src, "the condition of if", args[0].String())
		if err != nil {
			return nil, err
		}
		vals, typ, err := b.unify(src, "the values of if", args[1:])
		if err != nil {
			return nil, err
		}
		return b.newCase(src, []bnode{cond}, vals[:1], vals[1], typ)
	}})
	// nvl2(a, b, c) is b where a is not null, else c.
	register(&funcDef{name: "nvl2", minArgs: 3, maxArgs: 3, bind: func(b *binder, src string, args []bnode) (bnode, error) {
		vals, typ, err := b.unify(src, "the values of nvl2", args[1:])
		if err != nil {
			return nil, err
		}
		cond, err := b.fold(&bIsNull{x: args[0], not: true}, src)
		if err != nil {
			return nil, err
		}
		return b.newCase(src, []bnode{cond}, vals[:1], vals[1], typ)
	}})
	for _, name := range []string{"coalesce", "nvl", "ifnull"} {
		lo, hi := 1, -1
		if name != "coalesce" {
			lo, hi = 2, 2
		}
		register(&funcDef{name: name, minArgs: lo, maxArgs: hi, bind: bindCoalesce})
	}
	register(&funcDef{name: "nullif", minArgs: 2, maxArgs: 2, bind: bindNullIf})
	register(&funcDef{name: "greatest", minArgs: 2, maxArgs: -1, bind: bindExtremum(false)})
	register(&funcDef{name: "least", minArgs: 2, maxArgs: -1, bind: bindExtremum(true)})
	register(&funcDef{name: "isnull", minArgs: 1, maxArgs: 1, bind: func(b *binder, src string, args []bnode) (bnode, error) {
		return &bIsNull{x: args[0]}, nil
	}})
	register(&funcDef{name: "isnotnull", minArgs: 1, maxArgs: 1, bind: func(b *binder, src string, args []bnode) (bnode, error) {
		return &bIsNull{x: args[0], not: true}, nil
	}})
}

func bindCoalesce(b *binder, src string, args []bnode) (bnode, error) {
	args, typ, err := b.unify(src, "the arguments of coalesce", args)
	if err != nil {
		return nil, err
	}
	// Null constants add nothing; nothing after a constant or a column
	// that is never null is reached.
	kept := args[:0:0]
	for _, a := range args {
		if isNullConst(a) {
			continue
		}
		kept = append(kept, a)
		if !a.nullable() {
			break
		}
	}
	switch len(kept) {
	case 0:
		return &bLit{sc: scalar.MakeNullScalar(typ)}, nil
	case 1:
		return kept[0], nil
	}
	return &bCoalesce{src: src, args: kept, typ: typ}, nil
}

// bCoalesce is the first non-null of args.
type bCoalesce struct {
	src  string
	args []bnode
	typ  arrow.DataType
}

func (c *bCoalesce) dataType() arrow.DataType { return c.typ }
func (c *bCoalesce) children() []bnode        { return c.args }
func (c *bCoalesce) String() string           { return c.src }
func (c *bCoalesce) nullable() bool {
	for _, a := range c.args {
		if !a.nullable() {
			return false
		}
	}
	return true
}

func (c *bCoalesce) eval(ev *evalCtx) (val, error) {
	remaining := allRows(ev.rows)
	var parts partList
	defer func() { parts.release() }()
	for _, a := range c.args {
		if remaining.size() == 0 {
			break
		}
		v, compact, err := evalAt(ev, a, remaining)
		if err != nil {
			return val{}, err
		}
		taken, rest := splitValid(remaining, v, compact)
		if taken.size() == 0 {
			v.release()
		} else {
			parts = append(parts, part{v: v, compact: compact, rows: taken})
		}
		remaining = rest
	}
	return assemble(ev, c.typ, parts, c.src)
}

// splitValid splits s into the rows where v is valid and the rest.
func splitValid(s rowSet, v val, compact bool) (valid, rest rowSet) {
	if v.arr == nil {
		if v.sc.IsValid() {
			return s, rowSet{n: s.n}
		}
		return rowSet{n: s.n}, s
	}
	if v.arr.NullN() == 0 {
		return s, rowSet{n: s.n}
	}
	bm, off := v.arr.NullBitmapBytes(), v.arr.Data().Offset()
	n := s.size()
	t := make([]int32, 0, n)
	r := make([]int32, 0, n)
	for k := 0; k < n; k++ {
		row := s.at(k)
		p := row
		if compact {
			p = k
		}
		if bitIsSet(bm, off+p) {
			t = append(t, int32(row))
		} else {
			r = append(r, int32(row))
		}
	}
	return rowsOf(t, s.n), rowsOf(r, s.n)
}

func bindNullIf(b *binder, src string, args []bnode) (bnode, error) {
	l, r, ok := b.coerce(args[0], args[1])
	if !ok {
		return nil, fmt.Errorf("expr: %w in %s: cannot compare %s (%s) with %s (%s); cast one side so both have the same type",
			ErrType, b.in(src), args[0], TypeString(args[0].dataType()), args[1], TypeString(args[1].dataType()))
	}
	if isNull(args[0].dataType()) {
		return args[0], nil
	}
	eq, err := b.bindCompare(opEq, src, l, r, args[0].String(), args[1].String())
	if err != nil {
		return nil, err
	}
	a := b.decodeDict(args[0])
	return b.fold(&bNullIf{src: src, a: a, eq: eq}, src)
}

// bNullIf is null where eq is true, else a.
type bNullIf struct {
	src string
	a   bnode
	eq  bnode
}

func (c *bNullIf) dataType() arrow.DataType { return c.a.dataType() }
func (c *bNullIf) nullable() bool           { return true }
func (c *bNullIf) children() []bnode        { return []bnode{c.a, c.eq} }
func (c *bNullIf) String() string           { return c.src }

func (c *bNullIf) eval(ev *evalCtx) (val, error) {
	eq, err := c.eq.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer eq.release()
	er := readBools(eq)
	if er.constant {
		if er.cval && er.cvalid {
			return val{sc: scalar.MakeNullScalar(c.a.dataType())}, nil
		}
		return c.a.eval(ev)
	}
	a, err := c.a.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer a.release()
	arr, rel, err := asArray(ev, a)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", c.src, err)
	}
	defer rel()
	d := arr.Data()
	n, off := d.Len(), d.Offset()
	bm := memory.NewResizableBuffer(ev.mem)
	bm.Resize(int(bitutil.BytesForBits(int64(off + n))))
	out := bm.Bytes()
	if arr.NullN() > 0 {
		bitutil.CopyBitmap(arr.NullBitmapBytes(), off, n, out, off)
	} else {
		bitutil.SetBitsTo(out, int64(off), int64(n), true)
	}
	for i := 0; i < n; i++ {
		if v, ok := er.get(i); v && ok {
			bitutil.ClearBit(out, off+i)
		}
	}
	nulls := n - bitutil.CountSetBits(out, off, n)
	bufs := append([]*memory.Buffer{bm}, d.Buffers()[1:]...)
	data := array.NewData(d.DataType(), n, bufs, d.Children(), nulls, off)
	bm.Release()
	defer data.Release()
	return val{arr: array.MakeFromData(data)}, nil
}

func bindExtremum(least bool) func(b *binder, src string, args []bnode) (bnode, error) {
	name := "greatest"
	if least {
		name = "least"
	}
	return func(b *binder, src string, args []bnode) (bnode, error) {
		args, typ, err := b.unify(src, "the arguments of "+name, args)
		if err != nil {
			return nil, err
		}
		switch kindOf(typ) {
		case kNull, kBool, kInt, kFloat, kDecimal, kString, kBinary, kDate, kTimestamp:
		default:
			return nil, fmt.Errorf("expr: %w in %s: %s compares values, and %s values have no order here; pick a field or element first",
				ErrType, b.in(src), name, TypeString(typ))
		}
		kept := args[:0:0]
		for _, a := range args {
			if !isNullConst(a) {
				kept = append(kept, a)
			}
		}
		switch len(kept) {
		case 0:
			return &bLit{sc: scalar.MakeNullScalar(typ)}, nil
		case 1:
			return kept[0], nil
		}
		return b.fold(&bExtremum{src: src, args: kept, typ: typ, least: least}, src)
	}
}

// bExtremum is GREATEST or (least) LEAST of args, skipping nulls.
type bExtremum struct {
	src   string
	args  []bnode
	typ   arrow.DataType
	least bool
}

func (c *bExtremum) dataType() arrow.DataType { return c.typ }
func (c *bExtremum) children() []bnode        { return c.args }
func (c *bExtremum) String() string           { return c.src }
func (c *bExtremum) nullable() bool {
	for _, a := range c.args {
		if !a.nullable() {
			return false
		}
	}
	return true
}

func (c *bExtremum) eval(ev *evalCtx) (val, error) {
	vals := make([]val, 0, len(c.args))
	defer func() {
		for _, v := range vals {
			v.release()
		}
	}()
	arrs := make([]arrow.Array, len(c.args))
	for i, a := range c.args {
		v, err := a.eval(ev)
		if err != nil {
			return val{}, err
		}
		if v.arr == nil {
			// A constant, repeated so every argument is an array.
			arr, err := scalar.MakeArrayFromScalar(v.sc, ev.rows, ev.mem)
			if err != nil {
				return val{}, fmt.Errorf("expr: evaluating %s: %w", c.src, err)
			}
			v = val{arr: arr}
		}
		vals = append(vals, v)
		arrs[i] = v.arr
	}
	n := ev.rows
	best := make([]int32, n)
	for i := range best {
		best[i] = -1
	}
	sign := 1
	if c.least {
		sign = -1
	}
	switch c.typ.ID() {
	case arrow.INT8:
		pickBest(arrs, best, sign, fixedValues[int8], cmpOrdered[int8])
	case arrow.INT16:
		pickBest(arrs, best, sign, fixedValues[int16], cmpOrdered[int16])
	case arrow.INT32, arrow.DATE32:
		pickBest(arrs, best, sign, fixedValues[int32], cmpOrdered[int32])
	case arrow.INT64, arrow.TIMESTAMP:
		pickBest(arrs, best, sign, fixedValues[int64], cmpOrdered[int64])
	case arrow.UINT8:
		pickBest(arrs, best, sign, fixedValues[uint8], cmpOrdered[uint8])
	case arrow.UINT16:
		pickBest(arrs, best, sign, fixedValues[uint16], cmpOrdered[uint16])
	case arrow.UINT32:
		pickBest(arrs, best, sign, fixedValues[uint32], cmpOrdered[uint32])
	case arrow.UINT64:
		pickBest(arrs, best, sign, fixedValues[uint64], cmpOrdered[uint64])
	case arrow.FLOAT32:
		pickBest(arrs, best, sign, fixedValues[float32], cmpFloat[float32])
	case arrow.FLOAT64:
		pickBest(arrs, best, sign, fixedValues[float64], cmpFloat[float64])
	case arrow.DECIMAL128:
		pickBest(arrs, best, sign, fixedValues[decimal128.Num], func(a, b decimal128.Num) int { return a.Cmp(b) })
	case arrow.BOOL:
		pickBest(arrs, best, sign, boolValues, cmpOrdered[uint8])
	case arrow.STRING, arrow.BINARY:
		pickBest(arrs, best, sign, byteValues, bytes.Compare)
	default:
		// Large strings and binaries: compare through their values.
		pickBest(arrs, best, sign, largeByteValues, bytes.Compare)
	}
	// One part per argument, holding the rows it wins.
	rows := make([][]int32, len(arrs))
	for i, k := range best {
		if k >= 0 {
			rows[k] = append(rows[k], int32(i))
		}
	}
	var parts partList
	for k, r := range rows {
		if len(r) > 0 {
			parts = append(parts, part{v: val{arr: arrs[k]}, rows: rowsOf(r, n)})
		}
	}
	return assemble(ev, c.typ, parts, c.src)
}

func cmpOrdered[T signedInt | unsignedInt](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat orders floats as Spark: NaN above everything, -0.0 equal to
// 0.0.
func cmpFloat[T float32 | float64](a, b T) int {
	an, bn := a != a, b != b
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pickBest sets best[i] to the argument whose value at row i is largest
// (sign 1) or smallest (sign -1) among the valid ones; the first wins
// ties.
func pickBest[T any](arrs []arrow.Array, best []int32, sign int, values func(arrow.Array) []T, cmp func(a, b T) int) {
	vals := make([][]T, len(arrs))
	for k, a := range arrs {
		vals[k] = values(a)
	}
	for k, a := range arrs {
		var bm []byte
		off := a.Data().Offset()
		if a.NullN() > 0 {
			bm = a.NullBitmapBytes()
		}
		if a.NullN() == a.Len() {
			continue
		}
		v := vals[k]
		for i := range best {
			if bm != nil && !bitIsSet(bm, off+i) {
				continue
			}
			if b := best[i]; b < 0 || sign*cmp(v[i], vals[b][i]) > 0 {
				best[i] = int32(k)
			}
		}
	}
}

func boolValues(a arrow.Array) []uint8 {
	out := make([]uint8, a.Len())
	d := a.Data()
	bits, off := d.Buffers()[1].Bytes(), d.Offset()
	for i := range out {
		if bitIsSet(bits, off+i) {
			out[i] = 1
		}
	}
	return out
}

// byteValues lists the values of a string or binary array without
// copying them.
func byteValues(a arrow.Array) [][]byte {
	s := strColOf(a)
	out := make([][]byte, a.Len())
	for i := range out {
		out[i] = s.at(i)
	}
	return out
}

func largeByteValues(a arrow.Array) [][]byte {
	out := make([][]byte, a.Len())
	switch a := a.(type) {
	case *array.LargeString:
		for i := range out {
			v := a.Value(i)
			out[i] = unsafe.Slice(unsafe.StringData(v), len(v))
		}
	case *array.LargeBinary:
		for i := range out {
			out[i] = a.Value(i)
		}
	}
	return out
}

// exactDecimalConst converts a numeric constant to a decimal type when the
// value is kept exactly (Lit(0) with a decimal(10,2) column is 0.00).
func exactDecimalConst(c *bLit, to arrow.DataType) (*bLit, bool) {
	from := c.sc.DataType()
	if to.ID() != arrow.DECIMAL128 || !isNumberKind(kindOf(from)) {
		return nil, false
	}
	there, err := planCast(from, to)
	if err != nil {
		return nil, false
	}
	back, err := planCast(to, from)
	if err != nil {
		return nil, false
	}
	cc := &castCtx{mem: memory.DefaultAllocator, kctx: context.Background()}
	in, err := scalar.MakeArrayFromScalar(c.sc, 1, cc.mem)
	if err != nil {
		return nil, false
	}
	defer in.Release()
	out, err := there(cc, in)
	if err != nil {
		return nil, false
	}
	defer out.Release()
	again, err := back(cc, out)
	if err != nil {
		return nil, false
	}
	defer again.Release()
	if !array.Equal(in, again) {
		return nil, false
	}
	sc, err := scalar.GetScalar(out, 0)
	if err != nil {
		return nil, false
	}
	return &bLit{sc: sc}, true
}

// assembleFixed is assemble for fixed-width types of whole bytes (numbers,
// dates, timestamps, decimals): values are copied straight into the
// result, which the caller owns.
func assembleFixed(ev *evalCtx, typ arrow.DataType, parts partList) (arrow.Array, bool) {
	fw, ok := typ.(arrow.FixedWidthDataType)
	if !ok || typ.ID() == arrow.BOOL || typ.ID() == arrow.DICTIONARY || typ.ID() == arrow.FIXED_SIZE_BINARY {
		return nil, false
	}
	for _, p := range parts {
		if p.v.arr != nil && !arrow.TypeEqual(p.v.arr.DataType(), typ) {
			return nil, false
		}
	}
	switch fw.BitWidth() {
	case 8:
		return assembleWidth[uint8](ev, typ, parts)
	case 16:
		return assembleWidth[uint16](ev, typ, parts)
	case 32:
		return assembleWidth[uint32](ev, typ, parts)
	case 64:
		return assembleWidth[uint64](ev, typ, parts)
	case 128:
		return assembleWidth[[2]uint64](ev, typ, parts)
	}
	return nil, false
}

func assembleWidth[T any](ev *evalCtx, typ arrow.DataType, parts partList) (arrow.Array, bool) {
	n := ev.rows
	vbuf, out := newFixed[T](ev.mem, n)
	clear(out)
	valid := memory.NewResizableBuffer(ev.mem)
	valid.Resize(int(bitutil.BytesForBits(int64(n))))
	ok := valid.Bytes()
	clear(ok)
	for _, p := range parts {
		rows := p.rows
		if p.v.arr == nil {
			if !p.v.sc.IsValid() {
				continue
			}
			one, err := scalar.MakeArrayFromScalar(p.v.sc, 1, ev.mem)
			if err != nil {
				vbuf.Release()
				valid.Release()
				return nil, false
			}
			c := fixedValues[T](one)[0]
			one.Release()
			for k := 0; k < rows.size(); k++ {
				r := rows.at(k)
				out[r] = c
				bitutil.SetBit(ok, r)
			}
			continue
		}
		src := fixedValues[T](p.v.arr)
		var bm []byte
		off := p.v.arr.Data().Offset()
		if p.v.arr.NullN() > 0 {
			bm = p.v.arr.NullBitmapBytes()
		}
		for k := 0; k < rows.size(); k++ {
			r := rows.at(k)
			q := r
			if p.compact {
				q = k
			}
			if bm != nil && !bitIsSet(bm, off+q) {
				continue
			}
			out[r] = src[q]
			bitutil.SetBit(ok, r)
		}
	}
	nulls := n - bitutil.CountSetBits(ok, 0, n)
	validity := valid
	if nulls == 0 {
		valid.Release()
		validity = nil
	}
	data := array.NewData(typ, n, []*memory.Buffer{validity, vbuf}, nil, nulls, 0)
	if validity != nil {
		validity.Release()
	}
	vbuf.Release()
	defer data.Release()
	return array.MakeFromData(data), true
}
