package agg

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/cespare/xxhash/v2"
)

// numeric is the Go storage type of a fixed-width Arrow type. Booleans are
// read as uint8 (0 or 1); dates, times, timestamps and durations as their
// integer storage.
type numeric interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// numClass says how a numeric type is encoded and compared.
type numClass uint8

const (
	clsSigned numClass = iota
	clsUnsigned
	clsFloat32
	clsFloat64
)

func classOf(id arrow.Type) numClass {
	switch id {
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.BOOL:
		return clsUnsigned
	case arrow.FLOAT32:
		return clsFloat32
	case arrow.FLOAT64:
		return clsFloat64
	}
	return clsSigned
}

// codec is what the generic accumulators need to know about a value type
// V: how to read it from an array, order, copy, encode, build and hash it.
// A codec is immutable once built and shared by every accumulator of a
// Func.
type codec[V any] struct {
	name string // function name, for errors
	typ  arrow.DataType
	// load returns the values of a (one per row, nulls included with an
	// unspecified value), reusing *scratch when it must materialize them.
	// The values may borrow a's memory.
	load func(a arrow.Array, scratch *[]V) []V
	// cmp orders values; floats order NaN above everything.
	cmp func(a, b V) int
	// own returns v not borrowing any array's memory.
	own func(v V) V
	// enc appends the state encoding of v; dec reads one back.
	enc func(dst []byte, v V) []byte
	dec func(src []byte) (V, []byte, bool)
	// app appends v to a builder of typ.
	app func(b array.Builder, v V)
	// hash is XXH64 (seed 0) of the value's canonical bytes.
	hash func(v V) uint64
	// heap is the heap bytes v holds beyond its own size.
	heap func(v V) int
}

// factory returns the accumulator constructor of a bound function.
func factory(s spec) func() Accumulator {
	switch s.in.ID() {
	case arrow.INT8:
		return numFactory[int8](s)
	case arrow.INT16:
		return numFactory[int16](s)
	case arrow.INT32, arrow.DATE32, arrow.TIME32:
		return numFactory[int32](s)
	case arrow.INT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION:
		return numFactory[int64](s)
	case arrow.UINT8, arrow.BOOL:
		return numFactory[uint8](s)
	case arrow.UINT16:
		return numFactory[uint16](s)
	case arrow.UINT32:
		return numFactory[uint32](s)
	case arrow.UINT64:
		return numFactory[uint64](s)
	case arrow.FLOAT32:
		return numFactory[float32](s)
	case arrow.FLOAT64:
		return numFactory[float64](s)
	}
	return bytesFactory(s)
}

// numericFactory and valueFactory are factory, named for what the binder
// has checked: a numeric (or date/timestamp) argument, or any ordered one.
func numericFactory(s spec) func() Accumulator { return factory(s) }
func valueFactory(s spec) func() Accumulator   { return factory(s) }

func numFactory[T numeric](s spec) func() Accumulator {
	c := numCodec[T](s)
	cls := classOf(s.in.ID())
	switch s.fam {
	case famSum:
		if cls == clsFloat32 || cls == clsFloat64 {
			return func() Accumulator { return &sumFloat[T]{c: c} }
		}
		return func() Accumulator { return &sumInt[T]{c: c} }
	case famAvg:
		return func() Accumulator { return &avgAcc[T]{c: c} }
	case famMinMax:
		return func() Accumulator { return &minMax[T]{c: c, isMax: s.isMax} }
	case famFirstLast:
		return func() Accumulator { return &firstLast[T]{c: c, last: s.last, ignoreNulls: s.ignoreNulls} }
	case famVariance:
		return func() Accumulator { return &varianceAcc[T]{c: c, kind: s.varKind} }
	case famHLL:
		return func() Accumulator { return newHLL(c, s.hllP) }
	case famPercentile:
		k := percentileCapacity(s.accuracy)
		return func() Accumulator { return &percentileAcc[T]{c: c, k: k, pcts: s.pcts, list: s.pctList} }
	case famCollect:
		if s.distinct {
			return func() Accumulator { return &collectAcc[T, uint64]{c: c, distinct: true, key: canonBits[T](cls)} }
		}
		return func() Accumulator { return &collectAcc[T, uint64]{c: c} }
	}
	panic("agg: unknown aggregate family")
}

func bytesFactory(s spec) func() Accumulator {
	c := bytesCodec(s)
	switch s.fam {
	case famMinMax:
		return func() Accumulator { return &minMaxBytes{c: c, isMax: s.isMax} }
	case famFirstLast:
		return func() Accumulator { return &firstLast[string]{c: c, last: s.last, ignoreNulls: s.ignoreNulls} }
	case famHLL:
		return func() Accumulator { return newHLL(c, s.hllP) }
	case famCollect:
		return func() Accumulator {
			return &collectAcc[string, string]{c: c, distinct: s.distinct, key: func(v string) string { return v }}
		}
	}
	panic("agg: aggregate family does not take bytes")
}

// numValues returns the values of a fixed-width or boolean array a, one per
// row. Booleans are materialized as 0 or 1 into *scratch; other types
// borrow a's buffer.
func numValues[T numeric](a arrow.Array, scratch *[]T) []T {
	d := a.Data()
	n, off := d.Len(), d.Offset()
	if a.DataType().ID() == arrow.BOOL {
		buf := resize(*scratch, n)
		*scratch = buf
		bufs := d.Buffers()
		if len(bufs) < 2 || bufs[1] == nil {
			clear(buf)
			return buf
		}
		bm := bufs[1].Bytes()
		for i := range buf {
			if bitutil.BitIsSet(bm, off+i) {
				buf[i] = 1
			} else {
				buf[i] = 0
			}
		}
		return buf
	}
	bufs := d.Buffers()
	if len(bufs) < 2 || bufs[1] == nil || n == 0 {
		// An all-null array may come without a values buffer.
		buf := resize(*scratch, n)
		clear(buf)
		*scratch = buf
		return buf
	}
	return arrow.GetData[T](bufs[1].Bytes())[off : off+n]
}

// bytesValues returns the values of a string or binary array as strings
// that borrow a's memory, materialized into *scratch.
func bytesValues(a arrow.Array, scratch *[]string) []string {
	n := a.Len()
	buf := resize(*scratch, n)
	*scratch = buf
	switch a := a.(type) {
	case *array.String:
		for i := range buf {
			buf[i] = a.Value(i)
		}
	case *array.LargeString:
		for i := range buf {
			buf[i] = a.Value(i)
		}
	case *array.Binary:
		for i := range buf {
			buf[i] = unsafeString(a.Value(i))
		}
	case *array.LargeBinary:
		for i := range buf {
			buf[i] = unsafeString(a.Value(i))
		}
	default:
		clear(buf)
	}
	return buf
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// validity returns a's validity bitmap and offset, or nil when a has no
// nulls. Row i is valid when bitutil.BitIsSet(bm, off+i).
func validity(a arrow.Array) (bm []byte, off int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	return a.NullBitmapBytes(), a.Data().Offset()
}

// resize returns s with length n, reusing its capacity; the contents are
// unspecified.
func resize[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	return make([]T, n, max(n, 2*cap(s)))
}

// grow extends s to length n with zero values, reusing capacity; a shorter
// n leaves s as it is.
func grow[T any](s []T, n int) []T {
	old := len(s)
	if n <= old {
		return s
	}
	s = slices.Grow(s, n-old)[:n]
	clear(s[old:])
	return s
}

func cmpNum[T numeric](a, b T) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	an, bn := a != a, b != b
	switch {
	case an == bn:
		return 0
	case an:
		return 1
	}
	return -1
}

// canonBits returns the canonical 64-bit form of a numeric value: integers
// sign- or zero-extended, floats widened to float64 with -0.0 as 0.0 and
// every NaN as 0x7ff8000000000000.
func canonBits[T numeric](cls numClass) func(T) uint64 {
	switch cls {
	case clsSigned:
		return func(v T) uint64 { return uint64(int64(v)) }
	case clsUnsigned:
		return func(v T) uint64 { return uint64(v) }
	}
	return func(v T) uint64 {
		f := float64(v)
		if f != f {
			return 0x7ff8000000000000
		}
		if f == 0 {
			return 0
		}
		return math.Float64bits(f)
	}
}

func hashBits(x uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	return xxhash.Sum64(b[:])
}

func numCodec[T numeric](s spec) *codec[T] {
	cls := classOf(s.in.ID())
	canon := canonBits[T](cls)
	c := &codec[T]{
		name: s.name,
		typ:  s.in,
		load: numValues[T],
		cmp:  cmpNum[T],
		own:  func(v T) T { return v },
		app:  numAppender[T](s.in),
		hash: func(v T) uint64 { return hashBits(canon(v)) },
		heap: func(T) int { return 0 },
	}
	switch cls {
	case clsSigned:
		c.enc = func(dst []byte, v T) []byte { return binary.AppendVarint(dst, int64(v)) }
		c.dec = func(src []byte) (T, []byte, bool) {
			x, n := binary.Varint(src)
			if n <= 0 || int64(T(x)) != x {
				return 0, src, false
			}
			return T(x), src[n:], true
		}
	case clsUnsigned:
		c.enc = func(dst []byte, v T) []byte { return binary.AppendUvarint(dst, uint64(v)) }
		c.dec = func(src []byte) (T, []byte, bool) {
			x, n := binary.Uvarint(src)
			if n <= 0 || uint64(T(x)) != x || (s.in.ID() == arrow.BOOL && x > 1) {
				return 0, src, false
			}
			return T(x), src[n:], true
		}
	case clsFloat32:
		c.enc = func(dst []byte, v T) []byte {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(v)))
		}
		c.dec = func(src []byte) (T, []byte, bool) {
			if len(src) < 4 {
				return 0, src, false
			}
			return T(math.Float32frombits(binary.LittleEndian.Uint32(src))), src[4:], true
		}
	case clsFloat64:
		c.enc = func(dst []byte, v T) []byte {
			return binary.LittleEndian.AppendUint64(dst, math.Float64bits(float64(v)))
		}
		c.dec = func(src []byte) (T, []byte, bool) {
			if len(src) < 8 {
				return 0, src, false
			}
			return T(math.Float64frombits(binary.LittleEndian.Uint64(src))), src[8:], true
		}
	}
	return c
}

// numAppender returns a function appending a value of storage type T to a
// builder of dt.
func numAppender[T numeric](dt arrow.DataType) func(array.Builder, T) {
	switch dt.ID() {
	case arrow.INT8:
		return func(b array.Builder, v T) { b.(*array.Int8Builder).Append(int8(v)) }
	case arrow.INT16:
		return func(b array.Builder, v T) { b.(*array.Int16Builder).Append(int16(v)) }
	case arrow.INT32:
		return func(b array.Builder, v T) { b.(*array.Int32Builder).Append(int32(v)) }
	case arrow.INT64:
		return func(b array.Builder, v T) { b.(*array.Int64Builder).Append(int64(v)) }
	case arrow.UINT8:
		return func(b array.Builder, v T) { b.(*array.Uint8Builder).Append(uint8(v)) }
	case arrow.UINT16:
		return func(b array.Builder, v T) { b.(*array.Uint16Builder).Append(uint16(v)) }
	case arrow.UINT32:
		return func(b array.Builder, v T) { b.(*array.Uint32Builder).Append(uint32(v)) }
	case arrow.UINT64:
		return func(b array.Builder, v T) { b.(*array.Uint64Builder).Append(uint64(v)) }
	case arrow.FLOAT32:
		return func(b array.Builder, v T) { b.(*array.Float32Builder).Append(float32(v)) }
	case arrow.FLOAT64:
		return func(b array.Builder, v T) { b.(*array.Float64Builder).Append(float64(v)) }
	case arrow.BOOL:
		return func(b array.Builder, v T) { b.(*array.BooleanBuilder).Append(v != 0) }
	case arrow.DATE32:
		return func(b array.Builder, v T) { b.(*array.Date32Builder).Append(arrow.Date32(v)) }
	case arrow.DATE64:
		return func(b array.Builder, v T) { b.(*array.Date64Builder).Append(arrow.Date64(v)) }
	case arrow.TIME32:
		return func(b array.Builder, v T) { b.(*array.Time32Builder).Append(arrow.Time32(v)) }
	case arrow.TIME64:
		return func(b array.Builder, v T) { b.(*array.Time64Builder).Append(arrow.Time64(v)) }
	case arrow.TIMESTAMP:
		return func(b array.Builder, v T) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(v)) }
	case arrow.DURATION:
		return func(b array.Builder, v T) { b.(*array.DurationBuilder).Append(arrow.Duration(v)) }
	}
	panic("agg: no builder for " + dt.String())
}

func bytesCodec(s spec) *codec[string] {
	c := &codec[string]{
		name: s.name,
		typ:  s.in,
		load: bytesValues,
		cmp:  strings.Compare,
		own:  strings.Clone,
		enc: func(dst []byte, v string) []byte {
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			return append(dst, v...)
		},
		dec: func(src []byte) (string, []byte, bool) {
			n, k := binary.Uvarint(src)
			if k <= 0 || n > uint64(len(src)-k) {
				return "", src, false
			}
			return string(src[k : k+int(n)]), src[k+int(n):], true
		},
		hash: func(v string) uint64 { return xxhash.Sum64String(v) },
		heap: func(v string) int { return len(v) },
	}
	switch s.in.ID() {
	case arrow.STRING:
		c.app = func(b array.Builder, v string) { b.(*array.StringBuilder).Append(v) }
	case arrow.LARGE_STRING:
		c.app = func(b array.Builder, v string) { b.(*array.LargeStringBuilder).Append(v) }
	default:
		c.app = func(b array.Builder, v string) { b.(*array.BinaryBuilder).AppendString(v) }
	}
	return c
}

// State reading helpers: each returns ok=false on malformed input.

func readByte(src []byte) (byte, []byte, bool) {
	if len(src) == 0 {
		return 0, src, false
	}
	return src[0], src[1:], true
}

func readUvarint(src []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(src)
	if n <= 0 {
		return 0, src, false
	}
	return v, src[n:], true
}

func readVarint(src []byte) (int64, []byte, bool) {
	v, n := binary.Varint(src)
	if n <= 0 {
		return 0, src, false
	}
	return v, src[n:], true
}

func readFloat64(src []byte) (float64, []byte, bool) {
	if len(src) < 8 {
		return 0, src, false
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(src)), src[8:], true
}

func appendFloat64(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}

// sliceBytes is the memory a slice's backing array holds.
func sliceBytes[T any](s []T) int64 {
	var z T
	return int64(cap(s)) * int64(unsafe.Sizeof(z))
}

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

func appendVarint(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
