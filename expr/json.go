package expr

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/sluicehq/sluice/decode"
)

// This file holds from_json and to_json; from_csv is in csv.go. Parsing
// runs on the decode package's schema-driven decoders, one call per
// batch.

func init() {
	register(&funcDef{name: "from_json", minArgs: 2, maxArgs: 3, bind: typedBind(func(b *binder, src string, args []bnode) (bnode, error) {
		return bindParseCall(b, src, "from_json", args)
	})})
	register(&funcDef{name: "to_json", minArgs: 1, maxArgs: 2, bind: bindToJSON})
}

// FromJSON parses e, a string or binary column of JSON objects, into a
// struct of schema's fields (all nullable), as Spark's from_json. mode is
// "PERMISSIVE" (or ""): a malformed record gives a struct of nulls (with
// the raw text in a "_corrupt_record" string field if schema has one); or
// "FAILFAST": a malformed record fails the evaluation with an error naming
// the row, the byte position and, for Kafka records, the topic,
// partition and offset. "DROPMALFORMED" cannot drop rows from an
// expression: Bind refuses it and points to DataFrame.FromJSON. A null
// or empty input gives null.
//
// In SQL form: from_json(value, 'a BIGINT, b STRING', map('mode',
// 'FAILFAST')); the schema may also be any type, such as
// 'ARRAY<STRUCT<x: INT>>' or 'MAP<STRING, DOUBLE>'.
func FromJSON(e Expr, schema *arrow.Schema, mode string) Expr {
	var t arrow.DataType
	if schema != nil {
		t = arrow.StructOf(schema.Fields()...)
	}
	return Expr{&parseNode{fn: "from_json", x: e.n, typ: t, opts: map[string]string{"mode": mode}}}
}

// ToJSON is Spark's to_json: the JSON text of a struct (null fields
// left out), map or array. Timestamps are written as
// yyyy-MM-dd'T'HH:mm:ss.SSSXXX in UTC, dates as yyyy-MM-dd, binary as
// base64, floats as Java prints them (1.0E10, "NaN"). A null input gives
// null.
func ToJSON(e Expr) Expr { return Call("to_json", e) }

// parseNode is from_json or from_csv built from Go with an Arrow type
// rather than a DDL string.
type parseNode struct {
	fn   string // from_json or from_csv
	x    node
	typ  arrow.DataType
	opts map[string]string
}

func (p *parseNode) String() string {
	var sb strings.Builder
	sb.WriteString(p.fn + "(" + nodeString(p.x) + ", ")
	if p.typ == nil {
		sb.WriteString("<nil schema>")
	} else {
		sb.WriteString(strconv.Quote(ddlOf(p.typ)))
	}
	if opts := optionsString(p.opts); opts != "" {
		sb.WriteString(", " + opts)
	}
	sb.WriteString(")")
	return sb.String()
}

// ddlOf shows a parse schema: a struct as its column list.
func ddlOf(t arrow.DataType) string {
	st, ok := t.(*arrow.StructType)
	if !ok {
		return TypeString(t)
	}
	parts := make([]string, st.NumFields())
	for i, f := range st.Fields() {
		parts[i] = quoteName(f.Name) + " " + TypeString(f.Type)
	}
	return strings.Join(parts, ", ")
}

// optionsString shows options as Spark's map(...) argument, keys sorted;
// an empty mode (the default) is left out.
func optionsString(opts map[string]string) string {
	keys := make([]string, 0, len(opts))
	for k, v := range opts {
		if v != "" || !strings.EqualFold(k, "mode") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strconv.Quote(k) + ", " + strconv.Quote(opts[k])
	}
	return "map(" + strings.Join(parts, ", ") + ")"
}

func (p *parseNode) bind(b *binder) (bnode, error) {
	src := p.String()
	if p.typ == nil {
		return nil, fmt.Errorf("expr: %s: the schema is nil; pass the *arrow.Schema of the fields to parse", b.in(src))
	}
	x, err := bindNode(b, p.x)
	if err != nil {
		return nil, err
	}
	return foldTyped(b, src)(bindParse(b, src, p.fn, x, p.typ, p.opts))
}

// bindParseCall binds from_json(col, schema[, options]) or from_csv
// called by name: the schema is a constant DDL string and the options a
// constant map<string, string>.
func bindParseCall(b *binder, src, fn string, args []bnode) (bnode, error) {
	ddl, ok, null := constString(args[1])
	if !ok || null || !isStringType(args[1].dataType()) {
		return nil, fmt.Errorf("expr: %w in %s: the schema (argument 2) must be a constant string such as 'a BIGINT, b STRING', not %s", ErrType, b.in(src), args[1])
	}
	var t arrow.DataType
	if fn == "from_csv" {
		sch, err := ParseSchema(ddl)
		if err != nil {
			return nil, fmt.Errorf("expr: %s: the schema: %w", b.in(src), err)
		}
		t = arrow.StructOf(sch.Fields()...)
	} else {
		var err error
		if t, err = ParseType(ddl); err != nil {
			return nil, fmt.Errorf("expr: %s: the schema: %w", b.in(src), err)
		}
	}
	opts := map[string]string{}
	if len(args) == 3 {
		var err error
		if opts, err = constOptions(b, src, args[2]); err != nil {
			return nil, err
		}
	}
	return bindParse(b, src, fn, args[0], t, opts)
}

// constOptions reads a constant map<string, string> argument.
func constOptions(b *binder, src string, n bnode) (map[string]string, error) {
	bad := func() error {
		return fmt.Errorf("expr: %w in %s: the options must be a constant map<string, string> such as map('mode', 'FAILFAST'), not %s (%s)",
			ErrType, b.in(src), n, typeName(n.dataType()))
	}
	c, ok := n.(*bLit)
	if !ok {
		return nil, bad()
	}
	out := map[string]string{}
	if !c.sc.IsValid() {
		return out, nil
	}
	m, ok := c.sc.(*scalar.Map)
	if !ok {
		return nil, bad()
	}
	entries, ok := m.Value.(*array.Struct)
	if !ok || entries.NumField() != 2 {
		return nil, bad()
	}
	keys, ok1 := entries.Field(0).(*array.String)
	vals, ok2 := entries.Field(1).(*array.String)
	if !ok1 || !ok2 {
		return nil, bad()
	}
	for i := 0; i < entries.Len(); i++ {
		if vals.IsNull(i) {
			return nil, fmt.Errorf("expr: %s: option %q is null; give it a value", b.in(src), keys.Value(i))
		}
		out[keys.Value(i)] = vals.Value(i)
	}
	return out, nil
}

// bindParse type-checks a from_json or from_csv of x into type t and
// builds its node.
func bindParse(b *binder, src, fn string, x bnode, t arrow.DataType, opts map[string]string) (bnode, error) {
	format := "JSON"
	if fn == "from_csv" {
		format = "CSV"
	}
	var dopts []decode.Option
	var err error
	if format == "JSON" {
		dopts, err = decode.JSONOptions(opts)
	} else {
		dopts, err = decode.CSVOptions(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("expr: %s: %w", b.in(src), err)
	}
	if mode, _ := decode.ParseMode(opts[optionKey(opts, "mode")]); mode == decode.DropMalformed {
		return nil, fmt.Errorf("expr: %s: mode DROPMALFORMED cannot be used in an expression, which gives one row per input row; use PERMISSIVE or FAILFAST here, or drop malformed records with DataFrame.From%s(column, schema, dataframe.WithParseMode(\"DROPMALFORMED\"))",
			b.in(src), format)
	}
	var dec decode.Decoder
	var out arrow.DataType
	if format == "JSON" {
		d, err := decode.NewJSONType(t, dopts...)
		if err != nil {
			return nil, fmt.Errorf("expr: %s: %w", b.in(src), err)
		}
		dec = d
	} else {
		st, ok := t.(*arrow.StructType)
		if !ok {
			return nil, fmt.Errorf("expr: %s: the schema of from_csv must be a column list such as 'a INT, b STRING', not %s", b.in(src), TypeString(t))
		}
		d, err := decode.NewCSV(arrow.NewSchema(st.Fields(), nil), dopts...)
		if err != nil {
			return nil, fmt.Errorf("expr: %s: %w", b.in(src), err)
		}
		dec = d
	}
	if _, isStruct := t.(*arrow.StructType); isStruct {
		out = arrow.StructOf(dec.Schema().Fields()...)
	} else {
		out = dec.Schema().Field(0).Type
	}

	x = b.decodeDict(x)
	switch xt := x.dataType(); {
	case isNull(xt):
		return &bLit{sc: scalar.MakeNullScalar(out)}, nil
	case xt.ID() == arrow.STRING || xt.ID() == arrow.BINARY:
	case xt.ID() == arrow.LARGE_STRING:
		x = &bCast{x: x, to: arrow.BinaryTypes.String}
	case xt.ID() == arrow.LARGE_BINARY:
		x = &bCast{x: x, to: arrow.BinaryTypes.Binary}
	default:
		return nil, fmt.Errorf("expr: %w in %s: %s parses a string or binary column, but %s is %s",
			ErrType, b.in(src), fn, x, typeName(xt))
	}
	return &bFunc{name: fn, src: src, args: []bnode{x}, typ: out, null: true,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			in, release, err := asArray(ev, vals[0])
			if err != nil {
				return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
			}
			defer release()
			res, err := dec.Decode(in, ev.mem)
			if err != nil {
				var me *decode.MalformedError
				if errors.As(err, &me) {
					err = me.WithSource(decode.SourcePosition(ev.rec, me.Row))
				}
				return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
			}
			defer res.Release()
			return val{arr: res.Array()}, nil
		}}, nil
}

// optionKey finds key among opts' keys case-insensitively, as Spark
// reads options.
func optionKey(opts map[string]string, key string) string {
	for k := range opts {
		if strings.EqualFold(k, key) {
			return k
		}
	}
	return key
}

// --- to_json ------------------------------------------------------------

func bindToJSON(b *binder, src string, args []bnode) (bnode, error) {
	x := b.decodeDict(args[0])
	ignoreNulls := true
	if len(args) == 2 {
		opts, err := constOptions(b, src, args[1])
		if err != nil {
			return nil, err
		}
		for k, v := range opts {
			switch {
			case strings.EqualFold(k, "ignoreNullFields") && (strings.EqualFold(v, "true") || strings.EqualFold(v, "false")):
				ignoreNulls = strings.EqualFold(v, "true")
			case strings.EqualFold(k, "ignoreNullFields"):
				return nil, fmt.Errorf("expr: %s: option ignoreNullFields=%q must be true or false", b.in(src), v)
			default:
				return nil, fmt.Errorf("expr: %s: unknown option %q; to_json understands ignoreNullFields", b.in(src), k)
			}
		}
	}
	t := x.dataType()
	if isNull(t) {
		return &bLit{sc: scalar.MakeNullScalar(arrow.BinaryTypes.String)}, nil
	}
	switch t.ID() {
	case arrow.STRUCT, arrow.MAP, arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST:
	default:
		return nil, fmt.Errorf("expr: %w in %s: to_json needs a struct, map or array, but %s is %s; wrap it, for example in struct(%s)",
			ErrType, b.in(src), x, typeName(t), x)
	}
	if err := jsonWritable(t); err != nil {
		return nil, fmt.Errorf("expr: %w in %s: %v", ErrType, b.in(src), err)
	}
	return &bFunc{name: "to_json", src: src, args: []bnode{x}, typ: arrow.BinaryTypes.String, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			in, release, err := asArray(ev, vals[0])
			if err != nil {
				return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
			}
			defer release()
			out, err := writeJSON(in, ignoreNulls, ev.mem)
			if err != nil {
				return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
			}
			return val{arr: out}, nil
		}}, nil
}

// jsonWritable checks that every type in t can be written as JSON.
func jsonWritable(t arrow.DataType) error {
	switch tt := t.(type) {
	case *arrow.StructType:
		for _, f := range tt.Fields() {
			if err := jsonWritable(f.Type); err != nil {
				return err
			}
		}
		return nil
	case *arrow.MapType:
		if err := jsonWritable(tt.KeyType()); err != nil {
			return err
		}
		return jsonWritable(tt.ItemType())
	case arrow.ListLikeType:
		return jsonWritable(tt.Elem())
	}
	switch t.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL128, arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return nil
	}
	return fmt.Errorf("values of type %s cannot be written as JSON; cast them to string first", t)
}

type jwKind uint8

const (
	jwNull jwKind = iota
	jwBool
	jwInt8
	jwInt16
	jwInt32
	jwInt64
	jwUint8
	jwUint16
	jwUint32
	jwUint64
	jwFloat32
	jwFloat64
	jwDecimal
	jwString
	jwLargeString
	jwBinary
	jwLargeBinary
	jwDate32
	jwDate64
	jwTimestamp
	jwStruct
	jwList
	jwLargeList
	jwFixedList
	jwMap
)

// jsonWriter writes the values of one array as JSON, reading its buffers
// directly.
type jsonWriter struct {
	kind  jwKind
	valid []byte // validity bitmap, nil when there are no nulls
	off   int    // the array's offset into valid

	boolArr *array.Boolean
	i8      []int8
	i16     []int16
	i32     []int32
	i64     []int64
	u8      []uint8
	u16     []uint16
	u32     []uint32
	u64     []uint64
	f32     []float32
	f64     []float64
	dec     []decimal128.Num
	scale   int32
	// strings and binary: offsets (offset-adjusted) and bytes
	offs32 []int32
	offs64 []int64
	data   []byte
	base   int64
	// timestamps
	unit arrow.TimeUnit
	ntz  bool
	// nested
	kids      []*jsonWriter
	names     [][]byte // struct: `"name":`
	fixed     arrow.Array
	fixedSize int
	fixedOff  int
}

func newJSONWriter(a arrow.Array) *jsonWriter {
	w := &jsonWriter{off: a.Data().Offset()}
	if a.NullN() > 0 {
		w.valid = a.NullBitmapBytes()
	}
	switch a := a.(type) {
	case *array.Null:
		w.kind = jwNull
	case *array.Boolean:
		w.kind, w.boolArr = jwBool, a
	case *array.Int8:
		w.kind, w.i8 = jwInt8, a.Int8Values()
	case *array.Int16:
		w.kind, w.i16 = jwInt16, a.Int16Values()
	case *array.Int32:
		w.kind, w.i32 = jwInt32, a.Int32Values()
	case *array.Int64:
		w.kind, w.i64 = jwInt64, a.Int64Values()
	case *array.Uint8:
		w.kind, w.u8 = jwUint8, a.Uint8Values()
	case *array.Uint16:
		w.kind, w.u16 = jwUint16, a.Uint16Values()
	case *array.Uint32:
		w.kind, w.u32 = jwUint32, a.Uint32Values()
	case *array.Uint64:
		w.kind, w.u64 = jwUint64, a.Uint64Values()
	case *array.Float32:
		w.kind, w.f32 = jwFloat32, a.Float32Values()
	case *array.Float64:
		w.kind, w.f64 = jwFloat64, a.Float64Values()
	case *array.Decimal128:
		w.kind, w.dec, w.scale = jwDecimal, a.Values(), a.DataType().(*arrow.Decimal128Type).Scale
	case *array.String:
		w.kind, w.offs32, w.data = jwString, a.ValueOffsets(), a.ValueBytes()
	case *array.LargeString:
		w.kind, w.offs64, w.data = jwLargeString, a.ValueOffsets(), a.ValueBytes()
	case *array.Binary:
		w.kind, w.offs32, w.data = jwBinary, a.ValueOffsets(), a.ValueBytes()
	case *array.LargeBinary:
		w.kind, w.offs64, w.data = jwLargeBinary, a.ValueOffsets(), a.ValueBytes()
	case *array.Date32:
		w.kind, w.i32 = jwDate32, arrow.Int32Traits.CastFromBytes(arrow.Date32Traits.CastToBytes(a.Date32Values()))
	case *array.Date64:
		w.kind, w.i64 = jwDate64, arrow.Int64Traits.CastFromBytes(arrow.Date64Traits.CastToBytes(a.Date64Values()))
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		w.kind, w.unit, w.ntz = jwTimestamp, tt.Unit, tt.TimeZone == ""
		w.i64 = arrow.Int64Traits.CastFromBytes(arrow.TimestampTraits.CastToBytes(a.TimestampValues()))
	case *array.Struct:
		w.kind = jwStruct
		st := a.DataType().(*arrow.StructType)
		for k := 0; k < a.NumField(); k++ {
			w.kids = append(w.kids, newJSONWriter(a.Field(k)))
			w.names = append(w.names, append(appendJSONString(nil, []byte(st.Field(k).Name)), ':'))
		}
	case *array.Map:
		w.kind, w.offs32 = jwMap, listOffsets(a.Offsets(), w.off, a.Len())
		w.kids = []*jsonWriter{newJSONWriter(a.Keys()), newJSONWriter(a.Items())}
	case *array.List:
		w.kind, w.offs32 = jwList, listOffsets(a.Offsets(), w.off, a.Len())
		w.kids = []*jsonWriter{newJSONWriter(a.ListValues())}
	case *array.LargeList:
		w.kind, w.offs64 = jwLargeList, listOffsets(a.Offsets(), w.off, a.Len())
		w.kids = []*jsonWriter{newJSONWriter(a.ListValues())}
	case *array.FixedSizeList:
		w.kind = jwFixedList
		w.fixedSize = int(a.DataType().(*arrow.FixedSizeListType).Len())
		w.kids = []*jsonWriter{newJSONWriter(a.ListValues())}
	}
	if w.offs32 != nil && len(w.offs32) > 0 && (w.kind == jwString || w.kind == jwBinary) {
		w.base = int64(w.offs32[0])
	}
	if w.offs64 != nil && len(w.offs64) > 0 && (w.kind == jwLargeString || w.kind == jwLargeBinary) {
		w.base = w.offs64[0]
	}
	return w
}

// listOffsets returns the n+1 offsets of a list array of offset off:
// arrow-go's Offsets is not adjusted for slices.
func listOffsets[O int32 | int64](offs []O, off, n int) []O {
	if n == 0 {
		return nil
	}
	return offs[off : off+n+1]
}

func (w *jsonWriter) isNull(i int) bool {
	if w.kind == jwNull {
		return true
	}
	j := w.off + i
	return w.valid != nil && w.valid[j>>3]&(1<<(j&7)) == 0
}

// bytesAt returns string or binary value i.
func (w *jsonWriter) bytesAt(i int) []byte {
	if w.offs32 != nil {
		return w.data[int64(w.offs32[i])-w.base : int64(w.offs32[i+1])-w.base]
	}
	return w.data[w.offs64[i]-w.base : w.offs64[i+1]-w.base]
}

// write appends value i (not null) as JSON.
func (w *jsonWriter) write(out []byte, i int, ignoreNulls bool) []byte {
	switch w.kind {
	case jwBool:
		return strconv.AppendBool(out, w.boolArr.Value(i))
	case jwInt8:
		return strconv.AppendInt(out, int64(w.i8[i]), 10)
	case jwInt16:
		return strconv.AppendInt(out, int64(w.i16[i]), 10)
	case jwInt32:
		return strconv.AppendInt(out, int64(w.i32[i]), 10)
	case jwInt64:
		return strconv.AppendInt(out, w.i64[i], 10)
	case jwUint8:
		return strconv.AppendUint(out, uint64(w.u8[i]), 10)
	case jwUint16:
		return strconv.AppendUint(out, uint64(w.u16[i]), 10)
	case jwUint32:
		return strconv.AppendUint(out, uint64(w.u32[i]), 10)
	case jwUint64:
		return strconv.AppendUint(out, w.u64[i], 10)
	case jwFloat32:
		return appendJSONFloat(out, float64(w.f32[i]), 32)
	case jwFloat64:
		return appendJSONFloat(out, w.f64[i], 64)
	case jwDecimal:
		return appendJavaDecimal(out, w.dec[i], w.scale)
	case jwString, jwLargeString:
		return appendJSONString(out, w.bytesAt(i))
	case jwBinary, jwLargeBinary:
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, w.bytesAt(i))
		return append(out, '"')
	case jwDate32:
		out = append(out, '"')
		out = time.Unix(int64(w.i32[i])*86400, 0).UTC().AppendFormat(out, "2006-01-02")
		return append(out, '"')
	case jwDate64:
		out = append(out, '"')
		out = time.UnixMilli(w.i64[i]).UTC().AppendFormat(out, "2006-01-02")
		return append(out, '"')
	case jwTimestamp:
		v := w.i64[i]
		var t time.Time
		switch w.unit {
		case arrow.Second:
			t = time.Unix(v, 0)
		case arrow.Millisecond:
			t = time.UnixMilli(v)
		case arrow.Microsecond:
			t = time.UnixMicro(v)
		default:
			t = time.Unix(0, v)
		}
		out = append(out, '"')
		if w.ntz {
			out = t.UTC().AppendFormat(out, "2006-01-02T15:04:05.000")
		} else {
			out = t.UTC().AppendFormat(out, "2006-01-02T15:04:05.000Z07:00")
		}
		return append(out, '"')
	case jwStruct:
		out = append(out, '{')
		first := true
		for k, kid := range w.kids {
			null := kid.isNull(i)
			if null && ignoreNulls {
				continue
			}
			if !first {
				out = append(out, ',')
			}
			first = false
			out = append(out, w.names[k]...)
			if null {
				out = append(out, "null"...)
			} else {
				out = kid.write(out, i, ignoreNulls)
			}
		}
		return append(out, '}')
	case jwMap:
		keys, items := w.kids[0], w.kids[1]
		out = append(out, '{')
		for j := int(w.offs32[i]); j < int(w.offs32[i+1]); j++ {
			if j > int(w.offs32[i]) {
				out = append(out, ',')
			}
			if keys.kind == jwString || keys.kind == jwLargeString {
				out = keys.write(out, j, ignoreNulls)
			} else {
				// A key of another type is written as its text, quoted:
				// numbers and booleans need no escaping, and dates and
				// timestamps are quoted already.
				start := len(out)
				out = keys.write(out, j, ignoreNulls)
				if len(out) == start || out[start] != '"' {
					out = append(out, 0)
					copy(out[start+1:], out[start:len(out)-1])
					out[start] = '"'
					out = append(out, '"')
				}
			}
			out = append(out, ':')
			if items.isNull(j) {
				out = append(out, "null"...)
			} else {
				out = items.write(out, j, ignoreNulls)
			}
		}
		return append(out, '}')
	case jwList, jwLargeList, jwFixedList:
		var start, end int
		switch w.kind {
		case jwList:
			start, end = int(w.offs32[i]), int(w.offs32[i+1])
		case jwLargeList:
			start, end = int(w.offs64[i]), int(w.offs64[i+1])
		default:
			start = (w.off + i) * w.fixedSize
			end = start + w.fixedSize
		}
		el := w.kids[0]
		out = append(out, '[')
		for j := start; j < end; j++ {
			if j > start {
				out = append(out, ',')
			}
			if el.isNull(j) {
				out = append(out, "null"...)
			} else {
				out = el.write(out, j, ignoreNulls)
			}
		}
		return append(out, ']')
	}
	return append(out, "null"...)
}

// jsonEscapes marks the bytes a JSON string must escape.
var jsonEscapes = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// appendJSONString appends s quoted and escaped as Jackson writes it;
// invalid UTF-8 becomes U+FFFD.
func appendJSONString(out, s []byte) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !jsonEscapes[c] {
				i++
				continue
			}
			out = append(out, s[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			default:
				out = append(out, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, s[start:i]...)
			out = append(out, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}

// appendJSONFloat appends f as Jackson writes a float: Java's digits
// (appendJavaFloat), with NaN and the infinities quoted.
func appendJSONFloat(out []byte, f float64, bitSize int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		out = append(out, '"')
		out = appendJavaFloat(out, f, bitSize)
		return append(out, '"')
	}
	return appendJavaFloat(out, f, bitSize)
}

// appendJavaDecimal appends a decimal as Java's BigDecimal.toString:
// plain unless the scale is negative or the adjusted exponent is below
// -6.
func appendJavaDecimal(out []byte, n decimal128.Num, scale int32) []byte {
	neg, mag := splitNum(n)
	if neg {
		out = append(out, '-')
	}
	var buf [40]byte
	s := appendU128(buf[:0], mag)
	adjusted := -int(scale) + len(s) - 1
	if scale >= 0 && adjusted >= -6 {
		if scale == 0 {
			return append(out, s...)
		}
		if len(s) <= int(scale) {
			out = append(out, "0."...)
			for range int(scale) - len(s) {
				out = append(out, '0')
			}
			return append(out, s...)
		}
		out = append(out, s[:len(s)-int(scale)]...)
		out = append(out, '.')
		return append(out, s[len(s)-int(scale):]...)
	}
	out = append(out, s[0])
	if len(s) > 1 {
		out = append(out, '.')
		out = append(out, s[1:]...)
	}
	out = append(out, 'E')
	if adjusted >= 0 {
		out = append(out, '+')
	}
	return strconv.AppendInt(out, int64(adjusted), 10)
}

// writeJSON writes every row of a as JSON text into a new string array
// (owned by the caller); a null row is null.
func writeJSON(a arrow.Array, ignoreNulls bool, mem memory.Allocator) (arrow.Array, error) {
	n := a.Len()
	w := newJSONWriter(a)
	offs := make([]int32, n+1)
	var data []byte
	var validity *memory.Buffer
	nulls := 0
	for i := range n {
		if w.isNull(i) {
			if validity == nil {
				validity = memory.NewResizableBuffer(mem)
				validity.Resize(int(bitutil.BytesForBits(int64(n))))
				bitutil.SetBitsTo(validity.Bytes(), 0, int64(n), true)
			}
			bitutil.ClearBit(validity.Bytes(), i)
			nulls++
		} else {
			data = w.write(data, i, ignoreNulls)
			if len(data) > math.MaxInt32 {
				if validity != nil {
					validity.Release()
				}
				return nil, fmt.Errorf("the JSON text of %d rows exceeds 2 GiB; use smaller batches", i+1)
			}
		}
		offs[i+1] = int32(len(data))
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize(4 * (n + 1))
	copy(ob.Bytes(), arrow.Int32Traits.CastToBytes(offs))
	db := memory.NewResizableBuffer(mem)
	db.Resize(len(data))
	copy(db.Bytes(), data)
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{validity, ob, db}, nil, nulls, 0)
	ob.Release()
	db.Release()
	if validity != nil {
		validity.Release()
	}
	defer d.Release()
	return array.MakeFromData(d), nil
}
