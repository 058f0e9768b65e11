package incremental

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
)

// This file holds the grouping-key encoding of the aggregation operator
// and its batch-local hash table. A key is encoded column by column, each
// column as a validity byte (0 null, 1 valid) followed by its value:
// fixed-width types as their little-endian bytes (zeros when null; floats
// with -0.0 made 0.0 and every NaN the same NaN, so equal values group
// together), strings and binaries as a uvarint length and the bytes,
// structs as their fields in order, lists as a uvarint count and the
// elements. The encoding is part of the state format
// (docs/format/aggregate-state.md): keys in the state store are these
// bytes.

// keyColumn encodes one column of grouping keys.
type keyColumn struct {
	typ   arrow.DataType
	width int // bytes per row including the validity byte; -1 if variable
}

func newKeyColumn(t arrow.DataType) keyColumn {
	return keyColumn{typ: t, width: fixedKeyWidth(t)}
}

// fixedKeyWidth is the encoded size of a value of t with its validity
// byte, or -1 when values of t have variable size.
func fixedKeyWidth(t arrow.DataType) int {
	switch t.ID() {
	case arrow.BOOL, arrow.INT8, arrow.UINT8:
		return 2
	case arrow.INT16, arrow.UINT16, arrow.FLOAT16:
		return 3
	case arrow.INT32, arrow.UINT32, arrow.FLOAT32, arrow.DATE32, arrow.TIME32:
		return 5
	case arrow.INT64, arrow.UINT64, arrow.FLOAT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION:
		return 9
	case arrow.STRUCT:
		w := 1
		for _, f := range t.(*arrow.StructType).Fields() {
			fw := fixedKeyWidth(f.Type)
			if fw < 0 {
				return -1
			}
			w += fw
		}
		return w
	}
	return -1
}

// encodeFixed writes each row of arr at rows[i*stride+off:], for a
// fixed-width column. Rows that are null get a zero validity byte and
// zero value bytes.
func (k keyColumn) encodeFixed(arr arrow.Array, rows []byte, stride, off int) {
	n := arr.Len()
	if k.typ.ID() == arrow.STRUCT || k.typ.ID() == arrow.BOOL || k.typ.ID() == arrow.FLOAT32 || k.typ.ID() == arrow.FLOAT64 {
		for i := 0; i < n; i++ {
			p := i*stride + off
			appendKeyValue(rows[p:p:p+k.width], arr, i)
		}
		return
	}
	vw := k.width - 1
	data := arr.Data()
	raw := data.Buffers()[1].Bytes()[data.Offset()*vw:]
	if arr.NullN() == 0 {
		switch vw {
		case 8: // the common width: one word per row, no copy call
			for i := 0; i < n; i++ {
				p := i*stride + off
				rows[p] = 1
				binary.LittleEndian.PutUint64(rows[p+1:], binary.LittleEndian.Uint64(raw[i*8:]))
			}
		case 4:
			for i := 0; i < n; i++ {
				p := i*stride + off
				rows[p] = 1
				binary.LittleEndian.PutUint32(rows[p+1:], binary.LittleEndian.Uint32(raw[i*4:]))
			}
		default:
			for i := 0; i < n; i++ {
				p := i*stride + off
				rows[p] = 1
				copy(rows[p+1:p+1+vw], raw[i*vw:i*vw+vw])
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		p := i*stride + off
		if arr.IsNull(i) {
			clear(rows[p : p+k.width])
			continue
		}
		rows[p] = 1
		copy(rows[p+1:p+1+vw], raw[i*vw:i*vw+vw])
	}
}

// appendKeyValue appends the encoding of row i of arr to dst.
func appendKeyValue(dst []byte, arr arrow.Array, i int) []byte {
	if arr.IsNull(i) {
		dst = append(dst, 0)
		if w := fixedKeyWidth(arr.DataType()); w > 0 {
			for j := 1; j < w; j++ {
				dst = append(dst, 0)
			}
		}
		return dst
	}
	dst = append(dst, 1)
	switch a := arr.(type) {
	case *array.Boolean:
		if a.Value(i) {
			return append(dst, 1)
		}
		return append(dst, 0)
	case *array.Float32:
		v := a.Value(i)
		if v == 0 {
			v = 0
		}
		b := math.Float32bits(v)
		if v != v {
			b = 0x7fc00000
		}
		return binary.LittleEndian.AppendUint32(dst, b)
	case *array.Float64:
		v := a.Value(i)
		if v == 0 {
			v = 0
		}
		b := math.Float64bits(v)
		if v != v {
			b = 0x7ff8000000000001
		}
		return binary.LittleEndian.AppendUint64(dst, b)
	case *array.String:
		s := a.Value(i)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	case *array.LargeString:
		s := a.Value(i)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	case *array.Binary:
		s := a.Value(i)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	case *array.LargeBinary:
		s := a.Value(i)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	case *array.Struct:
		for f := 0; f < a.NumField(); f++ {
			dst = appendKeyValue(dst, a.Field(f), i)
		}
		return dst
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		dst = binary.AppendUvarint(dst, uint64(end-start))
		vals := a.ListValues()
		for j := start; j < end; j++ {
			dst = appendKeyValue(dst, vals, int(j))
		}
		return dst
	}
	w := fixedKeyWidth(arr.DataType())
	if w < 0 {
		panic(fmt.Sprintf("incremental: grouping key of type %s has no encoding", arr.DataType()))
	}
	data := arr.Data()
	vw := w - 1
	raw := data.Buffers()[1].Bytes()[(data.Offset()+i)*vw:]
	return append(dst, raw[:vw]...)
}

// decodeKeyValue appends the value encoded at the start of key to b and
// returns the rest of key.
func decodeKeyValue(b array.Builder, key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("key ends before a %s value", b.Type())
	}
	valid := key[0] == 1
	key = key[1:]
	if w := fixedKeyWidth(b.Type()); w > 0 && !valid {
		if len(key) < w-1 {
			return nil, fmt.Errorf("key ends inside a %s value", b.Type())
		}
		b.AppendNull()
		return key[w-1:], nil
	}
	if !valid {
		b.AppendNull()
		return key, nil
	}
	need := func(n int) error {
		if len(key) < n {
			return fmt.Errorf("key ends inside a %s value", b.Type())
		}
		return nil
	}
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(key); key = key[8:]; return v }
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(key); key = key[4:]; return v }
	u16 := func() uint16 { v := binary.LittleEndian.Uint16(key); key = key[2:]; return v }
	varBytes := func() ([]byte, error) {
		n, sz := binary.Uvarint(key)
		if sz <= 0 || uint64(len(key)-sz) < n {
			return nil, fmt.Errorf("key has a bad length in a %s value", b.Type())
		}
		v := key[sz : sz+int(n)]
		key = key[sz+int(n):]
		return v, nil
	}
	if w := fixedKeyWidth(b.Type()); w > 0 && b.Type().ID() != arrow.STRUCT {
		if err := need(w - 1); err != nil {
			return nil, err
		}
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(key[0] == 1)
		key = key[1:]
	case *array.Int8Builder:
		bb.Append(int8(key[0]))
		key = key[1:]
	case *array.Uint8Builder:
		bb.Append(key[0])
		key = key[1:]
	case *array.Int16Builder:
		bb.Append(int16(u16()))
	case *array.Uint16Builder:
		bb.Append(u16())
	case *array.Float16Builder:
		bb.Append(float16.FromBits(u16()))
	case *array.Int32Builder:
		bb.Append(int32(u32()))
	case *array.Uint32Builder:
		bb.Append(u32())
	case *array.Float32Builder:
		bb.Append(math.Float32frombits(u32()))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(u32()))
	case *array.Time32Builder:
		bb.Append(arrow.Time32(u32()))
	case *array.Int64Builder:
		bb.Append(int64(u64()))
	case *array.Uint64Builder:
		bb.Append(u64())
	case *array.Float64Builder:
		bb.Append(math.Float64frombits(u64()))
	case *array.Date64Builder:
		bb.Append(arrow.Date64(u64()))
	case *array.Time64Builder:
		bb.Append(arrow.Time64(u64()))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(u64()))
	case *array.DurationBuilder:
		bb.Append(arrow.Duration(u64()))
	case *array.StringBuilder:
		v, err := varBytes()
		if err != nil {
			return nil, err
		}
		bb.BinaryBuilder.Append(v)
	case *array.LargeStringBuilder:
		v, err := varBytes()
		if err != nil {
			return nil, err
		}
		bb.BinaryBuilder.Append(v)
	case *array.BinaryBuilder:
		v, err := varBytes()
		if err != nil {
			return nil, err
		}
		bb.Append(v)
	case *array.StructBuilder:
		bb.Append(true)
		for f := 0; f < bb.NumField(); f++ {
			var err error
			if key, err = decodeKeyValue(bb.FieldBuilder(f), key); err != nil {
				return nil, err
			}
		}
	case array.ListLikeBuilder:
		n, sz := binary.Uvarint(key)
		if sz <= 0 {
			return nil, fmt.Errorf("key has a bad element count in a %s value", b.Type())
		}
		key = key[sz:]
		bb.Append(true)
		for j := uint64(0); j < n; j++ {
			var err error
			if key, err = decodeKeyValue(bb.ValueBuilder(), key); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("no key decoding for %s", b.Type())
	}
	return key, nil
}

// groupTable maps encoded keys to dense group ids for one batch. Keys of
// a fixed width live in one flat byte slice indexed by an open-addressing
// table of group ids; variable-width keys use a Go map.
type groupTable struct {
	width  int // fixed key width, or -1
	keys   []byte
	slots  []int32
	hashes []uint64
	mask   uint64
	n      int

	vmap  map[string]int32
	vkeys []string
}

func newGroupTable(width int) *groupTable {
	t := &groupTable{width: width}
	if width < 0 {
		t.vmap = map[string]int32{}
	} else {
		t.resize(1024)
	}
	return t
}

func (t *groupTable) resize(nslots int) {
	t.slots = make([]int32, nslots)
	for i := range t.slots {
		t.slots[i] = -1
	}
	t.mask = uint64(nslots - 1)
	for g := 0; g < t.n; g++ {
		s := t.hashes[g] & t.mask
		for t.slots[s] >= 0 {
			s = (s + 1) & t.mask
		}
		t.slots[s] = int32(g)
	}
}

// Len is the number of groups.
func (t *groupTable) Len() int {
	if t.width < 0 {
		return len(t.vkeys)
	}
	return t.n
}

// Key returns group g's encoded key; it belongs to the table.
func (t *groupTable) Key(g int) []byte {
	if t.width < 0 {
		return []byte(t.vkeys[g])
	}
	return t.keys[g*t.width : (g+1)*t.width]
}

// Reset empties the table, keeping its memory.
func (t *groupTable) Reset() {
	if t.width < 0 {
		clear(t.vmap)
		t.vkeys = t.vkeys[:0]
		return
	}
	if t.n > 0 {
		for i := range t.slots {
			t.slots[i] = -1
		}
	}
	t.keys, t.hashes, t.n = t.keys[:0], t.hashes[:0], 0
}

// hashKey hashes a fixed-width key eight bytes at a time.
func hashKey(k []byte) uint64 {
	h := uint64(0x9E3779B97F4A7C15) ^ uint64(len(k))
	for len(k) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(k)) * 0xbf58476d1ce4e5b9
		h ^= h >> 29
		k = k[8:]
	}
	var tail uint64
	for i, c := range k {
		tail |= uint64(c) << (8 * i)
	}
	h = (h ^ tail) * 0x94d049bb133111eb
	h ^= h >> 31
	return h * 0x9E3779B97F4A7C15
}

// findFixed returns the group of key (width bytes), inserting it.
func (t *groupTable) findFixed(key []byte) int32 {
	h := hashKey(key)
	s := h & t.mask
	w := t.width
	for {
		g := t.slots[s]
		if g < 0 {
			break
		}
		if t.hashes[g] == h && keysEqual(t.keys[int(g)*w:int(g)*w+w], key) {
			return g
		}
		s = (s + 1) & t.mask
	}
	g := int32(t.n)
	t.slots[s] = g
	t.keys = append(t.keys, key...)
	t.hashes = append(t.hashes, h)
	t.n++
	if uint64(t.n)*2 > t.mask+1 {
		t.resize(len(t.slots) * 2)
	}
	return g
}

// findVar returns the group of a variable-width key, inserting it.
func (t *groupTable) findVar(key []byte) int32 {
	if g, ok := t.vmap[string(key)]; ok {
		return g
	}
	g := int32(len(t.vkeys))
	s := string(key)
	t.vmap[s] = g
	t.vkeys = append(t.vkeys, s)
	return g
}

// memoryBytes estimates the table's memory.
func (t *groupTable) memoryBytes() int64 {
	if t.width < 0 {
		var n int64
		for _, k := range t.vkeys {
			n += int64(len(k)) + 48
		}
		return n
	}
	return int64(cap(t.keys) + 4*cap(t.slots) + 8*cap(t.hashes))
}

// keysEqual compares two keys of one length eight bytes at a time.
func keysEqual(a, b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(a) != binary.LittleEndian.Uint64(b) {
			return false
		}
		a, b = a[8:], b[8:]
	}
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
