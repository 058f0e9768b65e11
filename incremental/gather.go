package incremental

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file holds the selection-vector helpers of the stateless
// operators: a boolean mask turned into the indices of its true rows, and
// columns gathered by such indices, with a hand-written loop for
// fixed-width columns (the common case: ids, prices, timestamps) and
// Arrow's take kernel for the rest.

// selection appends to sel the indices of the rows of mask (a boolean
// array, borrowed) that are true and not null, and returns it.
func selection(mask arrow.Array, sel []int32) []int32 {
	d := mask.Data()
	n, off := d.Len(), d.Offset()
	sel = sel[:0]
	if n == 0 {
		return sel
	}
	vals := d.Buffers()[1].Bytes()
	var valid []byte
	if mask.NullN() > 0 {
		valid = mask.NullBitmapBytes()
	}
	if off%8 == 0 && valid == nil {
		// Whole words of the bitmap at a time.
		b := vals[off/8:]
		i := 0
		for ; i+64 <= n; i += 64 {
			w := uint64(b[i/8]) | uint64(b[i/8+1])<<8 | uint64(b[i/8+2])<<16 | uint64(b[i/8+3])<<24 |
				uint64(b[i/8+4])<<32 | uint64(b[i/8+5])<<40 | uint64(b[i/8+6])<<48 | uint64(b[i/8+7])<<56
			for w != 0 {
				sel = append(sel, int32(i+bits.TrailingZeros64(w)))
				w &= w - 1
			}
		}
		for ; i < n; i++ {
			if bitutil.BitIsSet(b, i) {
				sel = append(sel, int32(i))
			}
		}
		return sel
	}
	for i := 0; i < n; i++ {
		if bitutil.BitIsSet(vals, off+i) && (valid == nil || bitutil.BitIsSet(valid, off+i)) {
			sel = append(sel, int32(i))
		}
	}
	return sel
}

// fixedWidthBytes is the byte width of the values of a fixed-width
// column the hand-written gather handles (1, 2, 4 or 8), or 0.
func fixedWidthBytes(t arrow.DataType) int {
	fw, ok := t.(arrow.FixedWidthDataType)
	if !ok || t.ID() == arrow.BOOL || t.ID() == arrow.DICTIONARY || t.ID() == arrow.EXTENSION {
		return 0
	}
	switch w := fw.BitWidth(); w {
	case 8, 16, 32, 64:
		return w / 8
	}
	return 0
}

// takeColumn returns the rows idx of arr (borrowed) as a new array owned
// by the caller. Fixed-width columns are gathered by a plain loop (their
// validity too); other types go through Arrow's take kernel.
func takeColumn(ctx context.Context, mem memory.Allocator, arr arrow.Array, idx []int32) (arrow.Array, error) {
	w := fixedWidthBytes(arr.DataType())
	if w == 0 || len(arr.Data().Buffers()) < 2 || arr.Data().Buffers()[1] == nil {
		ia := int32Array(idx, nil, 0)
		defer ia.Release()
		return compute.TakeArray(compute.WithAllocator(ctx, mem), arr, ia)
	}
	d := arr.Data()
	m := len(idx)
	off := d.Offset()
	src := d.Buffers()[1].Bytes()[off*w:]
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(m * w)
	dst := vb.Bytes()
	switch w {
	case 8:
		gatherWords(unsafeSlice[uint64](dst, m), unsafeSlice[uint64](src, d.Len()), idx)
	case 4:
		gatherWords(unsafeSlice[uint32](dst, m), unsafeSlice[uint32](src, d.Len()), idx)
	case 2:
		gatherWords(unsafeSlice[uint16](dst, m), unsafeSlice[uint16](src, d.Len()), idx)
	default:
		gatherWords(dst[:m], src[:d.Len()], idx)
	}
	var nb *memory.Buffer
	nulls := 0
	if arr.NullN() > 0 {
		nb = memory.NewResizableBuffer(mem)
		nb.Resize(int(bitutil.BytesForBits(int64(m))))
		out := nb.Bytes()
		clear(out)
		valid := arr.NullBitmapBytes()
		for j, i := range idx {
			if bitutil.BitIsSet(valid, off+int(i)) {
				bitutil.SetBit(out, j)
			} else {
				nulls++
			}
		}
	}
	data := array.NewData(arr.DataType(), m, []*memory.Buffer{nb, vb}, nil, nulls, 0)
	vb.Release()
	if nb != nil {
		nb.Release()
	}
	defer data.Release()
	return array.MakeFromData(data), nil
}

// gatherWords sets dst[j] = src[idx[j]].
func gatherWords[T uint8 | uint16 | uint32 | uint64](dst, src []T, idx []int32) {
	dst = dst[:len(idx)]
	for j, i := range idx {
		dst[j] = src[i]
	}
}

// unsafeSlice views the first n values of type T in b, which holds at
// least n*sizeof(T) bytes (Arrow buffers are 64-byte aligned).
func unsafeSlice[T uint16 | uint32 | uint64](b []byte, n int) []T {
	if n == 0 {
		return nil
	}
	var zero T
	if len(b) < n*int(unsafe.Sizeof(zero)) {
		panic(fmt.Sprintf("incremental: a buffer of %d bytes read as %d values of %d bytes", len(b), n, unsafe.Sizeof(zero)))
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// takeRecord returns the rows idx of rec (borrowed) with schema, owned by
// the caller. Columns whose keep entry is false (when keep is not nil)
// are not gathered: they become all-null columns of type null, and
// schema's field for them is changed to match, for an operator above
// that reads only the kept columns.
func takeRecord(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, schema *arrow.Schema, idx []int32, keep []bool) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 0, rec.NumCols())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	m := len(idx)
	for i, c := range rec.Columns() {
		if keep != nil && !keep[i] {
			cols = append(cols, array.NewNull(m))
			continue
		}
		out, err := takeColumn(ctx, mem, c, idx)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", schema.Field(i).Name, err)
		}
		cols = append(cols, out)
	}
	if keep != nil {
		fields := schema.Fields()
		for i := range fields {
			if !keep[i] {
				fields[i] = arrow.Field{Name: fields[i].Name, Type: arrow.Null, Nullable: true}
			}
		}
		schema = arrow.NewSchema(fields, nil)
	}
	return array.NewRecordBatch(schema, cols, int64(m)), nil
}

// denseIndex is the probe index of a join on one integer key whose
// values span a compact range: the group of key v is at[v-lo]-1 (0: no
// such key), one array read per probe with no hashing, as a perfect-hash
// join does.
type denseIndex struct {
	lo int64
	at []int32
}

// maxDenseSpan bounds the range of a dense index.
const maxDenseSpan = 1 << 20

// newDenseIndex builds the dense index of column col of recs (the table's
// records, borrowed), whose row r has group rowGroup[r] (-1: null key),
// when the column is an integer and its values span at most
// maxDenseSpan and at most 16 slots per group (plus 1024); else nil.
func newDenseIndex(recs []arrow.RecordBatch, col int, rowGroup []int32, groups int) *denseIndex {
	if groups == 0 {
		return nil
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, rec := range recs {
		vals, ok := intValues(rec.Column(col))
		if !ok {
			return nil
		}
		for i := 0; i < rec.Column(col).Len(); i++ {
			if rec.Column(col).IsValid(i) {
				v := vals(i)
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if hi < lo || hi-lo >= maxDenseSpan || hi-lo >= int64(16*groups+1024) {
		return nil
	}
	d := &denseIndex{lo: lo, at: make([]int32, hi-lo+1)}
	r := 0
	for _, rec := range recs {
		vals, _ := intValues(rec.Column(col))
		for i := 0; i < rec.Column(col).Len(); i, r = i+1, r+1 {
			if g := rowGroup[r]; g >= 0 {
				d.at[vals(i)-lo] = g + 1
			}
		}
	}
	return d
}

// intValues returns the reader of an integer array's values as int64.
func intValues(arr arrow.Array) (func(i int) int64, bool) {
	switch a := arr.(type) {
	case *array.Int64:
		v := a.Int64Values()
		return func(i int) int64 { return v[i] }, true
	case *array.Int32:
		v := a.Int32Values()
		return func(i int) int64 { return int64(v[i]) }, true
	case *array.Int16:
		v := a.Int16Values()
		return func(i int) int64 { return int64(v[i]) }, true
	case *array.Int8:
		v := a.Int8Values()
		return func(i int) int64 { return int64(v[i]) }, true
	case *array.Uint32:
		v := a.Uint32Values()
		return func(i int) int64 { return int64(v[i]) }, true
	case *array.Uint16:
		v := a.Uint16Values()
		return func(i int) int64 { return int64(v[i]) }, true
	case *array.Uint8:
		v := a.Uint8Values()
		return func(i int) int64 { return int64(v[i]) }, true
	}
	return nil, false
}

// probe sets group[i] to the group of row i of key (borrowed), -1 when
// it is null or absent, and reports true; it reports false, doing
// nothing, when key is not an integer array (the caller then hashes).
func (d *denseIndex) probe(key arrow.Array, group []int32) bool {
	at, lo, span := d.at, d.lo, uint64(len(d.at))
	look := func(v int64) int32 {
		if o := uint64(v - lo); o < span {
			return at[o] - 1
		}
		return -1
	}
	switch a := key.(type) {
	case *array.Int64:
		for i, v := range a.Int64Values() {
			group[i] = look(v)
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			group[i] = look(int64(v))
		}
	default:
		vals, ok := intValues(key)
		if !ok {
			return false
		}
		for i := range group[:key.Len()] {
			group[i] = look(vals(i))
		}
	}
	if key.NullN() > 0 {
		for i := range group[:key.Len()] {
			if key.IsNull(i) {
				group[i] = -1
			}
		}
	}
	return true
}
