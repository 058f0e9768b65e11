package decode

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file holds the column builders the decoders append to. Unlike
// arrow-go's builders they can be truncated back to an earlier length
// (with their children), which is how a malformed record's half-written
// values are taken back, and they append without interface calls.

type kind uint8

const (
	kNull kind = iota
	kBool
	kInt8
	kInt16
	kInt32
	kInt64
	kFloat32
	kFloat64
	kDecimal
	kString
	kBinary
	kDate
	kTimestamp
	kStruct
	kList
	kMap
)

// growBuf is a byte buffer allocated from an Arrow allocator that grows
// as values are appended; p is the whole allocation, n the bytes used.
// With no allocator it is scratch space in Go memory.
type growBuf struct {
	mem memory.Allocator
	b   *memory.Buffer
	p   []byte
	n   int
}

func (g *growBuf) reserve(extra int) {
	if g.n+extra <= len(g.p) {
		return
	}
	g.grow(extra)
}

func (g *growBuf) grow(extra int) {
	g.setCap(max(2*len(g.p), g.n+extra, 64))
}

// setCap reallocates the buffer to hold capacity bytes, keeping its
// contents.
func (g *growBuf) setCap(capacity int) {
	if g.mem == nil {
		// Scratch space in Go memory.
		p := make([]byte, capacity)
		copy(p, g.p[:g.n])
		g.p = p
		return
	}
	if g.b == nil {
		g.b = memory.NewResizableBuffer(g.mem)
	}
	g.b.Reserve(capacity)
	g.p = g.b.Buf()
}

// reserveTotal makes room for total bytes in all.
func (g *growBuf) reserveTotal(total int) {
	if total > len(g.p) {
		g.setCap(total)
	}
}

func (g *growBuf) release() {
	if g.b != nil {
		g.b.Release()
	}
	g.b, g.p, g.n = nil, nil, 0
}

// take hands the buffer, sized to n bytes, to the caller (who releases
// it) and leaves g empty. It returns nil when nothing was allocated.
func (g *growBuf) take() *memory.Buffer {
	b := g.b
	if b != nil {
		b.ResizeNoShrink(g.n)
	}
	g.b, g.p, g.n = nil, nil, 0
	return b
}

// field is the compiled, immutable description of one field of the
// schema, shared by every Decode call.
type field struct {
	kind  kind
	typ   arrow.DataType
	name  string // the field path, for errors
	width int    // bytes per value for fixed-width kinds
	sub   []*field
	// struct fields by name (the corrupt record column left out) and in
	// schema order.
	index map[string]int
	names []string
	// corrupt is the index of the corrupt record child of a root struct,
	// or -1.
	corrupt int
	// decimal
	precision, scale int32
	// timestamp: micros are multiplied by mul, or divided by div.
	mul, div int64
}

func compileField(t arrow.DataType, name string) *field {
	f := &field{typ: t, name: name, corrupt: -1}
	switch tt := t.(type) {
	case *arrow.NullType:
		f.kind = kNull
	case *arrow.BooleanType:
		f.kind = kBool
	case *arrow.Int8Type:
		f.kind, f.width = kInt8, 1
	case *arrow.Int16Type:
		f.kind, f.width = kInt16, 2
	case *arrow.Int32Type:
		f.kind, f.width = kInt32, 4
	case *arrow.Int64Type:
		f.kind, f.width = kInt64, 8
	case *arrow.Float32Type:
		f.kind, f.width = kFloat32, 4
	case *arrow.Float64Type:
		f.kind, f.width = kFloat64, 8
	case *arrow.Decimal128Type:
		f.kind, f.width = kDecimal, 16
		f.precision, f.scale = tt.Precision, tt.Scale
	case *arrow.StringType:
		f.kind = kString
	case *arrow.BinaryType:
		f.kind = kBinary
	case *arrow.Date32Type:
		f.kind, f.width = kDate, 4
	case *arrow.TimestampType:
		f.kind, f.width = kTimestamp, 8
		f.mul, f.div = 1, 1
		switch tt.Unit {
		case arrow.Second:
			f.div = 1000000
		case arrow.Millisecond:
			f.div = 1000
		case arrow.Nanosecond:
			f.mul = 1000
		}
	case *arrow.StructType:
		f.kind = kStruct
		f.index = make(map[string]int, tt.NumFields())
		for i, sf := range tt.Fields() {
			f.sub = append(f.sub, compileField(sf.Type, join(name, sf.Name)))
			f.index[sf.Name] = i
			f.names = append(f.names, sf.Name)
		}
	case *arrow.MapType:
		f.kind = kMap
		f.sub = []*field{compileField(tt.KeyType(), name+".key"), compileField(tt.ItemType(), name+".value")}
	case *arrow.ListType:
		f.kind = kList
		f.sub = []*field{compileField(tt.Elem(), name+"[]")}
	default:
		panic("decode: unsupported type " + t.String()) // refused by supported
	}
	return f
}

// column accumulates the values of one field during one Decode call.
type column struct {
	*field
	n     int     // values appended
	valid growBuf // validity bitmap: n bits
	data  growBuf // fixed-width values, boolean bits, or var-width bytes
	offs  growBuf // int32 offsets (n+1) for string, binary, list, map
	kids  []*column
	// hint is the struct field expected next: records usually list their
	// fields in the same order.
	hint int
}

func newColumn(f *field, mem memory.Allocator) *column {
	c := &column{field: f}
	c.valid.mem, c.data.mem, c.offs.mem = mem, mem, mem
	for _, k := range f.sub {
		c.kids = append(c.kids, newColumn(k, mem))
	}
	if c.kind == kString || c.kind == kBinary || c.kind == kList || c.kind == kMap {
		c.offs.reserve(4)
		c.offs.n = 4 // offsets[0] = 0
		binary.LittleEndian.PutUint32(c.offs.p, 0)
	}
	return c
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (c *column) release() {
	c.valid.release()
	c.data.release()
	c.offs.release()
	for _, k := range c.kids {
		k.release()
	}
}

// bit sets validity bit n to v and counts the value.
func (c *column) bit(v bool) {
	i := c.n
	if i>>3 >= len(c.valid.p) {
		c.valid.grow(i>>3 + 1 - c.valid.n)
	}
	if v {
		c.valid.p[i>>3] |= 1 << (i & 7)
	} else {
		c.valid.p[i>>3] &^= 1 << (i & 7)
	}
	c.valid.n = i>>3 + 1
	c.n++
}

// appendNull appends a null of any kind.
func (c *column) appendNull() {
	switch c.kind {
	case kNull:
	case kBool:
		c.boolBit(false)
	case kString, kBinary:
		c.pushOffset(c.data.n)
	case kList, kMap:
		c.pushOffset(c.kids[0].n)
	case kStruct:
		for _, k := range c.kids {
			k.appendNull()
		}
	default:
		c.data.reserve(c.width)
		clear(c.data.p[c.data.n : c.data.n+c.width])
		c.data.n += c.width
	}
	c.bit(false)
}

func (c *column) boolBit(v bool) {
	i := c.n
	if i>>3 >= len(c.data.p) {
		c.data.grow(i>>3 + 1 - c.data.n)
	}
	if v {
		c.data.p[i>>3] |= 1 << (i & 7)
	} else {
		c.data.p[i>>3] &^= 1 << (i & 7)
	}
	c.data.n = i>>3 + 1
}

func (c *column) appendBool(v bool) {
	c.boolBit(v)
	c.bit(true)
}

func (c *column) pushOffset(o int) {
	c.offs.reserve(4)
	binary.LittleEndian.PutUint32(c.offs.p[c.offs.n:], uint32(o))
	c.offs.n += 4
}

// offset returns offsets[i].
func (c *column) offset(i int) int {
	return int(binary.LittleEndian.Uint32(c.offs.p[4*i:]))
}

// appendInt appends v to an integer column whose range it fits.
func (c *column) appendInt(v int64) {
	c.data.reserve(8)
	p := c.data.p[c.data.n:]
	switch c.width {
	case 1:
		p[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(p, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(p, uint32(v))
	default:
		binary.LittleEndian.PutUint64(p, uint64(v))
	}
	c.data.n += c.width
	c.bit(true)
}

func (c *column) appendFloat(v float64) {
	c.data.reserve(8)
	if c.kind == kFloat32 {
		binary.LittleEndian.PutUint32(c.data.p[c.data.n:], math.Float32bits(float32(v)))
	} else {
		binary.LittleEndian.PutUint64(c.data.p[c.data.n:], math.Float64bits(v))
	}
	c.data.n += c.width
	c.bit(true)
}

func (c *column) appendDecimal(lo uint64, hi int64) {
	c.data.reserve(16)
	binary.LittleEndian.PutUint64(c.data.p[c.data.n:], lo)
	binary.LittleEndian.PutUint64(c.data.p[c.data.n+8:], uint64(hi))
	c.data.n += 16
	c.bit(true)
}

// appendMicros appends a timestamp given in microseconds, converted to
// the column's unit; it reports false when that overflows.
func (c *column) appendMicros(us int64) bool {
	v := us
	if c.mul != 1 {
		if us > math.MaxInt64/c.mul || us < math.MinInt64/c.mul {
			return false
		}
		v = us * c.mul
	} else if c.div != 1 {
		v = floorDiv(us, c.div)
	}
	c.appendInt(v)
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// appendBytes appends a string or binary value.
func (c *column) appendBytes(b []byte) {
	c.data.reserve(len(b))
	copy(c.data.p[c.data.n:], b)
	c.data.n += len(b)
	c.endBytes()
}

// endBytes ends a string or binary value whose bytes were written to
// c.data directly.
func (c *column) endBytes() {
	c.pushOffset(c.data.n)
	c.bit(true)
}

// endNested ends a list or map value whose elements were appended to the
// child.
func (c *column) endNested() {
	c.pushOffset(c.kids[0].n)
	c.bit(true)
}

// truncate takes the column back to its first n values (n <= c.n),
// children included, also discarding a value being written (a struct's
// fields or a list's elements appended before the value itself).
func (c *column) truncate(n int) {
	switch c.kind {
	case kNull:
	case kBool:
		c.data.n = (n + 7) >> 3
	case kString, kBinary:
		c.data.n = c.offset(n)
		c.offs.n = 4 * (n + 1)
	case kList, kMap:
		for _, k := range c.kids {
			k.truncate(c.offset(n))
		}
		c.offs.n = 4 * (n + 1)
	case kStruct:
		for _, k := range c.kids {
			k.truncate(n)
		}
	default:
		c.data.n = n * c.width
	}
	c.n = n
	c.valid.n = (n + 7) >> 3
}

// checkSize reports a string, binary, list or map column (here or
// nested) holding more than 32-bit offsets can address.
func (c *column) checkSize() error {
	big := false
	switch c.kind {
	case kString, kBinary:
		big = c.data.n > math.MaxInt32
	case kList, kMap:
		big = c.kids[0].n > math.MaxInt32
	}
	if big {
		return fmt.Errorf("decode: field %s holds more than 2 GiB in one batch; decode smaller batches", c.name)
	}
	for _, k := range c.kids {
		if err := k.checkSize(); err != nil {
			return err
		}
	}
	return nil
}

// finish turns the column into Arrow array data (owned by the caller)
// and leaves the column empty. Call checkSize first.
func (c *column) finish() arrow.ArrayData {
	n := c.n
	var validity *memory.Buffer
	nulls := n
	if c.kind != kNull {
		nulls = n - bitutil.CountSetBits(c.valid.p, 0, n)
	}
	if nulls > 0 && c.kind != kNull {
		validity = c.valid.take()
	} else {
		c.valid.release()
	}
	var bufs []*memory.Buffer
	var kids []arrow.ArrayData
	switch c.kind {
	case kNull:
		bufs = []*memory.Buffer{nil}
	case kString, kBinary:
		bufs = []*memory.Buffer{validity, c.offs.take(), c.data.take()}
	case kList:
		kids = []arrow.ArrayData{c.kids[0].finish()}
		bufs = []*memory.Buffer{validity, c.offs.take()}
	case kMap:
		// A map's child is the struct of its keys and values.
		keys, vals := c.kids[0].finish(), c.kids[1].finish()
		entries := array.NewData(c.typ.(*arrow.MapType).Elem(), keys.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{keys, vals}, 0, 0)
		keys.Release()
		vals.Release()
		kids = []arrow.ArrayData{entries}
		bufs = []*memory.Buffer{validity, c.offs.take()}
	case kStruct:
		for _, k := range c.kids {
			kids = append(kids, k.finish())
		}
		bufs = []*memory.Buffer{validity}
	default:
		bufs = []*memory.Buffer{validity, c.data.take()}
	}
	d := array.NewData(c.typ, n, bufs, kids, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	for _, k := range kids {
		k.Release()
	}
	c.n = 0
	return d
}

// presizeAfter is the number of records decoded before the buffers are
// sized for the whole input, from what those records took.
const presizeAfter = 64

// presize reserves room for total rows from what the first done rows
// took, so that large inputs are not copied over and over as buffers
// double.
func (c *column) presize(done, total int) {
	for _, g := range [...]*growBuf{&c.valid, &c.data, &c.offs} {
		if g.n > 0 {
			g.reserveTotal(int(int64(g.n)*int64(total)/int64(done)) + 64)
		}
	}
	for _, k := range c.kids {
		k.presize(done, total)
	}
}
