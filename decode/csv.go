package decode

import (
	"bytes"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// CSVDecoder decodes CSV records, one line each, into Arrow columns of a
// fixed schema: the i-th field of a record goes to the i-th column of the
// schema (the corrupt record column left out). It is immutable and safe
// for concurrent use.
type CSVDecoder struct {
	cfg    config
	schema *arrow.Schema
	root   *field
	// cols maps the position of a field in a record to its column.
	cols []int
}

// NewCSV returns a decoder of CSV records into schema, whose fields must
// be flat: booleans, integers, floats, decimal128, string, binary (the
// bytes as written), date32 or timestamp. Quoting follows RFC 4180: a
// field in quotes may hold the delimiter, line breaks and doubled quotes;
// the escape character (WithEscape, default '\\') before a quote is a
// quote too. Options: WithMode, WithCorruptRecordColumn, WithDelimiter,
// WithQuote, WithEscape, WithNullValue and WithSpecialFloats.
func NewCSV(schema *arrow.Schema, opts ...Option) (*CSVDecoder, error) {
	if schema == nil {
		return nil, fmt.Errorf("decode: NewCSV: schema is nil")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate("CSV"); err != nil {
		return nil, err
	}
	for _, f := range schema.Fields() {
		if err := supported("CSV", f.Name, f.Type, false); err != nil {
			return nil, err
		}
	}
	st := nullableType(arrow.StructOf(schema.Fields()...)).(*arrow.StructType)
	corrupt, err := checkCorrupt("CSV", st.Fields(), cfg.corrupt)
	if err != nil {
		return nil, err
	}
	d := &CSVDecoder{cfg: cfg, schema: arrow.NewSchema(st.Fields(), nil), root: compileField(st, "")}
	d.root.corrupt = corrupt
	for i := range st.Fields() {
		if i != corrupt {
			d.cols = append(d.cols, i)
		}
	}
	return d, nil
}

// Schema is the schema of the decoded columns, every field nullable.
func (d *CSVDecoder) Schema() *arrow.Schema { return d.schema }

// Mode is the decoder's parse mode.
func (d *CSVDecoder) Mode() Mode { return d.cfg.mode }

// Decode parses each record of values, a string or binary array
// (borrowed, slices welcome), and returns the decoded columns, owned by
// the caller, who must Release the Result. Memory comes from mem
// (memory.DefaultAllocator if nil). One line break at the end of a record
// is ignored.
//
// A null or empty record gives a row of nulls and is not malformed. A
// record with more or fewer fields than the schema, an unterminated
// quote, text after a closing quote, or a field that does not convert to
// its column's type (or is invalid UTF-8 for a string) is malformed: in
// Permissive mode, as Spark, the fields that did convert are kept, the
// others are null and the corrupt record column, if any, holds the
// record's text; in DropMalformed mode the record is left out; in
// FailFast mode Decode returns a *MalformedError. Every malformed record
// is listed in Result.Malformed.
func (d *CSVDecoder) Decode(values arrow.Array, mem memory.Allocator) (*Result, error) {
	in, err := newInput("CSV", values)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	root := newColumn(d.root, mem)
	s := &csvScanner{cfg: &d.cfg}
	var malformed []RowError
	for i := 0; i < in.n; i++ {
		if i == presizeAfter && in.n >= 2*presizeAfter {
			root.presize(i, in.n)
		}
		rec, ok := in.record(i)
		if ok {
			rec = trimLineBreak(rec)
		}
		if !ok || len(rec) == 0 {
			root.appendNull()
			continue
		}
		start := root.n
		if s.record(root, d.cols, rec) {
			continue
		}
		re := RowError{Row: i, Pos: s.errPos, Reason: s.errMsg}
		switch d.cfg.mode {
		case FailFast:
			root.release()
			return nil, &MalformedError{Format: "CSV", RowError: re, Record: excerpt(rec)}
		case DropMalformed:
			root.truncate(start)
		case Permissive:
			if c := root.corrupt; c >= 0 {
				k := root.kids[c]
				k.truncate(start)
				if utf8.Valid(rec) {
					k.appendBytes(rec)
				} else {
					k.appendBytes(bytes.ToValidUTF8(rec, []byte("\uFFFD")))
				}
			}
		}
		malformed = append(malformed, re)
	}
	return finishResult(root, d.schema, true, malformed)
}

func trimLineBreak(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// csvScanner splits and converts one record at a time. The first failure
// of a record is kept.
type csvScanner struct {
	cfg    *config
	b      []byte
	bad    bool
	errPos int
	errMsg string
	field  []byte // unquoted content of a quoted field with escapes
	digits []byte // scratch space for decimals
}

func (s *csvScanner) failf(pos int, format string, args ...any) {
	if !s.bad {
		s.bad, s.errPos, s.errMsg = true, pos, fmt.Sprintf(format, args...)
	}
}

// record appends one row to root from rec and reports whether it was
// well formed. A malformed row is still appended: the fields that
// converted, nulls for the rest.
func (s *csvScanner) record(root *column, cols []int, rec []byte) bool {
	s.b, s.bad = rec, false
	pos, k := 0, 0
	for {
		tok, quoted, next, ok := s.token(pos)
		if !ok {
			break
		}
		if k < len(cols) {
			s.convert(root.kids[cols[k]], tok, quoted, pos)
		} else if k == len(cols) {
			s.failf(pos, "the record has more than the %d fields of the schema", len(cols))
		}
		k++
		if next >= len(rec) {
			break
		}
		pos = next + 1 // past the delimiter
		if pos == len(rec) {
			// A trailing delimiter: one more, empty field.
			if k < len(cols) {
				s.convert(root.kids[cols[k]], nil, false, pos)
			} else if k == len(cols) {
				s.failf(pos, "the record has more than the %d fields of the schema", len(cols))
			}
			k++
			break
		}
	}
	if k < len(cols) && !s.bad {
		s.failf(len(rec), "the record has %d field%s, the schema %d", k, plural(k), len(cols))
	}
	// Columns not reached (fewer fields, or a failed split) are null.
	start := root.n
	for _, c := range root.kids {
		if c.n == start {
			c.appendNull()
		}
	}
	root.bit(true)
	return !s.bad
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// token reads the field starting at pos. It returns its content, whether
// it was quoted, and the index of the delimiter after it (or len(b)).
func (s *csvScanner) token(pos int) (tok []byte, quoted bool, next int, ok bool) {
	b, c := s.b, s.cfg
	if c.quote == 0 || pos >= len(b) || b[pos] != c.quote {
		j := bytes.IndexByte(b[pos:], c.delim)
		if j < 0 {
			return b[pos:], false, len(b), true
		}
		return b[pos : pos+j], false, pos + j, true
	}
	// Quoted: find the closing quote, unescaping if needed.
	i := pos + 1
	start := i
	plain := true
	out := s.field[:0]
	for i < len(b) {
		ch := b[i]
		switch {
		case ch == c.quote && i+1 < len(b) && b[i+1] == c.quote:
			out, plain = append(out, b[start:i]...), false
			out = append(out, c.quote)
			i += 2
			start = i
		case ch == c.quote:
			if plain {
				tok = b[start:i]
			} else {
				tok = append(out, b[start:i]...)
				s.field = tok[:0]
			}
			i++
			if i < len(b) && b[i] != c.delim {
				s.failf(i, "unexpected %q after the closing quote of a field; quote the whole field", b[i])
				return nil, false, 0, false
			}
			return tok, true, i, true
		case c.escape != 0 && ch == c.escape && i+1 < len(b) && (b[i+1] == c.quote || b[i+1] == c.escape):
			out, plain = append(out, b[start:i]...), false
			out = append(out, b[i+1])
			i += 2
			start = i
		default:
			i++
		}
	}
	s.field = out[:0]
	s.failf(pos, "unterminated quoted field")
	return nil, false, 0, false
}

// convert appends tok to c, or a null (and a failure) when it does not
// convert.
func (s *csvScanner) convert(c *column, tok []byte, quoted bool, pos int) {
	cfg := s.cfg
	if (!quoted || c.kind != kString) && string(tok) == cfg.nullValue {
		c.appendNull()
		return
	}
	bad := func(what string) {
		c.appendNull()
		if len(tok) > 64 {
			s.failf(pos, "field %s: %q... %s", c.name, tok[:64], what)
		} else {
			s.failf(pos, "field %s: %q %s", c.name, tok, what)
		}
	}
	switch c.kind {
	case kString:
		if !utf8.Valid(tok) {
			bad("is not valid UTF-8")
			return
		}
		c.appendBytes(tok)
	case kBinary:
		c.appendBytes(tok)
	case kInt8, kInt16, kInt32, kInt64:
		v, ok := parseInt(tok)
		if !ok {
			bad("is not an integer")
			return
		}
		if !intFits(v, c.width) {
			bad("is out of range for " + c.typ.String())
			return
		}
		c.appendInt(v)
	case kFloat32, kFloat64:
		switch string(tok) {
		case cfg.nanValue:
			c.appendFloat(math.NaN())
		case cfg.posInf:
			c.appendFloat(math.Inf(1))
		case cfg.negInf:
			c.appendFloat(math.Inf(-1))
		default:
			bitSize := 64
			if c.kind == kFloat32 {
				bitSize = 32
			}
			f, ok := parseFloat(tok, bitSize)
			if !ok {
				bad("is not a number")
				return
			}
			c.appendFloat(f)
		}
	case kDecimal:
		lo, hi, ok := parseDecimal(tok, c.precision, c.scale, true, &s.digits)
		if !ok {
			bad(fmt.Sprintf("is not a decimal that fits decimal(%d,%d)", c.precision, c.scale))
			return
		}
		c.appendDecimal(lo, hi)
	case kBool:
		switch {
		case bytes.EqualFold(tok, []byte("true")):
			c.appendBool(true)
		case bytes.EqualFold(tok, []byte("false")):
			c.appendBool(false)
		default:
			bad("is not a boolean (true or false)")
		}
	case kDate:
		days, ok := parseDate(tok)
		if !ok {
			bad("is not a date (yyyy-MM-dd)")
			return
		}
		c.appendInt(int64(days))
	case kTimestamp:
		us, ok := parseTimestamp(tok)
		if !ok {
			bad("is not a timestamp (yyyy-MM-dd'T'HH:mm:ss[.SSSSSS][zone])")
			return
		}
		if !c.appendMicros(us) {
			bad("is out of range for " + c.typ.String())
		}
	default: // kNull
		c.appendNull()
	}
}
