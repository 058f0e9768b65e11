package expr

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Hash functions, equal to Spark's for the same values:
//
//   - hash(x, ...) is Spark's Murmur3 x86 32-bit hash with seed 42, an int.
//   - xxhash64(x, ...) is XXH64 with seed 42, a bigint.
//
// Both fold their arguments left to right, each argument's hash seeding
// the next; a null argument leaves the running hash unchanged (so a row of
// nulls hashes to 42), and neither result is ever null. Values are hashed
// in Spark's encodings: booleans, bytes, shorts, ints and dates as a 4-byte
// int (true is 1); bigints and timestamps (in microseconds) as an 8-byte
// long; floats and doubles by their IEEE bits with -0.0 hashed as 0.0 and
// every NaN as the canonical NaN; strings and binary by their bytes
// (Murmur3 with Spark's own handling of a tail shorter than four bytes);
// decimals of precision up to 18 as the unscaled long, wider ones by the
// minimal two's-complement bytes of the unscaled value; arrays element by
// element, maps key then value per entry, structs field by field, nulls
// inside them skipped. Unsigned integers, which Spark lacks, hash as the
// int (uint8, uint16) or long (uint32, uint64) of the same value. The type
// decides the encoding: Lit(1) is a bigint (a Go int), so hash(Lit(1)) is
// Spark's hash(1L); Spark's hash(1) is hash(Lit(int32(1))).
//
//   - md5(x), sha1(x) (also sha) and sha2(x, bits) return the lower-case
//     hex digest of a binary or string value; sha2 takes bits 224, 256 (or
//     0, meaning 256), 384 or 512 and is null for any other number, as in
//     Spark.
//   - crc32(x) is the IEEE CRC-32 of the bytes, a bigint.

const sparkHashSeed = 42

func init() {
	register(&funcDef{name: "hash", minArgs: 1, maxArgs: -1, bind: bindHash(false)})
	register(&funcDef{name: "xxhash64", minArgs: 1, maxArgs: -1, bind: bindHash(true)})
	register(&funcDef{name: "md5", minArgs: 1, maxArgs: 1, bind: bindDigest(digestMD5)})
	for _, n := range []string{"sha1", "sha"} {
		register(&funcDef{name: n, minArgs: 1, maxArgs: 1, bind: bindDigest(digestSHA1)})
	}
	register(&funcDef{name: "sha2", minArgs: 2, maxArgs: 2, bind: bindSHA2})
	register(&funcDef{name: "crc32", minArgs: 1, maxArgs: 1, bind: bindCRC32})
}

// ---- hash, xxhash64 ----

// hashable reports whether values of t can be hashed, naming the first
// type that cannot.
func hashable(t arrow.DataType) (string, bool) {
	switch t := t.(type) {
	case *arrow.ListType:
		return hashable(t.Elem())
	case *arrow.LargeListType:
		return hashable(t.Elem())
	case *arrow.FixedSizeListType:
		return hashable(t.Elem())
	case *arrow.MapType:
		if s, ok := hashable(t.KeyType()); !ok {
			return s, false
		}
		return hashable(t.ItemType())
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if s, ok := hashable(f.Type); !ok {
				return s, false
			}
		}
		return "", true
	case *arrow.DictionaryType:
		return hashable(t.ValueType)
	}
	switch t.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128:
		return "", true
	}
	return t.String(), false
}

func bindHash(xx bool) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		for i, a := range args {
			if s, ok := hashable(a.dataType()); !ok {
				return nil, fmt.Errorf("expr: %w in %s: argument %d (%s) is %s, and values of type %s cannot be hashed; cast it to a supported type",
					ErrType, b.in(src), i+1, a, a.dataType(), s)
			}
		}
		typ := arrow.DataType(strInt32)
		if xx {
			typ = strInt64
		}
		return &bFunc{name: callName(src), src: src, args: args, typ: typ, null: false,
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if xx {
					buf := newFixedBuf(ev.mem, ev.rows, 8)
					h := arrow.Uint64Traits.CastFromBytes(buf.Bytes())
					for i := range h {
						h[i] = sparkHashSeed
					}
					if err := hashArgs(ev, vals, func(a arrow.Array) { xxColumn(a, h) }); err != nil {
						buf.Release()
						return val{}, fmt.Errorf("expr: %s: %w", src, err)
					}
					return fixedResult(strInt64, ev.rows, nil, 0, buf), nil
				}
				buf := newFixedBuf(ev.mem, ev.rows, 4)
				h := arrow.Uint32Traits.CastFromBytes(buf.Bytes())
				for i := range h {
					h[i] = sparkHashSeed
				}
				if err := hashArgs(ev, vals, func(a arrow.Array) { murmurColumn(a, h) }); err != nil {
					buf.Release()
					return val{}, fmt.Errorf("expr: %s: %w", src, err)
				}
				return fixedResult(strInt32, ev.rows, nil, 0, buf), nil
			}}, nil
	}
}

// hashArgs folds each argument into the running hashes with column; a
// null constant is skipped and another constant repeated.
func hashArgs(ev *evalCtx, vals []val, column func(arrow.Array)) error {
	for _, v := range vals {
		if v.arr == nil && !v.sc.IsValid() {
			continue
		}
		a, release, err := asArray(ev, v)
		if err != nil {
			return err
		}
		column(a)
		release()
	}
	return nil
}

// Murmur3 x86 32-bit, as Spark's Murmur3_x86_32.

func murmurMixK1(k uint32) uint32 {
	k *= 0xcc9e2d51
	k = bits.RotateLeft32(k, 15)
	return k * 0x1b873593
}

func murmurMixH1(h, k uint32) uint32 {
	h ^= k
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

func murmurFmix(h, n uint32) uint32 {
	h ^= n
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func murmurInt(v, seed uint32) uint32 {
	return murmurFmix(murmurMixH1(seed, murmurMixK1(v)), 4)
}

func murmurLong(v uint64, seed uint32) uint32 {
	h := murmurMixH1(seed, murmurMixK1(uint32(v)))
	h = murmurMixH1(h, murmurMixK1(uint32(v>>32)))
	return murmurFmix(h, 8)
}

// murmurBytes is Spark's hashUnsafeBytes: little-endian 4-byte words,
// then each remaining byte, sign-extended, mixed as a word of its own.
func murmurBytes(b []byte, seed uint32) uint32 {
	h := seed
	n := len(b)
	aligned := n - n%4
	for i := 0; i < aligned; i += 4 {
		h = murmurMixH1(h, murmurMixK1(binary.LittleEndian.Uint32(b[i:])))
	}
	for i := aligned; i < n; i++ {
		h = murmurMixH1(h, murmurMixK1(uint32(int32(int8(b[i])))))
	}
	return murmurFmix(h, uint32(n))
}

// XXH64, as Spark's XXH64.

const (
	xxP1 uint64 = 0x9E3779B185EBCA87
	xxP2 uint64 = 0xC2B2AE3D27D4EB4F
	xxP3 uint64 = 0x165667B19E3779F9
	xxP4 uint64 = 0x85EBCA77C2B2AE63
	xxP5 uint64 = 0x27D4EB2F165667C5
)

func xxFmix(h uint64) uint64 {
	h ^= h >> 33
	h *= xxP2
	h ^= h >> 29
	h *= xxP3
	h ^= h >> 32
	return h
}

func xxInt(v uint32, seed uint64) uint64 {
	h := seed + xxP5 + 4
	h ^= uint64(v) * xxP1
	h = bits.RotateLeft64(h, 23)*xxP2 + xxP3
	return xxFmix(h)
}

func xxLong(v, seed uint64) uint64 {
	h := seed + xxP5 + 8
	h ^= bits.RotateLeft64(v*xxP2, 31) * xxP1
	h = bits.RotateLeft64(h, 27)*xxP1 + xxP4
	return xxFmix(h)
}

func xxRound(acc, in uint64) uint64 {
	acc += in * xxP2
	return bits.RotateLeft64(acc, 31) * xxP1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*xxP1 + xxP4
}

func xxBytes(b []byte, seed uint64) uint64 {
	n := len(b)
	var h uint64
	i := 0
	if n >= 32 {
		v1, v2, v3, v4 := seed+xxP1+xxP2, seed+xxP2, seed, seed-xxP1
		for ; i+32 <= n; i += 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b[i:]))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[i+8:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[i+16:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[i+24:]))
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = seed + xxP5
	}
	h += uint64(n)
	for ; i+8 <= n; i += 8 {
		h ^= xxRound(0, binary.LittleEndian.Uint64(b[i:]))
		h = bits.RotateLeft64(h, 27)*xxP1 + xxP4
	}
	if i+4 <= n {
		h ^= uint64(binary.LittleEndian.Uint32(b[i:])) * xxP1
		h = bits.RotateLeft64(h, 23)*xxP2 + xxP3
		i += 4
	}
	for ; i < n; i++ {
		h ^= uint64(b[i]) * xxP5
		h = bits.RotateLeft64(h, 11) * xxP1
	}
	return xxFmix(h)
}

// floatBits is Java's floatToIntBits with -0.0 as 0.0: the bits Spark
// hashes for a float.
func floatBits(f float32) uint32 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7fc00000
	}
	return math.Float32bits(f)
}

// doubleBits is Java's doubleToLongBits with -0.0 as 0.0.
func doubleBits(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7ff8000000000000
	}
	return math.Float64bits(f)
}

// timestampMicros converts a timestamp value of unit to microseconds,
// rounding down.
func timestampMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1_000
	case arrow.Nanosecond:
		q := v / 1_000
		if v%1_000 < 0 {
			q--
		}
		return q
	}
	return v
}

// date64Days converts milliseconds to days, rounding down.
func date64Days(ms int64) int32 {
	q := ms / 86_400_000
	if ms%86_400_000 < 0 {
		q--
	}
	return int32(q)
}

// decimalBytes is Java's BigInteger.toByteArray of a 128-bit value: big
// endian two's complement, as few bytes as keep the sign.
func decimalBytes(n decimal128.Num, buf *[16]byte) []byte {
	binary.BigEndian.PutUint64(buf[:8], uint64(n.HighBits()))
	binary.BigEndian.PutUint64(buf[8:], n.LowBits())
	b := buf[:]
	for len(b) > 1 && ((b[0] == 0 && b[1]&0x80 == 0) || (b[0] == 0xff && b[1]&0x80 != 0)) {
		b = b[1:]
	}
	return b
}

// murmurInts folds the valid values of a flat integer column into h.
func murmurInts[T int8 | int16 | int32 | uint8 | uint16](vs []T, ok validityView, h []uint32) {
	for i, v := range vs {
		if ok.ok(i) {
			h[i] = murmurInt(uint32(int32(v)), h[i])
		}
	}
}

func murmurLongs[T int64 | uint32 | uint64](vs []T, ok validityView, h []uint32) {
	for i, v := range vs {
		if ok.ok(i) {
			h[i] = murmurLong(uint64(v), h[i])
		}
	}
}

// murmurColumn folds array a (of len(h) rows) into h: flat types in typed
// loops, nested ones value by value.
func murmurColumn(a arrow.Array, h []uint32) {
	ok := viewValidity(a.Data())
	switch a := a.(type) {
	case *array.Null:
	case *array.Boolean:
		for i := range h {
			if ok.ok(i) {
				var v uint32
				if a.Value(i) {
					v = 1
				}
				h[i] = murmurInt(v, h[i])
			}
		}
	case *array.Int8:
		murmurInts(a.Int8Values(), ok, h)
	case *array.Int16:
		murmurInts(a.Int16Values(), ok, h)
	case *array.Int32:
		murmurInts(a.Int32Values(), ok, h)
	case *array.Uint8:
		murmurInts(a.Uint8Values(), ok, h)
	case *array.Uint16:
		murmurInts(a.Uint16Values(), ok, h)
	case *array.Int64:
		murmurLongs(a.Int64Values(), ok, h)
	case *array.Uint32:
		murmurLongs(a.Uint32Values(), ok, h)
	case *array.Uint64:
		murmurLongs(a.Uint64Values(), ok, h)
	case *array.Date32:
		for i, v := range a.Date32Values() {
			if ok.ok(i) {
				h[i] = murmurInt(uint32(v), h[i])
			}
		}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		for i, v := range a.TimestampValues() {
			if ok.ok(i) {
				h[i] = murmurLong(uint64(timestampMicros(int64(v), unit)), h[i])
			}
		}
	case *array.Float32:
		for i, v := range a.Float32Values() {
			if ok.ok(i) {
				h[i] = murmurInt(floatBits(v), h[i])
			}
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			if ok.ok(i) {
				h[i] = murmurLong(doubleBits(v), h[i])
			}
		}
	case *array.String, *array.Binary:
		in := viewBinData(a.Data())
		for i := range h {
			if ok.ok(i) {
				h[i] = murmurBytes(in.data[in.offs[i]:in.offs[i+1]], h[i])
			}
		}
	default:
		for i := range h {
			if ok.ok(i) {
				h[i] = murmurAt(a, i, h[i])
			}
		}
	}
}

// murmurAt hashes the valid value i of a into h.
func murmurAt(a arrow.Array, i int, h uint32) uint32 {
	switch a := a.(type) {
	case *array.Null:
		return h
	case *array.Boolean:
		if a.Value(i) {
			return murmurInt(1, h)
		}
		return murmurInt(0, h)
	case *array.Int8:
		return murmurInt(uint32(int32(a.Value(i))), h)
	case *array.Int16:
		return murmurInt(uint32(int32(a.Value(i))), h)
	case *array.Int32:
		return murmurInt(uint32(a.Value(i)), h)
	case *array.Uint8:
		return murmurInt(uint32(a.Value(i)), h)
	case *array.Uint16:
		return murmurInt(uint32(a.Value(i)), h)
	case *array.Int64:
		return murmurLong(uint64(a.Value(i)), h)
	case *array.Uint32:
		return murmurLong(uint64(a.Value(i)), h)
	case *array.Uint64:
		return murmurLong(a.Value(i), h)
	case *array.Float32:
		return murmurInt(floatBits(a.Value(i)), h)
	case *array.Float64:
		return murmurLong(doubleBits(a.Value(i)), h)
	case *array.Date32:
		return murmurInt(uint32(a.Value(i)), h)
	case *array.Date64:
		return murmurInt(uint32(date64Days(int64(a.Value(i)))), h)
	case *array.Timestamp:
		return murmurLong(uint64(timestampMicros(int64(a.Value(i)), a.DataType().(*arrow.TimestampType).Unit)), h)
	case *array.String:
		return murmurBytes([]byte(a.Value(i)), h)
	case *array.LargeString:
		return murmurBytes([]byte(a.Value(i)), h)
	case *array.Binary:
		return murmurBytes(a.Value(i), h)
	case *array.LargeBinary:
		return murmurBytes(a.Value(i), h)
	case *array.Decimal32:
		return murmurLong(uint64(int64(a.Value(i))), h)
	case *array.Decimal64:
		return murmurLong(uint64(int64(a.Value(i))), h)
	case *array.Decimal128:
		n := a.Value(i)
		if a.DataType().(*arrow.Decimal128Type).Precision <= 18 {
			return murmurLong(n.LowBits(), h)
		}
		var buf [16]byte
		return murmurBytes(decimalBytes(n, &buf), h)
	case *array.Map:
		keys, items := a.Keys(), a.Items()
		lo, hi := a.ValueOffsets(i)
		for j := int(lo); j < int(hi); j++ {
			if keys.IsValid(j) {
				h = murmurAt(keys, j, h)
			}
			if items.IsValid(j) {
				h = murmurAt(items, j, h)
			}
		}
		return h
	case array.ListLike:
		child := a.ListValues()
		lo, hi := a.ValueOffsets(i)
		for j := int(lo); j < int(hi); j++ {
			if child.IsValid(j) {
				h = murmurAt(child, j, h)
			}
		}
		return h
	case *array.Struct:
		for k := range a.NumField() {
			if f := a.Field(k); f.IsValid(i) {
				h = murmurAt(f, i, h)
			}
		}
		return h
	case *array.Dictionary:
		d, j := a.Dictionary(), a.GetValueIndex(i)
		if d.IsValid(j) {
			return murmurAt(d, j, h)
		}
		return h
	}
	// hashable refused other types at Bind.
	panic(fmt.Sprintf("expr: hash of %s values", a.DataType()))
}

func xxInts[T int8 | int16 | int32 | uint8 | uint16](vs []T, ok validityView, h []uint64) {
	for i, v := range vs {
		if ok.ok(i) {
			h[i] = xxInt(uint32(int32(v)), h[i])
		}
	}
}

func xxLongs[T int64 | uint32 | uint64](vs []T, ok validityView, h []uint64) {
	for i, v := range vs {
		if ok.ok(i) {
			h[i] = xxLong(uint64(v), h[i])
		}
	}
}

// xxColumn folds array a (of len(h) rows) into h.
func xxColumn(a arrow.Array, h []uint64) {
	ok := viewValidity(a.Data())
	switch a := a.(type) {
	case *array.Null:
	case *array.Boolean:
		for i := range h {
			if ok.ok(i) {
				var v uint32
				if a.Value(i) {
					v = 1
				}
				h[i] = xxInt(v, h[i])
			}
		}
	case *array.Int8:
		xxInts(a.Int8Values(), ok, h)
	case *array.Int16:
		xxInts(a.Int16Values(), ok, h)
	case *array.Int32:
		xxInts(a.Int32Values(), ok, h)
	case *array.Uint8:
		xxInts(a.Uint8Values(), ok, h)
	case *array.Uint16:
		xxInts(a.Uint16Values(), ok, h)
	case *array.Int64:
		xxLongs(a.Int64Values(), ok, h)
	case *array.Uint32:
		xxLongs(a.Uint32Values(), ok, h)
	case *array.Uint64:
		xxLongs(a.Uint64Values(), ok, h)
	case *array.Date32:
		for i, v := range a.Date32Values() {
			if ok.ok(i) {
				h[i] = xxInt(uint32(v), h[i])
			}
		}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		for i, v := range a.TimestampValues() {
			if ok.ok(i) {
				h[i] = xxLong(uint64(timestampMicros(int64(v), unit)), h[i])
			}
		}
	case *array.Float32:
		for i, v := range a.Float32Values() {
			if ok.ok(i) {
				h[i] = xxInt(floatBits(v), h[i])
			}
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			if ok.ok(i) {
				h[i] = xxLong(doubleBits(v), h[i])
			}
		}
	case *array.String, *array.Binary:
		in := viewBinData(a.Data())
		for i := range h {
			if ok.ok(i) {
				h[i] = xxBytes(in.data[in.offs[i]:in.offs[i+1]], h[i])
			}
		}
	default:
		for i := range h {
			if ok.ok(i) {
				h[i] = xxAt(a, i, h[i])
			}
		}
	}
}

// xxAt hashes the valid value i of a into h.
func xxAt(a arrow.Array, i int, h uint64) uint64 {
	switch a := a.(type) {
	case *array.Null:
		return h
	case *array.Boolean:
		if a.Value(i) {
			return xxInt(1, h)
		}
		return xxInt(0, h)
	case *array.Int8:
		return xxInt(uint32(int32(a.Value(i))), h)
	case *array.Int16:
		return xxInt(uint32(int32(a.Value(i))), h)
	case *array.Int32:
		return xxInt(uint32(a.Value(i)), h)
	case *array.Uint8:
		return xxInt(uint32(a.Value(i)), h)
	case *array.Uint16:
		return xxInt(uint32(a.Value(i)), h)
	case *array.Int64:
		return xxLong(uint64(a.Value(i)), h)
	case *array.Uint32:
		return xxLong(uint64(a.Value(i)), h)
	case *array.Uint64:
		return xxLong(a.Value(i), h)
	case *array.Float32:
		return xxInt(floatBits(a.Value(i)), h)
	case *array.Float64:
		return xxLong(doubleBits(a.Value(i)), h)
	case *array.Date32:
		return xxInt(uint32(a.Value(i)), h)
	case *array.Date64:
		return xxInt(uint32(date64Days(int64(a.Value(i)))), h)
	case *array.Timestamp:
		return xxLong(uint64(timestampMicros(int64(a.Value(i)), a.DataType().(*arrow.TimestampType).Unit)), h)
	case *array.String:
		return xxBytes([]byte(a.Value(i)), h)
	case *array.LargeString:
		return xxBytes([]byte(a.Value(i)), h)
	case *array.Binary:
		return xxBytes(a.Value(i), h)
	case *array.LargeBinary:
		return xxBytes(a.Value(i), h)
	case *array.Decimal32:
		return xxLong(uint64(int64(a.Value(i))), h)
	case *array.Decimal64:
		return xxLong(uint64(int64(a.Value(i))), h)
	case *array.Decimal128:
		n := a.Value(i)
		if a.DataType().(*arrow.Decimal128Type).Precision <= 18 {
			return xxLong(n.LowBits(), h)
		}
		var buf [16]byte
		return xxBytes(decimalBytes(n, &buf), h)
	case *array.Map:
		keys, items := a.Keys(), a.Items()
		lo, hi := a.ValueOffsets(i)
		for j := int(lo); j < int(hi); j++ {
			if keys.IsValid(j) {
				h = xxAt(keys, j, h)
			}
			if items.IsValid(j) {
				h = xxAt(items, j, h)
			}
		}
		return h
	case array.ListLike:
		child := a.ListValues()
		lo, hi := a.ValueOffsets(i)
		for j := int(lo); j < int(hi); j++ {
			if child.IsValid(j) {
				h = xxAt(child, j, h)
			}
		}
		return h
	case *array.Struct:
		for k := range a.NumField() {
			if f := a.Field(k); f.IsValid(i) {
				h = xxAt(f, i, h)
			}
		}
		return h
	case *array.Dictionary:
		d, j := a.Dictionary(), a.GetValueIndex(i)
		if d.IsValid(j) {
			return xxAt(d, j, h)
		}
		return h
	}
	panic(fmt.Sprintf("expr: xxhash64 of %s values", a.DataType()))
}

// ---- md5, sha1, sha2, crc32 ----

type digestKind int

const (
	digestMD5 digestKind = iota
	digestSHA1
	digestSHA224
	digestSHA256
	digestSHA384
	digestSHA512
)

// digestLen is the digest size in bytes.
var digestLen = [...]int{digestMD5: md5.Size, digestSHA1: sha1.Size, digestSHA224: sha256.Size224,
	digestSHA256: sha256.Size, digestSHA384: sha512.Size384, digestSHA512: sha512.Size}

// appendHexDigest appends the lower-case hex digest of b.
func appendHexDigest(dst, b []byte, kind digestKind) []byte {
	var sum [sha512.Size]byte
	var d []byte
	switch kind {
	case digestMD5:
		s := md5.Sum(b)
		d = sum[:copy(sum[:], s[:])]
	case digestSHA1:
		s := sha1.Sum(b)
		d = sum[:copy(sum[:], s[:])]
	case digestSHA224:
		s := sha256.Sum224(b)
		d = sum[:copy(sum[:], s[:])]
	case digestSHA256:
		s := sha256.Sum256(b)
		d = sum[:copy(sum[:], s[:])]
	case digestSHA384:
		s := sha512.Sum384(b)
		d = sum[:copy(sum[:], s[:])]
	default:
		s := sha512.Sum512(b)
		d = sum[:copy(sum[:], s[:])]
	}
	n := len(dst)
	dst = dst[:n+2*len(d)]
	hex.Encode(dst[n:], d)
	return dst
}

// sha2Kind maps Spark's sha2 bit lengths to a digest; false for others.
func sha2Kind(bitLen int64) (digestKind, bool) {
	switch bitLen {
	case 0, 256:
		return digestSHA256, true
	case 224:
		return digestSHA224, true
	case 384:
		return digestSHA384, true
	case 512:
		return digestSHA512, true
	}
	return 0, false
}

func bindDigest(kind digestKind) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := textArg(b, src, args, 0, true, false)
		if err != nil {
			return nil, err
		}
		return &bFunc{name: callName(src), src: src, args: []bnode{x}, typ: strUTF8, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				return evalDigest(ev, src, vals[0], val{}, kind)
			}}, nil
	}
}

func bindSHA2(b *binder, src string, args []bnode) (bnode, error) {
	x, err := textArg(b, src, args, 0, true, false)
	if err != nil {
		return nil, err
	}
	n, err := strIntArg(b, src, args, 1)
	if err != nil {
		return nil, err
	}
	if c, ok := n.(*bLit); ok && c.sc.IsValid() {
		kind, ok := sha2Kind(c.sc.(*scalar.Int64).Value)
		if !ok {
			// Spark: null for an unsupported bit length.
			return &bLit{sc: scalar.MakeNullScalar(strUTF8)}, nil
		}
		return &bFunc{name: "sha2", src: src, args: []bnode{x}, typ: strUTF8, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				return evalDigest(ev, src, vals[0], val{}, kind)
			}}, nil
	}
	return &bFunc{name: "sha2", src: src, args: []bnode{x, n}, typ: strUTF8, null: true,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			return evalDigest(ev, src, vals[0], vals[1], 0)
		}}, nil
}

// evalDigest hex-encodes the digest of each value of x; with bitsV set,
// the digest of each row is sha2 of that row's bit length.
func evalDigest(ev *evalCtx, src string, x, bitsV val, kind digestKind) (val, error) {
	vals := []val{x}
	if bitsV.arr != nil || bitsV.sc != nil {
		vals = append(vals, bitsV)
	}
	if strHasNullArg(vals) {
		return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
	}
	in := viewBin(x)
	var bitLens i64View
	perRow := len(vals) == 2
	if perRow {
		bitLens = viewI64(bitsV)
	}
	valid, nulls := strValidity(ev, vals...)
	size := 2 * digestLen[kind]
	if perRow {
		size = 2 * sha512.Size
		if valid == nil {
			valid = newBitsBuf(ev.mem, ev.rows)
			for i := range ev.rows {
				valid.Bytes()[i>>3] |= 1 << (uint(i) & 7)
			}
		}
	}
	bits := validBytes(valid)
	w := newBinOut(ev.mem, ev.rows, 0)
	if err := w.room(size * ev.rows); err != nil {
		w.release()
		if valid != nil {
			valid.Release()
		}
		return val{}, fmt.Errorf("expr: %s: %w", src, err)
	}
	for i := range ev.rows {
		if !bitOK(bits, i) {
			w.end()
			continue
		}
		k := kind
		if perRow {
			var ok bool
			if k, ok = sha2Kind(bitLens.at(i)); !ok {
				bits[i>>3] &^= 1 << (uint(i) & 7)
				nulls++
				w.end()
				continue
			}
		}
		w.d = appendHexDigest(w.d, in.at(i), k)
		w.end()
	}
	return w.finish(strUTF8, valid, nulls)
}

func bindCRC32(b *binder, src string, args []bnode) (bnode, error) {
	x, err := textArg(b, src, args, 0, true, false)
	if err != nil {
		return nil, err
	}
	return &bFunc{name: "crc32", src: src, args: []bnode{x}, typ: strInt64, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strInt64)}, nil
			}
			in := viewBin(vals[0])
			valid, nulls := strValidity(ev, vals...)
			buf := newFixedBuf(ev.mem, ev.rows, 8)
			out := arrow.Int64Traits.CastFromBytes(buf.Bytes())
			for i := range out {
				out[i] = int64(crc32.ChecksumIEEE(in.at(i)))
			}
			return fixedResult(strInt64, ev.rows, valid, nulls, buf), nil
		}}, nil
}
