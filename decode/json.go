package decode

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// maxDepth bounds the nesting of JSON values, as Jackson's default.
const maxDepth = 1000

// JSONDecoder decodes JSON records into Arrow columns of a fixed schema.
// It is immutable and safe for concurrent use.
type JSONDecoder struct {
	cfg    config
	schema *arrow.Schema
	root   *field
	// fields is set when the root is a schema's struct, whose children
	// are the result's columns.
	fields bool
}

// NewJSON returns a decoder of JSON objects into the fields of schema.
// Object keys are matched to field names exactly (case-sensitively);
// unknown keys are skipped, missing ones are null. Fields may be
// booleans, integers, floats, decimal128, string, binary (base64 text),
// date32, timestamp (any unit), struct, list and map with string keys,
// nested freely. The output schema has every field nullable.
//
// A field named as the corrupt record column (WithCorruptRecordColumn,
// default "_corrupt_record") must be a string; it is not read from the
// input but receives the raw text of malformed records in Permissive
// mode.
func NewJSON(schema *arrow.Schema, opts ...Option) (*JSONDecoder, error) {
	if schema == nil {
		return nil, fmt.Errorf("decode: NewJSON: schema is nil")
	}
	return newJSON(arrow.StructOf(schema.Fields()...), true, opts)
}

// NewJSONType returns a decoder of JSON values of type t, one per record,
// as Spark's from_json with a non-struct schema ("array<int>",
// "map<string, double>"). A struct type is the same as NewJSON with its
// fields. For other types the Result has one column, "value".
func NewJSONType(t arrow.DataType, opts ...Option) (*JSONDecoder, error) {
	if t == nil {
		return nil, fmt.Errorf("decode: NewJSONType: type is nil")
	}
	st, isStruct := t.(*arrow.StructType)
	if isStruct {
		return newJSON(st, true, opts)
	}
	return newJSON(t, false, opts)
}

func newJSON(t arrow.DataType, isStruct bool, opts []Option) (*JSONDecoder, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate("JSON"); err != nil {
		return nil, err
	}
	t = nullableType(t)
	d := &JSONDecoder{cfg: cfg, fields: isStruct}
	if isStruct {
		st := t.(*arrow.StructType)
		for _, f := range st.Fields() {
			if err := supported("JSON", f.Name, f.Type, true); err != nil {
				return nil, err
			}
		}
		d.schema = arrow.NewSchema(st.Fields(), nil)
		corrupt, err := checkCorrupt("JSON", st.Fields(), cfg.corrupt)
		if err != nil {
			return nil, err
		}
		d.root = compileField(st, "")
		if corrupt >= 0 {
			d.root.corrupt = corrupt
			delete(d.root.index, cfg.corrupt)
		}
	} else {
		if err := supported("JSON", "value", t, true); err != nil {
			return nil, err
		}
		d.schema = arrow.NewSchema([]arrow.Field{{Name: "value", Type: t, Nullable: true}}, nil)
		d.root = compileField(t, "")
	}
	return d, nil
}

// Schema is the schema of the decoded columns, every field nullable.
func (d *JSONDecoder) Schema() *arrow.Schema { return d.schema }

// Mode is the decoder's parse mode.
func (d *JSONDecoder) Mode() Mode { return d.cfg.mode }

// Decode parses each record of values, a string or binary array
// (borrowed, slices welcome), and returns the decoded columns, owned by
// the caller, who must Release the Result. Memory comes from mem
// (memory.DefaultAllocator if nil).
//
// A null record, or one that is empty or only whitespace, gives a row of
// nulls (a null in Result.Array) and is not malformed. A record that is
// not valid JSON, not an object (for a schema), has trailing data, or
// holds a value that does not fit its field's type (a string where a
// number is expected, an integer out of range, a bad timestamp, invalid
// UTF-8) is malformed: in Permissive mode its fields are all null and
// the corrupt record column, if any, holds its text; in DropMalformed
// mode it is left out; in FailFast mode Decode returns a *MalformedError.
// Every malformed record is listed in Result.Malformed.
func (d *JSONDecoder) Decode(values arrow.Array, mem memory.Allocator) (*Result, error) {
	in, err := newInput("JSON", values)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	root := newColumn(d.root, mem)
	s := &jsonScanner{}
	var malformed []RowError
	for i := 0; i < in.n; i++ {
		if i == presizeAfter && in.n >= 2*presizeAfter {
			root.presize(i, in.n)
		}
		rec, ok := in.record(i)
		if !ok {
			root.appendNull()
			continue
		}
		s.b, s.pos = rec, skipWS(rec, 0)
		if s.pos == len(rec) {
			root.appendNull()
			continue
		}
		start := root.n
		if s.value(root) && s.end() {
			continue
		}
		root.truncate(start)
		re := RowError{Row: i, Pos: s.errPos, Reason: s.errMsg}
		switch d.cfg.mode {
		case FailFast:
			root.release()
			return nil, &MalformedError{Format: "JSON", RowError: re, Record: excerpt(rec)}
		case Permissive:
			appendMalformed(root, rec)
		}
		malformed = append(malformed, re)
	}
	return finishResult(root, d.schema, d.fields, malformed)
}

// appendMalformed appends the row of a malformed record kept in
// Permissive mode: a struct whose fields are null but for the corrupt
// record column, or a null.
func appendMalformed(root *column, rec []byte) {
	if root.kind != kStruct {
		root.appendNull()
		return
	}
	for i, k := range root.kids {
		if i != root.corrupt {
			k.appendNull()
			continue
		}
		if utf8.Valid(rec) {
			k.appendBytes(rec)
		} else {
			k.appendBytes(bytes.ToValidUTF8(rec, []byte("\uFFFD")))
		}
	}
	root.bit(true)
}

// finishResult turns the root column into a Result.
func finishResult(root *column, schema *arrow.Schema, fields bool, malformed []RowError) (*Result, error) {
	if err := root.checkSize(); err != nil {
		root.release()
		return nil, err
	}
	data := root.finish()
	defer data.Release()
	arr := array.MakeFromData(data)
	res := &Result{Schema: schema, Rows: arr.Len(), Malformed: malformed, root: arr}
	if !fields {
		arr.Retain()
		res.Columns = []arrow.Array{arr}
		return res, nil
	}
	// The columns are the struct's children, with the struct's nulls
	// (null records) already in them: every field of a null record was
	// appended as null.
	for _, cd := range data.Children() {
		res.Columns = append(res.Columns, array.MakeFromData(cd))
	}
	return res, nil
}

// jsonScanner parses one record at a time. On failure it records the
// byte position and the reason.
type jsonScanner struct {
	b       []byte
	pos     int
	errPos  int
	errMsg  string
	stack   []byte
	scratch []byte
	// text holds a string's content decoded from escapes (Go memory).
	text growBuf
	keys map[string]struct{}
}

func (s *jsonScanner) fail(pos int, msg string) bool {
	s.errPos, s.errMsg = pos, msg
	return false
}

func (s *jsonScanner) failf(pos int, format string, args ...any) bool {
	return s.fail(pos, fmt.Sprintf(format, args...))
}

// ws marks JSON whitespace.
var ws = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func skipWS(b []byte, i int) int {
	for i < len(b) && ws[b[i]] {
		i++
	}
	return i
}

// end checks that only whitespace follows the value.
func (s *jsonScanner) end() bool {
	if i := skipWS(s.b, s.pos); i < len(s.b) {
		return s.failf(i, "unexpected %s after the JSON value", describeByte(s.b[i]))
	}
	return true
}

func describeByte(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c >= 0x20 && c < 0x7f:
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

var kindNames = [...]string{
	kNull: "null", kBool: "a boolean", kInt8: "an integer (tinyint)", kInt16: "an integer (smallint)",
	kInt32: "an integer (int)", kInt64: "an integer (bigint)", kFloat32: "a number (float)",
	kFloat64: "a number (double)", kDecimal: "a decimal number", kString: "a string",
	kBinary: "a base64 string", kDate: "a date string", kTimestamp: "a timestamp string or epoch seconds",
	kStruct: "an object", kList: "an array", kMap: "an object",
}

// mismatch fails because the value at s.pos does not fit column c.
func (s *jsonScanner) mismatch(c *column) bool {
	if c.name == "" {
		return s.failf(s.pos, "expected %s, found %s", kindNames[c.kind], describeByte(s.b[s.pos]))
	}
	return s.failf(s.pos, "field %s: expected %s, found %s", c.name, kindNames[c.kind], describeByte(s.b[s.pos]))
}

func (s *jsonScanner) badValue(c *column, pos int, what string, text []byte) bool {
	name := c.name
	if name == "" {
		name = "value"
	}
	if len(text) > 64 {
		return s.failf(pos, "field %s: %q... %s", name, text[:64], what)
	}
	return s.failf(pos, "field %s: %q %s", name, text, what)
}

// literal matches lit at s.pos.
func (s *jsonScanner) literal(lit string) bool {
	if len(s.b)-s.pos >= len(lit) && string(s.b[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	return s.failf(s.pos, "invalid literal; expected %s", lit)
}

// value parses the value at s.pos (after whitespace) into c.
func (s *jsonScanner) value(c *column) bool {
	b := s.b
	i := skipWS(b, s.pos)
	s.pos = i
	if i >= len(b) {
		return s.fail(i, "unexpected end of the record; a value was expected")
	}
	ch := b[i]
	if ch == 'n' {
		if !s.literal("null") {
			return false
		}
		c.appendNull()
		return true
	}
	switch c.kind {
	case kString:
		if ch == '"' {
			return s.stringInto(c)
		}
		return s.rawInto(c)
	case kInt8, kInt16, kInt32, kInt64:
		if ch != '-' && (ch < '0' || ch > '9') {
			return s.mismatch(c)
		}
		tok, isInt, ok := s.number()
		if !ok {
			return false
		}
		if !isInt {
			return s.badValue(c, i, "is not an integer", tok)
		}
		v, ok := parseInt(tok)
		if !ok || !intFits(v, c.width) {
			return s.badValue(c, i, "is out of range for "+c.typ.String(), tok)
		}
		c.appendInt(v)
		return true
	case kFloat32, kFloat64:
		bitSize := 64
		if c.kind == kFloat32 {
			bitSize = 32
		}
		switch {
		case ch == '-' || (ch >= '0' && ch <= '9'):
			if ch == '-' && i+1 < len(b) && b[i+1] == 'I' {
				return s.nonNumeric(c)
			}
			tok, _, ok := s.number()
			if !ok {
				return false
			}
			f, ok := parseFloat(tok, bitSize)
			if !ok {
				return s.badValue(c, i, "is not a number", tok)
			}
			c.appendFloat(f)
			return true
		case ch == 'N' || ch == 'I':
			return s.nonNumeric(c)
		case ch == '"':
			text, ok := s.stringBytes()
			if !ok {
				return false
			}
			switch string(text) {
			case "NaN":
				c.appendFloat(math.NaN())
			case "Infinity", "+Infinity", "+INF", "INF":
				c.appendFloat(math.Inf(1))
			case "-Infinity", "-INF":
				c.appendFloat(math.Inf(-1))
			default:
				return s.badValue(c, i, "is not a number (only NaN, Infinity and -Infinity may be quoted)", text)
			}
			return true
		}
		return s.mismatch(c)
	case kDecimal:
		var text []byte
		strip := false
		switch {
		case ch == '-' || (ch >= '0' && ch <= '9'):
			tok, _, ok := s.number()
			if !ok {
				return false
			}
			text = tok
		case ch == '"':
			t, ok := s.stringBytes()
			if !ok {
				return false
			}
			text, strip = t, true
		default:
			return s.mismatch(c)
		}
		lo, hi, ok := parseDecimal(text, c.precision, c.scale, strip, &s.scratch)
		if !ok {
			return s.badValue(c, i, fmt.Sprintf("is not a decimal that fits decimal(%d,%d)", c.precision, c.scale), text)
		}
		c.appendDecimal(lo, hi)
		return true
	case kBool:
		switch ch {
		case 't':
			if !s.literal("true") {
				return false
			}
			c.appendBool(true)
			return true
		case 'f':
			if !s.literal("false") {
				return false
			}
			c.appendBool(false)
			return true
		}
		return s.mismatch(c)
	case kBinary:
		if ch != '"' {
			return s.mismatch(c)
		}
		text, ok := s.stringBytes()
		if !ok {
			return false
		}
		c.data.reserve(base64.StdEncoding.DecodedLen(len(text)))
		n, err := base64.StdEncoding.Decode(c.data.p[c.data.n:], text)
		if err != nil {
			return s.badValue(c, i, "is not base64 ("+err.Error()+")", text)
		}
		c.data.n += n
		c.endBytes()
		return true
	case kDate:
		if ch != '"' {
			return s.mismatch(c)
		}
		text, ok := s.stringBytes()
		if !ok {
			return false
		}
		days, ok := parseDate(text)
		if !ok {
			return s.badValue(c, i, "is not a date (yyyy-MM-dd)", text)
		}
		c.appendInt(int64(days))
		return true
	case kTimestamp:
		var us int64
		switch {
		case ch == '"':
			text, ok := s.stringBytes()
			if !ok {
				return false
			}
			if us, ok = parseTimestamp(text); !ok {
				return s.badValue(c, i, "is not a timestamp (yyyy-MM-dd'T'HH:mm:ss[.SSSSSS][zone])", text)
			}
		case ch == '-' || (ch >= '0' && ch <= '9'):
			tok, isInt, ok := s.number()
			if !ok {
				return false
			}
			secs, ok := parseInt(tok)
			if !isInt || !ok || secs > math.MaxInt64/usPerSecond || secs < math.MinInt64/usPerSecond {
				return s.badValue(c, i, "is not a whole number of seconds since the epoch within range", tok)
			}
			us = secs * usPerSecond
		default:
			return s.mismatch(c)
		}
		if !c.appendMicros(us) {
			return s.badValue(c, i, "is out of range for "+c.typ.String(), s.b[i:s.pos])
		}
		return true
	case kStruct:
		if ch != '{' {
			return s.mismatch(c)
		}
		return s.object(c)
	case kList:
		if ch != '[' {
			return s.mismatch(c)
		}
		return s.array(c)
	case kMap:
		if ch != '{' {
			return s.mismatch(c)
		}
		return s.mapObject(c)
	case kNull:
		if !s.skip() {
			return false
		}
		c.appendNull()
		return true
	}
	return s.mismatch(c)
}

// nonNumeric reads the unquoted NaN, Infinity and -Infinity that Spark
// accepts for floats.
func (s *jsonScanner) nonNumeric(c *column) bool {
	for _, nn := range [...]struct {
		lit string
		v   float64
	}{{"NaN", math.NaN()}, {"Infinity", math.Inf(1)}, {"-Infinity", math.Inf(-1)}} {
		if len(s.b)-s.pos >= len(nn.lit) && string(s.b[s.pos:s.pos+len(nn.lit)]) == nn.lit {
			s.pos += len(nn.lit)
			c.appendFloat(nn.v)
			return true
		}
	}
	return s.failf(s.pos, "field %s: invalid number", c.name)
}

// number scans a JSON number at s.pos and returns its text and whether it
// is an integer (no fraction or exponent).
func (s *jsonScanner) number() (tok []byte, isInt, ok bool) {
	b, i := s.b, s.pos
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
	default:
		return nil, false, s.fail(i, "invalid number: a digit was expected")
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i]-'0' > 9 {
			return nil, false, s.fail(i, "invalid number: a digit was expected after the decimal point")
		}
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		isInt = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i]-'0' > 9 {
			return nil, false, s.fail(i, "invalid number: a digit was expected in the exponent")
		}
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		isInt = false
	}
	s.pos = i
	return b[start:i], isInt, true
}

// strPlain marks the bytes a JSON string can hold without a closer look:
// not '"', '\\', a control character, or a non-ASCII byte.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanPlain returns the index of the first byte at or after i that is not
// plain string content, looking at 8 bytes at a time.
func scanPlain(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lo * '"')
		e := x ^ (lo * '\\')
		if (((q-lo)&^q)|((e-lo)&^e)|(x-lo*0x20)|x)&hi != 0 {
			break
		}
		i += 8
	}
	for i < len(b) && strPlain[b[i]] {
		i++
	}
	return i
}

// stringInto appends the string at s.pos (an opening quote) to c.
func (s *jsonScanner) stringInto(c *column) bool {
	b := s.b
	start := s.pos + 1
	i := start
	for {
		i = scanPlain(b, i)
		if i >= len(b) {
			return s.fail(len(b), "unterminated string")
		}
		switch ch := b[i]; {
		case ch == '"':
			c.appendBytes(b[start:i])
			s.pos = i + 1
			return true
		case ch == '\\':
			// Copy what was read, then decode the rest escape by escape.
			c.data.reserve(i - start)
			c.data.n += copy(c.data.p[c.data.n:], b[start:i])
			s.pos = i
			if !s.unescapeTo(&c.data) {
				return false
			}
			c.endBytes()
			return true
		case ch < 0x20:
			return s.failf(i, "control character 0x%02x in a string; it must be escaped", ch)
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return s.fail(i, "invalid UTF-8 in a string")
			}
			i += size
		}
	}
}

// unescapeTo decodes the rest of a string from s.pos (inside the string)
// to its closing quote into dst.
func (s *jsonScanner) unescapeTo(dst *growBuf) bool {
	b := s.b
	i := s.pos
	for {
		j := scanPlain(b, i)
		dst.reserve(j - i + utf8.UTFMax)
		dst.n += copy(dst.p[dst.n:], b[i:j])
		i = j
		if i >= len(b) {
			return s.fail(len(b), "unterminated string")
		}
		switch ch := b[i]; {
		case ch == '"':
			s.pos = i + 1
			return true
		case ch == '\\':
			if i+1 >= len(b) {
				return s.fail(len(b), "unterminated string")
			}
			var out byte
			switch b[i+1] {
			case '"', '\\', '/':
				out = b[i+1]
			case 'b':
				out = '\b'
			case 'f':
				out = '\f'
			case 'n':
				out = '\n'
			case 'r':
				out = '\r'
			case 't':
				out = '\t'
			case 'u':
				r, n, ok := s.unicodeEscape(i)
				if !ok {
					return false
				}
				dst.reserve(utf8.UTFMax)
				dst.n += utf8.EncodeRune(dst.p[dst.n:], r)
				i += n
				continue
			default:
				return s.failf(i, "invalid escape \\%c in a string", b[i+1])
			}
			dst.p[dst.n] = out
			dst.n++
			i += 2
		case ch < 0x20:
			return s.failf(i, "control character 0x%02x in a string; it must be escaped", ch)
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return s.fail(i, "invalid UTF-8 in a string")
			}
			dst.reserve(size)
			dst.n += copy(dst.p[dst.n:], b[i:i+size])
			i += size
		}
	}
}

// unicodeEscape reads \uXXXX at i (and a following low surrogate) and
// returns the rune and the bytes read. A lone surrogate becomes U+FFFD.
func (s *jsonScanner) unicodeEscape(i int) (rune, int, bool) {
	r, ok := hex4(s.b, i+2)
	if !ok {
		return 0, 0, s.fail(i, "invalid \\u escape: four hex digits expected")
	}
	if utf16.IsSurrogate(r) {
		if i+12 <= len(s.b) && s.b[i+6] == '\\' && s.b[i+7] == 'u' {
			if r2, ok := hex4(s.b, i+8); ok {
				if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
					return pair, 12, true
				}
			}
		}
		return utf8.RuneError, 6, true
	}
	return r, 6, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// stringBytes returns the content of the string at s.pos: a slice of the
// record when it has no escapes, else decoded into scratch space valid
// until the next call.
func (s *jsonScanner) stringBytes() ([]byte, bool) {
	b := s.b
	start := s.pos + 1
	i := start
	for {
		i = scanPlain(b, i)
		if i >= len(b) {
			return nil, s.fail(len(b), "unterminated string")
		}
		switch ch := b[i]; {
		case ch == '"':
			s.pos = i + 1
			return b[start:i], true
		case ch == '\\':
			g := &s.text
			g.n = 0
			g.reserve(i - start)
			g.n += copy(g.p, b[start:i])
			s.pos = i
			if !s.unescapeTo(g) {
				return nil, false
			}
			return g.p[:g.n], true
		case ch < 0x20:
			return nil, s.failf(i, "control character 0x%02x in a string; it must be escaped", ch)
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return nil, s.fail(i, "invalid UTF-8 in a string")
			}
			i += size
		}
	}
}

// key reads an object key at s.pos, as stringBytes.
func (s *jsonScanner) key() ([]byte, bool) {
	if s.pos >= len(s.b) || s.b[s.pos] != '"' {
		if s.pos >= len(s.b) {
			return nil, s.fail(s.pos, "unexpected end of the record inside an object")
		}
		return nil, s.failf(s.pos, "expected a field name in double quotes, found %s", describeByte(s.b[s.pos]))
	}
	return s.stringBytes()
}

// colon reads the ':' after a key.
func (s *jsonScanner) colon() bool {
	i := skipWS(s.b, s.pos)
	if i >= len(s.b) || s.b[i] != ':' {
		if i >= len(s.b) {
			return s.fail(i, "unexpected end of the record inside an object")
		}
		return s.failf(i, "expected ':' after a field name, found %s", describeByte(s.b[i]))
	}
	s.pos = i + 1
	return true
}

// next reads what follows a member of an object or array: ',' (true,
// more) or the closing byte (false, done).
func (s *jsonScanner) next(closing byte) (more, ok bool) {
	i := skipWS(s.b, s.pos)
	if i >= len(s.b) {
		return false, s.fail(i, "unexpected end of the record; ',' or '"+string(closing)+"' expected")
	}
	switch s.b[i] {
	case ',':
		s.pos = skipWS(s.b, i+1)
		return true, true
	case closing:
		s.pos = i + 1
		return false, true
	}
	return false, s.failf(i, "expected ',' or '%c', found %s", closing, describeByte(s.b[i]))
}

// lookup returns the index of the struct field named key, or -1.
func (c *column) lookup(key []byte) int {
	if h := c.hint; h < len(c.names) && h != c.corrupt && string(key) == c.names[h] {
		c.hint = h + 1
		return h
	}
	idx, ok := c.index[string(key)]
	if !ok {
		return -1
	}
	c.hint = idx + 1
	return idx
}

// object parses an object at s.pos into struct column c. A repeated key
// keeps its last value; unknown keys are skipped.
func (s *jsonScanner) object(c *column) bool {
	start := c.n
	c.hint = 0
	s.pos = skipWS(s.b, s.pos+1)
	if s.pos < len(s.b) && s.b[s.pos] == '}' {
		s.pos++
	} else {
		for {
			key, ok := s.key()
			if !ok {
				return false
			}
			idx := c.lookup(key)
			if !s.colon() {
				return false
			}
			if idx < 0 {
				if !s.skip() {
					return false
				}
			} else {
				k := c.kids[idx]
				if k.n > start {
					k.truncate(start)
				}
				if !s.value(k) {
					return false
				}
			}
			more, ok := s.next('}')
			if !ok {
				return false
			}
			if !more {
				break
			}
		}
	}
	for _, k := range c.kids {
		if k.n == start {
			k.appendNull()
		}
	}
	c.bit(true)
	return true
}

// array parses an array at s.pos into list column c.
func (s *jsonScanner) array(c *column) bool {
	el := c.kids[0]
	s.pos = skipWS(s.b, s.pos+1)
	if s.pos < len(s.b) && s.b[s.pos] == ']' {
		s.pos++
		c.endNested()
		return true
	}
	for {
		if !s.value(el) {
			return false
		}
		more, ok := s.next(']')
		if !ok {
			return false
		}
		if !more {
			break
		}
	}
	c.endNested()
	return true
}

// mapObject parses an object at s.pos into map column c. A repeated key
// makes the record malformed, as Spark refuses duplicate map keys.
func (s *jsonScanner) mapObject(c *column) bool {
	keys, vals := c.kids[0], c.kids[1]
	first := keys.n
	s.pos = skipWS(s.b, s.pos+1)
	if s.pos < len(s.b) && s.b[s.pos] == '}' {
		s.pos++
		c.endNested()
		return true
	}
	for {
		at := s.pos
		key, ok := s.key()
		if !ok {
			return false
		}
		if s.duplicateKey(keys, first, key) {
			return s.failf(at, "field %s: duplicate map key %q", c.name, key)
		}
		keys.appendBytes(key)
		if !s.colon() || !s.value(vals) {
			return false
		}
		more, ok := s.next('}')
		if !ok {
			return false
		}
		if !more {
			break
		}
	}
	c.endNested()
	return true
}

// duplicateKey reports whether key is among the keys appended since
// first.
func (s *jsonScanner) duplicateKey(keys *column, first int, key []byte) bool {
	n := keys.n - first
	if n <= 16 {
		for j := first; j < keys.n; j++ {
			if bytes.Equal(keys.data.p[keys.offset(j):keys.offset(j+1)], key) {
				return true
			}
		}
		return false
	}
	if n == 17 {
		if s.keys == nil {
			s.keys = map[string]struct{}{}
		}
		clear(s.keys)
		for j := first; j < keys.n; j++ {
			s.keys[string(keys.data.p[keys.offset(j):keys.offset(j+1)])] = struct{}{}
		}
	}
	if _, dup := s.keys[string(key)]; dup {
		return true
	}
	s.keys[string(key)] = struct{}{}
	return false
}

// rawInto appends the JSON text of the non-string value at s.pos to
// string column c, without insignificant whitespace, as Spark does for a
// string field holding a number, boolean, object or array.
func (s *jsonScanner) rawInto(c *column) bool {
	start := s.pos
	if !s.skip() {
		return false
	}
	raw := s.b[start:s.pos]
	c.data.reserve(len(raw))
	out := c.data.p[c.data.n:]
	n := 0
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ws[ch] {
			continue
		}
		out[n] = ch
		n++
		if ch == '"' {
			// Copy the string whole: whitespace in it is content.
			for i++; i < len(raw); i++ {
				out[n] = raw[i]
				n++
				if raw[i] == '\\' {
					i++
					out[n] = raw[i]
					n++
				} else if raw[i] == '"' {
					break
				}
			}
		}
	}
	c.data.n += n
	c.endBytes()
	return true
}

// skip passes over the value at s.pos, checking that it is valid JSON.
func (s *jsonScanner) skip() bool {
	b := s.b
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	i := s.pos
	for {
		// A value starts at i.
		i = skipWS(b, i)
		if i >= len(b) {
			return s.fail(i, "unexpected end of the record; a value was expected")
		}
		switch ch := b[i]; {
		case ch == '"':
			s.pos = i
			if !s.skipString() {
				return false
			}
			i = s.pos
		case ch == '{' || ch == '[':
			if len(stack) >= maxDepth {
				return s.failf(i, "JSON nested deeper than %d levels", maxDepth)
			}
			closing := byte('}')
			if ch == '[' {
				closing = ']'
			}
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == closing {
				i++
				break
			}
			stack = append(stack, closing)
			if closing == '}' {
				if i = s.skipKey(i); i < 0 {
					return false
				}
			}
			continue
		case ch == 't':
			s.pos = i
			if !s.literal("true") {
				return false
			}
			i = s.pos
		case ch == 'f':
			s.pos = i
			if !s.literal("false") {
				return false
			}
			i = s.pos
		case ch == 'n':
			s.pos = i
			if !s.literal("null") {
				return false
			}
			i = s.pos
		case ch == 'N' || ch == 'I' || (ch == '-' && i+1 < len(b) && b[i+1] == 'I'):
			s.pos = i
			if !s.skipNonNumeric() {
				return false
			}
			i = s.pos
		case ch == '-' || (ch >= '0' && ch <= '9'):
			s.pos = i
			if _, _, ok := s.number(); !ok {
				return false
			}
			i = s.pos
		default:
			return s.failf(i, "unexpected %s; a value was expected", describeByte(ch))
		}
		// A value ended at i: close containers or move to the next member.
		for {
			if len(stack) == 0 {
				s.pos = i
				return true
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return s.fail(i, "unexpected end of the record inside a nested value")
			}
			closing := stack[len(stack)-1]
			if b[i] == closing {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return s.failf(i, "expected ',' or '%c', found %s", closing, describeByte(b[i]))
			}
			i++
			if closing == '}' {
				if i = s.skipKey(skipWS(b, i)); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// skipNonNumeric passes over NaN, Infinity or -Infinity.
func (s *jsonScanner) skipNonNumeric() bool {
	for _, lit := range [...]string{"NaN", "Infinity", "-Infinity"} {
		if len(s.b)-s.pos >= len(lit) && string(s.b[s.pos:s.pos+len(lit)]) == lit {
			s.pos += len(lit)
			return true
		}
	}
	return s.fail(s.pos, "invalid literal")
}

// skipKey passes over `"key" :` at i and returns the index after the
// colon, or -1 on failure.
func (s *jsonScanner) skipKey(i int) int {
	s.pos = i
	if i >= len(s.b) || s.b[i] != '"' {
		s.key() // records the failure
		return -1
	}
	if !s.skipString() || !s.colon() {
		return -1
	}
	return s.pos
}

// skipString passes over the string at s.pos, checking its escapes and
// UTF-8.
func (s *jsonScanner) skipString() bool {
	b := s.b
	i := s.pos + 1
	for {
		i = scanPlain(b, i)
		if i >= len(b) {
			return s.fail(len(b), "unterminated string")
		}
		switch ch := b[i]; {
		case ch == '"':
			s.pos = i + 1
			return true
		case ch == '\\':
			if i+1 >= len(b) {
				return s.fail(len(b), "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(b, i+2); !ok {
					return s.fail(i, "invalid \\u escape: four hex digits expected")
				}
				i += 6
			default:
				return s.failf(i, "invalid escape \\%c in a string", b[i+1])
			}
		case ch < 0x20:
			return s.failf(i, "control character 0x%02x in a string; it must be escaped", ch)
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return s.fail(i, "invalid UTF-8 in a string")
			}
			i += size
		}
	}
}
