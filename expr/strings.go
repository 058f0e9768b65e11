package expr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// String functions, registered by their Spark names. They work on the
// offsets and data buffers of utf8 (and, where Spark allows it, binary)
// arrays directly, one pass per batch, with a constant argument read once
// rather than repeated into an array.
//
// Characters are Unicode code points of the UTF-8 text. Bytes that are not
// valid UTF-8 are kept as they are and each counts as one character (as
// utf8.RuneCount counts them); no function panics or rewrites them. Case
// mapping uses Unicode's one-to-one mappings (unicode.ToUpper and
// friends), so Java's context and length-changing special cases ("ß" to
// "SS", a final sigma) are not applied.
//
// Regular expressions (split, regexp_extract, regexp_replace) use Go's
// RE2 syntax, which covers Java's common constructs (classes, \d, \w,
// (?i), groups) but not backreferences or lookaround; a constant pattern
// is compiled once at Bind, and one RE2 cannot compile is a Bind error.
// Successive matches follow RE2: an empty match right after a match is
// skipped, where Java would report it.

func init() {
	for _, n := range []string{"lower", "lcase"} {
		register(&funcDef{name: n, minArgs: 1, maxArgs: 1, bind: bindCaseMap(caseLower)})
	}
	for _, n := range []string{"upper", "ucase"} {
		register(&funcDef{name: n, minArgs: 1, maxArgs: 1, bind: bindCaseMap(caseUpper)})
	}
	register(&funcDef{name: "initcap", minArgs: 1, maxArgs: 1, bind: bindCaseMap(caseTitle)})
	for _, n := range []string{"length", "char_length", "character_length", "len"} {
		register(&funcDef{name: n, minArgs: 1, maxArgs: 1, bind: bindLength(lenChars)})
	}
	register(&funcDef{name: "octet_length", minArgs: 1, maxArgs: 1, bind: bindLength(lenBytes)})
	register(&funcDef{name: "bit_length", minArgs: 1, maxArgs: 1, bind: bindLength(lenBits)})
	for _, n := range []string{"substring", "substr"} {
		register(&funcDef{name: n, minArgs: 2, maxArgs: 3, bind: bindSubstring})
	}
	register(&funcDef{name: "left", minArgs: 2, maxArgs: 2, bind: bindLeftRight(false)})
	register(&funcDef{name: "right", minArgs: 2, maxArgs: 2, bind: bindLeftRight(true)})
	register(&funcDef{name: "concat", minArgs: 0, maxArgs: -1, bind: bindConcat})
	register(&funcDef{name: "concat_ws", minArgs: 1, maxArgs: -1, bind: bindConcatWs})
	register(&funcDef{name: "trim", minArgs: 1, maxArgs: 2, bind: bindTrim(true, true)})
	register(&funcDef{name: "btrim", minArgs: 1, maxArgs: 2, bind: bindTrim(true, true)})
	register(&funcDef{name: "ltrim", minArgs: 1, maxArgs: 2, bind: bindTrim(true, false)})
	register(&funcDef{name: "rtrim", minArgs: 1, maxArgs: 2, bind: bindTrim(false, true)})
	register(&funcDef{name: "split", minArgs: 2, maxArgs: 3, bind: bindSplit})
	register(&funcDef{name: "replace", minArgs: 2, maxArgs: 3, bind: bindReplace})
	register(&funcDef{name: "regexp_extract", minArgs: 2, maxArgs: 3, bind: bindRegexpExtract})
	register(&funcDef{name: "regexp_replace", minArgs: 3, maxArgs: 4, bind: bindRegexpReplace})
	register(&funcDef{name: "lpad", minArgs: 2, maxArgs: 3, bind: bindPad(true)})
	register(&funcDef{name: "rpad", minArgs: 2, maxArgs: 3, bind: bindPad(false)})
	for _, n := range []string{"startswith", "starts_with"} {
		register(&funcDef{name: n, minArgs: 2, maxArgs: 2, bind: bindMatch(matchPrefix)})
	}
	for _, n := range []string{"endswith", "ends_with"} {
		register(&funcDef{name: n, minArgs: 2, maxArgs: 2, bind: bindMatch(matchSuffix)})
	}
	register(&funcDef{name: "contains", minArgs: 2, maxArgs: 2, bind: bindMatch(matchContains)})
	register(&funcDef{name: "instr", minArgs: 2, maxArgs: 2, bind: bindInstr})
	register(&funcDef{name: "locate", minArgs: 2, maxArgs: 3, bind: bindLocate})
	register(&funcDef{name: "position", minArgs: 2, maxArgs: 3, bind: bindLocate})
	register(&funcDef{name: "reverse", minArgs: 1, maxArgs: 1, bind: bindReverse})
	register(&funcDef{name: "repeat", minArgs: 2, maxArgs: 2, bind: bindRepeat})
	register(&funcDef{name: "ascii", minArgs: 1, maxArgs: 1, bind: bindASCII})
	for _, n := range []string{"chr", "char"} {
		register(&funcDef{name: n, minArgs: 1, maxArgs: 1, bind: bindChr})
	}
}

// Substr is Spark's substring(e, pos, length): length characters from
// the 1-based position pos (negative counts from the end).
func (e Expr) Substr(pos, length Expr) Expr { return Call("substring", e, pos, length) }

// StartsWith is startswith(e, prefix).
func (e Expr) StartsWith(prefix Expr) Expr { return Call("startswith", e, prefix) }

// EndsWith is endswith(e, suffix).
func (e Expr) EndsWith(suffix Expr) Expr { return Call("endswith", e, suffix) }

// Contains is contains(e, part): whether part occurs in e.
func (e Expr) Contains(part Expr) Expr { return Call("contains", e, part) }

// ---- binding helpers ----

var (
	strUTF8   = arrow.BinaryTypes.String
	strBinary = arrow.BinaryTypes.Binary
	strInt32  = arrow.PrimitiveTypes.Int32
	strInt64  = arrow.PrimitiveTypes.Int64
	strBool   = arrow.FixedWidthTypes.Boolean
)

// strArg returns args[i] as a utf8 expression or, when binaryOK, as utf8
// or binary: large and dictionary-encoded strings are cast, a null becomes
// a null string, and integers and booleans are cast to their decimal text
// as Spark does implicitly. Other types are a type error naming the
// function and the argument.
func strArg(b *binder, src string, args []bnode, i int, binaryOK bool) (bnode, error) {
	return textArg(b, src, args, i, binaryOK, true)
}

// textArg is strArg; with convert false, integers and booleans are a type
// error too (for the digests, which Spark types as binary).
func textArg(b *binder, src string, args []bnode, i int, binaryOK, convert bool) (bnode, error) {
	a := b.decodeDict(args[i])
	t := a.dataType()
	switch {
	case t.ID() == arrow.STRING:
		return a, nil
	case t.ID() == arrow.BINARY && binaryOK:
		return a, nil
	case t.ID() == arrow.LARGE_STRING:
		return b.castTo(a, strUTF8, src)
	case t.ID() == arrow.LARGE_BINARY && binaryOK:
		return b.castTo(a, strBinary, src)
	case isNull(t):
		return &bLit{sc: scalar.MakeNullScalar(strUTF8)}, nil
	case convert && (isInteger(t) || isBoolean(t)):
		return b.fold(&bToText{x: a}, src)
	}
	want := "a string"
	if binaryOK {
		want = "a string or binary"
	}
	return nil, fmt.Errorf("expr: %w in %s: argument %d (%s) is %s, but %s needs %s; cast it to string",
		ErrType, b.in(src), i+1, args[i], typeName(t), callName(src), want)
}

// bToText is an integer or boolean as text ("12", "-3", "true"), as
// Spark casts them to string. (arrow-go's numeric-to-string cast kernel
// does not release its scratch buffers, so it is not used.)
type bToText struct{ x bnode }

func (c *bToText) dataType() arrow.DataType { return strUTF8 }
func (c *bToText) nullable() bool           { return c.x.nullable() }
func (c *bToText) children() []bnode        { return []bnode{c.x} }
func (c *bToText) String() string           { return "cast(" + c.x.String() + " as string)" }

func (c *bToText) eval(ev *evalCtx) (val, error) {
	x, err := c.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer x.release()
	if x.arr == nil {
		if !x.sc.IsValid() {
			return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
		}
		return val{sc: scalar.NewStringScalar(formatScalar(x.sc))}, nil
	}
	valid, nulls := strValidity(ev, x)
	bits := validBytes(valid)
	w := newBinOut(ev.mem, ev.rows, 4*ev.rows)
	switch a := x.arr.(type) {
	case *array.Int8:
		err = appendIntsText(&w, a.Int8Values(), bits)
	case *array.Int16:
		err = appendIntsText(&w, a.Int16Values(), bits)
	case *array.Int32:
		err = appendIntsText(&w, a.Int32Values(), bits)
	case *array.Int64:
		err = appendIntsText(&w, a.Int64Values(), bits)
	case *array.Uint8:
		err = appendUintsText(&w, a.Uint8Values(), bits)
	case *array.Uint16:
		err = appendUintsText(&w, a.Uint16Values(), bits)
	case *array.Uint32:
		err = appendUintsText(&w, a.Uint32Values(), bits)
	case *array.Uint64:
		err = appendUintsText(&w, a.Uint64Values(), bits)
	case *array.Boolean:
		if err = w.room(5 * ev.rows); err == nil {
			for i := range ev.rows {
				if bitOK(bits, i) {
					w.d = strconv.AppendBool(w.d, a.Value(i))
				}
				w.end()
			}
		}
	default:
		err = fmt.Errorf("cannot convert %s to text", x.arr.DataType())
	}
	if err != nil {
		w.release()
		if valid != nil {
			valid.Release()
		}
		return val{}, fmt.Errorf("expr: %s: %w", c, err)
	}
	return w.finish(strUTF8, valid, nulls)
}

// appendIntsText writes each valid value of vs as a row of decimal text
// into w, which must be empty.
func appendIntsText[T int8 | int16 | int32 | int64](w *binOut, vs []T, bits []byte) error {
	if err := w.room(20 * len(vs)); err != nil {
		return err
	}
	d, offs := w.d, w.offs
	for i, v := range vs {
		if bitOK(bits, i) {
			d = strconv.AppendInt(d, int64(v), 10)
		}
		offs[i+1] = int32(len(d))
	}
	w.d, w.n = d, len(vs)
	return nil
}

func appendUintsText[T uint8 | uint16 | uint32 | uint64](w *binOut, vs []T, bits []byte) error {
	if err := w.room(20 * len(vs)); err != nil {
		return err
	}
	d, offs := w.d, w.offs
	for i, v := range vs {
		if bitOK(bits, i) {
			d = strconv.AppendUint(d, uint64(v), 10)
		}
		offs[i+1] = int32(len(d))
	}
	w.d, w.n = d, len(vs)
	return nil
}

// strIntArg returns args[i] as an int64 expression (any integer type is
// widened; a null becomes a null bigint).
func strIntArg(b *binder, src string, args []bnode, i int) (bnode, error) {
	a := b.decodeDict(args[i])
	t := a.dataType()
	switch {
	case t.ID() == arrow.INT64:
		return a, nil
	case isNull(t):
		return &bLit{sc: scalar.MakeNullScalar(strInt64)}, nil
	case isInteger(t):
		return b.castTo(a, strInt64, src)
	}
	return nil, fmt.Errorf("expr: %w in %s: argument %d (%s) is %s, but %s needs an integer; cast it to int",
		ErrType, b.in(src), i+1, args[i], typeName(t), callName(src))
}

// callName is the function name of a call's display form.
func callName(src string) string {
	if i := strings.IndexByte(src, '('); i > 0 {
		return src[:i]
	}
	return src
}

// constBinary returns the value of n when it is a non-null constant string
// or binary.
func constBinary(n bnode) ([]byte, bool) {
	c, ok := n.(*bLit)
	if !ok || !c.sc.IsValid() {
		return nil, false
	}
	return scalarData(c.sc), true
}

func strNullLit(n bnode) bool {
	c, ok := n.(*bLit)
	return ok && !c.sc.IsValid()
}

// ---- evaluation helpers ----

// binView is a borrowed view of a utf8 or binary value: an array's
// offsets and data buffers, or a constant.
type binView struct {
	cnst bool
	c    []byte
	offs []int32 // offs[i], offs[i+1] bound row i (array offset applied)
	data []byte
}

func (v *binView) at(i int) []byte {
	if v.cnst {
		return v.c
	}
	return v.data[v.offs[i]:v.offs[i+1]]
}

// region is the data of every row together.
func (v *binView) region() []byte {
	if v.cnst {
		return v.c
	}
	if len(v.offs) == 0 {
		return nil
	}
	return v.data[v.offs[0]:v.offs[len(v.offs)-1]]
}

// size is an upper bound of the total bytes of rows rows.
func (v *binView) size(rows int) int {
	if v.cnst {
		return len(v.c) * rows
	}
	return len(v.region())
}

func scalarData(sc scalar.Scalar) []byte {
	if d, ok := sc.(interface{ Data() []byte }); ok {
		return d.Data()
	}
	return nil
}

// viewBin views v, a valid constant or an array of utf8 or binary.
func viewBin(v val) binView {
	if v.arr == nil {
		return binView{cnst: true, c: scalarData(v.sc)}
	}
	return viewBinData(v.arr.Data())
}

func viewBinData(d arrow.ArrayData) binView {
	var out binView
	off, n := d.Offset(), d.Len()
	bufs := d.Buffers()
	if n > 0 && bufs[1] != nil {
		out.offs = arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[off : off+n+1]
	}
	if bufs[2] != nil {
		out.data = bufs[2].Bytes()
	}
	if out.offs == nil {
		out.offs = []int32{0}
	}
	return out
}

// i64View is a borrowed view of an int64 value.
type i64View struct {
	cnst bool
	c    int64
	v    []int64
}

func (v *i64View) at(i int) int64 {
	if v.cnst {
		return v.c
	}
	return v.v[i]
}

func viewI64(v val) i64View {
	if v.arr == nil {
		return i64View{cnst: true, c: v.sc.(*scalar.Int64).Value}
	}
	return i64View{v: v.arr.(*array.Int64).Int64Values()}
}

// strHasNullArg reports whether any of vals is a null constant, which makes a
// null-intolerant function null on every row.
func strHasNullArg(vals []val) bool {
	for _, v := range vals {
		if v.arr == nil && !v.sc.IsValid() {
			return true
		}
	}
	return false
}

// strValidity is the AND of the validity bitmaps of the arrays among vals:
// a new bitmap of ev.rows bits, owned by the caller, and its null count.
// It is nil when no value has nulls.
func strValidity(ev *evalCtx, vals ...val) (*memory.Buffer, int) {
	var bm *memory.Buffer
	n := int64(ev.rows)
	for _, v := range vals {
		if v.arr == nil || v.arr.NullN() == 0 {
			continue
		}
		src, off := v.arr.NullBitmapBytes(), int64(v.arr.Data().Offset())
		if bm == nil {
			bm = memory.NewResizableBuffer(ev.mem)
			bm.Resize(int(bitutil.BytesForBits(n)))
			bitutil.CopyBitmap(src, int(off), int(n), bm.Bytes(), 0)
			continue
		}
		bitutil.BitmapAnd(bm.Bytes(), src, 0, off, bm.Bytes(), 0, n)
	}
	if bm == nil {
		return nil, 0
	}
	return bm, ev.rows - bitutil.CountSetBits(bm.Bytes(), 0, ev.rows)
}

// validBytes returns the bytes of a validity bitmap, nil for none.
func validBytes(bm *memory.Buffer) []byte {
	if bm == nil {
		return nil
	}
	return bm.Bytes()
}

// bitOK reports bit i of bits, every bit being set when bits is nil.
func bitOK(bits []byte, i int) bool {
	return bits == nil || bits[i>>3]&(1<<(uint(i)&7)) != 0
}

var errStrTooLong = errors.New("the result would exceed 2 GiB of string data in one batch, the most an Arrow string array holds; use smaller batches")

// binOut writes a utf8 or binary array row by row straight into Arrow
// buffers. Reserve room before appending: w.d must never grow past the
// buffer (room checks the 2 GiB limit of 32-bit offsets).
type binOut struct {
	offsB, dataB *memory.Buffer
	offs         []int32
	d            []byte
	capD         int
	n            int
}

func newBinOut(mem memory.Allocator, rows, dataHint int) binOut {
	w := binOut{offsB: memory.NewResizableBuffer(mem), dataB: memory.NewResizableBuffer(mem)}
	w.offsB.Resize((rows + 1) * arrow.Int32SizeBytes)
	w.offs = arrow.Int32Traits.CastFromBytes(w.offsB.Bytes())
	w.offs[0] = 0
	if dataHint > math.MaxInt32 {
		dataHint = math.MaxInt32
	}
	w.dataB.Reserve(max(dataHint, 0))
	w.capD = len(w.dataB.Buf())
	w.d = w.dataB.Buf()[:0]
	return w
}

// room makes space for k more bytes.
func (w *binOut) room(k int) error {
	need := len(w.d) + k
	if need <= w.capD && need <= math.MaxInt32 {
		return nil
	}
	if need > math.MaxInt32 || k < 0 {
		return errStrTooLong
	}
	w.dataB.Reserve(min(max(need, 2*w.capD), math.MaxInt32))
	w.capD = len(w.dataB.Buf())
	w.d = w.dataB.Buf()[:len(w.d)]
	return nil
}

// end closes the current row.
func (w *binOut) end() {
	w.n++
	w.offs[w.n] = int32(len(w.d))
}

// add appends s (after room) and closes the row.
func (w *binOut) add(s []byte) {
	w.d = append(w.d, s...)
	w.n++
	w.offs[w.n] = int32(len(w.d))
}

func (w *binOut) release() {
	w.offsB.Release()
	w.dataB.Release()
}

// data builds the array data and releases w's buffers; validity (may be
// nil) is borrowed. The caller releases the result.
func (w *binOut) data(typ arrow.DataType, validity *memory.Buffer, nulls int) (arrow.ArrayData, error) {
	defer w.release()
	if len(w.d) > 0 && unsafe.SliceData(w.d) != unsafe.SliceData(w.dataB.Buf()) {
		return nil, errors.New("expr: internal error: string output outgrew its reserved buffer")
	}
	w.dataB.ResizeNoShrink(len(w.d))
	return array.NewData(typ, w.n, []*memory.Buffer{validity, w.offsB, w.dataB}, nil, nulls, 0), nil
}

// finish builds the array (owned by the caller) and releases w's buffers
// and validity.
func (w *binOut) finish(typ arrow.DataType, validity *memory.Buffer, nulls int) (val, error) {
	if validity != nil {
		defer validity.Release()
	}
	d, err := w.data(typ, validity, nulls)
	if err != nil {
		return val{}, err
	}
	defer d.Release()
	return val{arr: array.MakeFromData(d)}, nil
}

// newFixedBuf allocates the values buffer of a fixed-width result of rows
// values of size bytes each.
func newFixedBuf(mem memory.Allocator, rows, size int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(rows * size)
	return buf
}

// fixedResult wraps values and validity (nil for none), both consumed,
// into a fixed-width array owned by the caller.
func fixedResult(typ arrow.DataType, rows int, validity *memory.Buffer, nulls int, values *memory.Buffer) val {
	d := array.NewData(typ, rows, []*memory.Buffer{validity, values}, nil, nulls, 0)
	values.Release()
	if validity != nil {
		validity.Release()
	}
	defer d.Release()
	return val{arr: array.MakeFromData(d)}
}

// newBitsBuf is a zeroed bitmap of rows bits.
func newBitsBuf(mem memory.Allocator, rows int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(rows))))
	clear(buf.Bytes())
	return buf
}

func allASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// charCount counts characters: runes, an invalid byte counting as one.
func charCount(s []byte, ascii bool) int {
	if ascii {
		return len(s)
	}
	return utf8.RuneCount(s)
}

// charByteOffset is the byte offset of character k of s (len(s) when s has
// at most k characters).
func charByteOffset(s []byte, k int64, ascii bool) int {
	if k <= 0 {
		return 0
	}
	if ascii {
		return int(min(k, int64(len(s))))
	}
	i := 0
	for ; k > 0 && i < len(s); k-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, size := utf8.DecodeRune(s[i:])
		i += size
	}
	return i
}

// rowErr names the expression, the row and the value in an evaluation
// error.
func rowErr(src string, row int, format string, args ...any) error {
	return fmt.Errorf("expr: %s: "+format+" (row %d)", append(append([]any{src}, args...), row)...)
}

// ---- lower, upper, initcap ----

type strCaseKind int

const (
	caseLower strCaseKind = iota
	caseUpper
	caseTitle
)

func bindCaseMap(kind strCaseKind) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := strArg(b, src, args, 0, false)
		if err != nil {
			return nil, err
		}
		return &bFunc{name: callName(src), src: src, args: []bnode{x}, typ: strUTF8, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) { return evalCaseMap(ev, vals[0], kind, src) }}, nil
	}
}

var asciiLower, asciiUpper [256]byte

func init() {
	for i := range 256 {
		asciiLower[i], asciiUpper[i] = byte(i), byte(i)
		if i >= 'A' && i <= 'Z' {
			asciiLower[i] = byte(i) + 'a' - 'A'
		}
		if i >= 'a' && i <= 'z' {
			asciiUpper[i] = byte(i) - 'a' + 'A'
		}
	}
}

func evalCaseMap(ev *evalCtx, x val, kind strCaseKind, src string) (val, error) {
	if strHasNullArg([]val{x}) {
		return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
	}
	in := viewBin(x)
	valid, nulls := strValidity(ev, x)
	reg := in.region()
	if kind != caseTitle && !in.cnst && allASCII(reg) {
		// Same lengths: map the whole data region at once and shift the
		// offsets.
		table := &asciiLower
		if kind == caseUpper {
			table = &asciiUpper
		}
		w := newBinOut(ev.mem, ev.rows, len(reg))
		w.d = w.d[:len(reg)]
		for i, c := range reg {
			w.d[i] = table[c]
		}
		base := in.offs[0]
		for i, o := range in.offs {
			w.offs[i] = o - base
		}
		w.n = ev.rows
		return w.finish(strUTF8, valid, nulls)
	}
	w := newBinOut(ev.mem, ev.rows, in.size(ev.rows)+in.size(ev.rows)/8)
	bits := validBytes(valid)
	for i := range ev.rows {
		if !bitOK(bits, i) {
			w.end()
			continue
		}
		s := in.at(i)
		// One-to-one case mappings at most double a rune's bytes.
		if err := w.room(2*len(s) + utf8.UTFMax); err != nil {
			w.release()
			if valid != nil {
				valid.Release()
			}
			return val{}, rowErr(src, i, "%v", err)
		}
		w.d = appendCaseMapped(w.d, s, kind)
		w.end()
	}
	return w.finish(strUTF8, valid, nulls)
}

// appendCaseMapped appends s with its case mapped; invalid bytes are kept.
// For caseTitle, a character that follows a space (or starts s) is mapped
// to title case and every other one to lower case, as Spark's initcap.
func appendCaseMapped(dst, s []byte, kind strCaseKind) []byte {
	prevSpace := true
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch kind {
			case caseLower:
				c = asciiLower[c]
			case caseUpper:
				c = asciiUpper[c]
			default:
				if prevSpace {
					c = asciiUpper[c]
				} else {
					c = asciiLower[c]
				}
				prevSpace = c == ' '
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
			i++
			prevSpace = false
			continue
		}
		switch kind {
		case caseLower:
			r = unicode.ToLower(r)
		case caseUpper:
			r = unicode.ToUpper(r)
		default:
			if prevSpace {
				r = unicode.ToTitle(r)
			} else {
				r = unicode.ToLower(r)
			}
			prevSpace = false
		}
		dst = utf8.AppendRune(dst, r)
		i += size
	}
	return dst
}

// ---- length, octet_length, bit_length ----

type strLengthKind int

const (
	lenChars strLengthKind = iota
	lenBytes
	lenBits
)

func bindLength(kind strLengthKind) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := strArg(b, src, args, 0, true)
		if err != nil {
			return nil, err
		}
		// A binary value's length is in bytes.
		chars := kind == lenChars && x.dataType().ID() == arrow.STRING
		return &bFunc{name: callName(src), src: src, args: []bnode{x}, typ: strInt32, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if strHasNullArg(vals) {
					return val{sc: scalar.MakeNullScalar(strInt32)}, nil
				}
				in := viewBin(vals[0])
				valid, nulls := strValidity(ev, vals[0])
				buf := newFixedBuf(ev.mem, ev.rows, 4)
				out := arrow.Int32Traits.CastFromBytes(buf.Bytes())
				if in.cnst {
					n := len(in.c)
					if chars {
						n = utf8.RuneCount(in.c)
					}
					for i := range out {
						out[i] = int32(n)
					}
				} else if !chars || allASCII(in.region()) {
					for i := range out {
						out[i] = in.offs[i+1] - in.offs[i]
					}
				} else {
					for i := range out {
						out[i] = int32(utf8.RuneCount(in.data[in.offs[i]:in.offs[i+1]]))
					}
				}
				if kind == lenBits {
					for i := range out {
						out[i] *= 8
					}
				}
				return fixedResult(strInt32, ev.rows, valid, nulls, buf), nil
			}}, nil
	}
}

// ---- substring, left, right ----

func bindSubstring(b *binder, src string, args []bnode) (bnode, error) {
	x, err := strArg(b, src, args, 0, true)
	if err != nil {
		return nil, err
	}
	ns := []bnode{x}
	for i := 1; i < len(args); i++ {
		n, err := strIntArg(b, src, args, i)
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	typ := x.dataType()
	return &bFunc{name: callName(src), src: src, args: ns, typ: typ, null: anyNullable(ns),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			var length val
			if len(vals) == 3 {
				length = vals[2]
			}
			return evalSubstring(ev, src, typ, vals[0], vals[1], length, substrPlain)
		}}, nil
}

func bindLeftRight(right bool) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := strArg(b, src, args, 0, true)
		if err != nil {
			return nil, err
		}
		n, err := strIntArg(b, src, args, 1)
		if err != nil {
			return nil, err
		}
		typ := x.dataType()
		mode := substrLeft
		if right {
			mode = substrRight
		}
		return &bFunc{name: callName(src), src: src, args: []bnode{x, n}, typ: typ, null: x.nullable() || n.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				return evalSubstring(ev, src, typ, vals[0], val{}, vals[1], mode)
			}}, nil
	}
}

type strSubstrMode int

const (
	substrPlain strSubstrMode = iota // substring(s, pos, len)
	substrLeft                       // left(s, len) = substring(s, 1, len)
	substrRight                      // right(s, len) = substring(s, -len) for len > 0, else ""
)

// evalSubstring evaluates substring(x, pos, length); pos or length is the
// zero val when absent (1 and "to the end").
func evalSubstring(ev *evalCtx, src string, typ arrow.DataType, x, pos, length val, mode strSubstrMode) (val, error) {
	present := []val{x}
	for _, v := range []val{pos, length} {
		if v.arr != nil || v.sc != nil {
			present = append(present, v)
		}
	}
	if strHasNullArg(present) {
		return val{sc: scalar.MakeNullScalar(typ)}, nil
	}
	in := viewBin(x)
	p, l := i64View{cnst: true, c: 1}, i64View{cnst: true, c: math.MaxInt64}
	if pos.arr != nil || pos.sc != nil {
		p = viewI64(pos)
	}
	if length.arr != nil || length.sc != nil {
		l = viewI64(length)
	}
	ascii := typ.ID() == arrow.BINARY || allASCII(in.region())
	valid, nulls := strValidity(ev, present...)
	bits := validBytes(valid)
	w := newBinOut(ev.mem, ev.rows, in.size(ev.rows))
	for i := range ev.rows {
		if !bitOK(bits, i) {
			w.end()
			continue
		}
		s := in.at(i)
		var from, to int
		switch mode {
		case substrPlain:
			from, to = substrRange(s, p.at(i), l.at(i), ascii)
		case substrLeft:
			from, to = substrRange(s, 1, l.at(i), ascii)
		default:
			if n := l.at(i); n > 0 {
				from, to = substrRange(s, -n, math.MaxInt64, ascii)
			}
		}
		if err := w.room(to - from); err != nil {
			w.release()
			if valid != nil {
				valid.Release()
			}
			return val{}, rowErr(src, i, "%v", err)
		}
		w.add(s[from:to])
	}
	return w.finish(typ, valid, nulls)
}

// substrRange is the byte range of Spark's substring(s, pos, length):
// pos is 1-based, 0 means 1, a negative pos counts from the end; a start
// before the beginning shortens the result; the end is clamped to s.
func substrRange(s []byte, pos, length int64, ascii bool) (int, int) {
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = int64(charCount(s, ascii)) + pos
	}
	end := addSat(start, length)
	start = max(start, 0)
	if start >= end {
		return 0, 0
	}
	from := charByteOffset(s, start, ascii)
	to := from + charByteOffset(s[from:], end-start, ascii)
	return from, to
}

// addSat is a + b, saturated at the int64 range.
func addSat(a, b int64) int64 {
	c := a + b
	switch {
	case a > 0 && b > 0 && c < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && c >= 0:
		return math.MinInt64
	}
	return c
}

// ---- concat, concat_ws ----

func bindConcat(b *binder, src string, args []bnode) (bnode, error) {
	if len(args) == 0 {
		return &bLit{sc: scalar.NewStringScalar("")}, nil
	}
	for _, a := range args {
		if isListOfAny(a.dataType()) {
			return bindConcatLists(b, src, args)
		}
	}
	// All binary (nulls aside) gives binary; otherwise every argument must
	// be a string.
	binaryOnly, anyBinary := true, false
	for _, a := range args {
		switch t := b.decodeDict(a).dataType(); {
		case isBinaryType(t):
			anyBinary = true
		case !isNull(t):
			binaryOnly = false
		}
	}
	binaryOK := binaryOnly && anyBinary
	typ := arrow.DataType(strUTF8)
	if binaryOK {
		typ = strBinary
	}
	ns := make([]bnode, len(args))
	for i := range args {
		n, err := strArg(b, src, args, i, binaryOK)
		if err != nil {
			return nil, err
		}
		if binaryOK && strNullLit(n) {
			n = &bLit{sc: scalar.MakeNullScalar(strBinary)}
		}
		ns[i] = n
	}
	return &bFunc{name: "concat", src: src, args: ns, typ: typ, null: anyNullable(ns),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(typ)}, nil
			}
			views := make([]binView, len(vals))
			total := 0
			for i, v := range vals {
				views[i] = viewBin(v)
				total += views[i].size(ev.rows)
			}
			if total > math.MaxInt32 {
				return val{}, fmt.Errorf("expr: %s: %v", src, errStrTooLong)
			}
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			// Every row's bytes together are at most total.
			w := newBinOut(ev.mem, ev.rows, total)
			for i := range ev.rows {
				if bitOK(bits, i) {
					for k := range views {
						w.d = append(w.d, views[k].at(i)...)
					}
				}
				w.end()
			}
			return w.finish(typ, valid, nulls)
		}}, nil
}

func isListOfAny(t arrow.DataType) bool { return t.ID() == arrow.LIST }

// bindConcatLists is concat over arrays: the elements of every argument
// in order, null if any argument is null.
func bindConcatLists(b *binder, src string, args []bnode) (bnode, error) {
	var typ arrow.DataType
	for i, a := range args {
		t := a.dataType()
		switch {
		case isNull(t):
			continue
		case !isListOfAny(t):
			return nil, fmt.Errorf("expr: %w in %s: argument %d (%s) is %s, but the other arguments are arrays; concat takes all strings, all binary or all arrays",
				ErrType, b.in(src), i+1, a, typeName(t))
		case typ == nil:
			typ = t
		case !arrow.TypeEqual(typ, t):
			return nil, fmt.Errorf("expr: %w in %s: argument %d (%s) is %s, but argument 1 is %s; cast the arrays to one element type",
				ErrType, b.in(src), i+1, a, t, typ)
		}
	}
	ns := make([]bnode, len(args))
	for i, a := range args {
		ns[i] = a
		if isNull(a.dataType()) {
			ns[i] = b.castConst(a, typ)
		}
	}
	return &bFunc{name: "concat", src: src, args: ns, typ: typ, null: anyNullable(ns),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(typ)}, nil
			}
			views := make([]strListView, len(vals))
			for i, v := range vals {
				views[i] = viewStrList(v)
			}
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			// Gather the elements of all arguments into one array and
			// take from it.
			children := make([]arrow.Array, len(views))
			bases := make([]int, len(views))
			for k, lv := range views {
				children[k] = lv.child
				if k > 0 {
					bases[k] = bases[k-1] + children[k-1].Len()
				}
			}
			offsB := newFixedBuf(ev.mem, ev.rows+1, 4)
			defer offsB.Release()
			offs := arrow.Int32Traits.CastFromBytes(offsB.Bytes())
			offs[0] = 0
			total := 0
			for i := range ev.rows {
				if bitOK(bits, i) {
					for k := range views {
						lo, hi := views[k].bounds(i)
						total += hi - lo
					}
				}
				if total > math.MaxInt32 {
					if valid != nil {
						valid.Release()
					}
					return val{}, rowErr(src, i, "the result would have more than 2^31 array elements in one batch; use smaller batches")
				}
				offs[i+1] = int32(total)
			}
			idxB := newFixedBuf(ev.mem, total, 4)
			idx := arrow.Int32Traits.CastFromBytes(idxB.Bytes())
			j := 0
			for i := range ev.rows {
				if !bitOK(bits, i) {
					continue
				}
				for k := range views {
					lo, hi := views[k].bounds(i)
					for e := lo; e < hi; e++ {
						idx[j] = int32(bases[k] + e)
						j++
					}
				}
			}
			return takeIntoList(ev, src, typ, children, idxB, offsB, valid, nulls)
		}}, nil
}

// takeIntoList builds a list array of type typ: offsets offsB (borrowed),
// elements taken at the int32 indices idxB (consumed) from children
// (borrowed, concatenated first when several), validity consumed.
func takeIntoList(ev *evalCtx, src string, typ arrow.DataType, children []arrow.Array, idxB, offsB, valid *memory.Buffer, nulls int) (val, error) {
	if valid != nil {
		defer valid.Release()
	}
	idxData := array.NewData(strInt32, idxB.Len()/4, []*memory.Buffer{nil, idxB}, nil, 0, 0)
	idxB.Release()
	indices := array.MakeFromData(idxData)
	idxData.Release()
	defer indices.Release()
	var all arrow.Array
	if len(children) == 1 {
		all = children[0]
		all.Retain()
	} else {
		var err error
		if all, err = array.Concatenate(children, ev.mem); err != nil {
			return val{}, fmt.Errorf("expr: %s: joining array elements: %w", src, err)
		}
	}
	defer all.Release()
	elems, err := compute.TakeArray(ev.kctx, all, indices)
	if err != nil {
		return val{}, fmt.Errorf("expr: %s: gathering array elements: %w", src, err)
	}
	defer elems.Release()
	d := array.NewData(typ, ev.rows, []*memory.Buffer{valid, offsB}, []arrow.ArrayData{elems.Data()}, nulls, 0)
	defer d.Release()
	return val{arr: array.MakeFromData(d)}, nil
}

// validityView is a borrowed validity bitmap with its offset; b is nil when
// every value is valid.
type validityView struct {
	b   []byte
	off int
}

func (v *validityView) ok(i int) bool {
	if v.b == nil {
		return true
	}
	i += v.off
	return v.b[i>>3]&(1<<(uint(i)&7)) != 0
}

func viewValidity(d arrow.ArrayData) validityView {
	if d.NullN() == 0 || d.Buffers()[0] == nil {
		return validityView{}
	}
	return validityView{b: d.Buffers()[0].Bytes(), off: d.Offset()}
}

// strListView is a borrowed view of a list value: an array's offsets and
// validity, or a constant list, with its element array.
type strListView struct {
	cnst  bool
	n     int     // elements of a constant list
	offs  []int32 // array offset applied
	bits  validityView
	child arrow.Array
}

func viewStrList(v val) strListView {
	if v.arr == nil {
		child := v.sc.(*scalar.List).Value
		return strListView{cnst: true, n: child.Len(), child: child}
	}
	d := v.arr.Data()
	lv := strListView{bits: viewValidity(d), child: v.arr.(*array.List).ListValues()}
	if d.Len() > 0 {
		lv.offs = arrow.Int32Traits.CastFromBytes(d.Buffers()[1].Bytes())[d.Offset() : d.Offset()+d.Len()+1]
	}
	return lv
}

// bounds is the element range of row i (empty for a null row).
func (v *strListView) bounds(i int) (int, int) {
	if v.cnst {
		return 0, v.n
	}
	if !v.bits.ok(i) {
		return 0, 0
	}
	return int(v.offs[i]), int(v.offs[i+1])
}

func isStringList(t arrow.DataType) bool {
	lt, ok := t.(*arrow.ListType)
	return ok && lt.Elem().ID() == arrow.STRING
}

func bindConcatWs(b *binder, src string, args []bnode) (bnode, error) {
	sep, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, err
	}
	ns := []bnode{sep}
	for i := 1; i < len(args); i++ {
		if isStringList(args[i].dataType()) {
			ns = append(ns, args[i])
			continue
		}
		if isListOfAny(args[i].dataType()) {
			return nil, fmt.Errorf("expr: %w in %s: argument %d (%s) is %s, but concat_ws joins strings and arrays of strings; cast it to array<string>",
				ErrType, b.in(src), i+1, args[i], args[i].dataType())
		}
		n, err := strArg(b, src, args, i, false)
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	return &bFunc{name: "concat_ws", src: src, args: ns, typ: strUTF8, null: sep.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) { return evalConcatWs(ev, src, vals) }}, nil
}

// concatWsPart is one argument of concat_ws after the separator.
type concatWsPart struct {
	list  bool
	str   binView
	bits  validityView // of the string argument
	lv    strListView
	elems binView // the list's elements
	ebits validityView
}

func evalConcatWs(ev *evalCtx, src string, vals []val) (val, error) {
	if strHasNullArg(vals[:1]) {
		return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
	}
	sep := viewBin(vals[0])
	var parts []concatWsPart
	for _, v := range vals[1:] {
		switch {
		case v.arr == nil && !v.sc.IsValid():
			// A null is skipped.
		case isListOfAny(v.dataType()):
			lv := viewStrList(v)
			parts = append(parts, concatWsPart{list: true, lv: lv, elems: viewBinData(lv.child.Data()), ebits: viewValidity(lv.child.Data())})
		case v.arr == nil:
			parts = append(parts, concatWsPart{str: viewBin(v)})
		default:
			parts = append(parts, concatWsPart{str: viewBin(v), bits: viewValidity(v.arr.Data())})
		}
	}
	valid, nulls := strValidity(ev, vals[0])
	bits := validBytes(valid)
	hint := sep.size(ev.rows) * max(len(parts)-1, 1)
	for k := range parts {
		if parts[k].list {
			hint += len(parts[k].elems.region())
		} else {
			hint += parts[k].str.size(ev.rows)
		}
	}
	w := newBinOut(ev.mem, ev.rows, hint)
	for i := range ev.rows {
		if !bitOK(bits, i) {
			w.end()
			continue
		}
		s := sep.at(i)
		need, count := 0, 0
		for k := range parts {
			p := &parts[k]
			if !p.list {
				if p.bits.ok(i) {
					need += len(p.str.at(i))
					count++
				}
				continue
			}
			lo, hi := p.lv.bounds(i)
			for e := lo; e < hi; e++ {
				if p.ebits.ok(e) {
					need += len(p.elems.at(e))
					count++
				}
			}
		}
		if count > 1 {
			need += (count - 1) * len(s)
		}
		if err := w.room(need); err != nil {
			w.release()
			if valid != nil {
				valid.Release()
			}
			return val{}, rowErr(src, i, "%v", err)
		}
		d, first := w.d, true
		for k := range parts {
			p := &parts[k]
			if !p.list {
				if p.bits.ok(i) {
					if !first {
						d = append(d, s...)
					}
					d, first = append(d, p.str.at(i)...), false
				}
				continue
			}
			lo, hi := p.lv.bounds(i)
			for e := lo; e < hi; e++ {
				if p.ebits.ok(e) {
					if !first {
						d = append(d, s...)
					}
					d, first = append(d, p.elems.at(e)...), false
				}
			}
		}
		w.d = d
		w.end()
	}
	return w.finish(strUTF8, valid, nulls)
}

// ---- trim, ltrim, rtrim, btrim ----

// strTrimSet is a set of characters to trim: ASCII ones in a bitset, others
// as the UTF-8 text listing them.
type strTrimSet struct {
	ascii [4]uint64
	other []byte
}

func newStrTrimSet(chars []byte) strTrimSet {
	var t strTrimSet
	for i := 0; i < len(chars); {
		if c := chars[i]; c < utf8.RuneSelf {
			t.ascii[c>>6] |= 1 << (c & 63)
			i++
			continue
		}
		t.other = chars[i:]
		break
	}
	if t.other != nil {
		// Record the remaining ASCII characters too.
		for _, c := range t.other {
			if c < utf8.RuneSelf {
				t.ascii[c>>6] |= 1 << (c & 63)
			}
		}
	}
	return t
}

func (t *strTrimSet) hasByte(c byte) bool { return t.ascii[c>>6]&(1<<(c&63)) != 0 }

func (t *strTrimSet) hasRune(r rune) bool {
	for i := 0; i < len(t.other); {
		x, size := utf8.DecodeRune(t.other[i:])
		if x == r && !(x == utf8.RuneError && size == 1) {
			return true
		}
		i += size
	}
	return false
}

// strTrimBytes trims characters of t from the left and/or right of s; an
// invalid byte is never trimmed.
func strTrimBytes(s []byte, t *strTrimSet, left, right bool) []byte {
	i, j := 0, len(s)
	if left {
		for i < j {
			if c := s[i]; c < utf8.RuneSelf {
				if !t.hasByte(c) {
					break
				}
				i++
				continue
			}
			r, size := utf8.DecodeRune(s[i:j])
			if (r == utf8.RuneError && size == 1) || !t.hasRune(r) {
				break
			}
			i += size
		}
	}
	if right {
		for j > i {
			if c := s[j-1]; c < utf8.RuneSelf {
				if !t.hasByte(c) {
					break
				}
				j--
				continue
			}
			r, size := utf8.DecodeLastRune(s[i:j])
			if (r == utf8.RuneError && size == 1) || !t.hasRune(r) {
				break
			}
			j -= size
		}
	}
	return s[i:j]
}

var strSpaceSet = newStrTrimSet([]byte{' '})

func bindTrim(left, right bool) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := strArg(b, src, args, 0, false)
		if err != nil {
			return nil, err
		}
		ns := []bnode{x}
		fixed := &strSpaceSet
		if len(args) == 2 {
			chars, err := strArg(b, src, args, 1, false)
			if err != nil {
				return nil, err
			}
			ns = append(ns, chars)
			fixed = nil
			if c, ok := constBinary(chars); ok {
				set := newStrTrimSet(c)
				fixed = &set
			}
		}
		return &bFunc{name: callName(src), src: src, args: ns, typ: strUTF8, null: anyNullable(ns),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if strHasNullArg(vals) {
					return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
				}
				in := viewBin(vals[0])
				var chars binView
				if len(vals) == 2 {
					chars = viewBin(vals[1])
				}
				valid, nulls := strValidity(ev, vals...)
				bits := validBytes(valid)
				w := newBinOut(ev.mem, ev.rows, in.size(ev.rows))
				for i := range ev.rows {
					if !bitOK(bits, i) {
						w.end()
						continue
					}
					set := fixed
					if set == nil {
						s := newStrTrimSet(chars.at(i))
						set = &s
					}
					// Trimmed rows together are no longer than the input.
					w.add(strTrimBytes(in.at(i), set, left, right))
				}
				return w.finish(strUTF8, valid, nulls)
			}}, nil
	}
}

// ---- regular expressions: split, regexp_extract, regexp_replace ----

// rePattern is a compiled regular expression; lit is set when the whole
// pattern is a non-empty literal string, found with bytes.Index.
type rePattern struct {
	src []byte
	re  *regexp.Regexp
	lit []byte
}

func compileRePattern(p []byte) (*rePattern, error) {
	re, err := regexp.Compile(string(p))
	if err != nil {
		return nil, err
	}
	pat := &rePattern{src: p, re: re}
	if prefix, complete := re.LiteralPrefix(); complete && prefix != "" {
		pat.lit = []byte(prefix)
	}
	return pat, nil
}

// bindRePattern compiles a constant pattern argument at bind; it returns
// nil for a pattern that varies by row.
func bindRePattern(b *binder, src string, n bnode) (*rePattern, error) {
	p, ok := constBinary(n)
	if !ok {
		return nil, nil
	}
	pat, err := compileRePattern(p)
	if err != nil {
		return nil, fmt.Errorf("expr: invalid regular expression %q in %s: %v; patterns use RE2 syntax (no backreferences or lookaround)",
			p, b.in(src), err)
	}
	return pat, nil
}

// rePatterns hands out the pattern of each row: the constant one, or a row's
// own, compiled once per run of equal patterns. Not shared between
// evaluations.
type rePatterns struct {
	fixed *rePattern
	view  binView
	last  *rePattern
}

func (ps *rePatterns) at(src string, i int) (*rePattern, error) {
	if ps.fixed != nil {
		return ps.fixed, nil
	}
	p := ps.view.at(i)
	if ps.last != nil && bytes.Equal(p, ps.last.src) {
		return ps.last, nil
	}
	pat, err := compileRePattern(bytes.Clone(p))
	if err != nil {
		return nil, rowErr(src, i, "invalid regular expression %q: %v; patterns use RE2 syntax", p, err)
	}
	ps.last = pat
	return pat, nil
}

// matches appends the [start, end) byte ranges of the successive matches
// of pat in s, at most n when n >= 0.
func (pat *rePattern) matches(dst [][2]int, s []byte, n int) [][2]int {
	if pat.lit != nil {
		for from := 0; n < 0 || len(dst) < n; {
			k := bytes.Index(s[from:], pat.lit)
			if k < 0 {
				break
			}
			dst = append(dst, [2]int{from + k, from + k + len(pat.lit)})
			from += k + len(pat.lit)
		}
		return dst
	}
	for _, m := range pat.re.FindAllIndex(s, n) {
		dst = append(dst, [2]int{m[0], m[1]})
	}
	return dst
}

func bindSplit(b *binder, src string, args []bnode) (bnode, error) {
	x, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, err
	}
	p, err := strArg(b, src, args, 1, false)
	if err != nil {
		return nil, err
	}
	ns := []bnode{x, p}
	if len(args) == 3 {
		l, err := strIntArg(b, src, args, 2)
		if err != nil {
			return nil, err
		}
		ns = append(ns, l)
	}
	fixed, err := bindRePattern(b, src, p)
	if err != nil {
		return nil, err
	}
	typ := arrow.ListOf(strUTF8)
	return &bFunc{name: "split", src: src, args: ns, typ: typ, null: anyNullable(ns),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(typ)}, nil
			}
			in := viewBin(vals[0])
			ps := rePatterns{fixed: fixed, view: viewBin(vals[1])}
			limit := i64View{cnst: true, c: -1}
			if len(vals) == 3 {
				limit = viewI64(vals[2])
			}
			valid, nulls := strValidity(ev, vals...)
			if valid != nil {
				defer valid.Release()
			}
			bits := validBytes(valid)
			offsB := newFixedBuf(ev.mem, ev.rows+1, 4)
			defer offsB.Release()
			offs := arrow.Int32Traits.CastFromBytes(offsB.Bytes())
			offs[0] = 0
			w := newBinOut(ev.mem, in.size(ev.rows)/4+ev.rows, in.size(ev.rows))
			var ms, pieces [][2]int
			fail := func(err error) (val, error) {
				w.release()
				return val{}, err
			}
			for i := range ev.rows {
				if bitOK(bits, i) {
					pat, err := ps.at(src, i)
					if err != nil {
						return fail(err)
					}
					s, lim := in.at(i), limit.at(i)
					pieces = splitRow(pieces[:0], &ms, s, pat, lim)
					if need := w.n + len(pieces) + 1; len(w.offs) < need {
						w.growRows(max(need, 2*len(w.offs)))
					}
					if err := w.room(len(s)); err != nil {
						return fail(rowErr(src, i, "%v", err))
					}
					for _, pc := range pieces {
						w.add(s[pc[0]:pc[1]])
					}
				}
				if w.n > math.MaxInt32 {
					return fail(rowErr(src, i, "the result would have more than 2^31 array elements in one batch; use smaller batches"))
				}
				offs[i+1] = int32(w.n)
			}
			elems, err := w.data(strUTF8, nil, 0)
			if err != nil {
				return val{}, err
			}
			defer elems.Release()
			d := array.NewData(typ, ev.rows, []*memory.Buffer{valid, offsB}, []arrow.ArrayData{elems}, nulls, 0)
			defer d.Release()
			return val{arr: array.MakeFromData(d)}, nil
		}}, nil
}

// growRows makes room for n offsets in all (n-1 rows).
func (w *binOut) growRows(n int) {
	w.offsB.Resize(n * arrow.Int32SizeBytes)
	w.offs = arrow.Int32Traits.CastFromBytes(w.offsB.Bytes())
}

// splitRow appends to pieces the byte ranges of split(s, pat, limit) as
// Spark computes them (Java's String.split with a limit of -1 when limit
// <= 0): an empty pattern splits a non-empty string into characters; a
// zero-width match at the start yields no leading empty piece; a positive
// limit caps the pieces, the last keeping the rest.
func splitRow(pieces [][2]int, ms *[][2]int, s []byte, pat *rePattern, limit int64) [][2]int {
	if len(s) > 0 && len(pat.src) == 0 {
		n := int64(utf8.RuneCount(s))
		if limit > 0 && limit < n {
			n = limit
		}
		at := 0
		for k := int64(0); k < n-1; k++ {
			_, size := utf8.DecodeRune(s[at:])
			pieces = append(pieces, [2]int{at, at + size})
			at += size
		}
		return append(pieces, [2]int{at, len(s)})
	}
	n := -1
	if limit > 0 {
		n = int(min(limit, math.MaxInt32))
	}
	*ms = pat.matches((*ms)[:0], s, n)
	index := 0
	for _, m := range *ms {
		if limit > 0 && int64(len(pieces)) >= limit-1 {
			break
		}
		if index == 0 && m[0] == 0 && m[1] == 0 {
			continue
		}
		pieces = append(pieces, [2]int{index, m[0]})
		index = m[1]
	}
	if index == 0 {
		return append(pieces[:0], [2]int{0, len(s)})
	}
	return append(pieces, [2]int{index, len(s)})
}

func bindRegexpExtract(b *binder, src string, args []bnode) (bnode, error) {
	x, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, err
	}
	p, err := strArg(b, src, args, 1, false)
	if err != nil {
		return nil, err
	}
	ns := []bnode{x, p}
	idxConst := int64(1)
	if len(args) == 3 {
		idx, err := strIntArg(b, src, args, 2)
		if err != nil {
			return nil, err
		}
		ns = append(ns, idx)
		if c, ok := idx.(*bLit); ok && c.sc.IsValid() {
			idxConst = c.sc.(*scalar.Int64).Value
		}
	}
	fixed, err := bindRePattern(b, src, p)
	if err != nil {
		return nil, err
	}
	if fixed != nil && (len(ns) == 2 || !strNullLit(ns[2])) {
		if _, isConst := ns[len(ns)-1].(*bLit); len(ns) == 2 || isConst {
			if err := checkRegexGroup(fixed, idxConst); err != nil {
				return nil, fmt.Errorf("expr: %s: %v", b.in(src), err)
			}
		}
	}
	return &bFunc{name: "regexp_extract", src: src, args: ns, typ: strUTF8, null: anyNullable(ns),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
			}
			in := viewBin(vals[0])
			ps := rePatterns{fixed: fixed, view: viewBin(vals[1])}
			idx := i64View{cnst: true, c: 1}
			if len(vals) == 3 {
				idx = viewI64(vals[2])
			}
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			w := newBinOut(ev.mem, ev.rows, in.size(ev.rows)/2)
			fail := func(err error) (val, error) {
				w.release()
				if valid != nil {
					valid.Release()
				}
				return val{}, err
			}
			for i := range ev.rows {
				if !bitOK(bits, i) {
					w.end()
					continue
				}
				pat, err := ps.at(src, i)
				if err != nil {
					return fail(err)
				}
				s, g := in.at(i), idx.at(i)
				var loc []int
				if g == 0 {
					loc = pat.re.FindIndex(s)
				} else {
					loc = pat.re.FindSubmatchIndex(s)
				}
				if loc == nil {
					w.end()
					continue
				}
				// As Spark, a bad group index fails only on a match.
				if err := checkRegexGroup(pat, g); err != nil {
					return fail(rowErr(src, i, "%v; value %q", err, s))
				}
				if lo, hi := loc[2*g], loc[2*g+1]; lo >= 0 {
					if err := w.room(hi - lo); err != nil {
						return fail(rowErr(src, i, "%v", err))
					}
					w.d = append(w.d, s[lo:hi]...)
				}
				w.end()
			}
			return w.finish(strUTF8, valid, nulls)
		}}, nil
}

func checkRegexGroup(pat *rePattern, g int64) error {
	if n := pat.re.NumSubexp(); g < 0 || g > int64(n) {
		return fmt.Errorf("group index %d is out of range: the pattern %q has %d group%s, so the index must be between 0 and %d",
			g, pat.src, n, plural(n), n)
	}
	return nil
}

// reReplacement is a parsed regexp_replace replacement string: literal text
// and group references, as Java's Matcher.appendReplacement reads it.
type reReplacement struct {
	parts  []reReplPart
	groups bool // refers to a group
}

type reReplPart struct {
	lit   []byte
	group int // -1 for literal text
}

// parseReReplacement reads rep as Java does: a backslash makes the next
// character literal; $n refers to group n, taking further digits while the
// number stays a group of pat; ${name} refers to a named group.
func parseReReplacement(rep []byte, pat *rePattern) (*reReplacement, error) {
	out := &reReplacement{}
	groups := pat.re.NumSubexp()
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			out.parts = append(out.parts, reReplPart{lit: lit, group: -1})
			lit = nil
		}
	}
	for i := 0; i < len(rep); {
		switch c := rep[i]; c {
		case '\\':
			if i+1 == len(rep) {
				return nil, fmt.Errorf("the replacement %q ends in a backslash; escape it as \\\\", rep)
			}
			lit = append(lit, rep[i+1])
			i += 2
		case '$':
			i++
			if i == len(rep) {
				return nil, fmt.Errorf("the replacement %q ends in '$' without a group number; write \\$ for a dollar sign", rep)
			}
			g := 0
			if rep[i] == '{' {
				end := bytes.IndexByte(rep[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("the replacement %q has an unclosed ${ group name", rep)
				}
				name := string(rep[i+1 : i+end])
				g = pat.re.SubexpIndex(name)
				if g < 0 {
					return nil, fmt.Errorf("the replacement %q refers to group ${%s}, but the pattern %q has no group of that name", rep, name, pat.src)
				}
				i += end + 1
			} else {
				if rep[i] < '0' || rep[i] > '9' {
					return nil, fmt.Errorf("the replacement %q has '$' not followed by a group number; write \\$ for a dollar sign", rep)
				}
				g = int(rep[i] - '0')
				i++
				for i < len(rep) && rep[i] >= '0' && rep[i] <= '9' {
					next := g*10 + int(rep[i]-'0')
					if next > groups {
						break
					}
					g = next
					i++
				}
				if g > groups {
					return nil, fmt.Errorf("the replacement %q refers to group %d, but the pattern %q has %d group%s", rep, g, pat.src, groups, plural(groups))
				}
			}
			flush()
			out.parts = append(out.parts, reReplPart{group: g})
			out.groups = true
		default:
			lit = append(lit, c)
			i++
		}
	}
	flush()
	return out, nil
}

// expandedLen is the length of the replacement for one match.
func (r *reReplacement) expandedLen(s []byte, m []int) int {
	n := 0
	for _, p := range r.parts {
		if p.group < 0 {
			n += len(p.lit)
		} else if lo := m[2*p.group]; lo >= 0 {
			n += m[2*p.group+1] - lo
		}
	}
	return n
}

func (r *reReplacement) appendTo(dst, s []byte, m []int) []byte {
	for _, p := range r.parts {
		if p.group < 0 {
			dst = append(dst, p.lit...)
		} else if lo := m[2*p.group]; lo >= 0 {
			dst = append(dst, s[lo:m[2*p.group+1]]...)
		}
	}
	return dst
}

func bindRegexpReplace(b *binder, src string, args []bnode) (bnode, error) {
	ns := make([]bnode, 3, 4)
	for i := range 3 {
		n, err := strArg(b, src, args, i, false)
		if err != nil {
			return nil, err
		}
		ns[i] = n
	}
	pos := int64(1)
	if len(args) == 4 {
		p, err := strIntArg(b, src, args, 3)
		if err != nil {
			return nil, err
		}
		c, ok := p.(*bLit)
		if !ok || !c.sc.IsValid() || c.sc.(*scalar.Int64).Value < 1 {
			return nil, fmt.Errorf("expr: %s: the position %s must be a constant of at least 1", b.in(src), args[3])
		}
		pos = c.sc.(*scalar.Int64).Value
	}
	fixed, err := bindRePattern(b, src, ns[1])
	if err != nil {
		return nil, err
	}
	var fixedRep *reReplacement
	if rep, ok := constBinary(ns[2]); ok && fixed != nil {
		if fixedRep, err = parseReReplacement(rep, fixed); err != nil {
			return nil, fmt.Errorf("expr: %s: %v", b.in(src), err)
		}
	}
	return &bFunc{name: "regexp_replace", src: src, args: ns, typ: strUTF8, null: anyNullable(ns),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
			}
			in := viewBin(vals[0])
			ps := rePatterns{fixed: fixed, view: viewBin(vals[1])}
			reps := viewBin(vals[2])
			var rep *reReplacement
			var repPat *rePattern
			var repSrc []byte
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			w := newBinOut(ev.mem, ev.rows, in.size(ev.rows))
			fail := func(err error) (val, error) {
				w.release()
				if valid != nil {
					valid.Release()
				}
				return val{}, err
			}
			var ms [][2]int
			for i := range ev.rows {
				if !bitOK(bits, i) {
					w.end()
					continue
				}
				pat, err := ps.at(src, i)
				if err != nil {
					return fail(err)
				}
				if fixedRep != nil {
					rep = fixedRep
				} else if r := reps.at(i); rep == nil || pat != repPat || !bytes.Equal(r, repSrc) {
					if rep, err = parseReReplacement(r, pat); err != nil {
						return fail(rowErr(src, i, "%v", err))
					}
					repPat, repSrc = pat, r
				}
				s := in.at(i)
				start := 0
				if pos > 1 {
					if int64(utf8.RuneCount(s)) <= pos-1 {
						// Starting past the end: unchanged, as in Spark.
						if err := w.room(len(s)); err != nil {
							return fail(rowErr(src, i, "%v", err))
						}
						w.add(s)
						continue
					}
					start = charByteOffset(s, pos-1, false)
				}
				if err := w.room(start); err != nil {
					return fail(rowErr(src, i, "%v", err))
				}
				w.d = append(w.d, s[:start]...)
				if err := regexReplaceAll(&w, s[start:], pat, rep, &ms); err != nil {
					return fail(rowErr(src, i, "%v", err))
				}
				w.end()
			}
			return w.finish(strUTF8, valid, nulls)
		}}, nil
}

// regexReplaceAll appends s with every match of pat replaced by rep.
func regexReplaceAll(w *binOut, s []byte, pat *rePattern, rep *reReplacement, ms *[][2]int) error {
	// Size the result, reserve once, then append into a local slice.
	need := len(s)
	var subs [][]int
	literal := pat.lit != nil && !rep.groups
	if literal {
		*ms = pat.matches((*ms)[:0], s, -1)
		need += len(*ms) * (rep.expandedLen(s, nil) - len(pat.lit))
	} else {
		subs = pat.re.FindAllSubmatchIndex(s, -1)
		for _, m := range subs {
			need += rep.expandedLen(s, m) - (m[1] - m[0])
		}
	}
	if err := w.room(need); err != nil {
		return err
	}
	d, last := w.d, 0
	if literal {
		for _, m := range *ms {
			d = append(d, s[last:m[0]]...)
			d = rep.appendTo(d, s, nil)
			last = m[1]
		}
	} else {
		for _, m := range subs {
			d = append(d, s[last:m[0]]...)
			d = rep.appendTo(d, s, m)
			last = m[1]
		}
	}
	w.d = append(d, s[last:]...)
	return nil
}

// ---- replace ----

func bindReplace(b *binder, src string, args []bnode) (bnode, error) {
	ns := make([]bnode, len(args))
	for i := range args {
		n, err := strArg(b, src, args, i, false)
		if err != nil {
			return nil, err
		}
		ns[i] = n
	}
	return &bFunc{name: "replace", src: src, args: ns, typ: strUTF8, null: anyNullable(ns),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
			}
			in, search := viewBin(vals[0]), viewBin(vals[1])
			with := binView{cnst: true}
			if len(vals) == 3 {
				with = viewBin(vals[2])
			}
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			w := newBinOut(ev.mem, ev.rows, in.size(ev.rows))
			for i := range ev.rows {
				if !bitOK(bits, i) {
					w.end()
					continue
				}
				s, old, rep := in.at(i), search.at(i), with.at(i)
				if len(old) == 0 {
					if err := w.room(len(s)); err != nil {
						w.release()
						return val{}, rowErr(src, i, "%v", err)
					}
					w.add(s)
					continue
				}
				for {
					k := bytes.Index(s, old)
					if k < 0 {
						break
					}
					if err := w.room(k + len(rep)); err != nil {
						w.release()
						return val{}, rowErr(src, i, "%v", err)
					}
					w.d = append(append(w.d, s[:k]...), rep...)
					s = s[k+len(old):]
				}
				if err := w.room(len(s)); err != nil {
					w.release()
					return val{}, rowErr(src, i, "%v", err)
				}
				w.add(s)
			}
			return w.finish(strUTF8, valid, nulls)
		}}, nil
}

// ---- lpad, rpad ----

func bindPad(left bool) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, err := strArg(b, src, args, 0, true)
		if err != nil {
			return nil, err
		}
		n, err := strIntArg(b, src, args, 1)
		if err != nil {
			return nil, err
		}
		typ := x.dataType()
		bin := typ.ID() == arrow.BINARY
		ns := []bnode{x, n}
		if len(args) == 3 {
			p, err := strArg(b, src, args, 2, bin)
			if err != nil {
				return nil, err
			}
			if strNullLit(p) {
				p = &bLit{sc: scalar.MakeNullScalar(typ)}
			}
			if !arrow.TypeEqual(p.dataType(), typ) {
				return nil, fmt.Errorf("expr: %w in %s: the pad %s is %s, but the value padded is %s; cast them to one type",
					ErrType, b.in(src), args[2], typeName(p.dataType()), typeName(typ))
			}
			ns = append(ns, p)
		} else if bin {
			ns = append(ns, &bLit{sc: scalar.NewBinaryScalar(memory.NewBufferBytes([]byte{0}), strBinary)})
		} else {
			ns = append(ns, &bLit{sc: scalar.NewStringScalar(" ")})
		}
		return &bFunc{name: callName(src), src: src, args: ns, typ: typ, null: anyNullable(ns),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if strHasNullArg(vals) {
					return val{sc: scalar.MakeNullScalar(typ)}, nil
				}
				in, lens, pads := viewBin(vals[0]), viewI64(vals[1]), viewBin(vals[2])
				ascii := bin || (allASCII(in.region()) && allASCII(pads.region()))
				valid, nulls := strValidity(ev, vals...)
				bits := validBytes(valid)
				hint := in.size(ev.rows)
				if lens.cnst {
					hint = max(hint, ev.rows*int(min(max(lens.c, 0), 256)))
				}
				w := newBinOut(ev.mem, ev.rows, hint)
				for i := range ev.rows {
					if !bitOK(bits, i) {
						w.end()
						continue
					}
					if err := appendStrPadded(&w, in.at(i), pads.at(i), lens.at(i), left, ascii); err != nil {
						w.release()
						if valid != nil {
							valid.Release()
						}
						return val{}, rowErr(src, i, "%v", err)
					}
					w.end()
				}
				return w.finish(typ, valid, nulls)
			}}, nil
	}
}

// appendStrPadded appends s padded with pad to length characters, or cut to
// its first length characters when it is at least that long (or pad is
// empty), as Spark's lpad and rpad.
func appendStrPadded(w *binOut, s, pad []byte, length int64, left, ascii bool) error {
	n := int64(charCount(s, ascii))
	spaces := length - n
	if spaces <= 0 || len(pad) == 0 {
		cut := s[:charByteOffset(s, length, ascii)]
		if err := w.room(len(cut)); err != nil {
			return err
		}
		w.d = append(w.d, cut...)
		return nil
	}
	if spaces > math.MaxInt32 {
		return errStrTooLong
	}
	padChars := int64(charCount(pad, ascii))
	count := spaces / padChars
	rest := pad[:charByteOffset(pad, spaces-padChars*count, ascii)]
	total := int64(len(s)) + count*int64(len(pad)) + int64(len(rest))
	if total > math.MaxInt32 {
		return errStrTooLong
	}
	if err := w.room(int(total)); err != nil {
		return err
	}
	// Build in a local slice: one store into w per row.
	d := w.d
	if !left {
		d = append(d, s...)
	}
	for range count {
		d = append(d, pad...)
	}
	d = append(d, rest...)
	if left {
		d = append(d, s...)
	}
	w.d = d
	return nil
}

// ---- startswith, endswith, contains ----

type strMatchKind int

const (
	matchPrefix strMatchKind = iota
	matchSuffix
	matchContains
)

func bindMatch(kind strMatchKind) func(*binder, string, []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		ns := make([]bnode, 2)
		for i := range ns {
			n, err := strArg(b, src, args, i, true)
			if err != nil {
				return nil, err
			}
			ns[i] = n
		}
		return &bFunc{name: callName(src), src: src, args: ns, typ: strBool, null: anyNullable(ns),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if strHasNullArg(vals) {
					return val{sc: scalar.MakeNullScalar(strBool)}, nil
				}
				x, y := viewBin(vals[0]), viewBin(vals[1])
				valid, nulls := strValidity(ev, vals...)
				bits := validBytes(valid)
				buf := newBitsBuf(ev.mem, ev.rows)
				out := buf.Bytes()
				for i := range ev.rows {
					if !bitOK(bits, i) {
						continue
					}
					var hit bool
					switch kind {
					case matchPrefix:
						hit = bytes.HasPrefix(x.at(i), y.at(i))
					case matchSuffix:
						hit = bytes.HasSuffix(x.at(i), y.at(i))
					default:
						hit = bytes.Contains(x.at(i), y.at(i))
					}
					if hit {
						out[i>>3] |= 1 << (uint(i) & 7)
					}
				}
				return fixedResult(strBool, ev.rows, valid, nulls, buf), nil
			}}, nil
	}
}

// ---- instr, locate ----

func bindInstr(b *binder, src string, args []bnode) (bnode, error) {
	x, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, err
	}
	sub, err := strArg(b, src, args, 1, false)
	if err != nil {
		return nil, err
	}
	return &bFunc{name: "instr", src: src, args: []bnode{x, sub}, typ: strInt32, null: x.nullable() || sub.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			return evalLocate(ev, vals[1], vals[0], val{})
		}}, nil
}

func bindLocate(b *binder, src string, args []bnode) (bnode, error) {
	sub, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, err
	}
	x, err := strArg(b, src, args, 1, false)
	if err != nil {
		return nil, err
	}
	ns := []bnode{sub, x}
	if len(args) == 3 {
		p, err := strIntArg(b, src, args, 2)
		if err != nil {
			return nil, err
		}
		ns = append(ns, p)
	}
	return &bFunc{name: callName(src), src: src, args: ns, typ: strInt32, null: sub.nullable() || x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			var pos val
			if len(vals) == 3 {
				pos = vals[2]
			}
			return evalLocate(ev, vals[0], vals[1], pos)
		}}, nil
}

// evalLocate is Spark's locate(sub, x, pos): the 1-based character
// position of the first sub in x at or after character pos (1 when pos is
// absent), 0 when there is none or pos < 1, and 0 (not null) when pos is
// null. An empty sub is found at 1.
func evalLocate(ev *evalCtx, subV, xV, posV val) (val, error) {
	if posV.arr == nil && posV.sc != nil && !posV.sc.IsValid() {
		return val{sc: scalar.NewInt32Scalar(0)}, nil
	}
	if strHasNullArg([]val{subV, xV}) {
		return val{sc: scalar.MakeNullScalar(strInt32)}, nil
	}
	sub, x := viewBin(subV), viewBin(xV)
	pos := i64View{cnst: true, c: 1}
	var posBits validityView
	switch {
	case posV.arr != nil:
		pos = viewI64(posV)
		posBits = viewValidity(posV.arr.Data())
	case posV.sc != nil:
		pos = viewI64(posV)
	}
	ascii := allASCII(x.region())
	valid, nulls := strValidity(ev, subV, xV)
	if valid != nil && posBits.b != nil {
		// A null position gives 0 whatever the strings are.
		vb := valid.Bytes()
		for i := range ev.rows {
			if !posBits.ok(i) && vb[i>>3]&(1<<(uint(i)&7)) == 0 {
				vb[i>>3] |= 1 << (uint(i) & 7)
				nulls--
			}
		}
	}
	bits := validBytes(valid)
	buf := newFixedBuf(ev.mem, ev.rows, 4)
	out := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	for i := range out {
		out[i] = 0
		if !posBits.ok(i) || !bitOK(bits, i) {
			continue
		}
		p := pos.at(i)
		if p < 1 {
			continue
		}
		needle := sub.at(i)
		if len(needle) == 0 {
			out[i] = 1
			continue
		}
		s := x.at(i)
		from := charByteOffset(s, p-1, ascii)
		k := bytes.Index(s[from:], needle)
		if k < 0 {
			continue
		}
		out[i] = int32(p + int64(charCount(s[from:from+k], ascii)))
	}
	return fixedResult(strInt32, ev.rows, valid, nulls, buf), nil
}

// ---- reverse ----

func bindReverse(b *binder, src string, args []bnode) (bnode, error) {
	if t := args[0].dataType(); isListOfAny(t) {
		return &bFunc{name: "reverse", src: src, args: args, typ: t, null: args[0].nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) { return evalReverseList(ev, src, vals[0]) }}, nil
	}
	x, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, fmt.Errorf("%w (reverse also takes arrays)", err)
	}
	return &bFunc{name: "reverse", src: src, args: []bnode{x}, typ: strUTF8, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
			}
			in := viewBin(vals[0])
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			w := newBinOut(ev.mem, ev.rows, in.size(ev.rows))
			for i := range ev.rows {
				if !bitOK(bits, i) {
					w.end()
					continue
				}
				// Same length as the input: room was reserved.
				s := in.at(i)
				start := len(w.d)
				w.d = w.d[:start+len(s)]
				dst := w.d[start:]
				for j := 0; j < len(s); {
					size := 1
					if s[j] >= utf8.RuneSelf {
						_, size = utf8.DecodeRune(s[j:])
					}
					copy(dst[len(s)-j-size:], s[j:j+size])
					j += size
				}
				w.end()
			}
			return w.finish(strUTF8, valid, nulls)
		}}, nil
}

func evalReverseList(ev *evalCtx, src string, x val) (val, error) {
	if strHasNullArg([]val{x}) {
		return val{sc: scalar.MakeNullScalar(x.dataType())}, nil
	}
	lv := viewStrList(x)
	valid, nulls := strValidity(ev, x)
	offsB := newFixedBuf(ev.mem, ev.rows+1, 4)
	defer offsB.Release()
	offs := arrow.Int32Traits.CastFromBytes(offsB.Bytes())
	offs[0] = 0
	total := 0
	for i := range ev.rows {
		lo, hi := lv.bounds(i)
		total += hi - lo
		offs[i+1] = int32(total)
	}
	idxB := newFixedBuf(ev.mem, total, 4)
	idx := arrow.Int32Traits.CastFromBytes(idxB.Bytes())
	j := 0
	for i := range ev.rows {
		lo, hi := lv.bounds(i)
		for e := hi - 1; e >= lo; e-- {
			idx[j] = int32(e)
			j++
		}
	}
	return takeIntoList(ev, src, x.dataType(), []arrow.Array{lv.child}, idxB, offsB, valid, nulls)
}

// ---- repeat ----

func bindRepeat(b *binder, src string, args []bnode) (bnode, error) {
	x, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, err
	}
	n, err := strIntArg(b, src, args, 1)
	if err != nil {
		return nil, err
	}
	return &bFunc{name: "repeat", src: src, args: []bnode{x, n}, typ: strUTF8, null: x.nullable() || n.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
			}
			in, times := viewBin(vals[0]), viewI64(vals[1])
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			w := newBinOut(ev.mem, ev.rows, in.size(ev.rows))
			for i := range ev.rows {
				if !bitOK(bits, i) {
					w.end()
					continue
				}
				s, k := in.at(i), times.at(i)
				if k > 0 && len(s) > 0 {
					if k > math.MaxInt32/int64(len(s)) {
						w.release()
						if valid != nil {
							valid.Release()
						}
						return val{}, rowErr(src, i, "repeating %d bytes %d times: %v", len(s), k, errStrTooLong)
					}
					if err := w.room(int(k) * len(s)); err != nil {
						w.release()
						if valid != nil {
							valid.Release()
						}
						return val{}, rowErr(src, i, "%v", err)
					}
					for range k {
						w.d = append(w.d, s...)
					}
				}
				w.end()
			}
			return w.finish(strUTF8, valid, nulls)
		}}, nil
}

// ---- ascii, chr ----

func bindASCII(b *binder, src string, args []bnode) (bnode, error) {
	x, err := strArg(b, src, args, 0, false)
	if err != nil {
		return nil, err
	}
	return &bFunc{name: "ascii", src: src, args: []bnode{x}, typ: strInt32, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strInt32)}, nil
			}
			in := viewBin(vals[0])
			valid, nulls := strValidity(ev, vals...)
			buf := newFixedBuf(ev.mem, ev.rows, 4)
			out := arrow.Int32Traits.CastFromBytes(buf.Bytes())
			for i := range out {
				s := in.at(i)
				switch {
				case len(s) == 0:
					out[i] = 0
				case s[0] < utf8.RuneSelf:
					out[i] = int32(s[0])
				default:
					// An invalid first byte reads as U+FFFD, as a JVM
					// decodes it.
					r, _ := utf8.DecodeRune(s)
					out[i] = r
				}
			}
			return fixedResult(strInt32, ev.rows, valid, nulls, buf), nil
		}}, nil
}

func bindChr(b *binder, src string, args []bnode) (bnode, error) {
	n, err := strIntArg(b, src, args, 0)
	if err != nil {
		return nil, err
	}
	return &bFunc{name: callName(src), src: src, args: []bnode{n}, typ: strUTF8, null: n.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if strHasNullArg(vals) {
				return val{sc: scalar.MakeNullScalar(strUTF8)}, nil
			}
			codes := viewI64(vals[0])
			valid, nulls := strValidity(ev, vals...)
			bits := validBytes(valid)
			w := newBinOut(ev.mem, ev.rows, 2*ev.rows)
			for i := range ev.rows {
				// Spark: negative is empty, else the character of the low
				// byte (0 gives U+0000).
				if c := codes.at(i); bitOK(bits, i) && c >= 0 {
					w.d = utf8.AppendRune(w.d, rune(c&0xFF))
				}
				w.end()
			}
			return w.finish(strUTF8, valid, nulls)
		}}, nil
}
