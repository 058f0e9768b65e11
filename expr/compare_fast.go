package expr

import (
	"bytes"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// This file holds the fast path of a comparison between a string or
// binary column and a constant (event_type = 'view'): one pass over the
// offsets and bytes, the length checked before the bytes for equality,
// eight results packed into a byte at a time. When the column is
// dictionary-encoded (bind decodes it with a cast), the constant is
// compared with each dictionary entry once and the row results are read
// through the indices, so the values are never decoded.

// mirror is the operator that holds with the operands swapped: k < x is
// x > k.
func mirror(op binOp) binOp {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

// constBytes returns the bytes of a valid string or binary constant.
func constBytes(n bnode) ([]byte, bool) {
	c, ok := n.(*bLit)
	if !ok || !c.sc.IsValid() {
		return nil, false
	}
	switch s := c.sc.(type) {
	case *scalar.String:
		return s.Value.Bytes(), true
	case *scalar.Binary:
		return s.Value.Bytes(), true
	case *scalar.LargeString:
		return s.Value.Bytes(), true
	case *scalar.LargeBinary:
		return s.Value.Bytes(), true
	}
	return nil, false
}

// fastCompare evaluates c by the fast path when it applies: one side a
// string or binary column (plain, or dictionary-encoded under bind's
// decoding cast), the other a constant. ok is false when it does not
// apply, and the caller runs the general kernel.
func fastCompare(ev *evalCtx, c *bCompare) (_ val, ok bool, err error) {
	if ev.rec == nil {
		return val{}, false, nil
	}
	op, x := c.op, c.l
	k, isConst := constBytes(c.r)
	if !isConst {
		if k, isConst = constBytes(c.l); !isConst {
			return val{}, false, nil
		}
		op, x = mirror(op), c.r
	}
	if !isStringType(x.dataType()) && !isBinaryType(x.dataType()) {
		return val{}, false, nil
	}
	if cast, isCast := x.(*bCast); isCast {
		d, isDict := cast.x.dataType().(*arrow.DictionaryType)
		if !isDict || !arrow.TypeEqual(d.ValueType, cast.to) {
			return val{}, false, nil
		}
		v, err := cast.x.eval(ev)
		if err != nil {
			return val{}, true, err
		}
		defer v.release()
		dict, isArr := v.arr.(*array.Dictionary)
		if !isArr {
			return val{}, false, nil
		}
		out, ok := compareDictConst(ev.mem, dict, k, op)
		return val{arr: out}, ok, nil
	}
	v, err := x.eval(ev)
	if err != nil {
		return val{}, true, err
	}
	if v.arr == nil {
		v.release()
		return val{}, false, nil
	}
	defer v.release()
	out, ok := compareBytesConst(ev.mem, v.arr, k, op)
	return val{arr: out}, ok, nil
}

// rowBytes returns, for a string or binary array, a function giving the
// bytes of row i. ValueBytes starts at the slice's first value, so the
// offsets are taken relative to the first one.
func rowBytes(arr arrow.Array) (func(i int) []byte, bool) {
	switch a := arr.(type) {
	case *array.String:
		offs, data := a.ValueOffsets(), a.ValueBytes()
		return func(i int) []byte { return data[offs[i]-offs[0] : offs[i+1]-offs[0]] }, true
	case *array.Binary:
		offs, data := a.ValueOffsets(), a.ValueBytes()
		return func(i int) []byte { return data[offs[i]-offs[0] : offs[i+1]-offs[0]] }, true
	case *array.LargeString:
		offs, data := a.ValueOffsets(), a.ValueBytes()
		return func(i int) []byte { return data[offs[i]-offs[0] : offs[i+1]-offs[0]] }, true
	case *array.LargeBinary:
		offs, data := a.ValueOffsets(), a.ValueBytes()
		return func(i int) []byte { return data[offs[i]-offs[0] : offs[i+1]-offs[0]] }, true
	}
	return nil, false
}

// compareBytesConst compares each row of arr (borrowed; string or
// binary) with k. The boolean result is owned by the caller; it is null
// where arr is.
func compareBytesConst(mem memory.Allocator, arr arrow.Array, k []byte, op binOp) (arrow.Array, bool) {
	n := arr.Len()
	bits := memory.NewResizableBuffer(mem)
	bits.Resize(int(bitutil.BytesForBits(int64(n))))
	out := bits.Bytes()
	switch a := arr.(type) {
	case *array.String:
		packCompare(out, a.ValueOffsets(), a.ValueBytes(), k, op)
	case *array.Binary:
		packCompare(out, a.ValueOffsets(), a.ValueBytes(), k, op)
	case *array.LargeString:
		packCompare(out, a.ValueOffsets(), a.ValueBytes(), k, op)
	case *array.LargeBinary:
		packCompare(out, a.ValueOffsets(), a.ValueBytes(), k, op)
	default:
		bits.Release()
		return nil, false
	}
	return boolResult(mem, arr, bits), true
}

// packCompare sets bit i of out when row i compares with k as op says:
// offs are the slice's value offsets and data its ValueBytes, which begin
// at offs[0].
func packCompare[O int32 | int64](out []byte, offs []O, data, k []byte, op binOp) {
	n := len(offs) - 1
	if n <= 0 {
		return
	}
	if offs[0] != 0 {
		rel := make([]O, len(offs))
		for i, o := range offs {
			rel[i] = o - offs[0]
		}
		offs = rel
	}
	if op == opEq || op == opNotEq {
		want := op == opEq
		kl := O(len(k))
		// A constant of at most 8 bytes is compared as one masked word
		// wherever 8 bytes can be loaded from the value's start.
		short := len(k) > 0 && len(k) <= 8
		var kw, mask uint64
		if short {
			var buf [8]byte
			copy(buf[:], k)
			kw = binary.LittleEndian.Uint64(buf[:])
			mask = ^uint64(0) >> (64 - 8*uint(len(k)))
		}
		var flip byte // 0xff for not-equal
		if !want {
			flip = 0xff
		}
		base := 0
		if short {
			// Rows whose value starts at least 8 bytes before the end
			// are compared without branches: the length and the masked
			// word both differ from the constant's or the row matches.
			limit := O(len(data) - 8)
			for ; base+8 <= n && offs[base+7] <= limit; base += 8 {
				var b byte
				for j := 0; j < 8; j++ {
					o0, o1 := offs[base+j], offs[base+j+1]
					x := uint64(o1-o0-kl) | (binary.LittleEndian.Uint64(data[o0:])&mask ^ kw)
					var hit byte
					if x == 0 {
						hit = 1
					}
					b |= hit << j
				}
				out[base>>3] = b ^ flip
			}
		}
		for ; base < n; base += 8 {
			var b byte
			for j := 0; j < 8 && base+j < n; j++ {
				o0, o1 := offs[base+j], offs[base+j+1]
				if o1-o0 == kl && bytes.Equal(data[o0:o1], k) {
					b |= 1 << j
				}
			}
			if !want {
				b = ^b
			}
			out[base>>3] = b
		}
		if r := n % 8; r != 0 {
			out[n>>3] &= byte(1)<<r - 1 // no bits past the last row
		}
		return
	}
	for base := 0; base < n; base += 8 {
		var b byte
		for j := 0; j < 8 && base+j < n; j++ {
			i := base + j
			if compareHolds(op, bytes.Compare(data[offs[i]:offs[i+1]], k)) {
				b |= 1 << j
			}
		}
		out[base>>3] = b
	}
}

// compareDictConst compares each row of dict (borrowed; string or binary
// values) with k through its indices: each dictionary entry once. The
// result is owned by the caller; it is null where the index or its entry
// is.
func compareDictConst(mem memory.Allocator, dict *array.Dictionary, k []byte, op binOp) (arrow.Array, bool) {
	values := dict.Dictionary()
	get, ok := rowBytes(values)
	if !ok {
		return nil, false
	}
	holds := make([]bool, values.Len())
	entryNull := false
	for e := range holds {
		if values.IsNull(e) {
			entryNull = true
			continue
		}
		holds[e] = compareHolds(op, bytes.Compare(get(e), k))
	}
	n := dict.Len()
	bits := memory.NewResizableBuffer(mem)
	bits.Resize(int(bitutil.BytesForBits(int64(n))))
	out := bits.Bytes()
	var valid []byte
	if entryNull {
		valid = make([]byte, bitutil.BytesForBits(int64(n)))
	}
	for i := 0; i < n; i++ {
		if dict.IsNull(i) {
			continue
		}
		e := dict.GetValueIndex(i)
		if entryNull && values.IsNull(e) {
			continue
		}
		if entryNull {
			bitutil.SetBit(valid, i)
		}
		if holds[e] {
			bitutil.SetBit(out, i)
		}
	}
	if !entryNull {
		return boolResult(mem, dict, bits), true
	}
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(len(valid))
	copy(vb.Bytes(), valid)
	res := array.NewBoolean(n, bits, vb, n-bitutil.CountSetBits(valid, 0, n))
	vb.Release()
	bits.Release()
	return res, true
}

// boolResult makes the boolean array of bits (consumed) with in's
// validity (in is borrowed). The array is owned by the caller.
func boolResult(mem memory.Allocator, in arrow.Array, bits *memory.Buffer) arrow.Array {
	n := in.Len()
	var valid *memory.Buffer
	if in.NullN() > 0 {
		valid = memory.NewResizableBuffer(mem)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(in.NullBitmapBytes(), in.Data().Offset(), n, valid.Bytes(), 0)
	}
	out := array.NewBoolean(n, bits, valid, in.NullN())
	bits.Release()
	if valid != nil {
		valid.Release()
	}
	return out
}
