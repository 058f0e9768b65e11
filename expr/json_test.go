package expr

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/sluicehq/sluice/decode"
)

// pjRender formats row i of a for the parse tests: null, numbers, quoted
// strings, {name:value ...} structs, [...] lists, {key:value} maps.
func pjRender(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch a := a.(type) {
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Int32:
		return strconv.Itoa(int(a.Value(i)))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.String:
		return strconv.Quote(a.Value(i))
	case *array.Timestamp:
		return time.UnixMicro(int64(a.Value(i))).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02")
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		parts := make([]string, a.NumField())
		for k := range parts {
			parts[k] = st.Field(k).Name + ":" + pjRender(a.Field(k), i)
		}
		return "{" + strings.Join(parts, " ") + "}"
	case *array.Map:
		start, end := a.ValueOffsets(i)
		var parts []string
		for k := int(start); k < int(end); k++ {
			parts = append(parts, pjRender(a.Keys(), k)+":"+pjRender(a.Items(), k))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case *array.List:
		start, end := a.ValueOffsets(i)
		var parts []string
		for k := int(start); k < int(end); k++ {
			parts = append(parts, pjRender(a.ListValues(), k))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "?" + a.DataType().String()
}

// pjEval binds e to rec and evaluates it, returning the rendered rows or
// the error of Bind or Eval.
func pjEval(t *testing.T, mem memory.Allocator, e Expr, rec arrow.RecordBatch) ([]string, error) {
	t.Helper()
	b, err := e.Bind(rec.Schema())
	if err != nil {
		return nil, err
	}
	arr, err := b.Eval(context.Background(), rec, mem)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	if !arrow.TypeEqual(arr.DataType(), b.Field().Type) {
		t.Fatalf("%s: result is %s, Field says %s", e, arr.DataType(), b.Field().Type)
	}
	if arr.Len() != int(rec.NumRows()) {
		t.Fatalf("%s: %d rows, want %d", e, arr.Len(), rec.NumRows())
	}
	out := make([]string, arr.Len())
	for i := range out {
		out[i] = pjRender(arr, i)
	}
	return out, nil
}

// optionsLit is a constant map<string, string> of kv pairs.
func pjOptions(kv ...string) Expr {
	kb := array.NewStringBuilder(memory.DefaultAllocator)
	vb := array.NewStringBuilder(memory.DefaultAllocator)
	for i := 0; i < len(kv); i += 2 {
		kb.Append(kv[i])
		vb.Append(kv[i+1])
	}
	keys, vals := kb.NewArray(), vb.NewArray()
	entries, err := array.NewStructArray([]arrow.Array{keys, vals}, []string{"key", "value"})
	if err != nil {
		panic(err)
	}
	keys.Release()
	vals.Release()
	kb.Release()
	vb.Release()
	return Lit(scalar.NewMapScalar(entries))
}

// kafkaRecord is a record with a JSON value column and Kafka's topic,
// partition and offset columns; a nil value is null.
func pjKafkaRecord(t *testing.T, mem memory.Allocator, vals ...*string) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "topic", Type: arrow.BinaryTypes.String},
		{Name: "partition", Type: arrow.PrimitiveTypes.Int32},
		{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, v := range vals {
		if v == nil {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.BinaryBuilder).Append([]byte(*v))
		}
		b.Field(1).(*array.StringBuilder).Append("events")
		b.Field(2).(*array.Int32Builder).Append(3)
		b.Field(3).(*array.Int64Builder).Append(int64(100 + i))
	}
	return b.NewRecordBatch()
}

func pjStr(s string) *string { return &s }

func TestFromJSON(t *testing.T) {
	mem := checked(t)
	rec := pjKafkaRecord(t, mem, pjStr(`{"a": 1, "b": "x", "ts": "2024-02-29T10:00:00Z"}`), nil, pjStr(`{"a": "bad"}`),
		pjStr(``), pjStr(`{"b": "\u00e9", "extra": [1, {"x": null}]}`), pjStr(`{"a": 9223372036854775808}`))
	defer rec.Release()
	schema := MustParseSchema("a BIGINT, b STRING, ts TIMESTAMP")
	schemaCorrupt := MustParseSchema("a BIGINT, b STRING, _corrupt_record STRING")
	for _, tc := range []struct {
		name string
		e    Expr
		want []string
	}{
		{"by name with a DDL string", Call("from_json", Col("value"), Lit("a BIGINT, b STRING, ts TIMESTAMP")), []string{
			`{a:1 b:"x" ts:2024-02-29T10:00:00Z}`, "null", "{a:null b:null ts:null}", "null",
			`{a:null b:"é" ts:null}`, "{a:null b:null ts:null}"}},
		{"Go schema", FromJSON(Col("value"), schema, ""), []string{
			`{a:1 b:"x" ts:2024-02-29T10:00:00Z}`, "null", "{a:null b:null ts:null}", "null",
			`{a:null b:"é" ts:null}`, "{a:null b:null ts:null}"}},
		{"corrupt record column", FromJSON(Col("value"), schemaCorrupt, "PERMISSIVE"), []string{
			`{a:1 b:"x" _corrupt_record:null}`, "null", `{a:null b:null _corrupt_record:"{\"a\": \"bad\"}"}`, "null",
			`{a:null b:"é" _corrupt_record:null}`, `{a:null b:null _corrupt_record:"{\"a\": 9223372036854775808}"}`}},
		{"field of the result", FromJSON(Col("value"), schema, "").Field("b"), []string{
			`"x"`, "null", "null", "null", `"é"`, "null"}},
		{"options map", Call("from_json", Col("value"), Lit("a BIGINT, oops STRING"), pjOptions("mode", "permissive", "columnNameOfCorruptRecord", "oops")), []string{
			"{a:1 oops:null}", "null", `{a:null oops:"{\"a\": \"bad\"}"}`, "null", "{a:null oops:null}", `{a:null oops:"{\"a\": 9223372036854775808}"}`}},
		{"array schema", Call("from_json", Lit(`[1, 2, null]`), Lit("ARRAY<INT>")), []string{
			"[1 2 null]", "[1 2 null]", "[1 2 null]", "[1 2 null]", "[1 2 null]", "[1 2 null]"}},
		{"map schema", Call("from_json", Col("value"), Lit("MAP<STRING, STRING>")), []string{
			`{"a":"1" "b":"x" "ts":"2024-02-29T10:00:00Z"}`, "null", `{"a":"bad"}`, "null", `{"b":"é" "extra":"[1,{\"x\":null}]"}`, `{"a":"9223372036854775808"}`}},
		{"null input", Call("from_json", Lit(nil), Lit("a INT")), []string{"null", "null", "null", "null", "null", "null"}},
		{"constant input", Call("from_json", Lit(`{"a": 7}`), Lit("a INT")), []string{"{a:7}", "{a:7}", "{a:7}", "{a:7}", "{a:7}", "{a:7}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pjEval(t, mem, tc.e, rec)
			if err != nil {
				t.Fatalf("%s: %v", tc.e, err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s:\n%s\nwant:\n%s", tc.e, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestFromJSONFolded(t *testing.T) {
	b, err := Call("from_json", Lit(`{"a": 7}`), Lit("a INT")).Bind(arrow.NewSchema(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.root.(*bLit); !ok {
		t.Errorf("from_json of constants was not folded: %s", b)
	}
}

func TestFromJSONFailFast(t *testing.T) {
	mem := checked(t)
	rec := pjKafkaRecord(t, mem, pjStr(`{"a": 1}`), pjStr(`{"a": 2}`), pjStr(`{"a": 3,}`))
	defer rec.Release()
	for _, e := range []Expr{
		FromJSON(Col("value"), MustParseSchema("a INT"), "FAILFAST"),
		Call("from_json", Col("value"), Lit("a INT"), pjOptions("MODE", "failfast")),
	} {
		_, err := pjEval(t, mem, e, rec)
		var me *decode.MalformedError
		if !errors.As(err, &me) || !errors.Is(err, decode.ErrMalformed) {
			t.Fatalf("%s: error %v, want a malformed record error", e, err)
		}
		for _, sub := range []string{"expr: evaluating from_json(value", "row 2 (topic events, partition 3, offset 102), byte 8", "expected a field name", `record: "{\"a\": 3,}"`} {
			if !strings.Contains(err.Error(), sub) {
				t.Errorf("%s: error %q does not mention %q", e, err, sub)
			}
		}
	}

	// Sliced columns: rows and offsets are those of the slice.
	sliced := rec.NewSlice(1, 3)
	defer sliced.Release()
	_, err := pjEval(t, mem, FromJSON(Col("value"), MustParseSchema("a INT"), "FAILFAST"), sliced)
	if err == nil || !strings.Contains(err.Error(), "row 1 (topic events, partition 3, offset 102)") {
		t.Errorf("error on a sliced record: %v", err)
	}
}

func TestFromJSONBindErrors(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	for _, tc := range []struct {
		e    Expr
		want []string
	}{
		{FromJSON(Col("value"), MustParseSchema("a INT"), "DROPMALFORMED"), []string{"mode DROPMALFORMED cannot be used in an expression", "DataFrame.FromJSON"}},
		{Call("from_json", Col("value"), Lit("a INT"), pjOptions("mode", "DROPMALFORMED")), []string{"DataFrame.FromJSON"}},
		{FromJSON(Col("value"), nil, ""), []string{"the schema is nil"}},
		{FromJSON(Col("value"), MustParseSchema("a INT"), "LENIENT"), []string{`unknown parse mode "LENIENT"`}},
		{Call("from_json", Col("value"), Col("value")), []string{"the schema (argument 2) must be a constant string"}},
		{Call("from_json", Col("value"), Lit("a INT,, b")), []string{"from_json(value, a INT,, b): the schema:"}},
		{Call("from_json", Col("n"), Lit("a INT")), []string{"from_json parses a string or binary column, but n is bigint"}},
		{Call("from_json", Col("value"), Lit("a INT"), Lit("mode")), []string{"the options must be a constant map<string, string>"}},
		{Call("from_json", Col("value"), Lit("a INT"), pjOptions("sep", ";")), []string{`unknown option "sep"`}},
		{Call("from_json", Col("value"), Lit("u INTERVAL")), []string{"the schema"}},
		{Call("from_json", Col("valeu"), Lit("a INT")), []string{`did you mean "value"`}},
	} {
		_, err := tc.e.Bind(schema)
		if err == nil {
			t.Errorf("%s: bound, want an error", tc.e)
			continue
		}
		for _, sub := range tc.want {
			if !strings.Contains(err.Error(), sub) || !strings.HasPrefix(err.Error(), "expr: ") {
				t.Errorf("%s: error %q does not mention %q", tc.e, err, sub)
			}
		}
	}
}

func TestToJSON(t *testing.T) {
	mem := checked(t)
	rec := pjKafkaRecord(t, mem,
		pjStr(`{"i": 1, "s": "tab\t\"q\" é", "f": 1e10, "g": 0.001, "h": "NaN", "l": [1, null], "m": {"k": 2.5}, "ts": "2024-02-29T10:11:12.345678Z", "d": "2024-02-29", "x": 12.5, "n": {"z": null}}`),
		nil,
		pjStr(`{"i": -5, "f": 100, "g": 1.5e-7, "h": "-Infinity", "l": [], "m": {}, "ts": -1, "x": 0.0000001}`),
		pjStr(`{}`))
	defer rec.Release()
	parsed := Call("from_json", Col("value"), Lit("i INT, s STRING, f DOUBLE, g DOUBLE, h DOUBLE, l ARRAY<BIGINT>, m MAP<STRING, DOUBLE>, ts TIMESTAMP, d DATE, x DECIMAL(10, 7), n STRUCT<z: INT>"))
	got, err := pjEval(t, mem, ToJSON(parsed), rec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		strconv.Quote(`{"i":1,"s":"tab\t\"q\" é","f":1.0E10,"g":0.001,"h":"NaN","l":[1,null],"m":{"k":2.5},"ts":"2024-02-29T10:11:12.345Z","d":"2024-02-29","x":12.5000000,"n":{}}`),
		"null",
		strconv.Quote(`{"i":-5,"f":100.0,"g":1.5E-7,"h":"-Infinity","l":[],"m":{},"ts":"1969-12-31T23:59:59.000Z","x":1E-7}`),
		strconv.Quote(`{}`),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("to_json:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	got, err = pjEval(t, mem, Call("to_json", Call("from_json", Col("value"), Lit("i INT, n STRUCT<z: INT>")), pjOptions("ignoreNullFields", "false")), rec)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{strconv.Quote(`{"i":1,"n":{"z":null}}`), "null", strconv.Quote(`{"i":-5,"n":null}`), strconv.Quote(`{"i":null,"n":null}`)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("to_json without ignoring nulls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestToJSONArrays(t *testing.T) {
	mem := checked(t)
	// Int map keys, binary, invalid UTF-8, control characters, float32,
	// a sliced input.
	mb := array.NewMapBuilder(mem, arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.Binary, false)
	defer mb.Release()
	kb, ib := mb.KeyBuilder().(*array.Int32Builder), mb.ItemBuilder().(*array.BinaryBuilder)
	mb.Append(true)
	kb.Append(1)
	ib.Append([]byte("hi"))
	mb.AppendNull()
	mb.Append(true)
	kb.Append(-2)
	ib.AppendNull()
	mb.Append(true)
	m := mb.NewArray()
	defer m.Release()

	lb := array.NewListBuilder(mem, arrow.BinaryTypes.String)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.StringBuilder)
	lb.Append(true)
	vb.Append("ok")
	lb.Append(true)
	vb.Append("bad\xff\x01")
	vb.AppendNull()
	lb.AppendNull()
	lb.Append(true)
	l := lb.NewArray()
	defer l.Release()

	fb := array.NewFloat32Builder(mem)
	defer fb.Release()
	fb.AppendValues([]float32{1.1, float32(math.Inf(1)), 3e-5, 0}, nil)
	f := fb.NewArray()
	defer f.Release()
	fl, err := array.NewStructArray([]arrow.Array{f}, []string{"f"})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Release()

	dt := &arrow.Decimal128Type{Precision: 5, Scale: 2}
	db := array.NewDecimal128Builder(mem, dt)
	defer db.Release()
	db.AppendValues([]decimal128.Num{decimal128.FromI64(-5), decimal128.FromI64(12345), decimal128.FromI64(0), decimal128.FromI64(100)}, nil)
	d := db.NewArray()
	defer d.Release()
	dl, err := array.NewStructArray([]arrow.Array{d}, []string{"d"})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Release()

	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{
		{Name: "m", Type: m.DataType(), Nullable: true}, {Name: "l", Type: l.DataType(), Nullable: true},
		{Name: "fl", Type: fl.DataType(), Nullable: true}, {Name: "dl", Type: dl.DataType(), Nullable: true},
	}, nil), []arrow.Array{m, l, fl, dl}, 4)
	defer rec.Release()
	for _, tc := range []struct {
		e    Expr
		want []string
	}{
		{ToJSON(Col("m")), []string{`"{\"1\":\"aGk=\"}"`, "null", `"{\"-2\":null}"`, `"{}"`}},
		{ToJSON(Col("l")), []string{`"[\"ok\"]"`, "\"[\\\"bad\uFFFD\\\\u0001\\\",null]\"", "null", `"[]"`}},
		{ToJSON(Col("fl")), []string{`"{\"f\":1.1}"`, `"{\"f\":\"Infinity\"}"`, `"{\"f\":3.0E-5}"`, `"{\"f\":0.0}"`}},
		{ToJSON(Col("dl")), []string{`"{\"d\":-0.05}"`, `"{\"d\":123.45}"`, `"{\"d\":0.00}"`, `"{\"d\":1.00}"`}},
	} {
		got, err := pjEval(t, mem, tc.e, rec)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.e, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	sliced := rec.NewSlice(1, 4)
	defer sliced.Release()
	got, err := pjEval(t, mem, ToJSON(Col("l")), sliced)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"\"[\\\"bad\uFFFD\\\\u0001\\\",null]\"", "null", `"[]"`}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("to_json of a slice: %v, want %v", got, want)
	}

	for _, tc := range []struct {
		e    Expr
		want string
	}{
		{ToJSON(Lit(5)), "to_json needs a struct, map or array, but 5 is bigint"},
		{Call("to_json", Col("m"), pjOptions("pretty", "true")), `unknown option "pretty"`},
		{Call("to_json", Col("m"), pjOptions("ignoreNullFields", "maybe")), `ignoreNullFields="maybe" must be true or false`},
	} {
		if _, err := tc.e.Bind(rec.Schema()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.e, err, tc.want)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	mem := checked(t)
	in := []string{`{"a":1,"b":"x","c":[1.5,2.0],"d":{"e":true}}`, `{"b":"\"\\\n"}`, `{}`, `{"c":[],"d":{}}`}
	vals := make([]*string, len(in))
	for i := range in {
		vals[i] = &in[i]
	}
	rec := pjKafkaRecord(t, mem, vals...)
	defer rec.Release()
	e := ToJSON(Call("from_json", Col("value"), Lit("a BIGINT, b STRING, c ARRAY<DOUBLE>, d STRUCT<e: BOOLEAN>")))
	got, err := pjEval(t, mem, e, rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if got[i] != strconv.Quote(in[i]) {
			t.Errorf("row %d: %s, want %q", i, got[i], in[i])
		}
	}
}

func TestAppendJSONFloatAndDecimal(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits int
		want string
	}{
		{1, 64, "1.0"}, {-1.5, 64, "-1.5"}, {1e7, 64, "1.0E7"}, {9999999, 64, "9999999.0"}, {0.001, 64, "0.001"},
		{0.0001, 64, "1.0E-4"}, {123456789.125, 64, "1.23456789125E8"}, {math.NaN(), 64, `"NaN"`},
		{math.Inf(-1), 64, `"-Infinity"`}, {math.Copysign(0, -1), 64, "-0.0"}, {float64(float32(0.1)), 32, "0.1"},
	} {
		if got := string(appendJSONFloat(nil, tc.f, tc.bits)); got != tc.want {
			t.Errorf("appendJSONFloat(%v, %d) = %s, want %s", tc.f, tc.bits, got, tc.want)
		}
	}
	for _, tc := range []struct {
		n     int64
		scale int32
		want  string
	}{
		{0, 0, "0"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {12345, 2, "123.45"}, {1, 6, "0.000001"}, {1, 7, "1E-7"},
		{12, 8, "1.2E-7"}, {-12, 8, "-1.2E-7"}, {1, -3, "1E+3"}, {123, -1, "1.23E+3"}, {0, 3, "0.000"},
	} {
		if got := string(appendJavaDecimal(nil, decimal128.FromI64(tc.n), tc.scale)); got != tc.want {
			t.Errorf("appendJavaDecimal(%d, %d) = %s, want %s", tc.n, tc.scale, got, tc.want)
		}
	}
}
