package decode

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Mode is what a decoder does with a malformed record, as Spark's "mode"
// option.
type Mode int

const (
	// Permissive keeps a malformed record as a row of nulls (JSON) or with
	// its bad fields null (CSV), and puts the raw record in the corrupt
	// record column when the schema has one. It is the default.
	Permissive Mode = iota
	// DropMalformed leaves malformed records out of the result and counts
	// them.
	DropMalformed
	// FailFast stops at the first malformed record with a *MalformedError.
	FailFast
)

// String is the Spark name of the mode: PERMISSIVE, DROPMALFORMED or
// FAILFAST.
func (m Mode) String() string {
	switch m {
	case Permissive:
		return "PERMISSIVE"
	case DropMalformed:
		return "DROPMALFORMED"
	case FailFast:
		return "FAILFAST"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads a Spark mode name, case-insensitively: "PERMISSIVE",
// "DROPMALFORMED" or "FAILFAST". The empty string is Permissive.
func ParseMode(s string) (Mode, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "PERMISSIVE":
		return Permissive, nil
	case "DROPMALFORMED":
		return DropMalformed, nil
	case "FAILFAST":
		return FailFast, nil
	}
	return 0, fmt.Errorf("decode: unknown parse mode %q; use PERMISSIVE, DROPMALFORMED or FAILFAST", s)
}

// DefaultCorruptRecordColumn is the name of the column that receives the
// raw text of malformed records, as Spark's columnNameOfCorruptRecord.
const DefaultCorruptRecordColumn = "_corrupt_record"

// Option configures a decoder.
type Option func(*config)

type config struct {
	mode    Mode
	corrupt string
	// CSV only.
	delim, quote, escape     byte
	nullValue                string
	nanValue, posInf, negInf string
	// csvOnly names the CSV options that were set, so NewJSON can refuse
	// them.
	csvOnly []string
}

func defaultConfig() config {
	return config{
		mode: Permissive, corrupt: DefaultCorruptRecordColumn,
		delim: ',', quote: '"', escape: '\\',
		nanValue: "NaN", posInf: "Inf", negInf: "-Inf",
	}
}

// WithMode sets the parse mode (default Permissive).
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithCorruptRecordColumn names the column that keeps the raw text of
// malformed records in Permissive mode (default "_corrupt_record"). The
// column is used only if the schema has a nullable string field of that
// name; it is never read from the input.
func WithCorruptRecordColumn(name string) Option { return func(c *config) { c.corrupt = name } }

// WithDelimiter sets the CSV field separator (default ','). CSV only.
func WithDelimiter(b byte) Option {
	return func(c *config) { c.delim = b; c.csvOnly = append(c.csvOnly, "WithDelimiter") }
}

// WithQuote sets the CSV quote character (default '"'); 0 turns quoting
// off. CSV only.
func WithQuote(b byte) Option {
	return func(c *config) { c.quote = b; c.csvOnly = append(c.csvOnly, "WithQuote") }
}

// WithEscape sets the character that escapes a quote inside a quoted CSV
// value (default '\\'); a doubled quote ("") is always an escaped quote,
// as in RFC 4180. CSV only.
func WithEscape(b byte) Option {
	return func(c *config) { c.escape = b; c.csvOnly = append(c.csvOnly, "WithEscape") }
}

// WithNullValue sets the text of a null CSV field (default "", so an
// empty unquoted field is null). For a string column only an unquoted
// field equal to it is null; for other types a quoted one is too. CSV
// only.
func WithNullValue(s string) Option {
	return func(c *config) { c.nullValue = s; c.csvOnly = append(c.csvOnly, "WithNullValue") }
}

// WithSpecialFloats sets the CSV texts of NaN, positive and negative
// infinity (defaults "NaN", "Inf", "-Inf", as Spark). CSV only.
func WithSpecialFloats(nan, posInf, negInf string) Option {
	return func(c *config) {
		c.nanValue, c.posInf, c.negInf = nan, posInf, negInf
		c.csvOnly = append(c.csvOnly, "WithSpecialFloats")
	}
}

func (c *config) validate(format string) error {
	switch c.mode {
	case Permissive, DropMalformed, FailFast:
	default:
		return fmt.Errorf("decode: %s: unknown mode %d; use Permissive, DropMalformed or FailFast", format, int(c.mode))
	}
	if c.corrupt == "" {
		return fmt.Errorf("decode: %s: WithCorruptRecordColumn(\"\"): the corrupt record column needs a name", format)
	}
	if format == "JSON" && len(c.csvOnly) > 0 {
		return fmt.Errorf("decode: JSON: %s applies to CSV only; remove it", strings.Join(c.csvOnly, ", "))
	}
	if format == "CSV" {
		switch {
		case c.delim == '\n' || c.delim == '\r':
			return fmt.Errorf("decode: CSV: WithDelimiter(%q): a line break cannot separate fields", c.delim)
		case c.quote != 0 && c.quote == c.delim:
			return fmt.Errorf("decode: CSV: WithQuote(%q) is also the delimiter; choose different characters", c.quote)
		case c.escape != 0 && c.escape == c.delim:
			return fmt.Errorf("decode: CSV: WithEscape(%q) is also the delimiter; choose different characters", c.escape)
		}
	}
	return nil
}

var (
	jsonOptionNames = []string{"mode", "columnNameOfCorruptRecord"}
	csvOptionNames  = []string{"mode", "columnNameOfCorruptRecord", "sep", "delimiter", "quote", "escape", "nullValue", "nanValue", "positiveInf", "negativeInf"}
)

// JSONOptions reads Spark's JSON reader options (keys case-insensitive):
// mode and columnNameOfCorruptRecord. Any other key is refused, naming
// the keys accepted.
func JSONOptions(opts map[string]string) ([]Option, error) {
	return readOptions("JSON", jsonOptionNames, opts)
}

// CSVOptions reads Spark's CSV reader options (keys case-insensitive):
// mode, columnNameOfCorruptRecord, sep (or delimiter), quote, escape,
// nullValue, nanValue, positiveInf and negativeInf. Separator, quote and
// escape are single ASCII characters ("\t" is a tab; an empty quote turns
// quoting off). Any other key is refused, naming the keys accepted.
func CSVOptions(opts map[string]string) ([]Option, error) {
	return readOptions("CSV", csvOptionNames, opts)
}

func readOptions(format string, names []string, opts map[string]string) ([]Option, error) {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the first bad key is reported
	var out []Option
	nan, pos, neg := "NaN", "Inf", "-Inf"
	special := false
	for _, k := range keys {
		v := opts[k]
		name := ""
		for _, n := range names {
			if strings.EqualFold(n, k) {
				name = n
			}
		}
		switch name {
		case "mode":
			m, err := ParseMode(v)
			if err != nil {
				return nil, err
			}
			out = append(out, WithMode(m))
		case "columnNameOfCorruptRecord":
			out = append(out, WithCorruptRecordColumn(v))
		case "sep", "delimiter", "quote", "escape":
			b, err := optionChar(format, k, v, name == "quote")
			if err != nil {
				return nil, err
			}
			switch name {
			case "quote":
				out = append(out, WithQuote(b))
			case "escape":
				out = append(out, WithEscape(b))
			default:
				out = append(out, WithDelimiter(b))
			}
		case "nullValue":
			out = append(out, WithNullValue(v))
		case "nanValue":
			nan, special = v, true
		case "positiveInf":
			pos, special = v, true
		case "negativeInf":
			neg, special = v, true
		default:
			return nil, fmt.Errorf("decode: %s: unknown option %q; the options understood are %s", format, k, strings.Join(names, ", "))
		}
	}
	if special {
		out = append(out, WithSpecialFloats(nan, pos, neg))
	}
	return out, nil
}

func optionChar(format, key, v string, emptyOK bool) (byte, error) {
	switch {
	case v == `\t`:
		return '\t', nil
	case v == "" && emptyOK:
		return 0, nil
	case len(v) == 1 && v[0] < utf8.RuneSelf:
		return v[0], nil
	}
	return 0, fmt.Errorf("decode: %s: option %s=%q must be a single ASCII character", format, key, v)
}

// RowError describes one malformed record: its row in the input array,
// the byte position in the record where decoding failed, and why.
type RowError struct {
	Row    int
	Pos    int
	Reason string
}

func (e RowError) String() string {
	return fmt.Sprintf("row %d, byte %d: %s", e.Row, e.Pos, e.Reason)
}

// MalformedError is the error of FailFast mode: the first malformed
// record. Record holds the start of the record's text (at most 200 bytes,
// quoted).
type MalformedError struct {
	Format string // "JSON" or "CSV"
	RowError
	Record string
	// Source says where the record came from, when known (see
	// SourcePosition), for example "topic events, partition 3, offset 1042".
	Source string
}

func (e *MalformedError) Error() string {
	where := fmt.Sprintf("row %d", e.Row)
	if e.Source != "" {
		where += " (" + e.Source + ")"
	}
	return fmt.Sprintf("decode: malformed %s record at %s, byte %d: %s; record: %s (mode FAILFAST stops at the first malformed record; use PERMISSIVE to keep it as nulls or DROPMALFORMED to skip it)",
		e.Format, where, e.Pos, e.Reason, e.Record)
}

// ErrMalformed is matched by errors.Is for every *MalformedError.
var ErrMalformed = errors.New("malformed record")

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func excerpt(b []byte) string {
	const max = 200
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}

// Result is the outcome of decoding one array of records. It owns its
// arrays: call Release when done (arrays taken from it must be retained
// first, or taken with Array and released by the caller).
type Result struct {
	// Schema is the decoder's schema (every field nullable); for a decoder
	// of a single non-struct type it has one field, "value".
	Schema *arrow.Schema
	// Columns holds one array per field of Schema, each of Rows rows.
	Columns []arrow.Array
	// Rows is the number of rows in Columns: the input's length, less the
	// records dropped in DropMalformed mode.
	Rows int
	// Malformed lists every malformed input record, by input row, in
	// order. In DropMalformed mode these are the rows left out.
	Malformed []RowError

	// root is the whole result as one array (a struct for a schema);
	// rows whose input was null are null in it.
	root arrow.Array
}

// Array returns the result as one array: for a schema, a struct array of
// its fields, null where the input was null; for a single type, the
// values. The caller owns it and must Release it.
func (r *Result) Array() arrow.Array {
	r.root.Retain()
	return r.root
}

// Record returns the columns as a record batch of Schema. The caller owns
// it and must Release it.
func (r *Result) Record() arrow.RecordBatch {
	return array.NewRecordBatch(r.Schema, r.Columns, int64(r.Rows))
}

// IsMalformed reports whether input row was malformed, and why.
func (r *Result) IsMalformed(row int) (RowError, bool) {
	i := sort.Search(len(r.Malformed), func(i int) bool { return r.Malformed[i].Row >= row })
	if i < len(r.Malformed) && r.Malformed[i].Row == row {
		return r.Malformed[i], true
	}
	return RowError{}, false
}

// Release frees the result's arrays. It is safe to call twice.
func (r *Result) Release() {
	for _, c := range r.Columns {
		c.Release()
	}
	r.Columns = nil
	if r.root != nil {
		r.root.Release()
		r.root = nil
	}
}

// Decoder is what the JSON and CSV decoders have in common.
type Decoder interface {
	// Schema is the schema of the decoded columns (every field nullable).
	Schema() *arrow.Schema
	// Mode is the parse mode.
	Mode() Mode
	// Decode decodes every record of values, a string or binary array
	// (borrowed). The Result is owned by the caller, who releases it. In
	// FailFast mode the first malformed record is a *MalformedError.
	Decode(values arrow.Array, mem memory.Allocator) (*Result, error)
}

// input gives uniform access to the records of a string or binary array.
type input struct {
	offs  []int32
	data  []byte
	base  int32
	valid []byte
	off   int // the array's offset, for the validity bitmap
	n     int
}

func newInput(format string, values arrow.Array) (input, error) {
	if values == nil {
		return input{}, fmt.Errorf("decode: %s: the input array is nil", format)
	}
	var in input
	switch a := values.(type) {
	case *array.String:
		in.offs, in.data = a.ValueOffsets(), a.ValueBytes()
	case *array.Binary:
		in.offs, in.data = a.ValueOffsets(), a.ValueBytes()
	default:
		return input{}, fmt.Errorf("decode: %s: records must be a string or binary array, not %s; cast the column to string or binary", format, values.DataType())
	}
	in.n = values.Len()
	if in.n > 0 {
		in.base = in.offs[0]
	}
	if values.NullN() > 0 {
		in.valid = values.NullBitmapBytes()
		in.off = values.Data().Offset()
	}
	return in, nil
}

// record returns row i's bytes, or ok false when it is null.
func (in *input) record(i int) ([]byte, bool) {
	if in.valid != nil {
		j := in.off + i
		if in.valid[j>>3]&(1<<(j&7)) == 0 {
			return nil, false
		}
	}
	return in.data[in.offs[i]-in.base : in.offs[i+1]-in.base], true
}

// supported checks that t can be decoded, naming the field path.
func supported(format, path string, t arrow.DataType, nested bool) error {
	switch t.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.STRING, arrow.BINARY, arrow.DATE32, arrow.TIMESTAMP:
		return nil
	case arrow.DECIMAL128:
		return nil
	case arrow.STRUCT, arrow.LIST, arrow.MAP:
		if !nested {
			return fmt.Errorf("decode: %s: field %s is %s; %s records hold only flat values (use JSON for nested data)", format, path, t, format)
		}
		switch tt := t.(type) {
		case *arrow.StructType:
			for _, f := range tt.Fields() {
				if err := supported(format, path+"."+f.Name, f.Type, nested); err != nil {
					return err
				}
			}
		case *arrow.MapType:
			if tt.KeyType().ID() != arrow.STRING {
				return fmt.Errorf("decode: %s: field %s is %s; JSON object keys are strings, so a map must have string keys", format, path, t)
			}
			return supported(format, path+".value", tt.ItemType(), nested)
		case *arrow.ListType:
			return supported(format, path+".element", tt.Elem(), nested)
		}
		return nil
	}
	return fmt.Errorf("decode: %s: field %s has type %s, which cannot be decoded; use boolean, integers, float, double, decimal128, string, binary, date32, timestamp%s",
		format, path, t, map[bool]string{true: ", struct, list or map", false: ""}[nested])
}

// nullableSchema returns fields with every field (nested ones too)
// nullable, as Spark's asNullable: any value may be missing or malformed.
func nullableType(t arrow.DataType) arrow.DataType {
	switch tt := t.(type) {
	case *arrow.StructType:
		fs := make([]arrow.Field, tt.NumFields())
		for i, f := range tt.Fields() {
			fs[i] = arrow.Field{Name: f.Name, Type: nullableType(f.Type), Nullable: true, Metadata: f.Metadata}
		}
		return arrow.StructOf(fs...)
	case *arrow.MapType:
		kf, vf := tt.KeyField(), tt.ItemField()
		return arrow.MapOfFields(kf, arrow.Field{Name: vf.Name, Type: nullableType(vf.Type), Nullable: true, Metadata: vf.Metadata})
	case *arrow.ListType:
		ef := tt.ElemField()
		return arrow.ListOfField(arrow.Field{Name: ef.Name, Type: nullableType(ef.Type), Nullable: true, Metadata: ef.Metadata})
	}
	return t
}

// checkCorrupt validates the corrupt record column, if present, and
// returns its index in fields (or -1).
func checkCorrupt(format string, fields []arrow.Field, name string) (int, error) {
	for i, f := range fields {
		if f.Name != name {
			continue
		}
		if f.Type.ID() != arrow.STRING {
			return -1, fmt.Errorf("decode: %s: the corrupt record column %q is %s; it must be a nullable string", format, name, f.Type)
		}
		return i, nil
	}
	return -1, nil
}
