package expr

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Comparisons arrow-go's kernels lack: ordering booleans (false < true),
// and comparing structs (field by field) and arrays (element by element,
// then by length), as Spark orders them. Inside a struct or an array a
// null equals a null and sorts before any value, a NaN equals a NaN and
// sorts after every number; a null struct or array itself makes the
// comparison null. Maps cannot be compared, as in Spark.

// bindOrderCompare binds a comparison of type t when the kernels cannot;
// ok is false when they can.
func (b *binder) bindOrderCompare(op binOp, src string, l, r bnode) (n bnode, ok bool, err error) {
	t := l.dataType()
	switch t.ID() {
	case arrow.STRUCT, arrow.LIST, arrow.MAP:
	case arrow.BOOL:
		if op == opEq || op == opNotEq {
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	mk, err := comparatorFor(t)
	if err != nil {
		return nil, true, fmt.Errorf("expr: %w in %s: %v", ErrType, b.in(src), err)
	}
	n, err = b.fold(&bOrderCompare{op: op, l: l, r: r, mk: mk}, src)
	return n, true, err
}

// comparator compares row i of one array with row j of another (both
// valid), returning -1, 0 or 1.
type comparator func(i, j int) int

// comparatorMaker makes the comparator of two arrays of one type.
type comparatorMaker func(a, b arrow.Array) comparator

func comparatorFor(t arrow.DataType) (comparatorMaker, error) {
	switch t.ID() {
	case arrow.BOOL:
		return func(a, b arrow.Array) comparator {
			x, y := a.(*array.Boolean), b.(*array.Boolean)
			return func(i, j int) int {
				p, q := x.Value(i), y.Value(j)
				switch {
				case p == q:
					return 0
				case q:
					return -1
				}
				return 1
			}
		}, nil
	case arrow.INT8:
		return fixedComparator(cmpOrdered[int8]), nil
	case arrow.INT16:
		return fixedComparator(cmpOrdered[int16]), nil
	case arrow.INT32, arrow.DATE32:
		return fixedComparator(cmpOrdered[int32]), nil
	case arrow.INT64, arrow.TIMESTAMP:
		return fixedComparator(cmpOrdered[int64]), nil
	case arrow.UINT8:
		return fixedComparator(cmpOrdered[uint8]), nil
	case arrow.UINT16:
		return fixedComparator(cmpOrdered[uint16]), nil
	case arrow.UINT32:
		return fixedComparator(cmpOrdered[uint32]), nil
	case arrow.UINT64:
		return fixedComparator(cmpOrdered[uint64]), nil
	case arrow.FLOAT32:
		return fixedComparator(cmpFloat[float32]), nil
	case arrow.FLOAT64:
		return fixedComparator(cmpFloat[float64]), nil
	case arrow.DECIMAL128:
		return fixedComparator(func(a, b decimal128.Num) int { return a.Cmp(b) }), nil
	case arrow.STRING, arrow.BINARY:
		return func(a, b arrow.Array) comparator {
			x, y := strColOf(a), strColOf(b)
			return func(i, j int) int { return bytes.Compare(x.at(i), y.at(j)) }
		}, nil
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return func(a, b arrow.Array) comparator {
			return func(i, j int) int { return bytes.Compare(bytesAt(a, i), bytesAt(b, j)) }
		}, nil
	case arrow.STRUCT:
		st := t.(*arrow.StructType)
		fields := make([]comparatorMaker, st.NumFields())
		for k, f := range st.Fields() {
			mk, err := comparatorFor(f.Type)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			fields[k] = mk
		}
		return func(a, b arrow.Array) comparator {
			x, y := a.(*array.Struct), b.(*array.Struct)
			fa := make([]arrow.Array, len(fields))
			fb := make([]arrow.Array, len(fields))
			cmps := make([]comparator, len(fields))
			for k, mk := range fields {
				fa[k], fb[k] = x.Field(k), y.Field(k)
				cmps[k] = mk(fa[k], fb[k])
			}
			return func(i, j int) int {
				for k, c := range cmps {
					if r := cmpNullsFirst(fa[k], i, fb[k], j, c); r != 0 {
						return r
					}
				}
				return 0
			}
		}, nil
	case arrow.LIST:
		elem, err := comparatorFor(t.(*arrow.ListType).Elem())
		if err != nil {
			return nil, fmt.Errorf("array elements: %w", err)
		}
		return func(a, b arrow.Array) comparator {
			x, y := a.(*array.List), b.(*array.List)
			va, vb := x.ListValues(), y.ListValues()
			c := elem(va, vb)
			return func(i, j int) int {
				s1, e1 := x.ValueOffsets(i)
				s2, e2 := y.ValueOffsets(j)
				n1, n2 := int(e1-s1), int(e2-s2)
				for k := 0; k < min(n1, n2); k++ {
					if r := cmpNullsFirst(va, int(s1)+k, vb, int(s2)+k, c); r != 0 {
						return r
					}
				}
				return cmpOrdered(int64(n1), int64(n2))
			}
		}, nil
	case arrow.MAP:
		return nil, fmt.Errorf("maps cannot be compared (as in Spark); compare map_keys or map_values, or a value by key")
	}
	return nil, fmt.Errorf("values of type %s cannot be compared", TypeString(t))
}

func fixedComparator[T any](cmp func(a, b T) int) comparatorMaker {
	return func(a, b arrow.Array) comparator {
		x, y := fixedValues[T](a), fixedValues[T](b)
		return func(i, j int) int { return cmp(x[i], y[j]) }
	}
}

// cmpNullsFirst compares a[i] with b[j] where either may be null: two
// nulls are equal, a null sorts first.
func cmpNullsFirst(a arrow.Array, i int, b arrow.Array, j int, c comparator) int {
	na, nb := a.IsNull(i), b.IsNull(j)
	switch {
	case na && nb:
		return 0
	case na:
		return -1
	case nb:
		return 1
	}
	return c(i, j)
}

// bOrderCompare is a comparison evaluated row by row with a comparator.
type bOrderCompare struct {
	op   binOp
	l, r bnode
	mk   comparatorMaker
}

func (c *bOrderCompare) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bOrderCompare) nullable() bool           { return c.l.nullable() || c.r.nullable() }
func (c *bOrderCompare) children() []bnode        { return []bnode{c.l, c.r} }
func (c *bOrderCompare) String() string           { return formatBinary(c.op, c.l.String(), c.r.String()) }

func (c *bOrderCompare) eval(ev *evalCtx) (val, error) {
	l, err := c.l.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer l.release()
	r, err := c.r.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer r.release()
	la, lrel, err := asArray(ev, l)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", c, err)
	}
	defer lrel()
	ra, rrel, err := asArray(ev, r)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", c, err)
	}
	defer rrel()
	cmp := c.mk(la, ra)
	rm := newNullMask(ev.mem, ra)
	out, err := boolCast(&castCtx{mem: ev.mem}, la, func(m *nullMask, out []byte) error {
		for i := 0; i < la.Len(); i++ {
			if !m.valid(i) {
				continue
			}
			if !rm.valid(i) {
				m.setNull(i)
				continue
			}
			if compareHolds(c.op, cmp(i, i)) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
		return nil
	})
	if err != nil {
		return val{}, err
	}
	if l.arr == nil && r.arr == nil && ev.rec == nil {
		defer out.Release()
		sc, err := scalar.GetScalar(out, 0)
		if err != nil {
			return val{}, err
		}
		return val{sc: sc}, nil
	}
	return val{arr: out}, nil
}

func compareHolds(op binOp, c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNotEq:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}
